//! The backups folder: which file an entry may touch (confined to backups/), and what is
//! on disk that the catalog does not know.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::catalog::{Entry, confine};
use crate::model::naming::{self, Compression};

/// How an entry's file looks on disk.
#[derive(Debug, Clone, PartialEq)]
pub enum FileState {
    Present {
        size: u64,
    },
    Missing,
    /// The entry names something pgbackup must never touch.
    Unsafe(String),
}

/// The one file an entry may refer to: `backups/<filename>`, a plain file, never a link,
/// never outside the folder, whatever `path` and `filename` say.
pub fn entry_file(backups_dir: &Path, entry: &Entry) -> Result<PathBuf, String> {
    let location = backups_dir.display().to_string();
    confine::checked(entry, Some(backups_dir), &location).map(|name| backups_dir.join(name))
}

/// The state of an entry's file, never following a symbolic link.
pub fn state_of(backups_dir: &Path, entry: &Entry) -> FileState {
    let path = match entry_file(backups_dir, entry) {
        Ok(path) => path,
        Err(reason) => return FileState::Unsafe(reason),
    };
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
    let entries = match fs::read_dir(backups_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(scan),
        Err(err) => {
            return Err(err).with_context(|| format!("could not read {}", backups_dir.display()));
        }
    };
    for dirent in entries {
        let dirent = dirent.with_context(|| format!("could not read {}", backups_dir.display()))?;
        let Ok(name) = dirent.file_name().into_string() else {
            continue;
        };
        if naming::is_partial_name(&name) || naming::is_temporary_name(&name) {
            scan.partials.push(name);
        } else if naming::parse_file_name(&name).is_some()
            && dirent.file_type().is_ok_and(|t| t.is_file())
        {
            scan.backups.push(name);
        }
    }
    scan.backups.sort();
    scan.partials.sort();
    Ok(scan)
}

/// What the file's name and size say about a backup the catalog does not know.
pub fn untracked_entry(backups_dir: &Path, name: &str) -> Entry {
    let size = std::fs::symlink_metadata(backups_dir.join(name))
        .map(|m| m.len())
        .unwrap_or(0);
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
