//! Reading a pipe on its own thread into a bounded queue of chunks, so the program on the
//! other end keeps running while the consumer is busy (compressing, for one).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

/// Chunks read ahead by a background thread. At most `depth` full chunks wait in the queue,
/// so memory stays bounded by `depth * chunk` whatever the length of the stream.
pub struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    spare: SyncSender<Vec<u8>>,
}

impl ReadAhead {
    pub fn spawn<R: Read + Send + 'static>(reader: R, chunk: usize, depth: usize) -> ReadAhead {
        let (chunk_tx, chunks) = sync_channel(depth);
        let (spare, spare_rx) = sync_channel(depth + 2);
        thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || fill(reader, chunk, &chunk_tx, &spare_rx))
            .expect("a thread can be started");
        ReadAhead { chunks, spare }
    }

    /// The next chunk read, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> Option<io::Result<Vec<u8>>> {
        self.chunks.recv().ok()
    }

    /// Hands a consumed chunk back for reuse.
    pub fn recycle(&self, buf: Vec<u8>) {
        let _ = self.spare.try_send(buf);
    }
}

/// Runs on the reading thread until the stream ends, a read fails, or the consumer is gone.
fn fill<R: Read>(
    mut reader: R,
    chunk: usize,
    chunks: &SyncSender<io::Result<Vec<u8>>>,
    spare: &Receiver<Vec<u8>>,
) {
    loop {
        let mut buf = spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(chunk));
        buf.resize(chunk, 0);
        let mut filled = 0;
        // Fill most of the chunk before handing it over: fewer, larger hand-offs.
        while filled < chunk / 2 {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let _ = chunks.send(Err(err));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        buf.truncate(filled);
        if chunks.send(Ok(buf)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_every_byte_in_order() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        let mut ahead = ReadAhead::spawn(io::Cursor::new(data.clone()), 4096, 3);
        let mut got = Vec::new();
        while let Some(chunk) = ahead.next_chunk() {
            let chunk = chunk.unwrap();
            got.extend_from_slice(&chunk);
            ahead.recycle(chunk);
        }
        assert_eq!(got, data);
    }

    #[test]
    fn passes_on_a_read_error() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("broken"))
            }
        }
        let mut ahead = ReadAhead::spawn(Failing, 16, 1);
        let err = ahead.next_chunk().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "broken");
        assert!(ahead.next_chunk().is_none());
    }
}
