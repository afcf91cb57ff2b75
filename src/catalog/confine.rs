//! Which object a catalog entry may touch: the one named by its `filename`, a plain name,
//! whatever `path` and `filename` say (an entry from a hand-edited or hostile catalog must
//! never reach outside the repository).

use std::path::{Component, Path};

use crate::catalog::Entry;
use crate::model::naming;
use crate::store::Store;

/// The entry's object name in `store`, or why the entry must not be used.
pub fn entry_name<'a>(store: &dyn Store, entry: &'a Entry) -> Result<&'a str, String> {
    let folder = store
        .local_path(".")
        .and_then(|p| p.parent().map(Path::to_path_buf));
    checked(entry, folder.as_deref(), &store.location())
}

/// As [`entry_name`], for a repository kept in `folder` (when it is a local folder) and
/// named `location` in messages.
pub fn checked<'a>(
    entry: &'a Entry,
    folder: Option<&Path>,
    location: &str,
) -> Result<&'a str, String> {
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
        let elsewhere = path.is_absolute() && path.parent() != folder;
        if elsewhere && naming::parse_file_name(name).is_none() {
            return Err(format!("path {:?} is outside {location}", entry.path));
        }
    }
    Ok(name)
}
