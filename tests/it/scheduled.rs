//! `run-scheduled` under a fake clock (faketime) against a real database.

use std::fs;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::{Env, stderr};

/// Runs pgbackup with the clock frozen at `when` (UTC).
pub fn run_at(env: &Env, when: &str, args: &[&str]) -> Output {
    Command::new("faketime")
        .args(["-f", when])
        .arg(assert_cmd::cargo::cargo_bin("pgbackup"))
        .args(args)
        .envs(env.vars())
        .env("TZ", "UTC")
        .output()
        .expect("faketime is installed by the test script")
}

pub fn write_schedule(env: &Env, schedule: Value) {
    fs::create_dir_all(env.home()).unwrap();
    fs::write(
        env.home().join("backup_schedule.json"),
        schedule.to_string(),
    )
    .unwrap();
}

pub fn schedule(env: &Env) -> Value {
    serde_json::from_str(&fs::read_to_string(env.home().join("backup_schedule.json")).unwrap())
        .unwrap()
}

fn daily(next_run: &str) -> Value {
    json!({"enabled": true, "frequency": "daily", "time": "03:00",
           "retention": {"daily": 7, "weekly": 4, "monthly": 3},
           "last_run": null, "next_run": next_run})
}

#[test]
fn nothing_happens_before_the_slot_or_when_disabled() {
    let env = Env::new();
    write_schedule(&env, daily("2025-04-08T03:00:00"));
    let early = run_at(&env, "2025-04-08 02:59:00", &["run-scheduled"]);
    assert!(early.status.success(), "{}", stderr(&early));
    assert!(
        stderr(&early).contains("no scheduled backup due"),
        "{}",
        stderr(&early)
    );
    let mut disabled = daily("2025-04-08T03:00:00");
    disabled["enabled"] = json!(false);
    write_schedule(&env, disabled);
    let off = run_at(&env, "2025-04-08 03:05:00", &["run-scheduled"]);
    assert!(off.status.success());
    assert!(stderr(&off).contains("disabled"), "{}", stderr(&off));
    assert!(env.entries().is_empty());
}

#[test]
fn a_due_run_backs_up_once_per_slot_and_records_the_result() {
    let env = Env::new();
    write_schedule(&env, daily("2025-04-08T03:00:00"));
    let due = run_at(&env, "2025-04-08 03:05:00", &["run-scheduled"]);
    assert!(due.status.success(), "{}", stderr(&due));
    let entries = env.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["trigger"], "scheduled");
    assert_eq!(entries[0]["id"], "20250408_030500");
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "ok");
    assert_eq!(state["last_result"]["backup_id"], "20250408_030500");
    // The old module's format (local time, here UTC), the instant with its offset beside it.
    assert_eq!(state["next_run"], "2025-04-09 03:00:00");
    assert_eq!(state["next_run_at"], "2025-04-09T03:00:00+00:00");
    assert_eq!(state["last_run"], "2025-04-08 03:05:00");
    assert_eq!(state["last_run_at"], "2025-04-08T03:05:00+00:00");
    assert_eq!(
        state["retention"],
        json!({"daily": 7, "weekly": 4, "monthly": 3}),
        "the old shape is kept"
    );

    let again = run_at(&env, "2025-04-08 03:20:00", &["run-scheduled"]);
    assert!(again.status.success());
    assert_eq!(
        env.entries().len(),
        1,
        "a second run in the same slot made another backup"
    );
}

#[test]
fn after_downtime_it_catches_up_once() {
    let env = Env::new();
    // The old module's own format.
    write_schedule(&env, daily("2025-03-29 03:00:00"));
    assert!(
        run_at(&env, "2025-04-08 10:00:00", &["run-scheduled"])
            .status
            .success()
    );
    assert!(
        run_at(&env, "2025-04-08 10:15:00", &["run-scheduled"])
            .status
            .success()
    );
    assert_eq!(env.entries().len(), 1);
    assert_eq!(schedule(&env)["next_run"], "2025-04-09 03:00:00");
}

#[test]
fn forty_days_keep_the_retention_count_bounded() {
    let env = Env::new();
    write_schedule(&env, daily("2025-01-01T03:00:00"));
    let mut counts = Vec::new();
    for day in 0..40 {
        let date =
            chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(day);
        let output = run_at(&env, &format!("{date} 03:01:00"), &["run-scheduled"]);
        assert!(output.status.success(), "day {day}: {}", stderr(&output));
        counts.push(env.entries().len());
    }
    assert!(counts.iter().all(|&n| n <= 7 + 4 + 3), "{counts:?}");
    let ids: Vec<String> = env
        .entries()
        .iter()
        .map(|e| e["id"].as_str().unwrap()[..8].to_string())
        .collect();
    let mut ids = ids;
    ids.sort();
    // daily 7: Feb 3-9; weekly 4: Feb 9 and the Sundays ending ISO weeks Feb 2, Jan 26,
    // Jan 19; monthly 3: Feb 9 and Jan 31, then the oldest backup (Jan 1) for the third.
    assert_eq!(
        ids,
        [
            "20250101", "20250119", "20250126", "20250131", "20250202", "20250203", "20250204",
            "20250205", "20250206", "20250207", "20250208", "20250209"
        ]
    );
    assert_eq!(
        env.files().len(),
        ids.len() + 1,
        "files match the catalog: {:?}",
        env.files()
    );
}

#[test]
fn a_failed_run_is_recorded_exits_non_zero_and_prunes_nothing() {
    let env = Env::new();
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
        "retention": {"last": 1}, "last_run": null, "next_run": null}),
    );
    assert!(
        run_at(&env, "2025-04-06 03:00:00", &["run-scheduled", "--force"])
            .status
            .success()
    );
    assert!(
        run_at(&env, "2025-04-07 03:00:00", &["run-scheduled", "--force"])
            .status
            .success()
    );
    let before = env.entries();
    assert_eq!(before.len(), 1, "last 1 keeps one");
    env.cluster.stop();
    let failed = run_at(&env, "2025-04-08 03:00:00", &["run-scheduled"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert_eq!(env.entries(), before, "nothing was pruned or added");
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "failed");
    assert!(
        state["last_result"]["error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{state}"
    );
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(
        log.lines().last().unwrap().contains("result=failed"),
        "{log}"
    );
}

#[test]
fn schedule_set_validates_and_show_reads_back() {
    let env = Env::new();
    let bad = env.run(&["schedule", "set", "--time", "25:00"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("invalid \"time\""),
        "{}",
        stderr(&bad)
    );
    let ok = env.run(&[
        "schedule",
        "set",
        "--frequency",
        "weekly",
        "--weekday",
        "sunday",
        "--time",
        "01:30",
        "--keep-daily",
        "3",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let shown: Value =
        serde_json::from_slice(&env.run(&["schedule", "show", "--json"]).stdout).unwrap();
    assert_eq!(shown["frequency"], "weekly");
    assert_eq!(shown["weekday"], "sunday");
    assert_eq!(shown["time"], "01:30");
    assert_eq!(shown["retention"]["daily"], 3);
    assert_eq!(shown["retention"]["weekly"], 4, "unchanged keys stay");
    assert!(shown["next_run"].is_string());
}

#[test]
fn every_heartbeat_refreshes_the_metrics_file() {
    let env = Env::new();
    let metrics = env.home().join("metrics/pgbackup.prom");
    fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    let mut with_metrics = daily("2025-04-08T03:00:00");
    with_metrics["metrics_file"] = json!(metrics);
    write_schedule(&env, with_metrics);
    assert!(
        run_at(&env, "2025-04-08 02:00:00", &["run-scheduled"])
            .status
            .success()
    );
    let before = fs::read_to_string(&metrics).expect("written when not due");
    assert!(
        before.contains("pgbackup_database_up{database=\"app\"} 1"),
        "{before}"
    );
    assert!(
        run_at(&env, "2025-04-08 03:01:00", &["run-scheduled"])
            .status
            .success()
    );
    let after = fs::read_to_string(&metrics).unwrap();
    assert!(
        after.contains("pgbackup_schedule_last_run_success 1"),
        "{after}"
    );
    assert!(
        after.contains("pgbackup_backups{database=\"app\",type=\"full\"} 1"),
        "{after}"
    );
}
