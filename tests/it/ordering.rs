//! One order everywhere: backups made in the same second are newest-first by their suffix.

use std::process::Command;

use serde_json::Value;

use crate::support::{Env, stderr};

/// Three backups made under a clock frozen at one second.
fn three_in_one_second(env: &Env) -> Vec<String> {
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    (0..3)
        .map(|_| {
            let output = Command::new("faketime")
                .args(["-f", "2025-04-08 16:00:00"])
                .arg(&bin)
                .args(["create", "--json"])
                .envs(env.vars())
                .output()
                .expect("faketime is installed by the test script");
            assert!(output.status.success(), "{}", stderr(&output));
            let entry: Value = serde_json::from_slice(&output.stdout).unwrap();
            entry["id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn json(env: &Env, args: &[&str]) -> Value {
    let output = env.run(args);
    assert!(
        output.status.code().unwrap_or(9) <= 2,
        "{}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn same_second_backups_are_newest_first_in_list_latest_prune_and_status() {
    let env = Env::new();
    let ids = three_in_one_second(&env);
    assert_eq!(
        ids,
        ["20250408_160000", "20250408_160000_2", "20250408_160000_3"]
    );
    let newest = "20250408_160000_3";
    // The order of the catalog's entries must not matter: scramble it.
    let mut catalog: Value =
        serde_json::from_str(&std::fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    let backups = catalog["backups"].as_array_mut().unwrap();
    backups.swap(0, 1);
    backups.swap(1, 2);
    std::fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    let scrambled: Vec<String> = env.entries().iter().map(|e| e["id"].to_string()).collect();
    assert_eq!(
        scrambled,
        [
            "\"20250408_160000_2\"",
            "\"20250408_160000_3\"",
            "\"20250408_160000\""
        ]
    );

    let listed = json(&env, &["list", "--json"]);
    let order: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["20250408_160000_3", "20250408_160000_2", "20250408_160000"]
    );

    assert_eq!(json(&env, &["view", "--json", "latest"])["id"], newest);

    let plan = json(&env, &["prune", "--dry-run", "--json", "--keep-last", "1"]);
    let keep = plan["keep"].as_array().unwrap();
    assert_eq!(keep.len(), 1, "{plan}");
    assert_eq!(keep[0]["id"], newest, "{plan}");
    assert_eq!(keep[0]["reasons"][0], "last", "{plan}");
    let removed: Vec<&str> = plan["remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["20250408_160000_2", "20250408_160000"]);

    let status = json(&env, &["status", "--json"]);
    assert_eq!(status["backups"]["groups"][0]["newest"]["id"], newest);
}
