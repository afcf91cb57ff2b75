//! zstd, single-threaded: as fast here as zstd's worker threads (pg_dump runs in its own
//! process alongside) at a quarter of the memory (bench/RESULTS.md).

use std::io::{self, Read};

use ::zstd::stream::{read, write};

use super::chain::{Layer, Staged};

pub fn encoder<'w>(next: Layer<'w>, level: u32) -> io::Result<Layer<'w>> {
    let encoder = write::Encoder::new(next, level as i32)?;
    Ok(Staged::layer(encoder, write::Encoder::finish))
}

pub fn decoder<'r>(encoded: Box<dyn Read + 'r>) -> io::Result<Box<dyn Read + 'r>> {
    Ok(Box::new(read::Decoder::new(encoded)?))
}
