//! What status needs from `backup_schedule.json`: the schedule as `run-scheduled` reads
//! it, with the next run and overdue from the same computation (a missing file means the
//! defaults). A damaged file is shown through the schedule document's tolerant view.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::model::filters::DumpFilters;
use crate::model::zone::Zone;
pub use crate::policy::schedule::OVERDUE_SLACK_MINUTES;
use crate::policy::schedule::{self, Document, PendingCopy, RunStatus, Schedule};
use crate::state::schedule_file::{self, Stored};

/// The schedule as `status` reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScheduleReport {
    pub file: PathBuf,
    /// false: there is no schedule file, so the defaults apply.
    pub present: bool,
    /// Why the file is damaged: scheduled runs refuse it until it is repaired.
    pub error: Option<String>,
    pub enabled: bool,
    pub frequency: Option<String>,
    pub time: Option<String>,
    pub timezone: Option<String>,
    /// The backup type scheduled runs make (`full` unless the file says otherwise).
    #[serde(rename = "type")]
    pub kind: String,
    /// `"all"` or the names scheduled runs back up; null: the connection's database.
    pub databases: Option<Value>,
    /// Patterns of the databases `"all"` leaves out.
    pub exclude_databases: Vec<String>,
    /// Scheduled runs back up the globals too.
    pub globals: bool,
    /// The pg_dump filter options of scheduled backups, normalized (empty: unfiltered).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pg_dump_options: Vec<String>,
    #[serde(serialize_with = "crate::status::rfc3339_opt")]
    pub last_run: Option<DateTime<FixedOffset>>,
    #[serde(serialize_with = "crate::status::rfc3339_opt")]
    pub next_run: Option<DateTime<FixedOffset>>,
    /// Enabled, and the next run is more than 30 minutes late.
    pub overdue: bool,
    pub last_result: Option<LastResult>,
    /// Failed attempts at the slot being retried; null when the next run is a regular slot.
    pub failed_attempts: Option<u32>,
    pub metrics_file: Option<PathBuf>,
}

/// The outcome of the last scheduled run, as `run-scheduled` recorded it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LastResult {
    /// `ok` or `failed`.
    pub status: String,
    pub backup_id: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    #[serde(serialize_with = "crate::status::rfc3339_opt")]
    pub finished_at: Option<DateTime<FixedOffset>>,
}

impl LastResult {
    pub fn succeeded(&self) -> bool {
        self.status == "ok"
    }
}

/// The schedule, and the fields that were there but could not be understood.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleView {
    pub report: ScheduleReport,
    pub problems: Vec<String>,
    /// The copy repositories of `copies`, in the file's order.
    pub copies: Vec<String>,
    /// The copies still to be made (`pending_copies`).
    pub pending_copies: Vec<PendingCopy>,
}

/// Reads the schedule file; errors only when it exists but cannot be read at all. A
/// damaged file gives what can be read, no next run, and the damage as its one problem.
pub fn load(path: &Path, zone: Zone, now: DateTime<Utc>) -> Result<ScheduleView> {
    let mut view = match schedule_file::read(path)? {
        Stored::Missing => ScheduleView {
            report: ScheduleReport {
                present: false,
                ..report(&Schedule::default(), now)
            },
            ..ScheduleView::default()
        },
        Stored::Valid(schedule) => ScheduleView {
            report: report(&schedule, now),
            problems: Vec::new(),
            copies: (schedule.copies.iter())
                .map(|c| c.repository.clone())
                .collect(),
            pending_copies: schedule.pending_copies.clone(),
        },
        Stored::Damaged { text, reason } => damaged(&text, &reason, zone, now),
    };
    view.report.file = path.to_path_buf();
    Ok(view)
}

/// The schedule as reported: what `schedule show` says, from the same computation.
pub fn report(schedule: &Schedule, now: DateTime<Utc>) -> ScheduleReport {
    let zone = schedule.zone();
    let name = |value: Value| value.as_str().map(String::from);
    ScheduleReport {
        file: PathBuf::new(),
        present: true,
        error: None,
        enabled: schedule.enabled,
        frequency: name(serde_json::json!(schedule.frequency)),
        time: Some(schedule.time.format("%H:%M").to_string()),
        timezone: schedule.timezone.map(|tz| tz.name().to_string()),
        kind: name(serde_json::json!(schedule.kind.unwrap_or_default()))
            .unwrap_or_else(|| "full".to_string()),
        databases: schedule.databases.as_ref().map(|d| serde_json::json!(d)),
        exclude_databases: schedule.exclude_databases.clone(),
        globals: schedule.globals == Some(true),
        pg_dump_options: schedule.filters().to_args(),
        last_run: schedule.last_run,
        next_run: schedule::next_run(schedule, now).map(|t| zone.wall_clock(t)),
        overdue: schedule::overdue(schedule, now),
        last_result: schedule.last_result.as_ref().map(|r| LastResult {
            status: match r.status {
                RunStatus::Ok => "ok".to_string(),
                RunStatus::Failed => "failed".to_string(),
            },
            backup_id: r.backup_id.clone(),
            error: r.error.clone(),
            duration_ms: r.duration_ms,
            finished_at: r.finished_at,
        }),
        failed_attempts: schedule.failed_attempts,
        metrics_file: schedule.metrics_file.as_ref().map(PathBuf::from),
    }
}

/// A damaged file: its readable fields for the report, but no next run (none happens
/// until it is repaired).
fn damaged(text: &str, reason: &str, zone: Zone, now: DateTime<Utc>) -> ScheduleView {
    let (mut report, copies, pending_copies) = match Document::parse(text) {
        Ok(document) => {
            let view = interpret(&document, zone, now);
            (view.report, view.copies, view.pending_copies)
        }
        Err(_) => (
            ScheduleReport {
                present: true,
                kind: "full".to_string(),
                ..ScheduleReport::default()
            },
            Vec::new(),
            Vec::new(),
        ),
    };
    report.error = Some(reason.to_string());
    report.next_run = None;
    report.overdue = false;
    ScheduleView {
        report,
        problems: vec![format!(
            "{reason}: scheduled backups do not run until it is repaired \
             (correct it, or rewrite it with `pgbackup schedule set --yes`)"
        )],
        copies,
        pending_copies,
    }
}

/// A damaged file's tolerant view in `zone`, judged at `now`: what can be shown, on the
/// zone's wall clock, and each field that could not be understood.
pub fn interpret(document: &Document, zone: Zone, now: DateTime<Utc>) -> ScheduleView {
    let seen = document.tolerant(zone);
    let overdue = seen.enabled
        && seen
            .next_run
            .is_some_and(|next| now > next + Duration::minutes(OVERDUE_SLACK_MINUTES));
    let report = ScheduleReport {
        file: PathBuf::new(),
        present: true,
        error: None,
        enabled: seen.enabled,
        frequency: seen.frequency,
        time: seen.time,
        timezone: seen.timezone,
        kind: seen.kind,
        databases: None,
        exclude_databases: Vec::new(),
        globals: false,
        pg_dump_options: (document.pg_dump_options.value())
            .and_then(|args| DumpFilters::parse(args).ok())
            .map(|filters| filters.to_args())
            .unwrap_or_default(),
        last_run: seen.last_run.map(|t| zone.wall_clock(t)),
        next_run: seen.next_run.map(|t| zone.wall_clock(t)),
        overdue,
        last_result: seen.last_result.map(|r| LastResult {
            status: r.status,
            backup_id: r.backup_id,
            error: r.error,
            duration_ms: r.duration_ms,
            finished_at: r.finished_at.map(|t| zone.wall_clock(t)),
        }),
        failed_attempts: seen.failed_attempts,
        metrics_file: seen.metrics_file.map(PathBuf::from),
    };
    ScheduleView {
        report,
        problems: seen.problems,
        copies: (document.copies.items.iter())
            .map(|c| c.repository.clone())
            .collect(),
        pending_copies: document.pending_copies.items.clone(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::{Value, json};

    use super::{ScheduleView, interpret};
    use crate::model::zone::Zone;
    use crate::policy::schedule::Document;

    fn view(value: Value, now: DateTime<Utc>) -> ScheduleView {
        let zone = Zone::parse(Some("Europe/Berlin")).unwrap();
        let document = Document::from_fields(value.as_object().unwrap().clone());
        interpret(&document, zone, now)
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 4, 9, h, m, 0).unwrap()
    }

    #[test]
    fn the_old_modules_file_reads() {
        let v = view(
            json!({"enabled": true, "frequency": "daily", "time": "03:00",
                   "retention": {"daily": 7}, "last_run": "2025-04-08T03:00:01.123456",
                   "next_run": "2025-04-09T03:00:00"}),
            at(0, 0),
        );
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        let r = &v.report;
        assert!(r.present && r.enabled && !r.overdue);
        assert_eq!(r.kind, "full");
        assert_eq!(
            r.last_run.unwrap().to_rfc3339(),
            "2025-04-08T03:00:01.123456+02:00"
        );
        assert_eq!(r.next_run.unwrap().with_timezone(&Utc), at(1, 0));
        assert_eq!(r.last_result, None);
    }

    #[test]
    fn a_run_is_overdue_half_an_hour_after_it_was_due() {
        let file = json!({"enabled": true, "next_run": "2025-04-09T01:00:00+00:00"});
        assert!(!view(file.clone(), at(1, 30)).report.overdue);
        assert!(view(file.clone(), at(1, 31)).report.overdue);
        let disabled = json!({"enabled": false, "next_run": "2025-04-09T01:00:00+00:00"});
        assert!(!view(disabled, at(5, 0)).report.overdue);
        let never_planned = json!({"enabled": true, "next_run": null});
        assert!(!view(never_planned, at(5, 0)).report.overdue);
    }

    #[test]
    fn the_last_result_is_read() {
        let v = view(
            json!({"enabled": true, "type": "schema", "metrics_file": "/var/lib/node/pgbackup.prom",
                   "last_result": {"status": "failed", "error": "pg_dump exited with code 1",
                                   "duration_ms": 1200, "finished_at": "2025-04-09T03:00:00+02:00"}}),
            at(2, 0),
        );
        let result = v.report.last_result.unwrap();
        assert!(!result.succeeded());
        assert_eq!(result.error.as_deref(), Some("pg_dump exited with code 1"));
        assert_eq!(result.duration_ms, Some(1200));
        assert_eq!(result.finished_at.unwrap().with_timezone(&Utc), at(1, 0));
        assert_eq!(v.report.kind, "schema");
        assert!(v.report.metrics_file.is_some());
    }

    #[test]
    fn fields_of_the_wrong_kind_are_noted_and_ignored() {
        let v = view(
            json!({"enabled": "yes", "frequency": "fortnightly", "next_run": "soon",
                   "last_result": {"status": "ok", "finished_at": 5}}),
            at(0, 0),
        );
        assert!(!v.report.enabled);
        assert_eq!(v.report.next_run, None);
        assert!(v.report.last_result.unwrap().succeeded());
        let all = v.problems.join("\n");
        for expected in [
            "\"enabled\"",
            "fortnightly",
            "\"next_run\" \"soon\"",
            "in \"last_result\": \"finished_at\"",
        ] {
            assert!(all.contains(expected), "{expected}: {all}");
        }
    }
}
