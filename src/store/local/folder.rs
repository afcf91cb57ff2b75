//! Folder backups in the local repository (pg_dump's directory format): written under a
//! hidden `.backup_….dir.partial` folder (mode 0700) that pg_dump fills in place, published
//! by one rename once every file is hashed and fsynced; read and removed only while the folder holds
//! nothing but plain files.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::catalog::manifest::{self, ManifestFile};
use crate::store::fsutil;
use crate::store::{Object, PendingFolder, StoreError, StoreResult};

/// The partial folder; removed with what it holds when dropped before commit.
pub struct LocalFolder {
    partial: PathBuf,
    final_path: PathBuf,
    committed: bool,
}

impl LocalFolder {
    /// Makes the empty private folder `partial`, to become `final_path`.
    pub fn create(partial: PathBuf, final_path: PathBuf) -> StoreResult<LocalFolder> {
        DirBuilder::new()
            .mode(0o700)
            .create(&partial)
            .with_context(|| format!("could not create folder {}", partial.display()))?;
        Ok(LocalFolder {
            partial,
            final_path,
            committed: false,
        })
    }
}

impl PendingFolder for LocalFolder {
    fn path(&self) -> &Path {
        &self.partial
    }

    /// fsyncs every file and the folder, renames it to its final name (never over an
    /// existing one: the caller holds the writer lock), fsyncs the repository folder.
    fn commit(mut self: Box<Self>) -> StoreResult<Vec<ManifestFile>> {
        let mut hashed = Vec::new();
        for file in files(&self.partial)? {
            let path = self.partial.join(&file.name);
            let opened =
                File::open(&path).with_context(|| format!("could not read {}", path.display()))?;
            let sum = manifest::hash_reader(&file.name, &opened)
                .with_context(|| format!("could not read {}", path.display()))?;
            opened
                .sync_all()
                .with_context(|| format!("could not fsync {}", path.display()))?;
            hashed.push(sum);
        }
        fsutil::sync_dir(&self.partial)?;
        if fs::symlink_metadata(&self.final_path).is_ok() {
            return Err(StoreError::Exists(self.final_path.display().to_string()));
        }
        fs::rename(&self.partial, &self.final_path).with_context(|| {
            format!(
                "could not rename {} to {}",
                self.partial.display(),
                self.final_path.display()
            )
        })?;
        self.committed = true;
        let dir = self.final_path.parent().unwrap_or(Path::new("."));
        fsutil::sync_dir(dir)?;
        Ok(hashed)
    }
}

impl Drop for LocalFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.partial);
        }
    }
}

/// The plain files of a backup folder, sorted; anything else inside (a symbolic link, a
/// folder) makes the whole folder unsafe to read or remove.
pub fn files(dir: &Path) -> StoreResult<Vec<Object>> {
    let entries =
        fs::read_dir(dir).with_context(|| format!("could not read folder {}", dir.display()))?;
    let mut objects = Vec::new();
    for dirent in entries {
        let dirent = dirent.with_context(|| format!("could not read folder {}", dir.display()))?;
        let path = dirent.path();
        let meta = fs::symlink_metadata(&path)
            .with_context(|| format!("could not look up {}", path.display()))?;
        let name = dirent.file_name().into_string().ok();
        match name {
            Some(name) if meta.is_file() => objects.push(Object {
                name,
                size: meta.len(),
            }),
            _ => {
                return Err(StoreError::Unsafe {
                    name: dir.display().to_string(),
                    reason: format!(
                        "{} is not a plain file inside the backup folder",
                        path.display()
                    ),
                });
            }
        }
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(objects)
}

/// Opens one plain file of the folder, never following a link.
pub fn open(dir: &Path, file: &str) -> StoreResult<File> {
    if file.is_empty() || file.contains(['/', '\0']) || file == "." || file == ".." {
        return Err(StoreError::Unsafe {
            name: file.to_string(),
            reason: format!("{file:?} is not a plain file name inside {}", dir.display()),
        });
    }
    let path = dir.join(file);
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(opened) => Ok(opened),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            Err(StoreError::Missing(path.display().to_string()))
        }
        Err(err) => Err(anyhow::Error::new(err)
            .context(format!("could not read {}", path.display()))
            .into()),
    }
}

/// Removes the folder's plain files, then the folder itself.
pub fn remove(dir: &Path) -> StoreResult<()> {
    for file in files(dir)? {
        let path = dir.join(&file.name);
        fs::remove_file(&path).with_context(|| format!("could not delete {}", path.display()))?;
    }
    fs::remove_dir(dir).with_context(|| format!("could not delete {}", dir.display()))?;
    Ok(())
}
