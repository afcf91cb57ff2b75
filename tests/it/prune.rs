//! `prune`: restic's semantics per (database, type), with pgbackup's safety rules.

use std::fs;

use serde_json::{Value, json};

use crate::support::{Env, stderr};

/// Fourteen daily full backups of `app` (2025-03-01..14 at 03:00), two schema backups,
/// one full backup of `other`, each with its file, in the old module's catalog form.
fn write_history(env: &Env) -> Vec<String> {
    fs::create_dir_all(env.backups_dir()).unwrap();
    let mut entries = Vec::new();
    let mut add = |id: String, kind: &str, database: &str| {
        let filename = format!("backup_{kind}_{id}.sql");
        fs::write(env.backups_dir().join(&filename), "-- dump\n").unwrap();
        let date = format!(
            "{}-{}-{}T{}:{}:{}",
            &id[0..4],
            &id[4..6],
            &id[6..8],
            &id[9..11],
            &id[11..13],
            &id[13..15]
        );
        entries.push(json!({"id": id, "filename": filename, "path": env.backups_dir().join(&filename),
            "type": kind, "compressed": false, "size": 8, "date": date, "description": "", "database": database}));
    };
    for day in 1..=14 {
        add(format!("202503{day:02}_030000"), "full", "app");
    }
    add("20250310_120000".to_string(), "schema", "app");
    add("20250312_120000".to_string(), "schema", "app");
    add("20250301_040000".to_string(), "full", "other");
    fs::write(
        env.catalog_path(),
        serde_json::to_string_pretty(&entries).unwrap(),
    )
    .unwrap();
    entries
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

fn prune_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["prune", "--json"];
    all.extend_from_slice(args);
    let output = env.cmd().env("TZ", "UTC").args(&all).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

#[test]
fn a_dry_run_shows_keep_and_remove_and_changes_nothing() {
    let env = Env::new();
    write_history(&env);
    let before = fs::read(env.catalog_path()).unwrap();
    let plan = prune_json(&env, &["--keep-daily", "3", "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        ids(&plan["keep"]),
        [
            "20250314_030000",
            "20250313_030000",
            "20250312_120000",
            "20250312_030000",
            "20250310_120000",
            "20250301_040000"
        ]
    );
    assert_eq!(plan["keep"][0]["reasons"], json!(["daily"]));
    assert_eq!(plan["keep"][0]["database"], "app");
    assert_eq!(plan["keep"][0]["type"], "full");
    assert_eq!(ids(&plan["remove"]).len(), 11);
    assert_eq!(
        plan["remove"][0],
        json!({"id": "20250311_030000", "database": "app", "type": "full", "date": "2025-03-11T03:00:00"})
    );
    assert_eq!(
        fs::read(env.catalog_path()).unwrap(),
        before,
        "a dry run changed the catalog"
    );
    assert_eq!(env.files().len(), 18);
}

#[test]
fn prune_removes_files_and_entries_but_never_pinned_ones() {
    let env = Env::new();
    write_history(&env);
    assert!(env.run(&["pin", "20250301_030000"]).status.success());
    let plan = prune_json(&env, &["--keep-last", "2"]);
    assert_eq!(plan["dry_run"], false);
    let kept = ids(&plan["keep"]);
    assert!(
        kept.contains(&"20250301_030000"),
        "pinned backup removed: {kept:?}"
    );
    let pinned = plan["keep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "20250301_030000")
        .unwrap();
    assert_eq!(pinned["reasons"], json!(["pinned"]));
    let remaining: Vec<String> = env
        .entries()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(remaining.len(), kept.len());
    for removed in ids(&plan["remove"]) {
        assert!(!remaining.iter().any(|r| r == removed));
        assert!(
            !env.backups_dir()
                .join(format!("backup_full_{removed}.sql"))
                .exists()
        );
    }
    assert!(
        env.backups_dir()
            .join("backup_full_20250301_030000.sql")
            .exists()
    );
}

#[test]
fn empty_and_invalid_policies_are_refused() {
    let env = Env::new();
    write_history(&env);
    for args in [
        vec!["prune", "--keep-daily", "0"],
        vec!["prune", "--keep-daily", "-2"],
        vec!["prune", "--keep-within", "5x"],
    ] {
        let output = env.run(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(env.entries().len(), 17);
}

#[test]
fn entries_whose_file_is_missing_take_no_part() {
    let env = Env::new();
    write_history(&env);
    fs::remove_file(env.backups_dir().join("backup_full_20250314_030000.sql")).unwrap();
    let plan = prune_json(&env, &["--keep-last", "1", "--dry-run"]);
    let all: Vec<&str> = ids(&plan["keep"])
        .into_iter()
        .chain(ids(&plan["remove"]))
        .collect();
    assert!(!all.contains(&"20250314_030000"));
    assert!(
        ids(&plan["keep"]).contains(&"20250313_030000"),
        "the newest present backup is kept"
    );
}

#[test]
fn without_flags_the_schedules_retention_applies() {
    let env = Env::new();
    write_history(&env);
    fs::create_dir_all(env.home()).unwrap();
    let schedule = json!({"enabled": true, "frequency": "daily", "time": "03:00",
        "retention": {"daily": 2, "weekly": 0, "monthly": 0}, "last_run": null, "next_run": null});
    fs::write(
        env.home().join("backup_schedule.json"),
        schedule.to_string(),
    )
    .unwrap();
    let plan = prune_json(&env, &["--dry-run"]);
    let kept_full_app: Vec<&str> = plan["keep"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["database"] == "app" && k["type"] == "full")
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(kept_full_app, ["20250314_030000", "20250313_030000"]);
}
