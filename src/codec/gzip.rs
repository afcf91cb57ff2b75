//! gzip: with the `isal` feature, ISA-L's igzip at level 1, pgbackup's default (several times
//! faster than zlib at gzip -6's size, bench/RESULTS.md); zlib-rs at every other level, and at
//! level 1 too in a build without the feature. Same format either way; every member read back.

use std::io::Read;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::chain::{Layer, Staged};

pub fn encoder<'w>(next: Layer<'w>, level: u32) -> Layer<'w> {
    #[cfg(feature = "isal")]
    if level == 1 {
        let igzip = isal::write::GzipEncoder::new(next, isal::CompressionLevel::One);
        return Staged::layer(igzip, isal::write::GzipEncoder::finish);
    }
    let zlib = GzEncoder::new(next, flate2::Compression::new(level));
    Staged::layer(zlib, GzEncoder::finish)
}

pub fn decoder<'r>(encoded: Box<dyn Read + 'r>) -> Box<dyn Read + 'r> {
    Box::new(MultiGzDecoder::new(encoded))
}
