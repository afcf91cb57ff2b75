//! backup_schedule.json as a whole: one answer for the next run whatever reads it, a
//! damaged file that stops only what needs it, and retries after a failed run.

use std::fs;
use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::scheduled::{run_at, schedule, write_schedule};
use crate::support::{Env, real_pg_dump, stderr, stdout};

fn schedule_path(env: &Env) -> std::path::PathBuf {
    env.home().join("backup_schedule.json")
}

/// `schedule show`, `status --json` and `status --prometheus` at `when`: the next run each
/// reports, as text.
fn next_run_everywhere(env: &Env, when: &str) -> (String, Value, String) {
    let show = run_at(env, when, &["schedule", "show"]);
    assert!(show.status.success(), "{}", stderr(&show));
    let next = stdout(&show)
        .lines()
        .find(|l| l.contains("next run"))
        .unwrap_or_default()
        .to_string();
    let status = run_at(env, when, &["status", "--json"]);
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    let prometheus = stdout(&run_at(env, when, &["status", "--prometheus"]));
    (next, report["schedule"].clone(), prometheus)
}

fn times_logged(output: &std::process::Output, message: &str) -> usize {
    stderr(output).matches(message).count()
}

#[test]
fn the_shipped_schedule_plans_its_first_run_and_every_view_agrees() {
    let env = Env::new();
    fs::create_dir_all(env.home()).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("backup_schedule.json");
    fs::copy(shipped, schedule_path(&env)).unwrap();
    let planned = Utc.with_ymd_and_hms(2025, 4, 10, 3, 0, 0).unwrap();

    let (show, status, prometheus) = next_run_everywhere(&env, "2025-04-09 14:00:00");
    assert!(show.contains("2025-04-10 03:00:00 +00:00"), "{show}");
    assert_eq!(status["next_run"], "2025-04-10T03:00:00+00:00", "{status}");
    assert_eq!(status["overdue"], false);
    let metric = format!(
        "pgbackup_schedule_next_run_timestamp_seconds {}",
        planned.timestamp()
    );
    assert!(prometheus.lines().any(|l| l == metric), "{prometheus}");
    // `schedule show --json` keeps the stored fields and carries the same computed run.
    let shown: Value = serde_json::from_slice(
        &run_at(&env, "2025-04-09 14:00:00", &["schedule", "show", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(shown["next_run"], Value::Null, "{shown}");
    assert_eq!(
        shown["computed_next_run"], "2025-04-10T03:00:00+00:00",
        "{shown}"
    );

    // The first heartbeat records the plan instead of backing up at once.
    let first = run_at(&env, "2025-04-09 14:00:00", &["run-scheduled"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(env.entries().is_empty(), "it backed up at once");
    assert_eq!(schedule(&env)["next_run"], "2025-04-10 03:00:00");
    assert!(
        run_at(&env, "2025-04-10 02:45:00", &["run-scheduled"])
            .status
            .success()
    );
    assert!(env.entries().is_empty());

    let due = run_at(&env, "2025-04-10 03:00:30", &["run-scheduled"]);
    assert!(due.status.success(), "{}", stderr(&due));
    assert_eq!(env.entries().len(), 1);
    assert_eq!(
        times_logged(&due, "scheduled backup due"),
        1,
        "{}",
        stderr(&due)
    );
}

#[test]
fn without_a_schedule_file_every_view_reports_the_defaults() {
    let env = Env::new();
    let (show, status, prometheus) = next_run_everywhere(&env, "2025-04-09 14:00:00");
    assert!(show.contains("2025-04-10 03:00:00 +00:00"), "{show}");
    assert_eq!(status["present"], false);
    assert_eq!(status["enabled"], true);
    assert_eq!(status["frequency"], "daily");
    assert_eq!(status["next_run"], "2025-04-10T03:00:00+00:00");
    assert!(
        prometheus
            .lines()
            .any(|l| l == "pgbackup_schedule_enabled 1"),
        "{prometheus}"
    );
    let text = stdout(&run_at(&env, "2025-04-09 14:00:00", &["status"]));
    assert!(
        text.contains("daily at 03:00, full backups, enabled (defaults:"),
        "{text}"
    );
}

#[test]
fn a_damaged_schedule_stops_only_the_commands_that_need_it() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    let truncated = "{\n  \"enabled\": true,\n  \"frequency\": \"dai";
    fs::write(schedule_path(&env), truncated).unwrap();

    for args in [
        vec!["list"],
        vec!["view", id],
        vec!["verify", id],
        vec!["prune", "--keep-last", "5"],
        vec!["restore", id, "--yes"],
    ] {
        let output = env.run(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }
    let create = env.run(&["create"]);
    assert!(create.status.success(), "{}", stderr(&create));
    assert!(
        stderr(&create).contains("is damaged") && stderr(&create).contains("system time zone"),
        "{}",
        stderr(&create)
    );

    let path = schedule_path(&env).display().to_string();
    for args in [
        vec!["run-scheduled"],
        vec!["prune"],
        vec!["schedule", "show"],
    ] {
        let output = env.run(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let error = stderr(&output);
        assert!(
            error.contains(&format!("{path} is damaged")),
            "{args:?}: {error}"
        );
        assert!(
            error.contains("pgbackup schedule set --yes"),
            "{args:?}: {error}"
        );
    }
    let status = env.run(&["status"]);
    assert_eq!(status.status.code(), Some(2), "{}", stdout(&status));
    assert!(stdout(&status).contains("damaged"), "{}", stdout(&status));

    let unconfirmed = env.run(&["schedule", "set", "--time", "04:00"]);
    assert_eq!(
        unconfirmed.status.code(),
        Some(2),
        "{}",
        stderr(&unconfirmed)
    );
    assert_eq!(fs::read_to_string(schedule_path(&env)).unwrap(), truncated);

    let repaired = env.run(&["schedule", "set", "--time", "04:00", "--yes"]);
    assert!(repaired.status.success(), "{}", stderr(&repaired));
    let kept: Vec<_> = fs::read_dir(env.home())
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().into_string().unwrap();
            name.starts_with("backup_schedule.json.broken-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the damaged file is kept beside the new one");
    assert_eq!(fs::read_to_string(kept[0].path()).unwrap(), truncated);
    let state = schedule(&env);
    assert_eq!(
        (state["time"].clone(), state["frequency"].clone()),
        (json!("04:00"), json!("daily"))
    );
    assert!(env.run(&["schedule", "show"]).status.success());
}

#[test]
fn a_field_of_the_wrong_type_is_an_error_and_set_repairs_only_it() {
    let env = Env::new();
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "weekly", "weekday": "friday", "time": "22:00",
               "timezone": 5, "retention": {"daily": 3}}),
    );
    let refused = env.run(&["run-scheduled"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("invalid \"timezone\""),
        "{}",
        stderr(&refused)
    );
    let create = env.run(&["create"]);
    assert!(create.status.success(), "{}", stderr(&create));
    assert!(
        stderr(&create).contains("invalid \"timezone\""),
        "{}",
        stderr(&create)
    );

    let repaired = env.run(&["schedule", "set", "--timezone", "UTC", "--yes"]);
    assert!(repaired.status.success(), "{}", stderr(&repaired));
    let state = schedule(&env);
    assert_eq!(state["timezone"], "UTC");
    assert_eq!(state["frequency"], "weekly");
    assert_eq!(state["weekday"], "friday");
    assert_eq!(state["retention"]["daily"], 3);
}

#[test]
fn a_failed_run_is_retried_at_the_next_heartbeat_not_the_next_day() {
    let env = Env::new();
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
               "retention": {"daily": 7}, "last_run": null, "next_run": "2025-04-08 03:00:00"}),
    );
    env.shim_pg_dump("echo 'pg_dump: error: connection to server lost' >&2; exit 1");
    let failed = run_at(&env, "2025-04-08 03:00:30", &["run-scheduled"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert_eq!(
        times_logged(&failed, "scheduled backup due"),
        1,
        "{}",
        stderr(&failed)
    );
    assert!(
        stderr(&failed).contains("retry 1 of 3"),
        "{}",
        stderr(&failed)
    );
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "failed");
    assert_eq!(state["next_run"], "2025-04-08 03:15:00");
    assert_eq!(state["failed_attempts"], 1);

    assert!(
        run_at(&env, "2025-04-08 03:05:00", &["run-scheduled"])
            .status
            .success()
    );
    env.shim_pg_dump(&format!("exec {} \"$@\"", real_pg_dump()));
    let retried = run_at(&env, "2025-04-08 03:15:20", &["run-scheduled"]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert_eq!(env.entries().len(), 1);
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "ok");
    assert_eq!(state["next_run"], "2025-04-09 03:00:00");
    assert_eq!(state.get("failed_attempts"), None);
}
