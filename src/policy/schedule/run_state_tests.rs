use chrono::{DateTime, TimeDelta, Utc};

use super::{Due, after_run, due, next_run, overdue, plan_first_run};
use crate::policy::schedule::{LastResult, RunStatus, Schedule, parse};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

fn schedule(text: &str) -> Schedule {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn result(status: RunStatus) -> LastResult {
    LastResult {
        status,
        backup_id: None,
        error: None,
        duration_ms: None,
        finished_at: None,
    }
}

/// The shipped file, a missing file (the defaults), and the old module's naive times.
#[test]
fn the_next_run_is_one_answer_for_every_kind_of_file() {
    let now = at("2025-04-09T14:00:00Z");
    let cases = [
        // Never ran, nothing planned: the next slot, not "at once".
        (
            r#"{"timezone": "UTC", "last_run": null, "next_run": null}"#,
            Some("2025-04-10T03:00:00Z"),
        ),
        (r#"{"timezone": "UTC"}"#, Some("2025-04-10T03:00:00Z")),
        (r#"{"enabled": false, "timezone": "UTC"}"#, None),
        (
            r#"{"timezone": "UTC", "last_run": "2025-04-08 03:00:05"}"#,
            Some("2025-04-09T03:00:00Z"),
        ),
        (
            r#"{"timezone": "Europe/Berlin", "next_run": "2025-04-09 03:00:00"}"#,
            Some("2025-04-09T01:00:00Z"),
        ),
        (
            r#"{"timezone": "UTC", "next_run": "2030-01-11T03:00:00Z"}"#,
            Some("2030-01-11T03:00:00Z"),
        ),
    ];
    for (file, expected) in cases {
        assert_eq!(next_run(&schedule(file), now), expected.map(at), "{file}");
    }
}

#[test]
fn due_and_overdue_follow_the_next_run() {
    let planned = schedule(r#"{"timezone": "UTC", "next_run": "2025-04-09 03:00:00"}"#);
    let unplanned = schedule(r#"{"timezone": "UTC", "next_run": null}"#);
    let disabled = schedule(r#"{"enabled": false, "next_run": "2025-04-09 03:00:00"}"#);
    let slot = at("2025-04-09T03:00:00Z");
    let cases = [
        (
            &planned,
            "2025-04-09T02:59:59Z",
            Due::NotYet { next: slot },
            false,
        ),
        (&planned, "2025-04-09T03:00:00Z", Due::Due { slot }, false),
        (&planned, "2025-04-09T03:30:00Z", Due::Due { slot }, false),
        (&planned, "2025-04-09T03:30:01Z", Due::Due { slot }, true),
        (
            &unplanned,
            "2025-04-09T14:00:00Z",
            Due::NotYet {
                next: at("2025-04-10T03:00:00Z"),
            },
            false,
        ),
        (&disabled, "2025-04-10T14:00:00Z", Due::Disabled, false),
    ];
    for (schedule, now, expected_due, expected_overdue) in cases {
        assert_eq!(due(schedule, at(now)), expected_due, "{now}");
        assert_eq!(overdue(schedule, at(now)), expected_overdue, "{now}");
    }
}

#[test]
fn the_first_run_is_planned_once_and_then_stays_put() {
    let mut shipped = schedule(r#"{"timezone": "UTC", "last_run": null, "next_run": null}"#);
    assert!(plan_first_run(&mut shipped, at("2025-04-09T14:00:00Z")));
    let planned = at("2025-04-10T03:00:00Z");
    assert_eq!(shipped.next_run.map(|t| t.to_utc()), Some(planned));
    assert!(!plan_first_run(&mut shipped, at("2025-04-10T03:05:00Z")));
    assert_eq!(
        due(&shipped, at("2025-04-10T03:05:00Z")),
        Due::Due { slot: planned }
    );
    let mut disabled = schedule(r#"{"enabled": false}"#);
    assert!(!plan_first_run(&mut disabled, at("2025-04-09T14:00:00Z")));
    assert_eq!(disabled.next_run, None);
}

/// Each case: a run that started at the first time failed; the next run is the second.
fn assert_retries(file: &str, first_failure: &str, expected: &[(&str, Option<u32>)]) {
    let mut schedule = schedule(file);
    let mut started = at(first_failure);
    for (next, attempts) in expected {
        after_run(&mut schedule, started, result(RunStatus::Failed));
        let planned = schedule.next_run.unwrap().to_utc();
        assert_eq!(planned, at(next), "{file}: after a failure at {started}");
        assert_eq!(schedule.failed_attempts, *attempts, "{file} at {started}");
        // The heartbeat that runs it starts within a minute of the quarter hour.
        started = planned + TimeDelta::seconds(40);
    }
}

#[test]
fn a_failed_run_is_retried_with_growing_delays_then_waits_for_its_slot() {
    assert_retries(
        r#"{"timezone": "UTC", "time": "03:00"}"#,
        "2025-04-09T03:00:40Z",
        &[
            ("2025-04-09T03:15:00Z", Some(1)),
            ("2025-04-09T03:45:00Z", Some(2)),
            ("2025-04-09T04:45:00Z", Some(3)),
            ("2025-04-10T03:00:00Z", None),
            // The next slot gets its own retries.
            ("2025-04-10T03:15:00Z", Some(1)),
        ],
    );
    // An hourly schedule: a retry never goes past the next slot.
    assert_retries(
        r#"{"timezone": "UTC", "frequency": "hourly", "time": "00:10"}"#,
        "2025-04-09T03:10:30Z",
        &[
            ("2025-04-09T03:30:00Z", Some(1)),
            ("2025-04-09T04:00:00Z", Some(2)),
            ("2025-04-09T04:10:00Z", None),
        ],
    );
}

#[test]
fn a_success_ends_the_retries() {
    let mut schedule = schedule(r#"{"timezone": "UTC"}"#);
    after_run(
        &mut schedule,
        at("2025-04-09T03:00:10Z"),
        result(RunStatus::Failed),
    );
    assert_eq!(schedule.failed_attempts, Some(1));
    after_run(
        &mut schedule,
        at("2025-04-09T03:15:10Z"),
        result(RunStatus::Ok),
    );
    assert_eq!(schedule.failed_attempts, None);
    assert_eq!(
        schedule.next_run.map(|t| t.to_utc()),
        Some(at("2025-04-10T03:00:00Z"))
    );
    assert_eq!(
        schedule.last_run.map(|t| t.to_utc()),
        Some(at("2025-04-09T03:15:10Z"))
    );
}

#[test]
fn a_run_whose_backup_was_made_is_not_retried() {
    let mut schedule = schedule(r#"{"timezone": "UTC"}"#);
    let retention_failed = LastResult {
        backup_id: Some("20250409_030010".into()),
        error: Some("backup 20250409_030010 was made, but retention failed".into()),
        ..result(RunStatus::Failed)
    };
    after_run(&mut schedule, at("2025-04-09T03:00:10Z"), retention_failed);
    assert_eq!(schedule.failed_attempts, None);
    assert_eq!(
        schedule.next_run.map(|t| t.to_utc()),
        Some(at("2025-04-10T03:00:00Z"))
    );
}
