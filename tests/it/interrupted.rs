//! A restore killed at each of its steps (`PGBACKUP_FAULT`, honoured by debug builds): status
//! reports it, and the next command that takes the lock finishes or undoes it, so that the
//! database always accepts connections and holds either the old or the restored data.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Env, assert_success, stderr, stdout};

/// What the database holds after the recovery.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Holds {
    /// The data it had before the restore (the restore was undone).
    Old,
    /// The backup's data (the restore was finished).
    Restored,
}

fn databases_like(env: &Env, part: &str) -> Vec<String> {
    env.cluster
        .databases()
        .into_iter()
        .filter(|d| d.contains(part))
        .collect()
}

fn allows_connections(env: &Env, db: &str) -> String {
    env.cluster.psql(
        "postgres",
        &format!("SELECT datallowconn FROM pg_database WHERE datname = '{db}'"),
    )
}

/// Runs a restore that kills itself at `point` and checks that it died there.
fn killed_restore(env: &Env, point: &str, args: &[&str]) {
    let output = env
        .cmd()
        .env("PGBACKUP_FAULT", point)
        .arg("restore")
        .args(args)
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGKILL),
        "{point}: {}",
        stderr(&output)
    );
    assert!(env.home().join("restore-intent.json").exists(), "{point}");
}

fn status_json(env: &Env) -> Value {
    serde_json::from_slice(&env.run(&["status", "--json"]).stdout).unwrap()
}

#[test]
fn a_restore_killed_at_any_step_is_finished_or_undone_by_the_next_command() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap().to_string();
    let cases: &[(&str, &[&str], Holds)] = &[
        ("restore:after-load", &[], Holds::Old),
        ("restore:after-close", &[], Holds::Old),
        ("restore:after-rename", &[], Holds::Restored),
        (
            "restore:after-finish",
            &["--drop-previous"],
            Holds::Restored,
        ),
        ("restore:done", &[], Holds::Restored),
    ];
    for (point, flags, holds) in cases {
        env.cluster.psql(
            "app",
            "DELETE FROM items WHERE id > 1000; INSERT INTO items (id, name) VALUES (1001, 'new')",
        );
        let mut args = vec![id.as_str()];
        args.extend_from_slice(flags);
        killed_restore(&env, point, &args);
        if *point == "restore:after-close" {
            // The state the kill leaves: the database refuses every connection.
            assert_eq!(allows_connections(&env, "app"), "f");
        }

        let status = env.run(&["status", "--json"]);
        assert_eq!(status.status.code(), Some(2), "{point}");
        let report: Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(report["restores"]["interrupted"]["database"], "app");
        assert!(
            report["reasons"]
                .to_string()
                .contains("was interrupted while"),
            "{point}: {report}"
        );

        let next = env.run(&["pin", &id]);
        assert_success(&next);
        assert!(
            stderr(&next).contains("interrupted restore of \"app\""),
            "{point}: {}",
            stderr(&next)
        );
        assert!(!env.home().join("restore-intent.json").exists());
        assert_eq!(allows_connections(&env, "app"), "t", "{point}");
        let count = env.cluster.psql("app", "SELECT count(*) FROM items");
        let expected = match holds {
            Holds::Old => "1001",
            Holds::Restored => "1000",
        };
        assert_eq!(count, expected, "{point}");
        assert!(databases_like(&env, "_restoring_").is_empty(), "{point}");
        let kept = databases_like(&env, "app_pre_restore_");
        match (holds, flags.contains(&"--drop-previous")) {
            (Holds::Restored, false) => {
                assert_eq!(kept.len(), 1, "{point}");
                assert_eq!(allows_connections(&env, &kept[0]), "t", "{point}");
                assert_eq!(
                    env.cluster.psql(&kept[0], "SELECT count(*) FROM items"),
                    "1001"
                );
            }
            _ => assert!(kept.is_empty(), "{point}: {kept:?}"),
        }
        for name in kept {
            env.cluster
                .psql("postgres", &format!("DROP DATABASE \"{name}\""));
        }
        assert!(status_json(&env)["restores"]["interrupted"].is_null());
        assert_success(&env.run(&["unpin", &id]));
    }
}

#[test]
fn a_restore_into_a_new_database_killed_at_each_step_is_cleaned_up_or_finished() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    killed_restore(&env, "restore:after-load", &[id, "--target", "fresh"]);
    assert_success(&env.run(&["pin", id]));
    assert!(!env.cluster.databases().contains(&"fresh".to_string()));
    assert!(databases_like(&env, "_restoring_").is_empty());

    let dbname = "--dbname=dbname=app password=SECRET-pw";
    killed_restore(
        &env,
        "restore:after-rename",
        &[id, "--target", "fresh", dbname],
    );
    let record = env.home().join("restore-intent.json");
    let text = fs::read_to_string(&record).unwrap();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(text.contains("\"phase\": \"renaming\""), "{text}");
    assert_eq!(
        fs::metadata(&record).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_success(&env.run(&["unpin", id, dbname]));
    assert_eq!(
        env.cluster.psql("fresh", "SELECT count(*) FROM items"),
        "1000"
    );
    assert!(databases_like(&env, "_restoring_").is_empty());
}

#[test]
fn an_unreachable_server_stops_the_next_command_until_the_restore_is_finished() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    killed_restore(&env, "restore:after-close", &[id]);
    let output = env
        .cmd()
        .env("PGHOST", "/nonexistent/socket/dir")
        .args(["pin", id])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let err = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {err}"));
    for expected in [
        "was interrupted while closing the current database",
        "must be finished before anything else",
        "could not be reached",
        "run the command again",
    ] {
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
    assert_eq!(allows_connections(&env, "app"), "f");
    assert!(
        env.entries()[0]["pinned"].is_null(),
        "nothing else was done"
    );
    assert_success(&env.run(&["pin", id]));
    assert_eq!(allows_connections(&env, "app"), "t");
}

#[test]
fn status_reports_leftovers_until_the_next_restore_drops_them_and_counts_kept_copies() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    for name in [
        "app_restoring_20200101_000000",
        "other_restoring_20200101_000000",
        "app_pre_restore_20200101_000000",
        "app_pre_restore_20200102_000000",
    ] {
        env.cluster
            .psql("postgres", &format!("CREATE DATABASE {name}"));
    }
    let report = status_json(&env);
    let leftovers: Vec<&str> = report["restores"]["leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        leftovers,
        [
            "app_restoring_20200101_000000",
            "other_restoring_20200101_000000"
        ]
    );
    assert_eq!(report["restores"]["kept"].as_array().unwrap().len(), 2);
    assert!(report["restores"]["kept_bytes"].as_u64().unwrap() > 0);
    let messages = report["reasons"].to_string();
    assert!(
        messages.contains("app_restoring_20200101_000000 (")
            && messages.contains("is left over from an interrupted or failed restore"),
        "{messages}"
    );
    assert!(!messages.contains("previous databases kept"), "{messages}");

    assert_success(&env.run(&["restore", id, "--yes"]));
    assert_eq!(
        databases_like(&env, "_restoring_"),
        ["other_restoring_20200101_000000"]
    );
    let report = status_json(&env);
    assert_eq!(report["restores"]["kept"].as_array().unwrap().len(), 3);
    let messages = report["reasons"].to_string();
    assert!(
        messages.contains("3 previous databases kept by restores hold"),
        "{messages}"
    );
    let human = stdout(&env.run(&["status"]));
    assert!(
        human.contains("restores  1 left over (other_restoring_20200101_000000)")
            && human.contains("3 previous database(s) kept"),
        "{human}"
    );
    let metrics = stdout(&env.run(&["status", "--prometheus"]));
    for line in [
        "pgbackup_restore_interrupted 0",
        "pgbackup_restore_leftover_databases 1",
        "pgbackup_restore_kept_databases 3",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
    assert!(
        metrics.contains("pgbackup_restore_kept_bytes "),
        "{metrics}"
    );
}

#[test]
fn a_restore_killed_during_the_load_leaves_nothing_after_the_next_command() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    let psql = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v psql"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let psql = psql.trim();
    env.shim(
        "psql",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = -f ] && exec sleep 10; done\nexec {psql} \"$@\"\n"
        ),
    );
    let mut child = env
        .command()
        .args(["restore", id, "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while databases_like(&env, "app_restoring_").is_empty() {
        assert!(Instant::now() < deadline, "the load did not start");
        thread::sleep(Duration::from_millis(50));
    }
    let running = status_json(&env);
    assert!(running["restores"]["interrupted"].is_null(), "{running}");
    assert_eq!(running["restores"]["in_progress"]["database"], "app");
    assert_eq!(running["restores"]["leftovers"], serde_json::json!([]));
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    env.shim("psql", &format!("#!/bin/sh\nexec {psql} \"$@\"\n"));
    assert_eq!(databases_like(&env, "app_restoring_").len(), 1);
    let killed = status_json(&env);
    assert_eq!(killed["restores"]["interrupted"]["phase"], "loading");
    assert!(killed["restores"]["in_progress"].is_null(), "{killed}");

    assert_success(&env.run(&["pin", id]));
    assert!(databases_like(&env, "_restoring_").is_empty());
    assert_eq!(allows_connections(&env, "app"), "t");
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
    assert!(!env.home().join("restore-intent.json").exists());
}

#[test]
fn the_next_restore_after_a_kill_before_the_rename_reopens_the_database_and_leaves_no_leftover() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    env.cluster
        .psql("app", "INSERT INTO items (id, name) VALUES (1001, 'new')");
    killed_restore(&env, "restore:after-close", &[id]);
    assert_eq!(allows_connections(&env, "app"), "f");
    assert_eq!(databases_like(&env, "app_restoring_").len(), 1);

    let output = env.run(&["restore", id, "--yes"]);
    assert_success(&output);
    assert_eq!(allows_connections(&env, "app"), "t");
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
    assert!(databases_like(&env, "_restoring_").is_empty());
    let kept = databases_like(&env, "app_pre_restore_");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(allows_connections(&env, &kept[0]), "t");
    assert_eq!(
        env.cluster.psql(&kept[0], "SELECT count(*) FROM items"),
        "1001"
    );
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(log.contains("recovered restore id="), "{log}");
}
