//! The metadata file beside each backup (`<file>.meta.json`: its catalog entry as JSON),
//! so that a rebuilt catalog gets back names, descriptions, pins and properties.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::catalog::Entry;
use crate::model::naming;
use crate::store::fsutil;

const SUFFIX: &str = ".meta.json";

/// Where the metadata of the backup file `filename` lives.
pub fn path_for(backups_dir: &Path, filename: &str) -> PathBuf {
    backups_dir.join(format!("{filename}{SUFFIX}"))
}

/// Writes (or replaces) the entry's metadata file atomically, mode 0600. Only backups
/// whose name follows the naming scheme get one.
pub fn write(backups_dir: &Path, entry: &Entry) -> Result<()> {
    if naming::parse_file_name(&entry.filename).is_none() {
        return Ok(());
    }
    let mut entry = entry.clone();
    entry.deleting = None;
    let mut text = serde_json::to_string_pretty(&entry).expect("entries serialize");
    text.push('\n');
    let path = path_for(backups_dir, &entry.filename);
    fsutil::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("could not write the metadata file {}", path.display()))
}

/// Writes the metadata of several entries, stopping at the first failure.
pub fn write_all<'a>(
    backups_dir: &Path,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<()> {
    entries
        .into_iter()
        .try_for_each(|entry| write(backups_dir, entry))
}

/// Removes the metadata file of `filename`; one already gone is not an error.
pub fn remove(backups_dir: &Path, filename: &str) -> Result<()> {
    if naming::parse_file_name(filename).is_none() {
        return Ok(());
    }
    let path = path_for(backups_dir, filename);
    match fs::remove_file(&path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("could not delete {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The entry recorded beside `filename`: `None` when there is no metadata file, an error
/// naming the problem when it does not read or belongs to another file.
pub fn read(backups_dir: &Path, filename: &str) -> Option<Result<Entry, String>> {
    let path = path_for(backups_dir, filename);
    let text = match fs::read_to_string(&path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
        Err(err) => return Some(Err(format!("could not read {}: {err}", path.display()))),
        Ok(text) => text,
    };
    Some(match serde_json::from_str::<Entry>(&text) {
        Ok(entry) if entry.filename == filename => Ok(entry),
        Ok(entry) => Err(format!(
            "{} describes {:?}, not this file",
            path.display(),
            entry.filename
        )),
        Err(err) => Err(format!("{} does not read: {err}", path.display())),
    })
}
