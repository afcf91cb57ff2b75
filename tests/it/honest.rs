//! A failure is never reported as success: a program that stops reading is a failure,
//! `latest` never swaps in a schema-only backup, flags are passed on or refused, a file
//! that changes during a restore is noticed, and the results verify records are read back.

use std::fs;
use std::process::Command;
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Env, assert_success, id, real_program, stderr, stdout};

fn item_count(env: &Env) -> String {
    env.cluster.psql("app", "SELECT count(*) FROM items")
}

fn leftovers(env: &Env) -> Vec<String> {
    env.cluster
        .databases()
        .into_iter()
        .filter(|d| d.contains("_restoring_") || d.contains("_pre_restore_"))
        .collect()
}

#[test]
fn a_program_that_stops_reading_its_input_is_a_failure() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE bulk AS SELECT g, md5(g::text) || md5((g * 7)::text) AS t \
         FROM generate_series(1, 100000) g",
    );
    let entry = env.create(&["--format", "custom", "--compression", "gzip"]);
    // A pg_restore that closes its stdin at once and claims success.
    env.shim("pg_restore", "#!/bin/sh\nexec 0<&-\nsleep 0.2\nexit 0\n");
    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("stopped reading its input"), "{err}");
    assert!(err.contains("was not touched"), "{err}");
    assert_eq!(stdout(&output), "");
    assert_eq!(leftovers(&env), Vec::<String>::new());
    assert_eq!(item_count(&env), "1000");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let env = Env::new();
    env.create(&[]);
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    for (args, reader) in [
        ("list", "head -c1 >/dev/null"),
        ("list", "true"),
        ("list --json", "true"),
        ("view latest", "true"),
        ("completions bash", "true"),
    ] {
        let output = Command::new("bash")
            .args([
                "-c",
                &format!("\"$0\" {args} | {reader}; echo \"${{PIPESTATUS[0]}}\""),
            ])
            .arg(&bin)
            .envs(env.vars())
            .output()
            .unwrap();
        assert_eq!(stdout(&output).trim(), "0", "{args} | {reader}");
        assert_eq!(stderr(&output), "", "{args} | {reader}");
    }
}

#[test]
fn latest_is_the_newest_full_backup_and_schema_only_needs_type_schema() {
    let env = Env::new();
    let full = env.create(&[]);
    // Strictly newer than the full backup.
    thread::sleep(Duration::from_millis(1100));
    let schema = env.create(&["--type", "schema"]);

    let view = env.run(&["view", "latest", "--json"]);
    assert_success(&view);
    let viewed: Value = serde_json::from_slice(&view.stdout).unwrap();
    assert_eq!(viewed["id"], full["id"]);

    let restored = env.run(&["restore", "latest", "--yes", "--drop-previous"]);
    assert_success(&restored);
    assert!(
        stdout(&restored).contains(id(&full)),
        "{}",
        stdout(&restored)
    );
    assert_eq!(item_count(&env), "1000");

    // A schema-only backup over a database with data: refused without --type schema.
    let refused = env.run(&["restore", id(&schema), "--yes"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--type schema"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(item_count(&env), "1000");
    assert_eq!(leftovers(&env), Vec::<String>::new());

    // --type must match the backup.
    let mismatch = env.run(&["restore", id(&full), "--type", "schema", "--yes"]);
    assert_eq!(mismatch.status.code(), Some(2), "{}", stderr(&mismatch));

    // On a terminal the plan says so in capitals (answered "no": nothing happens).
    let (code, screen) = env.run_on_terminal(&format!("restore {}", id(&schema)), &[], "no");
    assert_eq!(code, Some(2), "{screen}");
    assert!(
        screen.contains("ALL DATA IN DATABASE \"app\" WILL BE GONE"),
        "{screen}"
    );
    assert_eq!(item_count(&env), "1000");

    // Asked for explicitly, it is done.
    let done = env.run(&[
        "restore",
        "latest",
        "--type",
        "schema",
        "--yes",
        "--drop-previous",
    ]);
    assert_success(&done);
    assert!(stdout(&done).contains(id(&schema)), "{}", stdout(&done));
    assert_eq!(item_count(&env), "0");

    // Over an empty database no acknowledgement is needed.
    let again = env.run(&["restore", id(&schema), "--yes", "--drop-previous"]);
    assert_success(&again);
}

#[test]
fn the_level_of_a_custom_archive_reaches_pg_dump() {
    let env = Env::new();
    let archive_compression = |entry: &Value| {
        let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
        let output = Command::new("pg_restore")
            .arg("-l")
            .arg(path)
            .output()
            .unwrap();
        assert_success(&output);
        stdout(&output)
            .lines()
            .find(|l| l.starts_with(";     Compression:"))
            .unwrap_or_default()
            .to_string()
    };
    let nine = env.create(&["--format", "custom", "--level", "9"]);
    assert_eq!(archive_compression(&nine), ";     Compression: 9");
    let zero = env.create(&["--format", "custom", "--level", "0"]);
    assert_eq!(archive_compression(&zero), ";     Compression: 0");
    for args in [
        &["create", "--format", "custom", "--level", "10"][..],
        &[
            "create",
            "--format",
            "custom",
            "--no-compress",
            "--level",
            "3",
        ],
        &[
            "create",
            "--format",
            "custom",
            "--compression",
            "none",
            "--level",
            "3",
        ],
    ] {
        let output = env.run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_backup_file_that_changes_during_the_restore_is_refused() {
    let env = Env::new();
    let entry = env.create(&["--compression", "none"]);
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    // After the SHA-256 check, when the new database is created, the file changes (still
    // valid SQL, so only the checksum of the bytes loaded can notice).
    let psql = real_program("psql");
    env.shim(
        "psql",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -f ] && exec {psql} \"$@\"; done\n\
             input=$(cat)\n\
             case \"$input\" in *\"CREATE DATABASE\"*) printf '%s\\n' '-- changed' >> '{}';; esac\n\
             printf '%s\\n' \"$input\" | exec {psql} \"$@\"\n",
            path.display()
        ),
    );
    env.cluster.psql("app", "DELETE FROM items WHERE id > 10");
    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("changed while it was being restored"), "{err}");
    assert!(
        fs::read_to_string(&path).unwrap().ends_with("-- changed\n"),
        "the shim changed the file"
    );
    assert_eq!(item_count(&env), "10");
    assert_eq!(leftovers(&env), Vec::<String>::new());
}

#[test]
fn a_backup_file_that_changes_during_a_selective_restore_is_refused() {
    let env = Env::new();
    // Several MiB of table data, more than the pipe into pg_restore holds, so the file is
    // still being read when it changes.
    env.cluster.psql(
        "app",
        "CREATE TABLE bulk AS SELECT g, md5(g::text) || md5((g * 7)::text) AS t \
         FROM generate_series(1, 100000) g",
    );
    let entry = env.create(&["--format", "custom", "--level", "0"]);
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    // The pg_restore that loads the selection appends to the file as it starts (still a
    // valid archive, so only the checksum of the bytes read can notice).
    let pg_restore = real_program("pg_restore");
    env.shim(
        "pg_restore",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --clean ] && printf 'changed' >> '{}'; done\n\
             exec {pg_restore} \"$@\"\n",
            path.display()
        ),
    );
    env.cluster.psql("app", "DELETE FROM items WHERE id > 10");
    let output = env.run(&["restore", id(&entry), "--table", "items", "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("changed while it was being restored"), "{err}");
    assert!(
        fs::read(&path).unwrap().ends_with(b"changed"),
        "the shim changed the file"
    );
    assert_eq!(item_count(&env), "10", "the transaction was rolled back");
}

#[test]
fn status_reads_back_what_verify_records() {
    let env = Env::new();
    let entry = env.create(&[]);
    let verified = env.run(&["verify", "--restore-test"]);
    assert_success(&verified);
    let recorded = env
        .entries()
        .into_iter()
        .find(|e| e["id"] == entry["id"])
        .unwrap();
    assert_eq!(recorded["verify_result"], "ok");
    assert_eq!(
        recorded["verify_detail"],
        "restore test passed: 1 tables present"
    );
    let status = |env: &Env| {
        let output = env.run(&["status", "--json"]);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        report["reasons"].to_string()
    };
    let reasons = status(&env);
    assert!(!reasons.contains("verification"), "{reasons}");

    // Catalogs written before keep the whole sentence in verify_result.
    let rewrite = |result: &str| {
        let mut catalog: Value =
            serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
        let e = &mut catalog["backups"][0];
        e["verify_result"] = json!(result);
        e.as_object_mut().unwrap().remove("verify_detail");
        fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    };
    rewrite("ok (restore test passed: 1 tables present)");
    let reasons = status(&env);
    assert!(!reasons.contains("verification"), "{reasons}");
    rewrite("failed: sha256 mismatch");
    let reasons = status(&env);
    assert!(
        reasons.contains("last verification") && reasons.contains("sha256 mismatch"),
        "{reasons}"
    );
}
