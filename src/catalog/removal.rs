//! Deleting backups crash-safely: mark the entries, unlink the files, then drop the entries.
//! A crash in between leaves entries marked `deleting`, which never count as backups and
//! which the next delete or prune finishes.

use std::path::Path;

use anyhow::Result;

use crate::catalog::sidecar;
use crate::catalog::{Catalog, Entry};
use crate::model::naming;
use crate::store::files::{self, FileState};

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

/// Removes `targets` from the catalog and their files from `backups_dir`. Callers hold
/// the lock.
pub fn remove(
    catalog: &mut Catalog,
    catalog_path: &Path,
    backups_dir: &Path,
    targets: &[Target],
) -> Result<Vec<Removed>> {
    for t in targets {
        if let Some(entry) = catalog.find_file_mut(&t.id, &t.filename) {
            entry.deleting = Some(true);
        }
    }
    catalog.save(catalog_path)?;
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
        let outcome = match files::state_of(backups_dir, &entry) {
            FileState::Unsafe(reason) => Ok(entry_only(&entry, reason)),
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
            _ => files::remove_entry_file(backups_dir, &entry)
                .and_then(|()| sidecar::remove(backups_dir, &entry.filename))
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
    if !removed.is_empty() {
        crate::store::fsutil::sync_dir(backups_dir)?;
    }
    catalog.save(catalog_path)?;
    match failure {
        Some(err) => Err(err),
        None => Ok(removed),
    }
}

fn entry_only(entry: &Entry, reason: String) -> Removed {
    Removed::EntryOnly {
        id: entry.id.clone(),
        reason,
    }
}
