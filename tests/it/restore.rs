//! Restore: exact round trips, refusals that touch nothing, failures before and during the
//! swap, and the connections that are (or cannot be) ended.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Env, assert_success, fixture, id, real_pg_dump, stderr, stdout};

/// Databases whose name starts with `prefix`.
fn databases_like(env: &Env, prefix: &str) -> Vec<String> {
    env.cluster
        .databases()
        .into_iter()
        .filter(|d| d.starts_with(prefix))
        .collect()
}

/// Database-level properties that change pg_dump's output and what a restore must carry.
const DATABASE_LEVEL_SQL: &[&str] = &[
    "ALTER DATABASE app OWNER TO app_owner",
    "ALTER DATABASE app SET timezone TO 'America/New_York'",
    "ALTER DATABASE app SET search_path TO \"$user\", sales, \"Ünïcødé schema\"",
    "ALTER DATABASE app SET statement_timeout = '5min'",
    "ALTER ROLE alice IN DATABASE app SET work_mem = '8MB'",
    "REVOKE CONNECT, TEMPORARY ON DATABASE app FROM PUBLIC",
    "GRANT CONNECT ON DATABASE app TO alice WITH GRANT OPTION",
    "GRANT CONNECT ON DATABASE app TO bob",
    "SET ROLE alice; GRANT CONNECT ON DATABASE app TO bob",
    "COMMENT ON DATABASE app IS 'the app''s database'",
    "ALTER DATABASE app CONNECTION LIMIT 50",
];

#[test]
fn a_restore_round_trips_a_broad_database() {
    let env = Env::new();
    env.cluster.psql_file("app", &fixture("broad.sql"));
    for sql in DATABASE_LEVEL_SQL {
        env.cluster.psql("postgres", sql);
    }
    let entry = env.create(&[]);
    let dump_at_backup = env.cluster.dump("app");
    let properties_at_backup = env.cluster.properties("app");
    assert_eq!(entry["database_properties"], properties_at_backup);
    assert!(
        dump_at_backup.contains("Ünïcødé schema"),
        "the fixture loaded"
    );

    env.cluster.psql(
        "app",
        "INSERT INTO sales.cache VALUES ('after', 'backup'); DROP TABLE sales.audit_log CASCADE; \
         UPDATE sales.customers SET total = 1",
    );
    env.cluster
        .psql("postgres", "ALTER DATABASE app SET timezone TO 'UTC'");
    env.cluster.psql(
        "postgres",
        "COMMENT ON DATABASE app IS 'changed after the backup'",
    );
    let dump_before_restore = env.cluster.dump("app");

    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("the previous database is kept as \"app_pre_restore_"),
        "{}",
        stdout(&output)
    );
    let restored = env.cluster.dump("app");
    assert!(
        restored == dump_at_backup,
        "the restored database differs from the backup:\n{}",
        first_difference(&dump_at_backup, &restored)
    );
    assert_eq!(env.cluster.properties("app"), properties_at_backup);
    let not_analyzed = env.cluster.psql(
        "app",
        "SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY 1) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
         WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't' \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg_toast%' AND s.last_analyze IS NULL",
    );
    assert_eq!(not_analyzed.trim(), "", "not analyzed after the restore");

    let previous = databases_like(&env, "app_pre_restore_");
    assert_eq!(previous.len(), 1, "{previous:?}");
    assert_eq!(env.cluster.dump(&previous[0]), dump_before_restore);
    assert!(databases_like(&env, "app_restoring_").is_empty());
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    let line = log.lines().last().unwrap();
    assert!(
        line.contains("command=\"restore")
            && line.contains("result=ok")
            && line.contains(id(&entry)),
        "{line}"
    );
}

fn first_difference(expected: &str, actual: &str) -> String {
    expected
        .lines()
        .zip(actual.lines())
        .enumerate()
        .find(|(_, (e, a))| e != a)
        .map(|(n, (e, a))| format!("line {}:\n- {e}\n+ {a}", n + 1))
        .unwrap_or_else(|| "one is a prefix of the other".to_string())
}

#[test]
fn custom_format_backups_restore_with_pg_restore() {
    let env = Env::new();
    let entry = env.create(&["--format", "custom"]);
    let at_backup = env.cluster.dump("app");
    env.cluster.psql("app", "DELETE FROM items WHERE id > 10");
    assert_success(&env.run(&["restore", id(&entry), "--yes", "--drop-previous"]));
    assert_eq!(env.cluster.dump("app"), at_backup);
    assert!(
        databases_like(&env, "app_pre_restore_").is_empty(),
        "--drop-previous keeps no copy"
    );
}

#[test]
fn a_tampered_file_is_refused_and_nothing_is_touched() {
    let env = Env::new();
    let entry = env.create(&[]);
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let databases = env.cluster.databases();
    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("failed its integrity check, so nothing was touched")
            && err.contains("SHA-256 mismatch"),
        "{err}"
    );
    assert_eq!(env.cluster.databases(), databases);
}

#[test]
fn without_a_terminal_restore_needs_yes_and_never_reads_stdin() {
    let env = Env::new();
    let entry = env.create(&[]);
    let databases = env.cluster.databases();
    let mut child = env
        .command()
        .args(["restore", id(&entry)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _open_stdin = child.stdin.take();
    let output = wait_with_timeout(child, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("pass --yes"),
        "{}",
        stderr(&output)
    );
    assert_eq!(env.cluster.databases(), databases);
}

/// Runs `pgbackup restore ID` on a terminal (`script`) where `answer` is typed.
fn restore_on_a_terminal(env: &Env, id: &str, answer: &str) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    let output = Command::new("sh")
        .args(["-c", "sleep 2; printf '%s\\n' \"$1\"", "sh", answer])
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|typist| {
            Command::new("script")
                .args([
                    "-qec",
                    &format!("{} restore {id}", bin.display()),
                    "/dev/null",
                ])
                .envs(env.vars())
                .stdin(typist.stdout.unwrap())
                .output()
        })
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_the_plan_is_shown_and_restore_must_be_typed() {
    let env = Env::new();
    let entry = env.create(&[]);
    let databases = env.cluster.databases();
    let (code, screen) = restore_on_a_terminal(&env, id(&entry), "yes");
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("Type RESTORE to proceed:"), "{screen}");
    assert_eq!(env.cluster.databases(), databases, "nothing was changed");

    let (code, screen) = restore_on_a_terminal(&env, id(&entry), "RESTORE");
    assert_eq!(code, Some(0), "{screen}");
    for shown in [
        "Restore plan:",
        &format!("backup              {}", id(&entry)),
        "target database",
        "is renamed to \"app_pre_restore_",
        "as recorded at backup time",
    ] {
        assert!(screen.contains(shown), "{shown:?} not in:\n{screen}");
    }
    assert_eq!(databases_like(&env, "app_pre_restore_").len(), 1);
}

fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the command did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn target_restores_into_a_new_database_and_refuses_an_existing_one() {
    let env = Env::new();
    let entry = env.create(&[]);
    let at_backup = env.cluster.dump("app");
    env.cluster
        .psql("app", "INSERT INTO items (name) VALUES ('later')");
    let app_now = env.cluster.dump("app");

    assert_success(&env.run(&["restore", id(&entry), "--yes", "--target", "app_copy"]));
    assert_eq!(env.cluster.dump("app_copy"), at_backup);
    assert_eq!(
        env.cluster.dump("app"),
        app_now,
        "--target touches nothing else"
    );
    assert!(databases_like(&env, "app_pre_restore_").is_empty());

    let databases = env.cluster.databases();
    let output = env.run(&["restore", id(&entry), "--yes", "--target", "app"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("database \"app\" already exists"),
        "{}",
        stderr(&output)
    );
    assert_eq!(env.cluster.databases(), databases);
    assert_eq!(env.cluster.dump("app"), app_now);

    assert_success(&env.run(&[
        "restore",
        id(&entry),
        "--yes",
        "--target",
        "app",
        "--replace",
    ]));
    assert_eq!(env.cluster.dump("app"), at_backup);
    assert_eq!(databases_like(&env, "app_pre_restore_").len(), 1);
}

#[test]
fn a_failing_statement_leaves_the_current_database_untouched() {
    let env = Env::new();
    env.shim_pg_dump(&format!("{} \"$@\"\necho 'SELECT 1/0;'", real_pg_dump()));
    let entry = env.create(&[]);
    env.cluster.psql(
        "app",
        "INSERT INTO items (name) VALUES ('after the backup')",
    );
    let before = env.cluster.dump("app");
    let databases = env.cluster.databases();

    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    for expected in [
        "restore failed; \"app\" was not touched",
        "psql exited with code 3",
        "psql:<stdin>:",
        "ERROR:  division by zero",
        "SELECT 1/0;",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    assert_eq!(env.cluster.databases(), databases, "no leftover databases");
    assert_eq!(env.cluster.dump("app"), before);
}

#[test]
fn sigterm_during_the_load_removes_the_new_database() {
    let env = Env::new();
    let entry = env.create(&[]);
    let psql = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v psql"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    env.shim(
        "psql",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -f ] && exec sleep 60; done\nexec {} \"$@\"\n",
            psql.trim()
        ),
    );
    let before = env.cluster.dump("app");
    let databases = env.cluster.databases();
    let child = env
        .command()
        .args(["restore", id(&entry), "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while databases_like(&env, "app_restoring_").is_empty() {
        assert!(Instant::now() < deadline, "the load did not start");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = wait_with_timeout(child, Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(128 + libc::SIGTERM));
    let err = stderr(&output);
    assert!(
        err.contains("interrupted by signal 15") && err.contains("was removed"),
        "{err}"
    );
    assert_eq!(env.cluster.databases(), databases);
    assert_eq!(env.cluster.dump("app"), before);
    assert!(!env.home().join("restore-intent.json").exists());
}

/// A session on `db` that sleeps, and waits until the server shows it.
fn open_session(env: &Env, user: &str, db: &str) -> Child {
    let child = Command::new("psql")
        .envs(env.cluster.env())
        .args(["-X", "-U", user, "-d", db, "-c", "SELECT pg_sleep(60)"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND query LIKE '%pg_sleep(60)' \
         AND pid <> pg_backend_pid()"
    );
    while env.cluster.psql("postgres", &sql) != "1" {
        assert!(Instant::now() < deadline, "the session did not start");
        thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn sessions_on_the_current_database_are_ended_at_the_swap() {
    let env = Env::new();
    let entry = env.create(&[]);
    let session = open_session(&env, "postgres", "app");
    assert_success(&env.run(&["restore", id(&entry), "--yes"]));
    let ended = wait_with_timeout(session, Duration::from_secs(20));
    assert!(!ended.status.success());
    assert!(
        stderr(&ended).contains("terminating connection"),
        "{}",
        stderr(&ended)
    );
}

#[test]
fn sessions_that_cannot_be_ended_leave_a_recoverable_state() {
    let env = Env::new();
    env.cluster.psql(
        "postgres",
        "CREATE ROLE restorer LOGIN CREATEDB; ALTER DATABASE app OWNER TO restorer",
    );
    env.cluster
        .psql("app", "ALTER TABLE items OWNER TO restorer");
    let entry = env.create(&[]);
    let mut session = open_session(&env, "postgres", "app");
    let output = env
        .cmd()
        .env("PGUSER", "restorer")
        .args(["restore", id(&entry), "--yes"])
        .output()
        .unwrap();
    let _ = session.kill();
    let _ = session.wait();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    for expected in [
        "could not be swapped in",
        "session(s) could not be ended",
        "Nothing was swapped",
        "\"app\": unchanged, and accepts connections as before",
        "To finish the swap by hand",
        "To discard the restored database instead",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    let staging = databases_like(&env, "app_restoring_");
    assert_eq!(
        staging.len(),
        1,
        "the complete restore is kept: {staging:?}"
    );
    assert!(
        err.contains(&format!("DROP DATABASE \"{}\"", staging[0])),
        "{err}"
    );
    assert_eq!(
        env.cluster.psql(
            "postgres",
            "SELECT datallowconn FROM pg_database WHERE datname = 'app'"
        ),
        "t"
    );
    assert!(databases_like(&env, "app_pre_restore_").is_empty());
    assert!(
        !env.home().join("restore-intent.json").exists(),
        "the current database is in service: nothing is left to finish"
    );
}

#[test]
fn an_old_module_backup_gets_the_properties_of_the_current_database() {
    let env = Env::new();
    let entry = env.create(&["--no-compress"]);
    let mut catalog: Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    let old = catalog["backups"][0].as_object_mut().unwrap();
    old.retain(|key, _| {
        [
            "id",
            "filename",
            "path",
            "type",
            "compressed",
            "size",
            "date",
            "description",
            "database",
        ]
        .contains(&key.as_str())
    });
    fs::write(env.catalog_path(), catalog["backups"].to_string()).unwrap();
    env.cluster.psql(
        "postgres",
        "COMMENT ON DATABASE app IS 'set after the backup'",
    );

    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_success(&output);
    assert!(
        stderr(&output).contains("no checksum recorded"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        env.cluster.properties("app")["comment"],
        "set after the backup"
    );
}

#[test]
fn missing_rights_and_a_stopped_server_give_clear_errors() {
    let env = Env::new();
    let entry = env.create(&[]);
    env.cluster.psql("postgres", "CREATE ROLE plain LOGIN");
    let output = env
        .cmd()
        .env("PGUSER", "plain")
        .args(["restore", id(&entry), "--yes"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("lacks CREATEDB"),
        "{}",
        stderr(&output)
    );

    env.cluster.stop();
    let output = env.run(&["restore", id(&entry), "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("could not connect to the maintenance database \"postgres\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn table_restores_replace_just_those_tables_in_one_transaction() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE other (x int); INSERT INTO other VALUES (1)",
    );
    let entry = env.create(&["--format", "custom"]);
    let id = entry["id"].as_str().unwrap();
    env.cluster.psql(
        "app",
        "DELETE FROM items WHERE id > 10; INSERT INTO other VALUES (2)",
    );

    let output = env.run(&["restore", id, "--table", "items", "--yes"]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM other"),
        "2",
        "other tables are untouched"
    );
    let databases = env.cluster.psql(
        "postgres",
        "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database",
    );
    assert_eq!(
        databases, "app,postgres,template0,template1",
        "no database was created"
    );

    // A view made since the backup would be broken by the replacement: refused up front.
    env.cluster.psql(
        "app",
        "DELETE FROM items WHERE id > 10; CREATE VIEW v AS SELECT * FROM items",
    );
    let blocked = env.run(&["restore", id, "--table", "items", "--yes"]);
    assert_eq!(blocked.status.code(), Some(2));
    assert!(
        crate::support::stderr(&blocked).contains("view public.v"),
        "{}",
        crate::support::stderr(&blocked)
    );
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "10",
        "nothing changed"
    );
}

#[test]
fn parallel_restores_of_custom_archives_match_the_source() {
    let env = Env::new();
    let entry = env.create(&["--format", "custom"]);
    let output = env.run(&[
        "restore",
        entry["id"].as_str().unwrap(),
        "--target",
        "copy",
        "--jobs",
        "2",
        "--yes",
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    assert_eq!(
        env.cluster.psql("copy", "SELECT count(*) FROM items"),
        "1000"
    );
    // An archive pgbackup compressed itself is decoded to TMPDIR first, then removed.
    let zstd = env.create(&["--format", "custom", "--compression", "zstd"]);
    let tmp = tempfile::tempdir().unwrap();
    let output = env
        .command()
        .args([
            "restore",
            zstd["id"].as_str().unwrap(),
            "--target",
            "copy_zstd",
        ])
        .args(["--jobs", "2", "--yes"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    assert_eq!(env.cluster.dump("copy_zstd"), env.cluster.dump("copy"));
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the decoded archive was removed"
    );
    let refused = env.run(&[
        "restore",
        entry["id"].as_str().unwrap(),
        "--table",
        "items",
        "--jobs",
        "2",
        "--yes",
    ]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn the_load_commits_asynchronously_and_keeps_the_operators_pgoptions() {
    let env = Env::new();
    let entry = env.create(&[]);
    let psql = PathBuf::from(real_pg_dump()).with_file_name("psql");
    let log = env.home().join("load-options.log");
    env.shim(
        "psql",
        &format!(
            "#!/bin/sh\ncase \" $* \" in *' -f - '*) printf '%s\\n' \"$PGOPTIONS\" >> '{}';; esac\n\
             exec {} \"$@\"\n",
            log.display(),
            psql.display()
        ),
    );
    let output = env
        .command()
        .args(["restore", id(&entry), "--target", "copy", "--yes"])
        .env("PGOPTIONS", "-c work_mem=8MB")
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(
        fs::read_to_string(&log).unwrap().trim(),
        "-c work_mem=8MB -c synchronous_commit=off",
        "the load's options"
    );
    assert_eq!(
        env.cluster.psql("copy", "SELECT count(*) FROM items"),
        "1000"
    );
}
