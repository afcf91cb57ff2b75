//! Where backups are kept: a repository of named objects (backup files, the metadata file
//! beside each, the catalog). Everything that touches the repository goes through
//! [`Store`]; nothing outside this module builds a path or a key inside it.
//!
//! Names are plain file names (`backup_full_20250408_160000.sql.gz`), never paths. The
//! writer lock is not part of the repository: a flock cannot exist on object storage, so it
//! stays host-local in `$PGBACKUP_HOME`.

pub mod conformance;
pub mod fsutil;
pub mod lazy;
pub mod local;
pub mod s3;
pub mod temp_folder;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

pub use lazy::LazyStore;
pub use local::LocalStore;

/// An object the repository holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub name: String,
    pub size: u64,
}

/// What the repository holds under one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stat {
    Present {
        size: u64,
    },
    Missing,
    /// Something pgbackup must never read, replace or remove (a symbolic link, a folder).
    Unsafe(String),
}

/// Why a repository operation failed, in words an operator can act on. Never holds a
/// secret (credentials, signed URLs).
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} does not exist in the repository")]
    Missing(String),
    #[error("{0} already exists in the repository; it is never overwritten")]
    Exists(String),
    #[error("refusing to touch {name}: {reason}")]
    Unsafe { name: String, reason: String },
    /// Shown as the error itself, so that a message wrapped on its way up (an I/O error
    /// of a writer) is not repeated by its source.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Space on the filesystem holding a repository, as an unprivileged writer sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Space {
    /// Bytes a non-root process may still write.
    pub free_bytes: u64,
    pub size_bytes: u64,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A repository of backups.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// How messages name the repository (a folder, a URL), never with a secret in it.
    fn location(&self) -> String;

    /// Every committed object whose name starts with `prefix`, sorted by name. Writes not
    /// yet committed are never listed.
    fn list(&self, prefix: &str) -> StoreResult<Vec<Object>>;

    /// What is stored under `name`.
    fn stat(&self, name: &str) -> StoreResult<Stat>;

    /// The object's bytes, as a stream.
    fn open(&self, name: &str) -> StoreResult<Box<dyn Read + Send>>;

    /// Starts writing `name`. Nothing is visible under that name until
    /// [`Pending::commit`]; dropping the writer without committing leaves nothing visible.
    fn create(&self, name: &str) -> StoreResult<Box<dyn Pending>>;

    /// Removes `name`; [`StoreError::Missing`] when there is nothing to remove.
    fn remove(&self, name: &str) -> StoreResult<()>;

    /// Reads a small object whole (metadata), `None` when it does not exist.
    fn read_small(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Replaces a small object atomically: readers see the old or the new bytes, never a mix.
    fn replace(&self, name: &str, bytes: &[u8]) -> StoreResult<()>;

    /// Removes what interrupted writers left (partial files, unfinished uploads) and names
    /// it. Callers hold the writer lock.
    fn sweep(&self) -> StoreResult<Vec<String>>;

    /// Names of what interrupted writers left and [`Store::sweep`] would remove, sorted;
    /// never part of [`Store::list`].
    fn leftovers(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    /// Checks that the repository answers (endpoint, credentials, bucket), so that one
    /// that cannot be used is told apart from one that holds nothing. A local folder
    /// always answers: a missing one holds no backups yet.
    fn reach(&self) -> StoreResult<()> {
        Ok(())
    }

    /// A local file holding the object, when the repository is a local folder: programs
    /// that need a seekable file (pg_restore --jobs) read it in place.
    fn local_path(&self, _name: &str) -> Option<PathBuf> {
        None
    }

    /// How messages name one object, e.g. `/var/lib/pgbackup/backups/backup_….sql.gz`.
    fn describe(&self, name: &str) -> String {
        format!("{}/{name}", self.location().trim_end_matches('/'))
    }

    /// Free space where the repository is kept, when that means something (a local
    /// filesystem).
    fn free_space(&self) -> Option<Space> {
        None
    }

    /// Starts a backup made of several files (pg_dump's directory format) under `name`:
    /// a private local folder that a program writes into, invisible until
    /// [`PendingFolder::commit`]. [`Store::stat`], [`Store::list`] and [`Store::remove`]
    /// treat a committed folder as one object whose size is its files' total.
    fn create_folder(&self, name: &str) -> StoreResult<Box<dyn PendingFolder>> {
        Err(self.no_folders(name))
    }

    /// The files of the folder backup `name` (plain names), sorted.
    fn folder_files(&self, name: &str) -> StoreResult<Vec<Object>> {
        Err(self.no_folders(name))
    }

    /// One file of the folder backup `name`, as a stream.
    fn open_in_folder(&self, name: &str, file: &str) -> StoreResult<Box<dyn Read + Send>> {
        let _ = file;
        Err(self.no_folders(name))
    }

    /// Why this repository cannot hold `name`, a folder backup.
    fn no_folders(&self, name: &str) -> StoreError {
        StoreError::Other(anyhow::anyhow!(
            "{name}: directory-format backups are kept only in a local repository for now, \
             not in {}; use --format custom",
            self.location()
        ))
    }
}

/// The plain files of a folder being written ([`PendingFolder::path`]), sorted; anything
/// else inside (a link, a folder) is an error.
pub fn local_folder_files(dir: &Path) -> StoreResult<Vec<String>> {
    Ok(local::folder::files(dir)?
        .into_iter()
        .map(|o| o.name)
        .collect())
}

/// A folder backup being written: a program writes its files into [`PendingFolder::path`].
/// Dropping it without committing removes the folder and leaves nothing visible.
pub trait PendingFolder: Send {
    /// The local folder to write into (private, empty at first).
    fn path(&self) -> &Path;

    /// Makes the folder's files durable in the repository under its final name and returns
    /// each with the size and SHA-256 of the bytes stored (hashed as they were made durable
    /// or uploaded). Fails, leaving nothing visible, when an object of that name already
    /// exists.
    fn commit(self: Box<Self>) -> StoreResult<Vec<crate::catalog::manifest::ManifestFile>>;
}

/// An object being written. Bytes written here are invisible until committed. Write
/// errors say what was being written (`could not write …: No space left on device`).
pub trait Pending: Write + Send {
    /// Makes the object visible under its final name, durably, and returns its size. Fails,
    /// leaving nothing visible, when an object of that name already exists.
    fn commit(self: Box<Self>) -> StoreResult<u64>;
}
