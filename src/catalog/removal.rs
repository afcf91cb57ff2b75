//! Deleting backups crash-safely: mark the entries, unlink the files, then drop the entries.
//! A crash in between leaves entries marked `deleting`, which never count as backups and
//! which the next delete or prune finishes.

use anyhow::{Context, Result, anyhow};

use crate::catalog::{Catalog, Entry};
use crate::catalog::{confine, sidecar};
use crate::model::naming;
use crate::store::{Stat, Store, StoreError};

/// What happened to one backup.
#[derive(Debug, Clone, PartialEq)]
pub enum Removed {
    /// File unlinked (or already gone) and entry dropped.
    Deleted { id: String },
    /// The entry named a file pgbackup must not touch: entry dropped, file left alone.
    EntryOnly { id: String, reason: String },
}

/// One entry to remove: the file name tells apart entries that share an ID.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub filename: String,
}

impl Target {
    pub fn of(entry: &Entry) -> Target {
        Target {
            id: entry.id.clone(),
            filename: entry.filename.clone(),
        }
    }
}

/// The entries an interrupted delete left marked, to be finished now.
pub fn pending(catalog: &Catalog) -> Vec<Target> {
    catalog
        .backups
        .iter()
        .filter(|e| e.is_deleting())
        .map(Target::of)
        .collect()
}

/// Removes `targets` from the catalog and their files from `store`. Callers hold the lock.
pub fn remove(
    catalog: &mut Catalog,
    store: &dyn Store,
    targets: &[Target],
) -> Result<Vec<Removed>> {
    for t in targets {
        if let Some(entry) = catalog.find_file_mut(&t.id, &t.filename) {
            entry.deleting = Some(true);
        }
    }
    catalog.save(store)?;
    let mut removed = Vec::new();
    let mut failure = None;
    for t in targets {
        let Some(entry) = catalog.find_file_mut(&t.id, &t.filename).map(|e| e.clone()) else {
            continue;
        };
        let shared = catalog
            .backups
            .iter()
            .filter(|e| e.filename == entry.filename)
            .count()
            > 1;
        let outcome = match state(store, &entry) {
            Err(reason) => Ok(entry_only(&entry, reason)),
            _ if naming::parse_file_name(&entry.filename).is_none() => Ok(entry_only(
                &entry,
                format!(
                    "file name {:?} does not follow the backup naming scheme",
                    entry.filename
                ),
            )),
            _ if shared => Ok(entry_only(
                &entry,
                format!("another catalog entry names {} too", entry.filename),
            )),
            _ => remove_file(store, &entry)
                .and_then(|()| sidecar::remove(store, &entry.filename))
                .map(|()| Removed::Deleted {
                    id: entry.id.clone(),
                }),
        };
        match outcome {
            Ok(done) => {
                catalog.remove_file_entry(&entry.id, &entry.filename);
                removed.push(done);
            }
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    catalog.save(store)?;
    match failure {
        Some(err) => Err(err),
        None => Ok(removed),
    }
}

/// Whether the entry's file may be touched: `Err` says why not.
fn state(store: &dyn Store, entry: &Entry) -> Result<Stat, String> {
    let name = confine::entry_name(store, entry)?;
    match store.stat(name) {
        Ok(Stat::Unsafe(reason)) => Err(reason),
        Ok(stat) => Ok(stat),
        Err(err) => Err(err.to_string()),
    }
}

/// Removes an entry's file after checking, right before, that it is a plain file in the
/// repository. A file that is already gone is not an error.
fn remove_file(store: &dyn Store, entry: &Entry) -> Result<()> {
    match store.remove(&entry.filename) {
        Ok(()) | Err(StoreError::Missing(_)) => Ok(()),
        Err(StoreError::Unsafe { reason, .. }) => {
            Err(anyhow!("refusing to delete backup {}: {reason}", entry.id))
        }
        Err(err) => Err(err)
            .with_context(|| format!("could not delete {}", store.describe(&entry.filename))),
    }
}

fn entry_only(entry: &Entry, reason: String) -> Removed {
    Removed::EntryOnly {
        id: entry.id.clone(),
        reason,
    }
}
