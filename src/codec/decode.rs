//! Reading a backup file once: the bytes on disk are counted and hashed while they are
//! decompressed and passed on, so the checksum is of exactly what was read.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::codec::{Chain, Identities};
use crate::pg::dump::hex;

const CHUNK: usize = 256 * 1024;
/// How much of the end of the decoded stream is kept (for pg_dump's completion line).
const TAIL: usize = 4096;

/// What one pass over a backup file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// Bytes on disk.
    pub size: u64,
    pub sha256: String,
    /// Decoded bytes.
    pub raw_size: u64,
    /// Bytes on disk after the end of the compressed stream.
    pub trailing: u64,
    /// The last few KiB of the decoded stream.
    pub tail: Vec<u8>,
}

/// Why a pass stopped early.
#[derive(Debug)]
pub enum StreamFailure {
    /// The file could not be read, or its content does not decode.
    Read(io::Error),
    /// Whoever received the decoded bytes stopped taking them.
    Write(io::Error),
}

/// Decodes the stored bytes read from `source` into `sink`, calling `progress` with the
/// stored bytes read so far.
pub fn stream(
    source: impl Read,
    chain: &Chain,
    identities: &Identities,
    sink: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Scan, StreamFailure> {
    let mut raw = Tally::new(source);
    let read_so_far = Rc::clone(&raw.count);
    let mut tail = VecDeque::with_capacity(2 * TAIL);
    let mut raw_size = 0u64;
    {
        let mut decoded = chain
            .decoder(&mut raw, identities)
            .map_err(StreamFailure::Read)?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match decoded.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(StreamFailure::Read(err)),
            };
            raw_size += n as u64;
            tail.extend(&buf[n.saturating_sub(TAIL)..n]);
            if tail.len() > TAIL {
                tail.drain(..tail.len() - TAIL);
            }
            sink.write_all(&buf[..n]).map_err(StreamFailure::Write)?;
            progress(read_so_far.get());
        }
    }
    sink.flush().map_err(StreamFailure::Write)?;
    let before = raw.count.get();
    io::copy(&mut raw, &mut io::sink()).map_err(StreamFailure::Read)?;
    let size = raw.count.get();
    progress(size);
    Ok(Scan {
        size,
        sha256: hex(&raw.hasher.finalize()),
        raw_size,
        trailing: size - before,
        tail: tail.into(),
    })
}

/// Up to `limit` bytes from the start of the decoded stream.
pub fn head(
    mut source: impl Read,
    chain: &Chain,
    identities: &Identities,
    limit: u64,
) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    chain
        .decoder(&mut source, identities)?
        .take(limit)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// The stored bytes as read, counted and hashed.
struct Tally<R> {
    file: R,
    hasher: Sha256,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Tally<R> {
    fn new(file: R) -> Tally<R> {
        Tally {
            file,
            hasher: Sha256::new(),
            count: Rc::new(Cell::new(0)),
        }
    }
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};

    use sha2::{Digest, Sha256};

    use super::{StreamFailure, stream};
    use crate::codec::{Chain, Identities};
    use crate::model::naming::Compression;
    use crate::pg::dump::hex;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn scan(bytes: &[u8], compression: Compression) -> Result<(super::Scan, Vec<u8>), String> {
        let mut out = Vec::new();
        let none = Identities::default();
        match stream(
            bytes,
            &Chain::from(compression),
            &none,
            &mut out,
            &mut |_| {},
        ) {
            Ok(scan) => Ok((scan, out)),
            Err(StreamFailure::Read(e)) | Err(StreamFailure::Write(e)) => Err(e.to_string()),
        }
    }

    #[test]
    fn every_compression_decodes_and_hashes_the_file() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for (bytes, compression) in [
            (data.clone(), Compression::None),
            (gzip(&data), Compression::Gzip),
            (zstd::encode_all(&data[..], 3).unwrap(), Compression::Zstd),
        ] {
            let (scan, out) = scan(&bytes, compression).unwrap();
            assert_eq!(out, data, "{compression:?}");
            assert_eq!(scan.size, bytes.len() as u64);
            assert_eq!(scan.sha256, hex(&Sha256::digest(&bytes)));
            assert_eq!(scan.raw_size, data.len() as u64);
            assert_eq!(scan.trailing, 0);
            assert_eq!(scan.tail, data[data.len() - 4096..]);
        }
    }

    #[test]
    fn truncated_streams_do_not_decode() {
        let data: Vec<u8> = (0..400_000u32)
            .flat_map(|n| (n % 251).to_le_bytes())
            .collect();
        let gz = gzip(&data);
        for cut in [1, 4, 8, 9, 10, gz.len() / 3, gz.len() / 2, gz.len() - 12] {
            assert!(
                scan(&gz[..gz.len() - cut], Compression::Gzip).is_err(),
                "{cut} bytes cut"
            );
        }
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        assert!(scan(&zst[..zst.len() - 3], Compression::Zstd).is_err());
    }

    #[test]
    fn every_gzip_member_is_read_and_a_wrong_checksum_does_not_decode() {
        let (first, second) = (vec![b'a'; 70_000], vec![b'b'; 300_000]);
        let mut two = gzip(&first);
        two.extend(gzip(&second));
        let (_, out) = scan(&two, Compression::Gzip).unwrap();
        assert_eq!(out, [first.clone(), second].concat());
        let mut damaged = gzip(&first);
        let crc = damaged.len() - 8;
        damaged[crc] ^= 1;
        assert!(scan(&damaged, Compression::Gzip).is_err());
    }

    #[test]
    fn a_consumer_that_stops_is_told_apart() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let none = Identities::default();
        let failure = stream(&b"hello"[..], &Chain::NONE, &none, &mut Closed, &mut |_| {});
        assert!(matches!(failure, Err(StreamFailure::Write(_))));
    }
}
