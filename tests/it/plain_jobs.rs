//! `restore --jobs N` of plain backups: exact round trips, and failures in the data and in
//! the indexes that leave the current database untouched and no new database behind.

use serde_json::Value;

use crate::support::{Env, age_keygen, assert_success, fixture, id, real_pg_dump, stderr};

fn restoring_leftovers(env: &Env) -> Vec<String> {
    env.cluster
        .databases()
        .into_iter()
        .filter(|d| d.starts_with("app_restoring_"))
        .collect()
}

#[test]
fn plain_backups_restored_with_two_jobs_are_the_database_a_sequential_load_gives() {
    let env = Env::new();
    env.cluster.psql_file("app", &fixture("broad.sql"));
    env.cluster.psql(
        "app",
        "CREATE TABLE big (id int PRIMARY KEY, v text UNIQUE, r int REFERENCES items (id));
         INSERT INTO big SELECT g, 'v' || g, 1 + g % 1000 FROM generate_series(1, 20000) g;
         CREATE INDEX big_r ON big (r);",
    );
    let at_backup = env.cluster.dump("app");
    for compression in ["gzip", "zstd"] {
        let entry = env.create(&["--compression", compression]);
        env.cluster.psql(
            "app",
            "DROP TABLE big; UPDATE sales.customers SET total = 1",
        );
        let output = env.run(&["restore", id(&entry), "--jobs", "2", "--yes", "-v"]);
        assert_success(&output);
        let err = stderr(&output);
        assert!(
            err.contains("loading the data over 2 session(s)")
                && err.contains("loading the indexes and constraints over 2 session(s)"),
            "{compression}: the parallel load ran\n{err}"
        );
        let restored = env.cluster.dump("app");
        assert!(
            restored == at_backup,
            "{compression}: the restored database differs from the backup"
        );
    }
}

/// A plain backup of `app` whose dump `sed` edited on its way to the repository (its
/// checksum is that of the edited file).
fn crafted_backup(env: &Env, sed: &str) -> Value {
    env.shim_pg_dump(&format!("{} \"$@\" | sed '{sed}'", real_pg_dump()));
    let entry = env.create(&["--compression", "gzip"]);
    env.shim_pg_dump(&format!("exec {} \"$@\"", real_pg_dump()));
    entry
}

fn assert_failed_untouched(env: &Env, entry: &Value, expected: &str) {
    let before = env.cluster.dump("app");
    let output = env.run(&["restore", id(entry), "--jobs", "2", "--yes"]);
    assert!(!output.status.success(), "the restore failed");
    let err = stderr(&output);
    assert!(err.contains(expected), "{err}");
    assert!(err.contains("\"app\" was not touched"), "{err}");
    assert_eq!(
        env.cluster.dump("app"),
        before,
        "the current database is untouched"
    );
    assert!(
        restoring_leftovers(env).is_empty(),
        "{:?}",
        restoring_leftovers(env)
    );
}

#[test]
fn a_bad_row_in_one_tables_data_fails_the_parallel_restore_and_touches_nothing() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE other (n int); INSERT INTO other SELECT generate_series(1, 5000);",
    );
    let entry = crafted_backup(
        &env,
        "s/^item 500$/item 500\\textra/; s/^\\(500\\)\\titem 500$/\\1\\titem 500\\textra/",
    );
    env.cluster.psql("app", "DELETE FROM other");
    assert_failed_untouched(&env, &entry, "could not load the data");
}

#[test]
fn duplicate_rows_under_a_unique_index_fail_the_parallel_restore_and_touch_nothing() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE codes (code int); INSERT INTO codes VALUES (1001), (1002);
         CREATE UNIQUE INDEX codes_code ON codes (code);",
    );
    let entry = crafted_backup(&env, "s/^1002$/1001/");
    env.cluster.psql("app", "DELETE FROM codes");
    assert_failed_untouched(&env, &entry, "could not load the indexes and constraints");
}

#[test]
fn a_row_breaking_a_foreign_key_fails_the_last_phase_and_touches_nothing() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent VALUES (7001), (7002);
         CREATE TABLE child (parent_id int REFERENCES parent, note text);
         INSERT INTO child VALUES (7002, 'orphan');",
    );
    // The child's row names a parent the backup does not hold: the foreign key, which is
    // added in the last phase, fails.
    let entry = crafted_backup(&env, "s/^7002\\torphan$/7999\\torphan/");
    env.cluster.psql("app", "DELETE FROM child");
    assert_failed_untouched(&env, &entry, "could not load the post-data");
}

#[test]
fn an_encrypted_plain_backup_restores_with_two_jobs() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE more (n int PRIMARY KEY); INSERT INTO more SELECT generate_series(1, 3000);",
    );
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let at_backup = env.cluster.dump("app");
    let entry = env.create(&["--compression", "zstd", "--recipient", &public]);
    env.cluster.psql("app", "DROP TABLE more");
    let key = key.to_str().unwrap();
    let output = env.run(&[
        "restore",
        id(&entry),
        "--jobs",
        "2",
        "--yes",
        "-v",
        "--identity",
        key,
    ]);
    assert_success(&output);
    assert!(stderr(&output).contains("loading the data over 2 session(s)"));
    assert_eq!(env.cluster.dump("app"), at_backup);
}
