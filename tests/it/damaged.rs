//! Damaged catalogs and entries: what can be read is kept, a rebuild restores everything
//! from the metadata files beside the backups, and nothing of pgbackup's own is ever deleted.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

use crate::support::{Env, stderr, stdout};

fn id_of(entry: &Value) -> String {
    entry["id"].as_str().unwrap().to_string()
}

/// Writes a catalog holding these entries' JSON texts, verbatim.
fn write_catalog_texts(env: &Env, texts: &[String]) {
    let text = format!("{{\"version\": 1, \"backups\": [{}]}}", texts.join(", "));
    fs::write(env.catalog_path(), text).unwrap();
}

fn json_of(env: &Env, args: &[&str]) -> Value {
    let output = env.run(args);
    assert!(
        output.status.code().is_some_and(|c| c <= 2),
        "{args:?}: {}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", stdout(&output)))
}

#[test]
fn a_damaged_entry_is_reported_kept_as_written_and_never_counted() {
    let env = Env::new();
    let good = env.create(&[]);
    let mut bad = env.create(&["--description", "the newer one"]);
    bad["size"] = json!("398");
    let bad_text = serde_json::to_string(&bad).unwrap();
    write_catalog_texts(&env, &[good.to_string(), bad_text.clone()]);

    let output = env.run(&["list", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot be read"),
        "{}",
        stderr(&output)
    );
    let listed: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let states: Vec<(String, &str)> = listed
        .iter()
        .map(|e| (id_of(e), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [(id_of(&bad), "damaged"), (id_of(&good), "ok")]);

    assert_eq!(
        id_of(&json_of(&env, &["view", "--json", "latest"])),
        id_of(&good)
    );
    let status = json_of(&env, &["status", "--json"]);
    assert_eq!(status["backups"]["count"], 1, "{status}");
    assert_eq!(status["backups"]["damaged"].as_array().unwrap().len(), 1);
    assert!(
        status["backups"]["untracked"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let human = stdout(&env.run(&["status"]));
    assert!(
        human.contains("warning: 1 catalog entry cannot be read and is not counted"),
        "{human}"
    );

    assert!(env.run(&["pin", &id_of(&good)]).status.success());
    let prune = env.run(&["prune", "--keep-last", "1"]);
    assert!(prune.status.success(), "{}", stderr(&prune));
    let rewritten = fs::read_to_string(env.catalog_path()).unwrap();
    assert!(
        rewritten.contains(&bad_text),
        "kept byte for byte:\n{rewritten}"
    );
    assert!(
        env.backups_dir()
            .join(bad["filename"].as_str().unwrap())
            .exists()
    );
}

#[test]
fn a_rebuild_restores_names_descriptions_pins_and_properties_from_metadata_files() {
    let env = Env::new();
    let first = env.create(&["--description", "before the upgrade"]);
    let second = env.create(&["--type", "schema"]);
    assert!(env.run(&["pin", &id_of(&first)]).status.success());
    assert!(env.run(&["verify"]).status.success());
    let before = env.entries();
    assert_eq!(before[0]["pinned"], true);
    assert!(before[1]["verified_at"].is_string());

    let metadata = env.metadata_files();
    assert_eq!(
        metadata,
        [
            format!("{}.meta.json", first["filename"].as_str().unwrap()),
            format!("{}.meta.json", second["filename"].as_str().unwrap())
        ]
    );
    for name in &metadata {
        let mode = fs::metadata(env.backups_dir().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let listed = json_of(&env, &["list", "--json"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "ok"),
        "metadata files are not untracked backups: {listed}"
    );

    fs::write(env.catalog_path(), "{\"backups\": [").unwrap();
    let report = json_of(&env, &["verify", "--rebuild-catalog", "--json"]);
    assert!(report["kept_aside"].is_string(), "{report}");
    let mut after = env.entries();
    after.sort_by_key(|e| e["id"].as_str().unwrap().to_string());
    assert_eq!(
        after, before,
        "everything comes back, names and pins included"
    );

    assert!(env.run(&["unpin", &id_of(&first)]).status.success());
    assert!(
        env.run(&["delete", "--yes", &id_of(&first)])
            .status
            .success()
    );
    assert_eq!(
        env.metadata_files(),
        [format!(
            "{}.meta.json",
            second["filename"].as_str().unwrap()
        )],
        "the metadata file goes with its backup"
    );
}

#[test]
fn a_catalog_with_an_invalid_utf8_byte_is_set_aside_and_rebuilt() {
    let env = Env::new();
    let entry = env.create(&["--description", "x"]);
    let text = fs::read(env.catalog_path()).unwrap();
    let at = text.windows(3).position(|w| w == b"\"x\"").unwrap() + 1;
    let mut broken = text.clone();
    broken[at] = 0xff;
    fs::write(env.catalog_path(), &broken).unwrap();

    let list = env.run(&["list"]);
    assert_eq!(list.status.code(), Some(1));
    assert!(
        stderr(&list).contains("corrupt") && stderr(&list).contains("--rebuild-catalog"),
        "{}",
        stderr(&list)
    );
    let output = env.run(&["verify", "--rebuild-catalog", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let aside = report["kept_aside"].as_str().unwrap();
    assert_eq!(
        fs::read(aside).unwrap(),
        broken,
        "the broken file is kept as it was"
    );
    assert_eq!(env.entries(), vec![entry]);
}

#[test]
fn an_id_two_entries_share_is_refused_with_the_candidates() {
    let env = Env::new();
    let first = env.create(&[]);
    let mut second = env.create(&["--type", "schema"]);
    second["id"] = first["id"].clone();
    write_catalog_texts(&env, &[first.to_string(), second.to_string()]);
    let before = fs::read(env.catalog_path()).unwrap();

    let output = env.run(&["delete", "--yes", &id_of(&first)]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("ambiguous")
            && err.contains(first["filename"].as_str().unwrap())
            && err.contains(second["filename"].as_str().unwrap()),
        "{err}"
    );
    assert_eq!(fs::read(env.catalog_path()).unwrap(), before);
    assert_eq!(env.files().len(), 3, "{:?}", env.files());
}

#[test]
fn entries_naming_pgbackups_own_files_never_unlink_them() {
    let env = Env::new();
    env.create(&[]);
    let dir = env.backups_dir();
    let mut catalog: Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    for (id, name) in [("x1", ".lock"), ("x2", "backup_metadata.json")] {
        catalog["backups"].as_array_mut().unwrap().push(json!({
            "id": id, "filename": name, "path": dir.join(name), "type": "full",
            "compressed": false, "size": 1, "date": "2025-01-01T00:00:00",
            "description": "", "database": "app"
        }));
    }
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    let output = env.run(&["delete", "--yes", "x1", "x2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).matches("file left alone").count(),
        2,
        "{}",
        stdout(&output)
    );
    assert!(dir.join(".lock").exists());
    assert_eq!(env.entries().len(), 1);
}

#[test]
fn a_numeric_id_is_written_back_as_the_same_number() {
    let env = Env::new();
    let entry = env.create(&[]);
    let huge = "1000000000000000000000000000000";
    let text = entry.to_string().replacen(
        &format!("\"id\":\"{}\"", id_of(&entry)),
        &format!("\"id\":{huge}"),
        1,
    );
    write_catalog_texts(&env, &[text]);
    let output = env.run(&["pin", huge]);
    assert!(output.status.success(), "{}", stderr(&output));
    let saved = fs::read_to_string(env.catalog_path()).unwrap();
    assert!(saved.contains(&format!("\"id\": {huge},")), "{saved}");
}

#[test]
fn an_interrupted_delete_shows_in_status_and_prune_finishes_it() {
    let env = Env::new();
    let gone = env.create(&[]);
    let kept = env.create(&[]);
    let mut catalog: Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    catalog["backups"][0]["deleting"] = json!(true);
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    fs::remove_file(env.backups_dir().join(gone["filename"].as_str().unwrap())).unwrap();

    let status = json_of(&env, &["status", "--json"]);
    assert_eq!(
        status["backups"]["deleting"][0]["id"], gone["id"],
        "{status}"
    );
    let human = stdout(&env.run(&["status"]));
    assert!(
        human.contains("warning: 1 interrupted delete") && human.contains("interrupted delete: "),
        "{human}"
    );
    let output = env.run(&["prune", "--keep-last", "5"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(env.entries(), vec![kept]);
}

#[test]
fn a_kill_before_the_rename_leaves_the_old_catalog_whole_and_the_next_writer_sweeps() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = id_of(&entry);
    let before = fs::read(env.catalog_path()).unwrap();
    let killed = env
        .cmd()
        .env("PGBACKUP_FAULT_BEFORE_RENAME", "backup_metadata.json")
        .args(["pin", &id])
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), None, "killed by a signal");
    assert_eq!(fs::read(env.catalog_path()).unwrap(), before);
    let leftovers: Vec<String> = env
        .files()
        .into_iter()
        .filter(|n| n.starts_with(".backup_metadata.json.") && n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers.len(), 1, "{:?}", env.files());
    let status = json_of(&env, &["status", "--json"]);
    assert_eq!(status["backups"]["partials"], json!(leftovers), "{status}");

    assert!(env.run(&["pin", &id]).status.success());
    assert_eq!(env.entries()[0]["pinned"], true);
    assert_eq!(
        env.files(),
        [entry["filename"].as_str().unwrap(), "backup_metadata.json"]
    );
}

#[test]
fn deleting_one_of_two_entries_naming_the_same_file_keeps_the_file() {
    let env = Env::new();
    let entry = env.create(&[]);
    let mut twin = entry.clone();
    twin["id"] = json!("20000101_000000");
    write_catalog_texts(&env, &[entry.to_string(), twin.to_string()]);
    let output = env.run(&["delete", "--yes", "20000101_000000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("file left alone"),
        "{}",
        stdout(&output)
    );
    assert_eq!(env.entries(), vec![entry.clone()]);
    let listed = json_of(&env, &["list", "--json"]);
    assert_eq!(listed[0]["state"], "ok", "{listed}");
}
