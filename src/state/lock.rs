//! One writer at a time: an exclusive flock on backups/.lock that names its holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::exit::Refusal;
use crate::store::{Store, fsutil};

/// `$PGBACKUP_HOME/backups/.lock`: host-local, whatever the repository is.
pub fn path(home: &Path) -> PathBuf {
    home.join("backups").join(".lock")
}

/// Makes the folder holding the lock file when missing (private to the owner). With a
/// local repository it is the repository's folder too.
pub fn ensure_folder(home: &Path) -> Result<()> {
    fsutil::ensure_private_dir(&home.join("backups"))
}

/// Held for as long as the value lives; the kernel releases it if the process dies.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// Takes the lock at once or fails with [`Refusal::LockHeld`] naming the holder.
/// Leftovers of interrupted writers in `store` are swept once the lock is held.
pub fn acquire(home: &Path, store: &dyn Store, command_line: &str) -> Result<WriteLock> {
    let lock = hold(home, command_line)?;
    for name in store.sweep()? {
        tracing::debug!("swept {name}");
    }
    Ok(lock)
}

/// Takes the lock like [`acquire`] without touching the repository: for writers of the
/// home alone (the schedule file), which must work while the repository cannot be reached.
pub fn hold(home: &Path, command_line: &str) -> Result<WriteLock> {
    let path = path(home);
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
    write_record(
        &mut file,
        &format!("{}\n{}\n", std::process::id(), command_line),
    )
    .with_context(|| format!("could not write lock file {}", path.display()))?;
    Ok(WriteLock { _file: file })
}

/// Writes the holder record in one write at the start, then cuts what a longer previous
/// record left after it: a reader sees the whole new record's two lines or the old ones,
/// never an empty file.
fn write_record(file: &mut File, record: &str) -> std::io::Result<()> {
    file.write_all_at(record.as_bytes(), 0)?;
    file.set_len(record.len() as u64)
}

/// Reads the holder record; a record caught half-written (by an older writer that
/// truncates first) is read again a few times before giving up.
fn holder(file: &mut File) -> Refusal {
    let mut text = String::new();
    for attempt in 0..RECORD_READS {
        text.clear();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        if read.is_ok() && complete(&text) {
            break;
        }
        if attempt + 1 < RECORD_READS {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut lines = text.lines();
    let pid = lines.next().unwrap_or("unknown").trim().to_string();
    let command = lines.next().unwrap_or("unknown command").trim().to_string();
    Refusal::LockHeld { pid, command }
}

const RECORD_READS: u32 = 20;

/// A pid line and a command line, each ended by a newline.
fn complete(text: &str) -> bool {
    let mut lines = text.split_inclusive('\n');
    let pid_ok = lines
        .next()
        .is_some_and(|l| l.ends_with('\n') && l.trim().parse::<u32>().is_ok());
    pid_ok && lines.next().is_some_and(|l| l.ends_with('\n'))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::acquire;
    use crate::exit::Refusal;
    use crate::store::LocalStore;

    #[test]
    fn a_second_writer_always_reads_the_whole_holder_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        std::fs::create_dir(path.join("backups")).unwrap();
        let store = LocalStore::new(path.join("backups"));
        let stop = Arc::new(AtomicBool::new(false));
        let holder = {
            let (path, stop, store) = (path.clone(), stop.clone(), store.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    drop(acquire(
                        &path,
                        &store,
                        "pgbackup create --description holder",
                    ));
                }
            })
        };
        let mut refusals = 0;
        for _ in 0..20_000 {
            if let Err(err) = acquire(&path, &store, "pgbackup prune") {
                let Some(Refusal::LockHeld { pid, command }) = err.downcast_ref() else {
                    panic!("{err:#}");
                };
                assert_eq!(pid, &std::process::id().to_string());
                assert!(
                    ["pgbackup create --description holder", "pgbackup prune"]
                        .contains(&command.as_str()),
                    "{command}"
                );
                refusals += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        holder.join().unwrap();
        assert!(refusals > 0, "the two writers never met");
    }
}
