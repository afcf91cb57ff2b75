//! The repository as a local folder (`$PGBACKUP_HOME/backups`): names confined to the
//! folder, symbolic links and other non-regular files refused, writes under a hidden
//! `.partial` name published by a hard link that never overwrites, small objects replaced
//! atomically, leftovers of interrupted writers swept.

pub(super) mod folder;
mod pending;
pub(super) mod space;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;

use super::{Object, Pending, PendingFolder, Space, Stat, Store, StoreError, StoreResult};
use crate::model::naming;
use crate::store::fsutil;
use pending::LocalPending;

/// A repository in a local folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    /// The repository in `dir`; nothing is created until something is written.
    pub fn new(dir: impl Into<PathBuf>) -> LocalStore {
        LocalStore { dir: dir.into() }
    }

    /// `dir/name` when `name` is a plain file name, never a path.
    fn path(&self, name: &str) -> StoreResult<PathBuf> {
        let mut components = Path::new(name).components();
        let plain = matches!(components.next(), Some(Component::Normal(_)))
            && components.next().is_none()
            && !name.contains(['/', '\0']);
        match plain {
            true => Ok(self.dir.join(name)),
            false => Err(StoreError::Unsafe {
                name: name.to_string(),
                reason: format!("{name:?} is not a plain file name inside backups/"),
            }),
        }
    }

    /// The path of `name` once it is known to be a plain file (or absent).
    fn regular(&self, name: &str) -> StoreResult<(PathBuf, Stat)> {
        let path = self.path(name)?;
        let stat = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                Stat::Unsafe(format!("{} is a symbolic link", path.display()))
            }
            Ok(meta) if !meta.is_file() => {
                Stat::Unsafe(format!("{} is not a regular file", path.display()))
            }
            Ok(meta) => Stat::Present { size: meta.len() },
            Err(err) if err.kind() == io::ErrorKind::NotFound => Stat::Missing,
            Err(err) => {
                return Err(anyhow::Error::new(err)
                    .context(format!("could not look up {}", path.display()))
                    .into());
            }
        };
        Ok((path, stat))
    }

    /// `dir/name` when `name` is a folder backup that is really a folder (not a link).
    fn backup_folder(&self, name: &str) -> StoreResult<Option<PathBuf>> {
        if !naming::is_directory_name(name) {
            return Ok(None);
        }
        let path = self.path(name)?;
        Ok(fs::symlink_metadata(&path)
            .is_ok_and(|meta| meta.is_dir())
            .then_some(path))
    }

    /// Opens `name` for reading, refusing anything but a plain file.
    fn open_file(&self, name: &str) -> StoreResult<Option<File>> {
        let (path, stat) = self.regular(name)?;
        match stat {
            Stat::Unsafe(reason) => Err(unsafe_error(name, reason)),
            Stat::Missing => Ok(None),
            Stat::Present { .. } => match OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
            {
                Ok(file) => Ok(Some(file)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(anyhow::Error::new(err)
                    .context(format!("could not read {}", path.display()))
                    .into()),
            },
        }
    }
}

fn unsafe_error(name: &str, reason: String) -> StoreError {
    StoreError::Unsafe {
        name: name.to_string(),
        reason,
    }
}

impl Store for LocalStore {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn describe(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Plain files only; hidden names (partial and temporary files, the lock) are never
    /// listed.
    fn list(&self, prefix: &str) -> StoreResult<Vec<Object>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(read_dir_error(&self.dir, err)),
        };
        let mut objects = Vec::new();
        for dirent in entries {
            let dirent = dirent.map_err(|e| read_dir_error(&self.dir, e))?;
            let Ok(name) = dirent.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || !name.starts_with(prefix) {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(dirent.path()) else {
                continue;
            };
            if meta.is_file() {
                objects.push(Object {
                    name,
                    size: meta.len(),
                });
            } else if meta.is_dir()
                && naming::is_directory_name(&name)
                && let Ok(files) = folder::files(&dirent.path())
            {
                let size = files.iter().map(|f| f.size).sum();
                objects.push(Object { name, size });
            }
        }
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    /// A folder backup is present when it holds only plain files; its size is theirs.
    fn stat(&self, name: &str) -> StoreResult<Stat> {
        if let Some(path) = self.backup_folder(name)? {
            return match folder::files(&path) {
                Ok(files) => Ok(Stat::Present {
                    size: files.iter().map(|f| f.size).sum(),
                }),
                Err(StoreError::Unsafe { reason, .. }) => Ok(Stat::Unsafe(reason)),
                Err(err) => Err(err),
            };
        }
        match self.regular(name) {
            Ok((_, stat)) => Ok(stat),
            Err(StoreError::Unsafe { reason, .. }) => Ok(Stat::Unsafe(reason)),
            Err(err) => Err(err),
        }
    }

    fn open(&self, name: &str) -> StoreResult<Box<dyn Read + Send>> {
        match self.open_file(name)? {
            Some(file) => Ok(Box::new(file)),
            None => Err(StoreError::Missing(name.to_string())),
        }
    }

    fn create(&self, name: &str) -> StoreResult<Box<dyn Pending>> {
        let final_path = self.path(name)?;
        let partial = self.dir.join(naming::partial_name(name));
        let file = fsutil::create_private_file(&partial)?;
        Ok(Box::new(LocalPending::new(file, partial, final_path)))
    }

    fn remove(&self, name: &str) -> StoreResult<()> {
        if let Some(path) = self.backup_folder(name)? {
            folder::remove(&path)?;
            return Ok(fsutil::sync_dir(&self.dir)?);
        }
        let (path, stat) = self.regular(name)?;
        match stat {
            Stat::Unsafe(reason) => return Err(unsafe_error(name, reason)),
            Stat::Missing => return Err(StoreError::Missing(name.to_string())),
            Stat::Present { .. } => {}
        }
        match fs::remove_file(&path) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::Missing(name.to_string()))
            }
            Err(err) => Err(anyhow::Error::new(err)
                .context(format!("could not delete {}", path.display()))
                .into()),
            Ok(()) => Ok(fsutil::sync_dir(&self.dir)?),
        }
    }

    fn read_small(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let Some(mut file) = self.open_file(name)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .with_context(|| format!("could not read {}", self.describe(name)))?;
        Ok(Some(bytes))
    }

    fn replace(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        let (path, stat) = self.regular(name)?;
        if let Stat::Unsafe(reason) = stat {
            return Err(unsafe_error(name, reason));
        }
        Ok(fsutil::write_atomic(&path, bytes)?)
    }

    /// Removes the partial and temporary files (`.backup_….partial`, `.backup_….tmp`) that
    /// an interrupted run left.
    fn sweep(&self) -> StoreResult<Vec<String>> {
        let swept = self.leftovers()?;
        for name in &swept {
            let path = self.dir.join(name);
            let is_dir = fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir());
            // remove_dir_all never follows a symbolic link inside the folder.
            let removed = match is_dir {
                true => fs::remove_dir_all(&path),
                false => fs::remove_file(&path),
            };
            removed.with_context(|| format!("could not remove {}", path.display()))?;
            tracing::warn!("removed leftover partial file {}", path.display());
        }
        Ok(swept)
    }

    /// Partial and temporary names, whatever they are (a file, a link, a folder).
    fn leftovers(&self) -> StoreResult<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(read_dir_error(&self.dir, err)),
        };
        let mut names = Vec::new();
        for dirent in entries {
            let dirent = dirent.map_err(|e| read_dir_error(&self.dir, e))?;
            let Ok(name) = dirent.file_name().into_string() else {
                continue;
            };
            if naming::is_partial_name(&name) || naming::is_temporary_name(&name) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn local_path(&self, name: &str) -> Option<PathBuf> {
        self.path(name).ok()
    }

    fn free_space(&self) -> Option<Space> {
        space::space_of(&self.dir).ok()
    }

    fn create_folder(&self, name: &str) -> StoreResult<Box<dyn PendingFolder>> {
        let final_path = self.path(name)?;
        fsutil::ensure_private_dir(&self.dir)?;
        let partial = self.dir.join(naming::partial_name(name));
        Ok(Box::new(folder::LocalFolder::create(partial, final_path)?))
    }

    fn folder_files(&self, name: &str) -> StoreResult<Vec<Object>> {
        match self.backup_folder(name)? {
            Some(path) => folder::files(&path),
            None => Err(StoreError::Missing(name.to_string())),
        }
    }

    fn open_in_folder(&self, name: &str, file: &str) -> StoreResult<Box<dyn Read + Send>> {
        match self.backup_folder(name)? {
            Some(path) => Ok(Box::new(folder::open(&path, file)?)),
            None => Err(StoreError::Missing(name.to_string())),
        }
    }
}

fn read_dir_error(dir: &Path, err: io::Error) -> StoreError {
    anyhow::Error::new(err)
        .context(format!("could not read {}", dir.display()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::LocalStore;
    use crate::store::{Store, conformance};

    #[test]
    fn the_local_store_conforms() {
        let dirs = std::sync::Mutex::new(Vec::new());
        conformance::run_all(&|| {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalStore::new(dir.path().join("backups"));
            std::fs::create_dir(dir.path().join("backups")).unwrap();
            dirs.lock().unwrap().push(dir);
            Box::new(store) as Box<dyn Store>
        });
    }

    #[test]
    fn hostile_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        std::fs::write(dir.path().join("target"), b"secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("target"), dir.path().join("link")).unwrap();
        for name in ["../x", "/etc/passwd", "..", "", "a/b.sql", "link"] {
            assert!(store.open(name).is_err(), "{name}");
            assert!(store.remove(name).is_err(), "{name}");
            assert!(store.read_small(name).is_err(), "{name}");
        }
        assert!(dir.path().join("target").exists());
        assert!(store.list("").unwrap().iter().all(|o| o.name != "link"));
    }
}
