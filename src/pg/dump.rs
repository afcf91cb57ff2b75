//! The dump pipeline: pg_dump's stdout is compressed and hashed as it streams into a
//! pending object of the repository, committed under its final name only once pg_dump
//! exited 0.

use std::io::{self, Write};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::codec::{Chain, Settings};
use crate::interrupt::Interrupt;
use crate::pg::process::{Running, Tool};
use crate::pg::readahead::ReadAhead;
use crate::store::{Pending, Store};

const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of compression: at most 8 MiB in memory.
const QUEUE_DEPTH: usize = 32;
const PIPE_SIZE: libc::c_int = 1024 * 1024;

/// What to run and where the result goes.
pub struct DumpPlan<'a> {
    pub pg_dump: Tool,
    pub store: &'a dyn Store,
    pub final_name: String,
    /// The stages pg_dump's output goes through, and what they need.
    pub chain: Chain,
    pub settings: Settings,
    /// Called with the number of bytes read from pg_dump so far.
    pub progress: &'a dyn Fn(u64),
}

/// A complete backup file.
#[derive(Debug)]
pub struct Dumped {
    pub size: u64,
    pub raw_size: u64,
    pub sha256: String,
    /// What pg_dump printed on stderr although it succeeded.
    pub warnings: String,
    /// A directory-format backup's files.
    pub files: Option<Vec<crate::catalog::manifest::ManifestFile>>,
}

/// Runs the dump. On any failure or signal, pg_dump is stopped and nothing is left behind
/// (the pending object is dropped uncommitted).
pub fn run(plan: DumpPlan<'_>, interrupt: &Interrupt) -> Result<Dumped> {
    let pending = plan.store.create(&plan.final_name)?;
    let mut child = plan.pg_dump.spawn_reader()?;
    let guard = interrupt.watch_child(child.pid());
    let streamed = stream(&mut child, pending, &plan);
    let outcome = match streamed {
        Ok(written) => child.finish().map(|warnings| (written, warnings)),
        Err(err) => {
            child.abort();
            Err(err)
        }
    };
    drop(guard);
    let (written, warnings) = interrupt.check().and(outcome)?;
    written.pending.commit()?;
    Ok(Dumped {
        size: written.size,
        raw_size: written.raw_size,
        sha256: written.sha256,
        warnings,
        files: None,
    })
}

struct Written {
    pending: Box<dyn Pending>,
    size: u64,
    raw_size: u64,
    sha256: String,
}

fn stream(child: &mut Running, pending: Box<dyn Pending>, plan: &DumpPlan<'_>) -> Result<Written> {
    let stdout = child.take_stdout();
    enlarge_pipe(&stdout);
    // The pending object's errors name what it was writing.
    let write_error = anyhow::Error::new;
    let mut hashing = HashingFile::new(pending);
    let mut sink = plan
        .chain
        .encoder(&mut hashing, &plan.settings)
        .map_err(write_error)?;
    // pg_dump keeps running while a chunk is being compressed (bench/RESULTS.md).
    let mut chunks = ReadAhead::spawn(stdout, CHUNK, QUEUE_DEPTH);
    let mut raw_size = 0u64;
    while let Some(chunk) = chunks.next_chunk() {
        let chunk = chunk.context("could not read pg_dump's output")?;
        raw_size += chunk.len() as u64;
        (plan.progress)(raw_size);
        sink.write_all(&chunk).map_err(write_error)?;
        chunks.recycle(chunk);
    }
    // The end of every stream (the age stream's last chunk among them) is part of the
    // commit: a stream not finished is never committed, so never recorded.
    sink.finish().map_err(write_error)?;
    Ok(Written {
        pending: hashing.file,
        size: hashing.size,
        raw_size,
        sha256: hex(&hashing.hasher.finalize()),
    })
}

/// Fewer wake-ups when pg_dump outpaces compression for a moment.
pub fn enlarge_pipe(pipe: &impl AsRawFd) {
    // SAFETY: fcntl(2) on an open pipe descriptor; failure only leaves the default size.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE);
    }
}

/// The object being written, hashed and counted on the way.
struct HashingFile {
    file: Box<dyn Pending>,
    hasher: Sha256,
    size: u64,
}

impl HashingFile {
    fn new(file: Box<dyn Pending>) -> HashingFile {
        HashingFile {
            file,
            hasher: Sha256::new(),
            size: 0,
        }
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
