//! Deleting backups crash-safely: mark the entries, unlink the files, then drop the entries.
//! A crash in between leaves entries marked `deleting`, which never count as backups and
//! which the next delete finishes.

use std::path::Path;

use anyhow::Result;

use crate::catalog::Catalog;
use crate::files::{self, FileState};

/// What happened to one backup.
#[derive(Debug, Clone, PartialEq)]
pub enum Removed {
    /// File unlinked (or already gone) and entry dropped.
    Deleted { id: String },
    /// The entry named a file pgbackup must not touch: entry dropped, file left alone.
    EntryOnly { id: String, reason: String },
}

/// Removes `ids` from the catalog and their files from `backups_dir`. Callers hold the lock.
pub fn remove(
    catalog: &mut Catalog,
    catalog_path: &Path,
    backups_dir: &Path,
    ids: &[String],
) -> Result<Vec<Removed>> {
    for id in ids {
        if let Some(entry) = catalog.find_mut(id) {
            entry.deleting = Some(true);
        }
    }
    catalog.save(catalog_path)?;
    let mut removed = Vec::new();
    let mut failure = None;
    for id in ids {
        let Some(entry) = catalog.find(id) else {
            continue;
        };
        let outcome = match files::state_of(backups_dir, entry) {
            FileState::Unsafe(reason) => Ok(Removed::EntryOnly {
                id: id.clone(),
                reason,
            }),
            _ => files::remove_entry_file(backups_dir, entry)
                .map(|()| Removed::Deleted { id: id.clone() }),
        };
        match outcome {
            Ok(done) => {
                catalog.remove(id);
                removed.push(done);
            }
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    if !removed.is_empty() {
        crate::fsutil::sync_dir(backups_dir)?;
    }
    catalog.save(catalog_path)?;
    match failure {
        Some(err) => Err(err),
        None => Ok(removed),
    }
}
