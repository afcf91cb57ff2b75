//! The catalog: the old module's files, corrupt catalogs, listing and finding backups.

use std::fs;

use serde_json::{Value, json};

use crate::support::{Env, stderr, stdout};

/// What the old module left: a bare array of its nine fields, and its files.
fn write_old_module_backups(env: &Env) {
    fs::create_dir_all(env.backups_dir()).unwrap();
    let dir = env.backups_dir();
    let entries = json!([
        {"id": "20250408_160000", "filename": "backup_full_20250408_160000.sql.gz",
         "path": dir.join("backup_full_20250408_160000.sql.gz"), "type": "full", "compressed": true,
         "size": 20, "date": "2025-04-08T16:00:00.123456", "description": "nightly", "database": "app"},
        {"id": "20250408_170000", "filename": "backup_schema_20250408_170000.sql",
         "path": "/old/home/backups/backup_schema_20250408_170000.sql", "type": "schema", "compressed": false,
         "size": 30, "date": "2025-04-08T17:00:00", "description": null, "database": "app"},
        {"id": "20250409_160000", "filename": "backup_full_20250409_160000.sql.gz",
         "path": dir.join("backup_full_20250409_160000.sql.gz"), "type": "full", "compressed": true,
         "size": 20, "date": "2025-04-09T16:00:00", "description": "", "database": "app"}
    ]);
    fs::write(
        env.catalog_path(),
        serde_json::to_string_pretty(&entries).unwrap(),
    )
    .unwrap();
    fs::write(dir.join("backup_full_20250408_160000.sql.gz"), [0u8; 20]).unwrap();
    fs::write(dir.join("backup_schema_20250408_170000.sql"), [b'-'; 30]).unwrap();
    fs::write(
        dir.join("backup_full_20250410_090000.sql"),
        b"-- copied in by hand\n",
    )
    .unwrap();
}

fn list_json(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let output = env.run(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_old_modules_backups_are_listed_with_their_state() {
    let env = Env::new();
    write_old_module_backups(&env);
    let listed = list_json(&env, &[]);
    let summary: Vec<(&str, &str)> = listed
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("20250410_090000", "untracked"),
            ("20250409_160000", "missing"),
            ("20250408_170000", "ok"),
            ("20250408_160000", "ok"),
        ]
    );
    assert_eq!(listed[3]["description"], "nightly");
    assert_eq!(listed[3]["size"], 20);
    let table = stdout(&env.run(&["list"]));
    for word in ["20250408_160000", "nightly", "untracked", "missing", "gzip"] {
        assert!(table.contains(word), "{word} missing from\n{table}");
    }
}

#[test]
fn list_filters_by_database_and_type() {
    let env = Env::new();
    write_old_module_backups(&env);
    let schema = list_json(&env, &["--type", "schema"]);
    assert_eq!(schema.len(), 1);
    assert_eq!(schema[0]["id"], "20250408_170000");
    assert!(list_json(&env, &["--database", "other"]).is_empty());
}

#[test]
fn a_new_backup_joins_the_old_catalog_without_losing_anything() {
    let env = Env::new();
    write_old_module_backups(&env);
    let before: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    let entry = env.create(&[]);
    let after = env.entries();
    assert_eq!(after.len(), 4);
    for (old, new) in before.iter().zip(&after) {
        for (key, value) in old.as_object().unwrap() {
            let expected = if value.is_null() {
                json!("")
            } else {
                value.clone()
            };
            assert_eq!(new[key], expected, "{key} changed");
        }
    }
    assert_eq!(after[3], entry);
}

#[test]
fn view_finds_backups_by_id_prefix_and_latest() {
    let env = Env::new();
    write_old_module_backups(&env);
    let view = |selector: &str| {
        let output = env.run(&["view", "--json", selector]);
        assert!(output.status.success(), "{selector}: {}", stderr(&output));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(view("20250408_170000"), "20250408_170000");
    assert_eq!(view("20250408_17"), "20250408_170000");
    assert_eq!(
        view("latest"),
        "20250408_160000",
        "latest is the newest full backup, and skips the entry whose file is missing"
    );
    let human = stdout(&env.run(&["view", "20250408_16"]));
    assert!(
        human.contains("nightly") && human.contains("backup_full_20250408_160000.sql.gz"),
        "{human}"
    );

    let unknown = env.run(&["view", "1999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no backup with ID \"1999\""),
        "{}",
        stderr(&unknown)
    );
    let ambiguous = env.run(&["view", "202504"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(
        stderr(&ambiguous).contains("ambiguous"),
        "{}",
        stderr(&ambiguous)
    );
}

#[test]
fn a_corrupt_catalog_is_reported_and_never_overwritten() {
    let env = Env::new();
    fs::create_dir_all(env.backups_dir()).unwrap();
    let broken = b"[{\"id\": \"20250408_160000\", \"filename\": ";
    fs::write(env.catalog_path(), broken).unwrap();
    for args in [vec!["create"], vec!["list"], vec!["pin", "x"]] {
        let output = env.run(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let err = stderr(&output);
        assert!(
            err.contains("backup_metadata.json is corrupt") && err.contains("--rebuild-catalog"),
            "{err}"
        );
    }
    assert_eq!(fs::read(env.catalog_path()).unwrap(), broken);
    assert_eq!(env.files(), ["backup_metadata.json"], "no backup was made");
}

#[test]
fn view_contents_lists_tables_with_their_data_for_both_formats() {
    let env = Env::new();
    env.cluster.psql("app", "CREATE SCHEMA \"my s\"; CREATE TABLE \"my s\".\"t 1\" (x int); INSERT INTO \"my s\".\"t 1\" VALUES (1), (2)");
    for format in ["plain", "custom"] {
        let entry = env.create(&["--format", format]);
        let output = env.run(&[
            "view",
            "--contents",
            "--json",
            entry["id"].as_str().unwrap(),
        ]);
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["format"], format);
        let tables = report["tables"].as_array().unwrap();
        let items = tables
            .iter()
            .find(|t| t["name"] == "items")
            .expect("items listed");
        assert_eq!(items["schema"], "public");
        assert_eq!(items["rows"], 1000, "{format}");
        assert!(items["bytes"].as_u64().unwrap() > 8000);
        let odd = tables
            .iter()
            .find(|t| t["schema"] == "my s" && t["name"] == "t 1")
            .expect("quoted names unquoted");
        assert_eq!(odd["rows"], 2);
    }
    let schema_only = env.create(&["--type", "schema"]);
    let human = stdout(&env.run(&["view", "--contents", schema_only["id"].as_str().unwrap()]));
    assert!(
        human.contains("items") && human.contains(" - "),
        "no data in a schema backup:\n{human}"
    );
}
