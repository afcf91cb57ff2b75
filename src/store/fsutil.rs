//! Durable file operations: private folders, atomic replace, folder fsync.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Creates `dir` (and parents) with mode 0700 when missing.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create folder {}", dir.display()))
}

/// Space on the filesystem of `path` (or of its nearest existing ancestor), as an
/// unprivileged writer sees it.
pub fn free_space(path: &Path) -> std::io::Result<super::Space> {
    super::local::space::space_of(path)
}

/// Opens a new file with mode 0600, failing if it exists.
pub fn create_private_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not create {}", path.display()))
}

/// Flushes a folder's entries (renames, unlinks) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("could not fsync folder {}", dir.display()))
}

/// Replaces `path` with `bytes`: write a temporary file, fsync, rename, fsync the folder.
/// Readers see either the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut file = create_private_file(&tmp)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("could not write {}", tmp.display()))?;
        fault_before_rename(&name);
        fs::rename(&tmp, path)
            .with_context(|| format!("could not rename {} to {}", tmp.display(), path.display()))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Test builds only: `PGBACKUP_FAULT_BEFORE_RENAME=<file name>` kills the process between
/// writing the temporary file and the rename, as a crash or power loss would.
#[cfg(debug_assertions)]
fn fault_before_rename(name: &str) {
    if std::env::var_os("PGBACKUP_FAULT_BEFORE_RENAME").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
fn fault_before_rename(_name: &str) {}

pub use super::temp_folder::TempFolder;
