use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{
    Due, Frequency, LastResult, RunStatus, Schedule, Zone, after_run, due, next_slot_after, parse,
};

const OLD_MODULE_FILE: &str = r#"{"enabled": true, "frequency": "daily", "time": "03:00",
 "retention": {"daily": 7, "weekly": 4, "monthly": 3},
 "last_run": "2025-04-08T03:00:01.123456", "next_run": "2025-04-09T03:00:00"}"#;

const SHIPPED_DEFAULT: &str = r#"{
  "enabled": true,
  "frequency": "daily",
  "time": "03:00",
  "retention": {
    "daily": 7,
    "weekly": 4,
    "monthly": 3
  },
  "last_run": null,
  "next_run": null
}
"#;

const EVERY_FIELD: &str = r#"{
  "enabled": false,
  "frequency": "weekly",
  "time": "22:45",
  "retention": {
    "daily": 7,
    "weekly": 4,
    "monthly": -1,
    "last": 3,
    "hourly": 0,
    "yearly": 2,
    "within": "1y6m",
    "keep_tagged": [
      "release"
    ]
  },
  "last_run": "2025-04-11 22:45:00",
  "next_run": "2025-04-18 22:45:00",
  "last_run_at": "2025-04-11T22:45:00+02:00",
  "next_run_at": "2025-04-18T22:45:00+02:00",
  "weekday": "friday",
  "day_of_month": 31,
  "type": "schema",
  "compression": "zstd",
  "timezone": "Europe/Berlin",
  "last_result": {
    "status": "failed",
    "backup_id": "20250411_224500",
    "error": "pg_dump exited with code 1",
    "duration_ms": 1520,
    "finished_at": "2025-04-11T22:45:02+02:00"
  },
  "metrics_file": "/var/lib/node_exporter/pgbackup.prom",
  "alerts": {
    "email": "ops@example.com"
  }
}
"#;

const DAILY: &str = r#"{"time": "03:00", "timezone": "UTC"}"#;
const HOURLY: &str = r#"{"frequency": "hourly", "time": "07:15", "timezone": "UTC"}"#;
const WEEKLY: &str = r#"{"frequency": "weekly", "timezone": "UTC"}"#;
const WEEKLY_FRIDAY: &str =
    r#"{"frequency": "weekly", "weekday": "fri", "time": "22:00", "timezone": "UTC"}"#;
const MONTHLY: &str = r#"{"frequency": "monthly", "timezone": "UTC"}"#;
const MONTHLY_31: &str = r#"{"frequency": "monthly", "day_of_month": 31, "timezone": "UTC"}"#;
const MONTHLY_29: &str = r#"{"frequency": "monthly", "day_of_month": 29, "timezone": "UTC"}"#;
const BERLIN_DAILY: &str = r#"{"time": "02:30", "timezone": "Europe/Berlin"}"#;
const BERLIN_HOURLY: &str =
    r#"{"frequency": "hourly", "time": "00:30", "timezone": "Europe/Berlin"}"#;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

fn naive(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
}

fn schedule(text: &str) -> Schedule {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn not_yet(next: &str) -> Due {
    Due::NotYet { next: at(next) }
}

fn due_at(slot: &str) -> Due {
    Due::Due { slot: at(slot) }
}

/// Each case: the first slot strictly after the first instant is the second.
fn assert_slots(file: &str, cases: &[(&str, &str)]) {
    let schedule = schedule(file);
    for (after, expected) in cases {
        let slot = next_slot_after(&schedule, at(after));
        assert_eq!(slot, at(expected), "{file}: after {after}");
    }
}

#[test]
fn daily_before_at_and_after_the_time_and_at_year_end() {
    assert_slots(
        DAILY,
        &[
            ("2025-04-08T02:59:00Z", "2025-04-08T03:00:00Z"),
            ("2025-04-08T03:00:00Z", "2025-04-09T03:00:00Z"),
            ("2025-04-08T03:00:01Z", "2025-04-09T03:00:00Z"),
            ("2025-12-31T04:00:00Z", "2026-01-01T03:00:00Z"),
        ],
    );
}

#[test]
fn hourly_runs_at_the_minute_of_every_hour() {
    assert_slots(
        HOURLY,
        &[
            ("2025-04-08T10:00:00Z", "2025-04-08T10:15:00Z"),
            ("2025-04-08T10:15:00Z", "2025-04-08T11:15:00Z"),
            ("2025-04-08T10:50:30Z", "2025-04-08T11:15:00Z"),
            ("2025-12-31T23:30:00Z", "2026-01-01T00:15:00Z"),
        ],
    );
}

#[test]
fn weekly_crosses_week_and_year_boundaries() {
    assert_slots(
        WEEKLY,
        &[
            ("2025-04-13T23:00:00Z", "2025-04-14T03:00:00Z"),
            ("2025-04-14T03:00:00Z", "2025-04-21T03:00:00Z"),
            ("2025-12-31T12:00:00Z", "2026-01-05T03:00:00Z"),
        ],
    );
    assert_slots(
        WEEKLY_FRIDAY,
        &[
            ("2025-04-08T12:00:00Z", "2025-04-11T22:00:00Z"),
            ("2025-04-11T22:00:00Z", "2025-04-18T22:00:00Z"),
        ],
    );
}

#[test]
fn monthly_falls_back_to_the_last_day_of_short_months() {
    assert_slots(MONTHLY, &[("2025-04-08T12:00:00Z", "2025-05-01T03:00:00Z")]);
    assert_slots(
        MONTHLY_31,
        &[
            ("2024-01-31T03:00:00Z", "2024-02-29T03:00:00Z"),
            ("2025-01-31T03:00:00Z", "2025-02-28T03:00:00Z"),
            ("2025-02-28T03:00:00Z", "2025-03-31T03:00:00Z"),
            ("2025-03-31T03:00:00Z", "2025-04-30T03:00:00Z"),
            ("2025-04-30T03:00:00Z", "2025-05-31T03:00:00Z"),
            ("2025-12-31T03:00:00Z", "2026-01-31T03:00:00Z"),
        ],
    );
    assert_slots(
        MONTHLY_29,
        &[
            ("2024-01-29T03:00:00Z", "2024-02-29T03:00:00Z"),
            ("2025-01-29T03:00:00Z", "2025-02-28T03:00:00Z"),
        ],
    );
}

#[test]
fn daily_across_berlin_dst_changes() {
    assert_slots(
        BERLIN_DAILY,
        &[
            ("2025-03-28T12:00:00+01:00", "2025-03-29T02:30:00+01:00"),
            // 02:30 does not exist on 2025-03-30: the run is at the end of the gap.
            ("2025-03-29T12:00:00+01:00", "2025-03-30T03:00:00+02:00"),
            ("2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"),
            // 02:30 happens twice on 2025-10-26: the run is at the first, only.
            ("2025-10-25T12:00:00+02:00", "2025-10-26T02:30:00+02:00"),
            ("2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"),
            ("2025-10-26T02:15:00+01:00", "2025-10-27T02:30:00+01:00"),
        ],
    );
}

#[test]
fn hourly_across_berlin_dst_changes_keeps_real_hours() {
    assert_slots(
        BERLIN_HOURLY,
        &[
            ("2025-03-30T01:00:00+01:00", "2025-03-30T01:30:00+01:00"),
            // The skipped hour is not made up: the next run is an hour later.
            ("2025-03-30T01:30:00+01:00", "2025-03-30T03:30:00+02:00"),
            // The repeated hour runs again, an hour later.
            ("2025-10-26T02:30:00+02:00", "2025-10-26T02:30:00+01:00"),
            ("2025-10-26T02:30:00+01:00", "2025-10-26T03:30:00+01:00"),
        ],
    );
}

fn assert_due(file: &str, cases: &[(&str, Due)]) {
    let schedule = schedule(file);
    for (now, expected) in cases {
        assert_eq!(due(&schedule, at(now)), *expected, "{file} at {now}");
    }
}

#[test]
fn due_says_whether_and_why() {
    assert_due(
        r#"{"enabled": false}"#,
        &[("2025-04-09T12:00:00Z", Due::Disabled)],
    );
    // Never run and nothing planned: the next slot, not at once.
    assert_due(
        DAILY,
        &[("2025-04-09T12:00:00Z", not_yet("2025-04-10T03:00:00Z"))],
    );
    assert_due(
        r#"{"timezone": "UTC", "next_run": "2025-04-10T03:00:00Z"}"#,
        &[
            ("2025-04-09T12:00:00Z", not_yet("2025-04-10T03:00:00Z")),
            ("2025-04-10T03:00:00Z", due_at("2025-04-10T03:00:00Z")),
            ("2025-04-11T08:00:00Z", due_at("2025-04-10T03:00:00Z")),
        ],
    );
    // Only last_run: the first slot after it.
    assert_due(
        r#"{"timezone": "UTC", "last_run": "2025-04-09T03:00:05Z"}"#,
        &[
            ("2025-04-10T02:59:00Z", not_yet("2025-04-10T03:00:00Z")),
            ("2025-04-10T03:00:00Z", due_at("2025-04-10T03:00:00Z")),
        ],
    );
    // The old module's naive next_run is on the schedule's wall clock.
    assert_due(
        r#"{"timezone": "Europe/Berlin", "next_run": "2025-04-10T03:00:00"}"#,
        &[
            ("2025-04-10T00:59:00Z", not_yet("2025-04-10T01:00:00Z")),
            ("2025-04-10T01:00:00Z", due_at("2025-04-10T01:00:00Z")),
        ],
    );
}

#[test]
fn catching_up_after_downtime_runs_once() {
    let mut schedule = schedule(
        r#"{"timezone": "Europe/Berlin",
            "last_run": "2025-04-01T03:00:00+02:00", "next_run": "2025-04-02T03:00:00+02:00"}"#,
    );
    let now = at("2025-04-12T10:00:00Z");
    assert_eq!(due(&schedule, now), due_at("2025-04-02T01:00:00Z"));

    let result = LastResult {
        status: RunStatus::Ok,
        backup_id: Some("20250412_120000".into()),
        error: None,
        duration_ms: Some(2500),
        finished_at: None,
    };
    after_run(&mut schedule, now, result.clone());
    let next = at("2025-04-13T03:00:00+02:00");
    assert_eq!(schedule.last_run.map(|t| t.to_utc()), Some(now));
    assert_eq!(schedule.next_run.map(|t| t.to_utc()), Some(next));
    assert_eq!(schedule.last_result, Some(result));

    let heartbeats = (1..).map(|n| now + TimeDelta::minutes(15 * n));
    for heartbeat in heartbeats.take_while(|t| *t < next) {
        assert_eq!(
            due(&schedule, heartbeat),
            Due::NotYet { next },
            "{heartbeat}"
        );
    }
    assert_eq!(due(&schedule, next), Due::Due { slot: next });
}

#[test]
fn after_run_writes_the_old_format_and_the_instant_beside_it() {
    let mut schedule = schedule(BERLIN_DAILY);
    let started = at("2025-04-08T00:30:01.123456789Z");
    let result = LastResult {
        status: RunStatus::Failed,
        backup_id: None,
        error: Some("pg_dump exited with code 1".into()),
        duration_ms: None,
        finished_at: None,
    };
    after_run(&mut schedule, started, result);
    let written: Value = serde_json::from_str(&schedule.to_json()).unwrap();
    assert_eq!(written["last_run"], "2025-04-08 02:30:01");
    // It failed: the retry is at the first heartbeat 15 minutes later.
    assert_eq!(written["next_run"], "2025-04-08 02:45:00");
    assert_eq!(written["last_run_at"], "2025-04-08T02:30:01+02:00");
    assert_eq!(written["next_run_at"], "2025-04-08T02:45:00+02:00");
    assert_eq!(written["failed_attempts"], 1);
    assert_eq!(
        written["last_result"],
        json!({"status": "failed", "error": "pg_dump exited with code 1"})
    );
}

#[test]
fn the_old_module_file_loads_and_rewrites() {
    let schedule = schedule(OLD_MODULE_FILE);
    let rewritten: Value = serde_json::from_str(&schedule.to_json()).unwrap();
    assert_eq!(rewritten["last_run"], "2025-04-08 03:00:01");
    assert_eq!(rewritten["next_run"], "2025-04-09 03:00:00");
    assert_eq!(parse(&schedule.to_json()).unwrap(), schedule);
    assert!(schedule.enabled);
    assert_eq!(schedule.frequency, Frequency::Daily);
    assert_eq!(schedule.time, NaiveTime::from_hms_opt(3, 0, 0).unwrap());
    let retention = &schedule.retention;
    assert_eq!(
        (retention.daily, retention.weekly, retention.monthly),
        (Some(7), Some(4), Some(3))
    );
    assert_eq!(schedule.zone(), Zone::Local);
    let last_run = schedule.last_run.unwrap().naive_local();
    assert_eq!(last_run, naive("2025-04-08T03:00:01"));
    let next_run = schedule.next_run.unwrap().naive_local();
    assert_eq!(next_run, naive("2025-04-09T03:00:00"));
}

#[test]
fn a_rewrite_keeps_every_field_in_order_and_unknown_keys() {
    let mut old: Value = serde_json::from_str(OLD_MODULE_FILE).unwrap();
    old["retention"]["keep_tagged"] = json!(["release"]);
    old["alerts"] = json!({"email": "ops@example.com"});
    let schedule = schedule(&old.to_string());

    let text = schedule.to_json();
    assert!(text.ends_with("}\n"));
    let written: Value = serde_json::from_str(&text).unwrap();
    let keys = |value: &Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&written),
        [
            "enabled",
            "frequency",
            "time",
            "retention",
            "last_run",
            "next_run",
            "last_run_at",
            "next_run_at",
            "alerts"
        ]
    );
    assert_eq!(
        keys(&written["retention"]),
        ["daily", "weekly", "monthly", "keep_tagged"]
    );
    assert_eq!(written["alerts"], old["alerts"]);
    assert_eq!(
        written["retention"]["keep_tagged"],
        old["retention"]["keep_tagged"]
    );
    assert_eq!(parse(&text).unwrap(), schedule);
}

#[test]
fn every_field_round_trips_byte_for_byte() {
    assert_eq!(schedule(EVERY_FIELD).to_json(), EVERY_FIELD);
}

#[test]
fn old_dates_are_read_on_the_schedule_wall_clock() {
    let expected = at("2025-04-08T01:00:01Z");
    let berlin_summer = 2 * 3600;
    for text in [
        "2025-04-08T03:00:01",
        "2025-04-08T03:00:01.000",
        "2025-04-08 03:00:01",
        "2025-04-08T03:00:01+02:00",
        "2025-04-08T01:00:01Z",
    ] {
        let offset = berlin_summer;
        let file = json!({"timezone": "Europe/Berlin", "last_run": text}).to_string();
        let last_run = schedule(&file).last_run.unwrap();
        assert_eq!(last_run.to_utc(), expected, "{text}");
        assert_eq!(last_run.offset().local_minus_utc(), offset, "{text}");
    }
}

#[test]
fn weekday_names_short_or_full_are_written_in_full() {
    for (text, written) in [("mon", "monday"), ("Monday", "monday"), ("SUN", "sunday")] {
        let file = json!({"frequency": "weekly", "weekday": text}).to_string();
        let rewritten: Value = serde_json::from_str(&schedule(&file).to_json()).unwrap();
        assert_eq!(rewritten["weekday"], written, "{text}");
    }
}

#[test]
fn every_invalid_field_is_named() {
    let cases = [
        (
            json!({"enabled": "yes"}),
            "enabled",
            r#""yes" is not true or false"#,
        ),
        (
            json!({"frequency": "fortnightly"}),
            "frequency",
            r#""fortnightly" (expected hourly, daily, weekly or monthly)"#,
        ),
        (
            json!({"time": "25:00"}),
            "time",
            r#""25:00" is not HH:MM (00:00-23:59)"#,
        ),
        (
            json!({"time": "3pm"}),
            "time",
            r#""3pm" is not HH:MM (00:00-23:59)"#,
        ),
        (json!({"retention": 7}), "retention", "7 is not an object"),
        (
            json!({"retention": {"daily": -2}}),
            "retention.daily",
            "-2 is not a count (0 or more, or -1 for unlimited)",
        ),
        (
            json!({"retention": {"yearly": "2"}}),
            "retention.yearly",
            r#""2" is not a count (0 or more, or -1 for unlimited)"#,
        ),
        (
            json!({"retention": {"within": "30"}}),
            "retention.within",
            r#"invalid duration "30": no unit after 30 (expected numbers with units y, m (months), d, h, e.g. 7d, 36h, 1y6m)"#,
        ),
        (
            json!({"last_run": "yesterday"}),
            "last_run",
            r#""yesterday" is not a date and time (YYYY-MM-DD HH:MM:SS local time, or RFC 3339)"#,
        ),
        (json!({"next_run": 5}), "next_run", "5 is not a string"),
        (
            json!({"weekday": "funday"}),
            "weekday",
            r#""funday" (expected monday to sunday, or mon to sun)"#,
        ),
        (
            json!({"day_of_month": 0}),
            "day_of_month",
            "0 is not a day of the month (1-31, 31 = the last day)",
        ),
        (
            json!({"day_of_month": 32}),
            "day_of_month",
            "32 is not a day of the month (1-31, 31 = the last day)",
        ),
        (
            json!({"type": "incremental"}),
            "type",
            r#""incremental" (expected full or schema)"#,
        ),
        (
            json!({"compression": "lz4"}),
            "compression",
            r#""lz4" (expected gzip, zstd or none)"#,
        ),
        (
            json!({"timezone": "Mars/Olympus"}),
            "timezone",
            r#""Mars/Olympus" is not an IANA time zone name such as Europe/Berlin"#,
        ),
        (
            json!({"last_result": {"status": "maybe"}}),
            "last_result",
            "unknown variant `maybe`, expected `ok` or `failed`",
        ),
        (
            json!({"metrics_file": 3}),
            "metrics_file",
            "3 is not a string",
        ),
    ];
    for (file, field, reason) in cases {
        let error = parse(&file.to_string()).unwrap_err();
        let expected = format!("invalid \"{field}\" in backup_schedule.json: {reason}");
        assert_eq!(error.to_string(), expected);
    }
}

#[test]
fn unlimited_retention_and_an_empty_zone_are_valid() {
    let schedule =
        schedule(r#"{"retention": {"daily": -1, "within": "1y2m3d4h"}, "timezone": ""}"#);
    assert_eq!(schedule.retention.daily, Some(-1));
    assert_eq!(schedule.retention.weekly, None);
    assert_eq!(schedule.zone(), Zone::Local);
}

#[test]
fn text_that_is_not_a_json_object_is_refused() {
    for text in ["{", "[]", "3"] {
        let error = parse(text).unwrap_err().to_string();
        assert!(
            error.starts_with("backup_schedule.json is not valid JSON: "),
            "{error}"
        );
    }
}

#[test]
fn a_missing_file_means_the_old_module_defaults() {
    let default = Schedule::default();
    assert!(default.enabled);
    assert_eq!(default.frequency, Frequency::Daily);
    assert_eq!(default.time, NaiveTime::from_hms_opt(3, 0, 0).unwrap());
    assert_eq!(parse("{}").unwrap(), default);
    assert_eq!(default.to_json(), SHIPPED_DEFAULT);
    assert_eq!(parse(SHIPPED_DEFAULT).unwrap(), default);
}

#[test]
fn zones_resolve_missing_and_repeated_wall_times() {
    let berlin = Zone::Named(chrono_tz::Europe::Berlin);
    let wall = |day: u32, month: u32| {
        NaiveDate::from_ymd_opt(2025, month, day)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .unwrap()
    };
    assert_eq!(berlin.resolve(wall(30, 3)), at("2025-03-30T03:00:00+02:00"));
    assert_eq!(
        berlin.resolve(wall(26, 10)),
        at("2025-10-26T02:30:00+02:00")
    );
    let wall_clock = berlin.wall_clock(at("2025-10-26T01:30:00Z"));
    assert_eq!(wall_clock.to_rfc3339(), "2025-10-26T02:30:00+01:00");
}
