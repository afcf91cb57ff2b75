//! The metadata file beside each backup (`<file>.meta.json`: its catalog entry as JSON),
//! so that a rebuilt catalog gets back names, descriptions, pins and properties.

use anyhow::{Context, Result};

use crate::catalog::Entry;
use crate::model::naming;
use crate::store::{Store, StoreError};

const SUFFIX: &str = ".meta.json";

/// The name of the metadata file of the backup file `filename`.
pub fn name_for(filename: &str) -> String {
    format!("{filename}{SUFFIX}")
}

/// Writes (or replaces) the entry's metadata file atomically. Only backups whose name
/// follows the naming scheme get one.
pub fn write(store: &dyn Store, entry: &Entry) -> Result<()> {
    if naming::parse_file_name(&entry.filename).is_none() {
        return Ok(());
    }
    let mut entry = entry.clone();
    entry.deleting = None;
    let mut text = serde_json::to_string_pretty(&entry).expect("entries serialize");
    text.push('\n');
    let name = name_for(&entry.filename);
    store.replace(&name, text.as_bytes()).with_context(|| {
        format!(
            "could not write the metadata file {}",
            store.describe(&name)
        )
    })
}

/// Writes the metadata of several entries, stopping at the first failure.
pub fn write_all<'a>(
    store: &dyn Store,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<()> {
    entries
        .into_iter()
        .try_for_each(|entry| write(store, entry))
}

/// Removes the metadata file of `filename`; one already gone is not an error.
pub fn remove(store: &dyn Store, filename: &str) -> Result<()> {
    if naming::parse_file_name(filename).is_none() {
        return Ok(());
    }
    let name = name_for(filename);
    match store.remove(&name) {
        Ok(()) | Err(StoreError::Missing(_)) => Ok(()),
        Err(err) => Err(err).with_context(|| format!("could not delete {}", store.describe(&name))),
    }
}

/// The entry recorded beside `filename`: `None` when there is no metadata file, an error
/// naming the problem when it does not read or belongs to another file.
pub fn read(store: &dyn Store, filename: &str) -> Option<Result<Entry, String>> {
    let name = name_for(filename);
    let path = store.describe(&name);
    let bytes = match store.read_small(&name) {
        Ok(None) => return None,
        Err(err) => return Some(Err(format!("could not read {path}: {err}"))),
        Ok(Some(bytes)) => bytes,
    };
    Some(match serde_json::from_slice::<Entry>(&bytes) {
        Ok(entry) if entry.filename == filename => Ok(entry),
        Ok(entry) => Err(format!(
            "{path} describes {:?}, not this file",
            entry.filename
        )),
        Err(err) => Err(format!("{path} does not read: {err}")),
    })
}
