//! Which object a catalog entry may touch: the one named by its `filename`, a plain name,
//! whatever `path` and `filename` say (an entry from a hand-edited or hostile catalog must
//! never reach outside the repository).

use std::path::{Component, Path};

use crate::catalog::Entry;
use crate::model::naming;
use crate::store::Store;

/// The entry's object name in `store`, or why the entry must not be used. An absolute
/// recorded `path` is the object's own when it is what `store` calls the object.
pub fn entry_name<'a>(store: &dyn Store, entry: &'a Entry) -> Result<&'a str, String> {
    checked(entry, &store.describe(&entry.filename), &store.location())
}

/// As [`entry_name`], for a repository naming the entry's object `described` and itself
/// `location` in messages.
fn checked<'a>(entry: &'a Entry, described: &str, location: &str) -> Result<&'a str, String> {
    let name = entry.filename.as_str();
    let mut components = Path::new(name).components();
    let single_normal = matches!(components.next(), Some(Component::Normal(_)))
        && components.next().is_none()
        && !name.contains('/')
        && !name.contains('\0');
    if !single_normal {
        return Err(format!(
            "filename {name:?} is not a plain file name inside backups/"
        ));
    }
    if !entry.path.is_empty() {
        let path = Path::new(&entry.path);
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(format!("path {:?} contains '..'", entry.path));
        }
        if path.file_name().and_then(|n| n.to_str()) != Some(name) {
            return Err(format!(
                "path {:?} does not end in filename {name:?}",
                entry.path
            ));
        }
        let elsewhere = path.is_absolute() && path != Path::new(described);
        if elsewhere && naming::parse_file_name(name).is_none() {
            return Err(format!("path {:?} is outside {location}", entry.path));
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::store::LocalStore;

    use super::entry_name;

    fn entry(filename: &str, path: &str) -> crate::catalog::Entry {
        let text = serde_json::json!([{"id": "1", "filename": filename, "path": path}]).to_string();
        Catalog::parse(&text).unwrap().backups.remove(0)
    }

    #[test]
    fn hostile_names_are_refused() {
        let store = LocalStore::new("/var/lib/pgbackup/backups");
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
                entry_name(&store, &entry(filename, path)).is_err(),
                "{filename} {path}"
            );
        }
    }

    #[test]
    fn the_objects_own_path_is_accepted() {
        let store = LocalStore::new("/var/lib/pgbackup/backups/");
        let e = entry("x.sql", "/var/lib/pgbackup//backups/x.sql");
        assert_eq!(entry_name(&store, &e), Ok("x.sql"));
    }

    #[test]
    fn relocated_homes_resolve_inside_the_folder() {
        let store = LocalStore::new("/srv/pgbackup/backups");
        let e = entry(
            "backup_full_20250408_160000.sql",
            "/old/home/backups/backup_full_20250408_160000.sql",
        );
        assert_eq!(
            entry_name(&store, &e),
            Ok("backup_full_20250408_160000.sql")
        );
    }
}
