//! Deleting: confirmation, dry runs, and confinement to the backups folder.

use std::fs;
use std::os::unix::fs::symlink;

use serde_json::json;

use crate::support::{Env, stderr, stdout};

#[test]
fn delete_without_yes_and_without_a_terminal_is_refused() {
    let env = Env::new();
    let entry = env.create(&[]);
    let output = env.run(&["delete", entry["id"].as_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("pass --yes"),
        "{}",
        stderr(&output)
    );
    assert_eq!(env.entries().len(), 1);
    assert!(
        env.backups_dir()
            .join(entry["filename"].as_str().unwrap())
            .exists()
    );
}

#[test]
fn a_dry_run_changes_nothing() {
    let env = Env::new();
    let entry = env.create(&[]);
    let before = fs::read(env.catalog_path()).unwrap();
    let output = env.run(&["delete", "--dry-run", entry["id"].as_str().unwrap()]);
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("would delete 1 backup"),
        "{}",
        stdout(&output)
    );
    assert_eq!(fs::read(env.catalog_path()).unwrap(), before);
    assert!(
        env.backups_dir()
            .join(entry["filename"].as_str().unwrap())
            .exists()
    );
}

#[test]
fn delete_removes_the_file_and_the_entry() {
    let env = Env::new();
    let first = env.create(&[]);
    let second = env.create(&["--type", "schema"]);
    let output = env.run(&["delete", "--yes", first["id"].as_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(env.entries(), vec![second.clone()]);
    assert_eq!(
        env.files(),
        vec![
            "backup_metadata.json".to_string(),
            second["filename"].as_str().unwrap().to_string()
        ]
    );
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(
        log.lines().last().unwrap().contains("command=\"delete"),
        "{log}"
    );
}

#[test]
fn pinned_backups_are_not_deleted() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    assert!(env.run(&["pin", id]).status.success());
    assert_eq!(env.entries()[0]["pinned"], true);
    let output = env.run(&["delete", "--yes", id]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("pinned"));
    assert!(env.run(&["unpin", id]).status.success());
    assert!(env.run(&["delete", "--yes", id]).status.success());
    assert!(env.entries().is_empty());
}

#[test]
fn hostile_entries_cannot_delete_anything_outside_the_folder() {
    let env = Env::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.sql");
    fs::write(&victim, "precious").unwrap();
    fs::create_dir_all(env.backups_dir()).unwrap();
    let dir = env.backups_dir();
    // `home/backups/../../<outside>` written relative, an absolute path elsewhere, and a link.
    let relative = format!("../../{}", victim.strip_prefix("/").unwrap().display());
    symlink(&victim, dir.join("backup_full_20250101_000000.sql")).unwrap();
    let catalog = json!([
        {"id": "a1", "filename": relative, "path": "", "type": "full", "compressed": false, "size": 8, "date": "2025-01-01T00:00:00", "description": "", "database": "app"},
        {"id": "a2", "filename": "victim.sql", "path": victim, "type": "full", "compressed": false, "size": 8, "date": "2025-01-01T00:00:00", "description": "", "database": "app"},
        {"id": "a3", "filename": "backup_full_20250101_000000.sql", "path": dir.join("backup_full_20250101_000000.sql"), "type": "full", "compressed": false, "size": 8, "date": "2025-01-01T00:00:00", "description": "", "database": "app"}
    ]);
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    let listed = stdout(&env.run(&["list"]));
    assert!(listed.matches("unsafe").count() == 3, "{listed}");

    let output = env.run(&["delete", "--yes", "a1", "a2", "a3"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("left alone"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        fs::symlink_metadata(dir.join("backup_full_20250101_000000.sql")).is_ok(),
        "the link itself is left"
    );
    assert!(env.entries().is_empty());
}

#[test]
fn an_interrupted_delete_is_finished_by_the_next_one() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    // As left by a crash after the entry was marked and the file unlinked.
    let mut catalog: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    catalog["backups"][0]["deleting"] = json!(true);
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    fs::remove_file(env.backups_dir().join(entry["filename"].as_str().unwrap())).unwrap();

    let listed = stdout(&env.run(&["list"]));
    assert!(listed.contains("deleting"), "{listed}");
    let latest = env.run(&["view", "latest"]);
    assert_eq!(
        latest.status.code(),
        Some(2),
        "a backup being deleted is not a backup"
    );
    assert!(env.run(&["delete", "--yes", id]).status.success());
    assert!(env.entries().is_empty());
}

#[test]
fn on_a_terminal_delete_asks_first() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    let (code, screen) = env.run_on_terminal(&format!("delete {id}"), &[], "n");
    assert_eq!(code, Some(2), "{screen}");
    assert!(
        screen.contains("Delete 1 backup(s)? [y/N]") && screen.contains(id),
        "{screen}"
    );
    assert_eq!(env.entries().len(), 1);
    let (code, screen) = env.run_on_terminal(&format!("delete {id}"), &[], "y");
    assert_eq!(code, Some(0), "{screen}");
    assert!(env.entries().is_empty());
}
