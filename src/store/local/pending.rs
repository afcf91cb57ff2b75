//! A backup file being written: a hidden `.partial` file (mode 0600) that gets its final
//! name by a hard link, so an existing file of that name is never replaced.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::store::fsutil;
use crate::store::{Pending, StoreError, StoreResult};

/// The partial file; removed when dropped before [`Pending::commit`].
pub struct LocalPending {
    file: File,
    partial: PathBuf,
    final_path: PathBuf,
    size: u64,
    committed: bool,
}

impl LocalPending {
    pub fn new(file: File, partial: PathBuf, final_path: PathBuf) -> LocalPending {
        LocalPending {
            file,
            partial,
            final_path,
            size: 0,
            committed: false,
        }
    }

    fn write_error(&self, err: io::Error) -> io::Error {
        io::Error::new(
            err.kind(),
            format!("could not write {}: {err}", self.partial.display()),
        )
    }
}

impl Write for LocalPending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf).map_err(|e| self.write_error(e))?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Pending for LocalPending {
    /// fsync, hard-link to the final name (never over an existing file), unlink the
    /// partial file, fsync the folder.
    fn commit(mut self: Box<Self>) -> StoreResult<u64> {
        self.file
            .sync_all()
            .map_err(|e| anyhow::Error::new(self.write_error(e)))?;
        if let Err(err) = fs::hard_link(&self.partial, &self.final_path) {
            if err.kind() == io::ErrorKind::AlreadyExists {
                return Err(StoreError::Exists(self.final_path.display().to_string()));
            }
            return Err(anyhow::Error::new(err)
                .context(format!(
                    "could not rename {} to {}",
                    self.partial.display(),
                    self.final_path.display()
                ))
                .into());
        }
        self.committed = true;
        fs::remove_file(&self.partial)
            .with_context(|| format!("could not remove {}", self.partial.display()))?;
        let dir = self
            .final_path
            .parent()
            .unwrap_or(std::path::Path::new("."));
        fsutil::sync_dir(dir)?;
        Ok(self.size)
    }
}

impl Drop for LocalPending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.partial);
        }
    }
}
