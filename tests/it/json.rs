//! `--json`: every command that has output prints exactly one documented JSON value; a
//! command for which JSON has no meaning refuses the flag.

use serde_json::Value;

use crate::support::{Env, stderr, stdout};

/// Runs pgbackup with `args` and `--json`; stdout must be exactly one JSON value.
fn json_of(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = env.run(&all);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    let mut values = serde_json::Deserializer::from_slice(&output.stdout).into_iter::<Value>();
    let value = values
        .next()
        .unwrap_or_else(|| panic!("{args:?} printed no JSON"))
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)));
    assert!(values.next().is_none(), "{args:?}: more than one value");
    value
}

#[test]
fn delete_pin_and_unpin_print_json() {
    let env = Env::new();
    let entry = env.create(&["-m", "to go"]);
    let id = entry["id"].as_str().unwrap();

    let pinned = json_of(&env, &["pin", id]);
    assert_eq!(pinned, serde_json::json!({"id": id, "pinned": true}));
    let unpinned = json_of(&env, &["unpin", id]);
    assert_eq!(unpinned, serde_json::json!({"id": id, "pinned": false}));

    let planned = json_of(&env, &["delete", "--dry-run", id]);
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["backups"][0]["id"], id);
    assert_eq!(planned["backups"][0]["outcome"], "would_delete");
    assert_eq!(planned["backups"][0]["filename"], entry["filename"]);
    assert_eq!(env.entries().len(), 1, "a dry run changes nothing");

    let deleted = json_of(&env, &["delete", "--yes", id]);
    assert_eq!(deleted["dry_run"], false);
    let backups = deleted["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0]["id"], id);
    assert_eq!(backups[0]["outcome"], "deleted");
    assert_eq!(backups[0]["database"], "app");
    assert_eq!(backups[0]["type"], "full");
    assert_eq!(backups[0]["reason"], Value::Null);
    assert!(env.entries().is_empty());
}

#[test]
fn run_scheduled_prints_json_whether_or_not_it_ran() {
    let env = Env::new();
    json_of(&env, &["schedule", "set", "--disable"]);
    let idle = json_of(&env, &["run-scheduled"]);
    assert_eq!(idle["ran"], false, "{idle}");
    assert_eq!(idle["backup"], Value::Null);
    assert_eq!(idle["next_run"], Value::Null, "disabled: no next run");

    let saved = json_of(
        &env,
        &["schedule", "set", "--enable", "--frequency", "daily"],
    );
    assert_eq!(saved["enabled"], true, "{saved}");
    assert_eq!(saved["frequency"], "daily");
    let idle = json_of(&env, &["run-scheduled"]);
    assert_eq!(idle["ran"], false, "{idle}");
    assert!(idle["next_run"].is_string(), "{idle}");

    let forced = json_of(&env, &["run-scheduled", "--force"]);
    assert_eq!(forced["ran"], true, "{forced}");
    assert_eq!(forced["backup"]["id"], env.entries()[0]["id"]);
    assert!(forced["next_run"].is_string(), "{forced}");
}

#[test]
fn restore_with_drop_previous_names_the_dropped_database() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    let report = json_of(&env, &["restore", id, "--yes", "--drop-previous"]);
    assert_eq!(report["dropped_previous"], true, "{report}");
    let previous = report["previous"]
        .as_str()
        .unwrap_or_else(|| panic!("{report}"));
    assert!(previous.starts_with("app_pre_restore_"), "{report}");
    assert!(!env.cluster.databases().iter().any(|d| d == previous));

    let output = env.run(&["restore", id, "--yes", "--drop-previous"]);
    assert!(
        stdout(&output).contains("previous database \"app_pre_restore_")
            && stdout(&output).contains("was dropped"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn completions_refuse_json() {
    let env = Env::new();
    let output = env.run(&["completions", "bash", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert!(stderr(&output).contains("--json"), "{}", stderr(&output));
}

#[test]
fn every_command_with_output_prints_one_json_value() {
    let env = Env::new();
    let entry = json_of(&env, &["create"]);
    let id = entry["id"].as_str().unwrap();
    assert!(json_of(&env, &["list"]).is_array());
    assert_eq!(json_of(&env, &["view", id])["id"], id);
    assert_eq!(json_of(&env, &["view", "--contents", id])["id"], id);
    assert!(json_of(&env, &["verify"]).is_array());
    assert!(json_of(&env, &["verify", "--rebuild-catalog"])["kept"].is_number());
    assert!(json_of(&env, &["prune", "--dry-run", "--keep-last", "1"])["keep"].is_array());
    assert!(json_of(&env, &["schedule", "show"])["frequency"].is_string());
    let status = env.run(&["--json", "status"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["state"].is_string());
}
