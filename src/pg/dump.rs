//! The dump pipeline: pg_dump's stdout is compressed and hashed as it streams into a
//! partial file, which gets its final name only once pg_dump exited 0 and the file is on disk.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::codec::{Chain, Settings};
use crate::interrupt::Interrupt;
use crate::model::naming::{self, Compression};
use crate::pg::process::{Running, Tool};
use crate::pg::readahead::ReadAhead;
use crate::store::fsutil;

const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of compression: at most 8 MiB in memory.
const QUEUE_DEPTH: usize = 32;
const PIPE_SIZE: libc::c_int = 1024 * 1024;

/// What to run and where the result goes.
pub struct DumpPlan<'a> {
    pub pg_dump: Tool,
    pub backups_dir: &'a Path,
    pub final_name: String,
    pub compression: Compression,
    pub level: u32,
    /// Called with the number of bytes read from pg_dump so far.
    pub progress: &'a dyn Fn(u64),
}

/// A complete backup file.
#[derive(Debug)]
pub struct Dumped {
    pub path: PathBuf,
    pub size: u64,
    pub raw_size: u64,
    pub sha256: String,
    /// What pg_dump printed on stderr although it succeeded.
    pub warnings: String,
}

/// Runs the dump. On any failure or signal, pg_dump is stopped and nothing is left behind.
pub fn run(plan: DumpPlan<'_>, interrupt: &Interrupt) -> Result<Dumped> {
    let partial = plan
        .backups_dir
        .join(naming::partial_name(&plan.final_name));
    let final_path = plan.backups_dir.join(&plan.final_name);
    let file = fsutil::create_private_file(&partial)?;
    let mut child = match plan.pg_dump.spawn_reader() {
        Ok(child) => child,
        Err(err) => {
            let _ = fs::remove_file(&partial);
            return Err(err);
        }
    };
    let guard = interrupt.watch_child(child.pid());
    let streamed = stream(&mut child, file, &plan, &partial);
    let outcome = match streamed {
        Ok(written) => child.finish().map(|warnings| (written, warnings)),
        Err(err) => {
            child.abort();
            Err(err)
        }
    };
    drop(guard);
    let outcome = interrupt
        .check()
        .and(outcome)
        .and_then(|(written, warnings)| {
            publish(&partial, &final_path, plan.backups_dir)?;
            Ok(Dumped {
                path: final_path.clone(),
                size: written.size,
                raw_size: written.raw_size,
                sha256: written.sha256,
                warnings,
            })
        });
    if outcome.is_err() {
        let _ = fs::remove_file(&partial);
    }
    outcome
}

struct Written {
    size: u64,
    raw_size: u64,
    sha256: String,
}

fn stream(child: &mut Running, file: File, plan: &DumpPlan<'_>, partial: &Path) -> Result<Written> {
    let stdout = child.take_stdout();
    enlarge_pipe(&stdout);
    let write_error = |err: io::Error| {
        anyhow::Error::new(err).context(format!("could not write {}", partial.display()))
    };
    let mut hashing = HashingFile::new(file);
    let settings = Settings { level: plan.level };
    let mut sink = Chain::from(plan.compression)
        .encoder(&mut hashing, &settings)
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
    sink.finish().map_err(write_error)?;
    hashing.file.sync_all().map_err(write_error)?;
    Ok(Written {
        size: hashing.size,
        raw_size,
        sha256: hex(&hashing.hasher.finalize()),
    })
}

/// Gives the final name without ever replacing an existing file, then syncs the folder.
fn publish(partial: &Path, final_path: &Path, dir: &Path) -> Result<()> {
    fs::hard_link(partial, final_path).with_context(|| {
        format!(
            "could not rename {} to {}",
            partial.display(),
            final_path.display()
        )
    })?;
    fs::remove_file(partial).with_context(|| format!("could not remove {}", partial.display()))?;
    fsutil::sync_dir(dir)
}

/// Fewer wake-ups when pg_dump outpaces compression for a moment.
pub fn enlarge_pipe(pipe: &impl AsRawFd) {
    // SAFETY: fcntl(2) on an open pipe descriptor; failure only leaves the default size.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE);
    }
}

/// The file being written, hashed and counted on the way.
struct HashingFile {
    file: File,
    hasher: Sha256,
    size: u64,
}

impl HashingFile {
    fn new(file: File) -> HashingFile {
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
