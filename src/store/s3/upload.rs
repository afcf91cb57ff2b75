//! Writing one object: bytes stream into a multipart upload of the final key, which S3 keeps
//! invisible until it is completed, so an interrupted write never shows under that name.
//!
//! Memory is bounded whatever the size: one 16 MiB part fills while at most two finished
//! parts upload (48 MiB of buffers in all). 10,000 parts of 16 MiB allow objects up to
//! 156 GiB. An object smaller than one part is sent as one conditional PUT instead.
//!
//! Commit never overwrites: it HEADs the final key right before completing and refuses when
//! something is there (servers such as Garage ignore `If-None-Match`, so the check does not
//! rely on it; single PUTs send it too). An unfinished upload is recorded in a marker object
//! (`.pgbackup-uploads/NAME`, holding the upload id) so that the next writer's sweep can
//! abort it if this process is killed; dropping the writer aborts it at once.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;

use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use tokio::task::JoinHandle;

use super::Conn;
use crate::store::{Pending, StoreError, StoreResult};

/// Bytes per part: S3 wants at least 5 MiB (except the last) and at most 10,000 parts.
pub const PART_SIZE: usize = 16 * 1024 * 1024;
/// Parts uploading at once while the next one fills.
const PARTS_IN_FLIGHT: usize = 2;
const MAX_PARTS: usize = 10_000;

/// A started multipart upload.
struct Upload {
    id: String,
    in_flight: VecDeque<JoinHandle<object_store::Result<PartId>>>,
    done: Vec<PartId>,
}

pub(super) struct S3Pending {
    conn: Arc<Conn>,
    name: String,
    path: Path,
    /// Where the unfinished upload is recorded for the sweep.
    marker: Path,
    buffer: Vec<u8>,
    upload: Option<Upload>,
    size: u64,
    finished: bool,
    /// A part failed to upload: its bytes are gone, so the object can never be completed.
    broken: bool,
}

impl S3Pending {
    pub(super) fn new(conn: Arc<Conn>, name: &str) -> S3Pending {
        let (path, marker) = (conn.key(name), conn.marker(name));
        S3Pending::at(conn, name, path, marker)
    }

    /// Writes the object `path`, named `name` in messages, its upload recorded in `marker`.
    pub(super) fn at(conn: Arc<Conn>, name: &str, path: Path, marker: Path) -> S3Pending {
        S3Pending {
            path,
            marker,
            conn,
            name: name.to_string(),
            buffer: Vec::new(),
            upload: None,
            size: 0,
            finished: false,
            broken: false,
        }
    }

    fn fail(&self, doing: &str, err: &object_store::Error) -> StoreError {
        self.conn
            .scrub
            .error(&format!("{doing} {}", self.name), err)
    }

    /// Starts the multipart upload and records it for the sweep.
    fn start(&mut self) -> StoreResult<&mut Upload> {
        if self.upload.is_none() {
            let client = &self.conn.client;
            let id = self
                .conn
                .runtime
                .block_on(client.create_multipart(&self.path))
                .map_err(|e| self.fail("could not start uploading", &e))?;
            let marker = self.marker.clone();
            let recorded = self
                .conn
                .runtime
                .block_on(client.put(&marker, id.clone().into()));
            if let Err(err) = recorded {
                let _ = (self.conn.runtime).block_on(client.abort_multipart(&self.path, &id));
                return Err(self.fail("could not record the upload of", &err));
            }
            self.upload = Some(Upload {
                id,
                in_flight: VecDeque::new(),
                done: Vec::new(),
            });
        }
        Ok(self.upload.as_mut().expect("just started"))
    }

    /// Hands the filled buffer to an upload task, first waiting for the oldest part when
    /// enough are already in flight.
    fn send_part(&mut self) -> StoreResult<()> {
        let payload = std::mem::take(&mut self.buffer);
        let (conn, path, name) = (Arc::clone(&self.conn), self.path.clone(), self.name.clone());
        let upload = self.start()?;
        while upload.in_flight.len() >= PARTS_IN_FLIGHT {
            wait_oldest(&conn, upload, &name)?;
        }
        let index = upload.done.len() + upload.in_flight.len();
        if index >= MAX_PARTS {
            return Err(StoreError::Other(anyhow::anyhow!(
                "{name} is larger than an S3 upload of {MAX_PARTS} parts of {} MiB holds",
                PART_SIZE >> 20
            )));
        }
        let (client, id) = (Arc::clone(&conn.client), upload.id.clone());
        let task = async move { client.put_part(&path, &id, index, payload.into()).await };
        upload.in_flight.push_back(conn.runtime.spawn(task));
        Ok(())
    }

    /// Completes the multipart upload after checking that nothing took the name.
    fn complete(&mut self) -> StoreResult<()> {
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        let (conn, name) = (Arc::clone(&self.conn), self.name.clone());
        let upload = self
            .upload
            .as_mut()
            .expect("a multipart upload was started");
        while !upload.in_flight.is_empty() {
            wait_oldest(&conn, upload, &name)?;
        }
        self.refuse_existing()?;
        let upload = self
            .upload
            .as_mut()
            .expect("a multipart upload was started");
        let parts = std::mem::take(&mut upload.done);
        let client = &self.conn.client;
        (self.conn.runtime)
            .block_on(client.complete_multipart(&self.path, &upload.id, parts))
            .map_err(|e| self.fail("could not complete the upload of", &e))?;
        self.finished = true;
        self.conn.forget_marker(&self.marker);
        Ok(())
    }

    /// Sends an object smaller than one part in one PUT, conditional where the server
    /// honours it.
    fn put_whole(&mut self) -> StoreResult<()> {
        self.refuse_existing()?;
        let payload = std::mem::take(&mut self.buffer).into();
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let client = &self.conn.client;
        match (self.conn.runtime).block_on(client.put_opts(&self.path, payload, options)) {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                return Err(StoreError::Exists(self.name.clone()));
            }
            Err(err) => return Err(self.fail("could not upload", &err)),
        }
        self.finished = true;
        Ok(())
    }

    fn broken_error(&self) -> StoreError {
        StoreError::Other(anyhow::anyhow!(
            "the upload of {} failed earlier and cannot be completed",
            self.name
        ))
    }

    fn refuse_existing(&self) -> StoreResult<()> {
        match self
            .conn
            .runtime
            .block_on(self.conn.client.head(&self.path))
        {
            Ok(_) => Err(StoreError::Exists(self.name.clone())),
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.fail("could not check for an existing", &err)),
        }
    }
}

/// Waits for the oldest part in flight and keeps its id.
fn wait_oldest(conn: &Conn, upload: &mut Upload, name: &str) -> StoreResult<()> {
    let task = upload.in_flight.pop_front().expect("a part is in flight");
    let part = match conn.runtime.block_on(task) {
        Ok(Ok(part)) => part,
        Ok(Err(err)) => return Err(conn.scrub.error(&format!("could not upload {name}"), &err)),
        Err(join) => {
            return Err(StoreError::Other(anyhow::anyhow!(
                "upload task failed: {join}"
            )));
        }
    };
    upload.done.push(part);
    Ok(())
}

impl Write for S3Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.broken {
            return Err(io::Error::other(self.broken_error()));
        }
        let room = PART_SIZE - self.buffer.len();
        let n = buf.len().min(room);
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(PART_SIZE);
        }
        self.buffer.extend_from_slice(&buf[..n]);
        self.size += n as u64;
        if self.buffer.len() == PART_SIZE {
            self.send_part().map_err(|err| {
                self.broken = true;
                io::Error::other(err)
            })?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Pending for S3Pending {
    fn commit(mut self: Box<Self>) -> StoreResult<u64> {
        if self.broken {
            return Err(self.broken_error());
        }
        if self.upload.is_some() {
            self.complete()?;
        } else {
            self.put_whole()?;
        }
        Ok(self.size)
    }
}

impl Drop for S3Pending {
    /// An upload that was not completed is aborted, so its parts stop taking space.
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        if self.finished {
            return;
        }
        for task in &upload.in_flight {
            task.abort();
        }
        let aborted =
            (self.conn.runtime).block_on(self.conn.client.abort_multipart(&self.path, &upload.id));
        match aborted {
            Ok(()) => self.conn.forget_marker(&self.marker),
            // Nothing for the operator to do: the next writer's sweep aborts it.
            Err(err) => tracing::debug!(
                "{}; the next writer's sweep aborts it",
                self.fail("could not abort the upload of", &err)
            ),
        }
    }
}
