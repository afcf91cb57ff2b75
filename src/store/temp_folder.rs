//! Private temporary folders (mode 0700) for what pgbackup stages on local disk: a dump
//! on its way to S3, a downloaded directory backup, a seekable copy for pg_restore
//! --jobs. Each is removed when dropped, on success and on failure alike; one that a
//! killed pgbackup left behind is removed by the next pgbackup that makes one there.

use std::fs::{self, DirBuilder};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The kinds of folder pgbackup makes, the `WHAT` of `pgbackup-WHAT-PID-N`.
const KINDS: [&str; 3] = ["dump", "folder", "restore"];

/// A new folder only its owner can enter, removed with what it holds when dropped.
#[derive(Debug)]
pub struct TempFolder {
    path: PathBuf,
}

impl TempFolder {
    /// Makes `TMPDIR/pgbackup-WHAT-PID-N` (mode 0700).
    pub fn new(what: &str) -> Result<TempFolder> {
        TempFolder::new_in(&std::env::temp_dir(), what)
    }

    /// Makes `PARENT/pgbackup-WHAT-PID-N` (mode 0700), first removing the folders of
    /// processes that no longer run.
    pub fn new_in(parent: &Path, what: &str) -> Result<TempFolder> {
        debug_assert!(KINDS.contains(&what), "{what} is a known kind");
        sweep_abandoned(parent);
        for n in 0.. {
            let path = parent.join(format!("pgbackup-{what}-{}-{n}", std::process::id()));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempFolder { path }),
                Err(err) if err.kind() == ErrorKind::AlreadyExists && n < 100 => {}
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!(
                            "could not create the private folder {} (set TMPDIR, or \
                             --stage-dir where there is one, to a writable folder)",
                            path.display()
                        )
                    });
                }
            }
        }
        unreachable!("the loop returns")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        match fs::remove_dir_all(&self.path) {
            Err(err) if err.kind() != ErrorKind::NotFound => tracing::warn!(
                "could not remove the private folder {}: {err}",
                self.path.display()
            ),
            _ => {}
        }
    }
}

/// Removes the folders of `parent` named as pgbackup names them whose process no longer
/// runs (killed while it staged something); only private folders of this user qualify.
fn sweep_abandoned(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(owner_pid) else {
            continue;
        };
        if pid == std::process::id() || is_running(pid) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        // SAFETY: geteuid(2) has no preconditions and cannot fail.
        let mine = meta.uid() == unsafe { libc::geteuid() };
        if !meta.is_dir() || !mine || meta.permissions().mode() & 0o077 != 0 {
            continue;
        }
        let path = entry.path();
        match fs::remove_dir_all(&path) {
            Ok(()) => tracing::info!(
                "removed {}, left by an interrupted pgbackup (process {pid})",
                path.display()
            ),
            Err(err) => tracing::warn!(
                "could not remove {}, left by an interrupted pgbackup: {err}",
                path.display()
            ),
        }
    }
}

/// The process ID in a name `pgbackup-WHAT-PID-N` of a known kind.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("pgbackup-")?;
    let mut parts = rest.rsplitn(3, '-');
    let n = parts.next()?;
    let pid = parts.next()?;
    let what = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (KINDS.contains(&what) && digits(n) && digits(pid))
        .then(|| pid.parse().ok())
        .flatten()
        .filter(|pid| *pid > 0)
}

/// Whether process `pid` exists (one of another user counts).
fn is_running(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 only checks that the process exists; pid is positive,
    // so it never addresses a process group.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
#[path = "temp_folder_tests.rs"]
mod tests;
