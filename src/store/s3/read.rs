//! A blocking `Read` over the byte stream of an S3 GET: one network chunk is held at a time,
//! so reading an object of any size needs only as much memory as the HTTP client's chunks.

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::Conn;

pub(super) struct StreamReader {
    conn: Arc<Conn>,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    name: String,
}

impl StreamReader {
    pub(super) fn new(
        conn: Arc<Conn>,
        stream: BoxStream<'static, object_store::Result<Bytes>>,
        name: String,
    ) -> StreamReader {
        StreamReader {
            conn,
            stream,
            chunk: Bytes::new(),
            name,
        }
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.conn.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(err)) => {
                    let doing = format!("could not read {}", self.name);
                    return Err(io::Error::other(self.conn.scrub.error(&doing, &err)));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
