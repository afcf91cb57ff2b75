use std::fs;

use sha2::{Digest, Sha256};

use super::{Copied, copy_backup};
use crate::catalog::{Catalog, Entry, sidecar};
use crate::pg::dump::hex;
use crate::store::{LocalStore, Store};

const NAME: &str = "backup_full_20250408_160000.sql.gz";

/// A source repository holding one recorded backup of `bytes`.
fn source(dir: &std::path::Path, bytes: &[u8]) -> (LocalStore, Entry) {
    let store = LocalStore::new(dir);
    fs::write(dir.join(NAME), bytes).unwrap();
    let text = serde_json::json!([{
        "id": "20250408_160000", "filename": NAME, "path": dir.join(NAME),
        "type": "full", "compressed": true, "size": bytes.len(),
        "date": "2025-04-08T16:00:00", "description": "", "database": "app",
        "sha256": hex(&Sha256::digest(bytes)),
    }])
    .to_string();
    let catalog = Catalog::parse(&text).unwrap();
    catalog.save(&store).unwrap();
    (store, catalog.backups[0].clone())
}

#[test]
fn a_copy_is_recorded_in_the_destination_once() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (from, entry) = source(a.path(), b"the dump");
    let to = LocalStore::new(b.path());
    let Copied::Copied(copied) = copy_backup(&from, &to, &entry).unwrap() else {
        panic!("not copied")
    };
    assert_eq!(copied.path, to.describe(NAME));
    assert_eq!(fs::read(b.path().join(NAME)).unwrap(), b"the dump");
    assert_eq!(
        Catalog::load(&to).unwrap().backups,
        std::slice::from_ref(&copied)
    );
    assert_eq!(sidecar::read(&to, NAME).unwrap().unwrap(), copied);
    let again = copy_backup(&from, &to, &entry).unwrap();
    assert_eq!(again, Copied::AlreadyThere(copied));
    assert_eq!(Catalog::load(&to).unwrap().backups.len(), 1);
}

#[test]
fn a_changed_file_is_refused_and_nothing_appears() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (from, entry) = source(a.path(), b"the dump");
    fs::write(a.path().join(NAME), b"THE DUMP").unwrap();
    let to = LocalStore::new(b.path());
    let error = format!("{:#}", copy_backup(&from, &to, &entry).unwrap_err());
    assert!(error.contains("20250408_160000"), "{error}");
    assert!(error.contains(entry.sha256.as_deref().unwrap()), "{error}");
    assert!(
        error.contains(&hex(&Sha256::digest(b"THE DUMP"))),
        "{error}"
    );
    assert_eq!(fs::read_dir(b.path()).unwrap().count(), 0);
}

#[test]
fn a_different_backup_of_the_same_name_is_never_overwritten() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (from, entry) = source(a.path(), b"the dump");
    let (to, _) = source(b.path(), b"another dump");
    let error = format!("{:#}", copy_backup(&from, &to, &entry).unwrap_err());
    assert!(error.contains("never overwritten"), "{error}");
    assert_eq!(fs::read(b.path().join(NAME)).unwrap(), b"another dump");
}

#[test]
fn an_unrecorded_identical_object_is_recorded_without_uploading() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (from, entry) = source(a.path(), b"the dump");
    fs::write(b.path().join(NAME), b"the dump").unwrap();
    let to = LocalStore::new(b.path());
    let copied = copy_backup(&from, &to, &entry).unwrap();
    assert!(matches!(copied, Copied::AlreadyThere(_)), "{copied:?}");
    assert_eq!(Catalog::load(&to).unwrap().backups.len(), 1);
}

#[test]
fn missing_and_deleting_backups_are_refused() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (from, mut entry) = source(a.path(), b"the dump");
    let to = LocalStore::new(b.path());
    entry.deleting = Some(true);
    let error = format!("{:#}", copy_backup(&from, &to, &entry).unwrap_err());
    assert!(error.contains("being deleted"), "{error}");
    entry.deleting = None;
    fs::remove_file(a.path().join(NAME)).unwrap();
    let error = format!("{:#}", copy_backup(&from, &to, &entry).unwrap_err());
    assert!(error.contains("is missing"), "{error}");
    assert_eq!(fs::read_dir(b.path()).unwrap().count(), 0);
}
