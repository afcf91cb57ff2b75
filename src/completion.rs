//! Dynamic shell completion (`source <(COMPLETE=bash pgbackup)`): backup IDs come from
//! the catalog of the home the environment names, as the shell completes them.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog};
use crate::config::DEFAULT_HOME;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

/// The completer of every argument that takes backup IDs.
pub fn backup_ids() -> ArgValueCompleter {
    ArgValueCompleter::new(complete_id)
}

fn complete_id(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let home = std::env::var_os("PGBACKUP_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_HOME));
    candidates(&home, current)
}

/// `latest` and the IDs of the local catalog under `home` that start with `current`,
/// newest first. A missing or unreadable catalog completes `latest` alone: completion
/// never fails loudly, and never reaches a bucket.
fn candidates(home: &Path, current: &str) -> Vec<CompletionCandidate> {
    let path = home.join("backups").join(catalog::FILE_NAME);
    let listed = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| Catalog::parse(&text).ok())
        .map(|catalog| catalog.backups)
        .unwrap_or_default();
    let mut found: Vec<CompletionCandidate> = listed
        .into_iter()
        .rev()
        .filter(|e| e.id.starts_with(current))
        .map(|e| {
            let help = Some(e.description).filter(|d| !d.is_empty());
            CompletionCandidate::new(e.id).help(help.map(Into::into))
        })
        .collect();
    if "latest".starts_with(current) {
        found.insert(0, CompletionCandidate::new("latest"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(home: &Path, current: &str) -> Vec<String> {
        candidates(home, current)
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn ids_of_the_catalog_that_match_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("backups")).unwrap();
        std::fs::write(
            dir.path().join("backups").join(catalog::FILE_NAME),
            r#"[{"id": "20250101_030000", "filename": "a"},
                {"id": 20250102, "filename": "b"},
                {"id": "20250201_030000", "filename": "c", "description": "before upgrade"}]"#,
        )
        .unwrap();
        assert_eq!(
            values(dir.path(), ""),
            ["latest", "20250201_030000", "20250102", "20250101_030000"]
        );
        assert_eq!(
            values(dir.path(), "202501"),
            ["20250102", "20250101_030000"]
        );
        assert_eq!(values(dir.path(), "l"), ["latest"]);
    }

    #[test]
    fn a_missing_or_damaged_catalog_completes_latest_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(values(dir.path(), ""), ["latest"]);
        std::fs::create_dir(dir.path().join("backups")).unwrap();
        std::fs::write(dir.path().join("backups").join(catalog::FILE_NAME), "[{").unwrap();
        assert_eq!(values(dir.path(), "2"), Vec::<String>::new());
    }
}
