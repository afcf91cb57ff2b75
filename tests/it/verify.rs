//! verify: good backups pass; tampered, truncated and missing ones fail and say why; the
//! results land in the catalog; --restore-test and --rebuild-catalog.

use std::fs;

use serde_json::Value;

use crate::support::{Env, real_pg_dump, stderr, stdout};

fn verify_json(env: &Env, args: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut all = vec!["verify", "--json"];
    all.extend_from_slice(args);
    let output = env.run(&all);
    let results = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&output), stderr(&output)));
    (output.status.code(), results)
}

fn result_for<'a>(results: &'a [Value], entry: &Value) -> &'a Value {
    results
        .iter()
        .find(|r| r["id"] == entry["id"])
        .unwrap_or_else(|| panic!("no result for {}", entry["id"]))
}

fn problems(result: &Value) -> String {
    result["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn file_of(env: &Env, entry: &Value) -> std::path::PathBuf {
    env.backups_dir().join(entry["filename"].as_str().unwrap())
}

#[test]
fn verify_passes_on_good_backups_and_records_it() {
    let env = Env::new();
    let backups = [
        env.create(&[]),
        env.create(&["--compression", "zstd"]),
        env.create(&["--no-compress", "--type", "schema"]),
        env.create(&["--format", "custom"]),
    ];
    let (code, results) = verify_json(&env, &[]);
    assert_eq!(code, Some(0), "{results:?}");
    assert_eq!(results.len(), backups.len());
    for entry in &backups {
        let result = result_for(&results, entry);
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["result"], "ok");
    }
    for recorded in env.entries() {
        assert_eq!(recorded["verify_result"], "ok");
        assert!(
            chrono::DateTime::parse_from_rfc3339(recorded["verified_at"].as_str().unwrap()).is_ok()
        );
    }
}

#[test]
fn verify_fails_on_tampered_truncated_and_missing_backups() {
    let env = Env::new();
    let good = env.create(&[]);
    let tampered = env.create(&["--compression", "zstd"]);
    let truncated = env.create(&[]);
    let missing = env.create(&["--format", "custom"]);

    let path = file_of(&env, &tampered);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let path = file_of(&env, &truncated);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    fs::remove_file(file_of(&env, &missing)).unwrap();

    let (code, results) = verify_json(&env, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(result_for(&results, &good)["ok"], true);
    for (entry, expected) in [
        (&tampered, "SHA-256 mismatch"),
        (&truncated, "the file has"),
        (&truncated, "does not decode to its end"),
        (&missing, "is missing"),
    ] {
        let result = result_for(&results, entry);
        assert_eq!(result["ok"], false, "{result}");
        assert!(
            problems(result).contains(expected),
            "{expected:?} not in {result}"
        );
    }
    let recorded = env.entries();
    let by_id = |e: &Value| {
        recorded
            .iter()
            .find(|r| r["id"] == e["id"])
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&good)["verify_result"], "ok");
    assert_eq!(by_id(&tampered)["verify_result"], "failed");
    assert!(
        by_id(&tampered)["verify_detail"]
            .as_str()
            .unwrap()
            .contains("SHA-256")
    );

    let (code, results) = verify_json(&env, &[good["id"].as_str().unwrap()]);
    assert_eq!((code, results.len()), (Some(0), 1), "only the named backup");
}

#[test]
fn an_old_module_backup_is_checked_by_decoding_it() {
    let env = Env::new();
    let whole = env.create(&["--no-compress"]);
    let cut = env.create(&["--no-compress"]);
    let path = file_of(&env, &cut);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, &text[..text.len() * 2 / 3]).unwrap();
    let old_fields = [
        "id",
        "filename",
        "path",
        "type",
        "compressed",
        "size",
        "date",
        "description",
        "database",
    ];
    let mut old: Vec<Value> = env.entries();
    for entry in &mut old {
        entry
            .as_object_mut()
            .unwrap()
            .retain(|k, _| old_fields.contains(&k.as_str()));
    }
    old[1]["size"] = Value::from(fs::metadata(&path).unwrap().len());
    fs::write(env.catalog_path(), Value::Array(old).to_string()).unwrap();

    let (code, results) = verify_json(&env, &[]);
    assert_eq!(code, Some(1));
    let result = result_for(&results, &whole);
    assert_eq!(result["ok"], true, "{result}");
    assert!(
        result["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no checksum recorded")
    );
    let result = result_for(&results, &cut);
    assert!(problems(result).contains("completion line"), "{result}");
}

#[test]
fn restore_test_restores_into_a_scratch_database_and_drops_it() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE SCHEMA \"odd schema\"; CREATE TABLE \"odd schema\".\"a table\" (x int); \
         CREATE TABLE parted (d date) PARTITION BY RANGE (d); \
         CREATE TABLE parted_all PARTITION OF parted DEFAULT;",
    );
    env.create(&[]);
    env.create(&["--format", "custom", "--compression", "zstd"]);
    let databases = env.cluster.databases();
    let (code, results) = verify_json(&env, &["--restore-test"]);
    assert_eq!(code, Some(0), "{results:?}");
    for result in &results {
        assert_eq!(result["restore_tested"], true);
        assert_eq!(result["result"], "ok", "{result}");
        assert_eq!(
            result["detail"], "restore test passed: 4 tables present",
            "{result}"
        );
    }
    assert_eq!(
        env.cluster.databases(),
        databases,
        "the scratch databases are gone"
    );
}

#[test]
fn restore_test_notices_a_table_the_dump_announces_but_does_not_create() {
    let env = Env::new();
    env.shim_pg_dump(&format!(
        "echo '-- Name: ghost; Type: TABLE; Schema: public; Owner: postgres'\n{} \"$@\"",
        real_pg_dump()
    ));
    env.create(&[]);
    let (plain_ok, _) = verify_json(&env, &[]);
    assert_eq!(plain_ok, Some(0), "the file itself is fine");
    let (code, results) = verify_json(&env, &["--restore-test"]);
    assert_eq!(code, Some(1));
    assert!(
        problems(&results[0])
            .contains("1 of 2 tables are missing after the restore: public ghost postgres"),
        "{}",
        results[0]
    );
}

#[test]
fn rebuild_catalog_recovers_a_deleted_catalog() {
    let env = Env::new();
    let plain = env.create(&[]);
    let custom = env.create(&["--format", "custom"]);
    fs::remove_file(env.catalog_path()).unwrap();

    let output = env.run(&["verify", "--rebuild-catalog", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["kept"], 0);
    assert_eq!(report["adopted"].as_array().unwrap().len(), 2);

    let rebuilt = env.entries();
    for original in [&plain, &custom] {
        let entry = rebuilt.iter().find(|e| e["id"] == original["id"]).unwrap();
        for field in [
            "filename",
            "type",
            "size",
            "sha256",
            "raw_size",
            "format",
            "compression",
        ] {
            assert_eq!(entry[field], original[field], "{field}");
        }
        assert_eq!(entry["date"], original["date"]);
    }
    let custom_entry = rebuilt.iter().find(|e| e["id"] == custom["id"]).unwrap();
    assert_eq!(
        custom_entry["database"], "app",
        "named in the archive's header"
    );
    let (code, _) = verify_json(&env, &[]);
    assert_eq!(code, Some(0), "the rebuilt catalog verifies");
}

#[test]
fn rebuild_catalog_keeps_a_broken_catalog_aside_and_adopts_untracked_files() {
    let env = Env::new();
    let first = env.create(&[]);
    let second = env.create(&[]);
    let good_catalog = fs::read_to_string(env.catalog_path()).unwrap();

    fs::write(env.catalog_path(), "{ not json").unwrap();
    assert_eq!(env.run(&["list"]).status.code(), Some(1));
    let output = env.run(&["verify", "--rebuild-catalog"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let aside: Vec<String> = env
        .files()
        .into_iter()
        .filter(|f| f.starts_with("backup_metadata.json.broken-"))
        .collect();
    assert_eq!(aside.len(), 1, "{:?}", env.files());
    assert_eq!(
        fs::read_to_string(env.backups_dir().join(&aside[0])).unwrap(),
        "{ not json"
    );
    assert_eq!(env.entries().len(), 2);

    let mut kept: Value = serde_json::from_str(&good_catalog).unwrap();
    kept["backups"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["id"] == first["id"]);
    kept["backups"][0]["description"] = Value::from("kept as it was");
    fs::write(env.catalog_path(), kept.to_string()).unwrap();
    let output = env.run(&["verify", "--rebuild-catalog", "--json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["kept"], 1);
    assert_eq!(report["adopted"][0]["id"], second["id"]);
    let entries = env.entries();
    assert_eq!(entries[0]["description"], "kept as it was");
    assert_eq!(entries[1]["sha256"], second["sha256"]);
}
