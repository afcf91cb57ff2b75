//! gzip: with the `isal` feature, ISA-L's igzip at level 1, pgbackup's default (several times
//! faster than zlib at gzip -6's size, bench/RESULTS.md); zlib-rs at every other level, and at
//! level 1 too in a build without the feature. Same format either way; every member read back,
//! by igzip too in a build with the feature (it inflates about twice as fast as zlib-rs, and
//! a restore inflates the whole dump twice: once to check it, once to load it).

use std::io::Read;

#[cfg(not(feature = "isal"))]
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
    #[cfg(feature = "isal")]
    return Box::new(isal::read::GzipDecoder::new(FullReads(encoded)));
    #[cfg(not(feature = "isal"))]
    Box::new(MultiGzDecoder::new(encoded))
}

/// Reads that fill the buffer unless the stream ends: igzip takes two steps that give no
/// output within one member for a corrupt stream, and a short read (from a pipe or the
/// network) must not look like one.
#[cfg(feature = "isal")]
struct FullReads<R>(R);

#[cfg(feature = "isal")]
impl<R: Read> Read for FullReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.0.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}
