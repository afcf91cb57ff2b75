//! The backups folder: which file an entry may touch (confined to backups/), and what is
//! on disk that the catalog does not know.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::catalog::{Entry, confine};
use crate::model::naming::{self, Compression};
use crate::store::Object;

/// How an entry's file looks on disk.
pub type FileState = crate::store::Stat;

/// The one file an entry may refer to: `backups/<filename>`, a plain file, never a link,
/// never outside the folder, whatever `path` and `filename` say.
pub fn entry_file(backups_dir: &Path, entry: &Entry) -> Result<PathBuf, String> {
    let location = backups_dir.display().to_string();
    confine::checked(entry, Some(backups_dir), &location).map(|name| backups_dir.join(name))
}

/// The state of an entry's file, never following a symbolic link.
pub fn state_of(backups_dir: &Path, entry: &Entry) -> FileState {
    match entry_file(backups_dir, entry) {
        Ok(_) => stat(backups_dir, &entry.filename),
        Err(reason) => FileState::Unsafe(reason),
    }
}

/// What the folder holds under `name` (a plain file name), never following a symbolic link.
pub fn stat(backups_dir: &Path, name: &str) -> FileState {
    let path = backups_dir.join(name);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            FileState::Unsafe(format!("{} is a symbolic link", path.display()))
        }
        Ok(meta) if !meta.is_file() => {
            FileState::Unsafe(format!("{} is not a regular file", path.display()))
        }
        Ok(meta) => FileState::Present { size: meta.len() },
        Err(_) => FileState::Missing,
    }
}

/// Names in the folder that follow the backup naming scheme, and leftover partial and
/// temporary files.
#[derive(Debug, Default)]
pub struct FolderScan {
    pub backups: Vec<String>,
    pub partials: Vec<String>,
}

pub fn scan(backups_dir: &Path) -> Result<FolderScan> {
    let mut scan = FolderScan::default();
    for object in list(backups_dir)? {
        if is_leftover(&object.name) {
            scan.partials.push(object.name);
        } else if naming::parse_file_name(&object.name).is_some() {
            scan.backups.push(object.name);
        }
    }
    Ok(scan)
}

/// A partial or temporary file an interrupted run left.
pub fn is_leftover(name: &str) -> bool {
    naming::is_partial_name(name) || naming::is_temporary_name(name)
}

/// The folder's plain files with their sizes, plus leftover partial and temporary names
/// whatever they are, sorted by name. A folder that does not exist holds nothing.
pub fn list(backups_dir: &Path) -> Result<Vec<Object>> {
    let entries = match fs::read_dir(backups_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(err).with_context(|| format!("could not read {}", backups_dir.display()));
        }
    };
    let mut objects = Vec::new();
    for dirent in entries {
        let dirent = dirent.with_context(|| format!("could not read {}", backups_dir.display()))?;
        let Ok(name) = dirent.file_name().into_string() else {
            continue;
        };
        let plain = dirent.file_type().is_ok_and(|t| t.is_file());
        if plain || is_leftover(&name) {
            let size = match plain {
                true => dirent.metadata().map(|m| m.len()).unwrap_or(0),
                false => 0,
            };
            objects.push(Object { name, size });
        }
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(objects)
}

/// What the file's name and size say about a backup the catalog does not know.
pub fn untracked_entry(backups_dir: &Path, name: &str) -> Entry {
    let size = std::fs::symlink_metadata(backups_dir.join(name))
        .map(|m| m.len())
        .unwrap_or(0);
    untracked_entry_of(backups_dir, name, size)
}

/// As [`untracked_entry`], with the size already known (from a listing).
pub fn untracked_entry_of(backups_dir: &Path, name: &str, size: u64) -> Entry {
    entry_for_name(name, size, &backups_dir.join(name).to_string_lossy())
}

/// The entry a backup file's name and size describe, recorded at `path`.
pub fn entry_for_name(name: &str, size: u64, path: &str) -> Entry {
    let parsed = naming::parse_file_name(name).expect("callers pass names that parse");
    let value = serde_json::json!({
        "id": parsed.id,
        "filename": name,
        "path": path,
        "type": parsed.kind.as_str(),
        "compressed": parsed.compression != Compression::None,
        "size": size,
        "date": parsed.stamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "description": "",
        "database": "",
        "format": parsed.format.as_str(),
        "compression": parsed.compression.as_str(),
    });
    serde_json::from_value(value).expect("the untracked entry is well formed")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::catalog::Catalog;

    use super::entry_file;

    fn entry(filename: &str, path: &str) -> crate::catalog::Entry {
        let text = serde_json::json!([{"id": "1", "filename": filename, "path": path}]).to_string();
        Catalog::parse(&text).unwrap().backups.remove(0)
    }

    #[test]
    fn hostile_names_are_refused() {
        let dir = Path::new("/var/lib/pgbackup/backups");
        for (filename, path) in [
            ("../../x", ""),
            ("/etc/passwd", "/etc/passwd"),
            ("..", ""),
            ("", ""),
            ("a/b.sql", ""),
            ("x.sql", "/var/lib/pgbackup/backups/../../x.sql"),
            ("x.sql", "/etc/passwd"),
            ("passwd", "/etc/passwd"),
        ] {
            assert!(
                entry_file(dir, &entry(filename, path)).is_err(),
                "{filename} {path}"
            );
        }
    }

    #[test]
    fn relocated_homes_resolve_inside_the_folder() {
        let dir = Path::new("/srv/pgbackup/backups");
        let e = entry(
            "backup_full_20250408_160000.sql",
            "/old/home/backups/backup_full_20250408_160000.sql",
        );
        assert_eq!(
            entry_file(dir, &e).unwrap(),
            dir.join("backup_full_20250408_160000.sql")
        );
    }
}
