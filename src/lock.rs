//! One writer at a time: an exclusive flock on backups/.lock that names its holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::exit::Refusal;

/// Held for as long as the value lives; the kernel releases it if the process dies.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// Takes the lock at once or fails with [`Refusal::LockHeld`] naming the holder.
pub fn acquire(backups_dir: &Path, command_line: &str) -> Result<WriteLock> {
    let path = backups_dir.join(".lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("could not open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(holder(&mut file).into()),
        Err(TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("could not lock {}", path.display()));
        }
    }
    let record = format!("{}\n{}\n", std::process::id(), command_line);
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(record.as_bytes()))
        .with_context(|| format!("could not write lock file {}", path.display()))?;
    Ok(WriteLock { _file: file })
}

fn holder(file: &mut File) -> Refusal {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let mut lines = text.lines();
    let pid = lines.next().unwrap_or("unknown").trim().to_string();
    let command = lines.next().unwrap_or("unknown command").trim().to_string();
    Refusal::LockHeld { pid, command }
}
