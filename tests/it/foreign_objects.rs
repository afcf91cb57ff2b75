//! Databases holding objects that live outside the tables: a custom tablespace, a logical
//! replication subscription. Verify and restore handle them and leave no database behind.

use serde_json::Value;

use crate::support::{Env, assert_success};

/// Databases pgbackup made for a restore or a restore test, still there.
fn scratch_databases(env: &Env) -> Vec<String> {
    env.cluster
        .databases()
        .into_iter()
        .filter(|d| {
            d.starts_with("pgbackup_verify")
                || d.contains("_restoring_")
                || d.contains("_pre_restore_")
        })
        .collect()
}

fn verify_restore_test(env: &Env, entry: &Value) -> Value {
    let output = env.run(&[
        "verify",
        "--restore-test",
        "--json",
        entry["id"].as_str().unwrap(),
    ]);
    assert_success(&output);
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    results.into_iter().next().unwrap()
}

#[test]
fn a_table_in_its_own_tablespace_passes_the_restore_test() {
    let env = Env::new();
    let location = env.cluster.server_owned_dir("far_space");
    env.cluster.psql(
        "postgres",
        &format!("CREATE TABLESPACE far LOCATION '{}'", location.display()),
    );
    env.cluster.psql(
        "app",
        "CREATE TABLE distant (id int PRIMARY KEY) TABLESPACE far; \
         INSERT INTO distant SELECT generate_series(1, 10)",
    );
    for args in [&[][..], &["--format", "custom"]] {
        let entry = env.create(args);
        let result = verify_restore_test(&env, &entry);
        assert_eq!(result["ok"], true, "{args:?}: {result}");
        assert_eq!(
            result["detail"], "restore test passed: 2 tables present",
            "{args:?}"
        );
    }
    assert_eq!(scratch_databases(&env), Vec::<String>::new());
}

#[test]
fn a_database_with_a_subscription_is_verified_and_replaced_without_leftovers() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE SUBSCRIPTION feed CONNECTION 'host=/nonexistent dbname=upstream' \
         PUBLICATION upstream_pub WITH (connect = false)",
    );
    for args in [&[][..], &["--format", "custom"]] {
        let entry = env.create(args);
        let result = verify_restore_test(&env, &entry);
        assert_eq!(result["ok"], true, "{args:?}: {result}");
        assert_eq!(scratch_databases(&env), Vec::<String>::new(), "{args:?}");
    }

    let output = env.run(&["restore", "latest", "--yes", "--drop-previous", "--json"]);
    assert_success(&output);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["dropped_previous"], true, "{report}");
    assert_eq!(report["notes"], serde_json::json!([]), "{report}");
    assert_eq!(scratch_databases(&env), Vec::<String>::new());
    // The restored database has the subscription, disabled, as pg_dump restores it.
    assert_eq!(
        env.cluster.psql(
            "app",
            "SELECT subname, subenabled FROM pg_subscription s JOIN pg_database d \
             ON d.oid = s.subdbid WHERE d.datname = 'app'"
        ),
        "feed|f"
    );
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
}
