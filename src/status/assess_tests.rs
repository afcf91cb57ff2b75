use chrono::{DateTime, FixedOffset};

use super::assess;
use crate::status::backups::{BackupsReport, Checked, EntryRef, Group, Newest, Verification};
use crate::status::database::DatabaseReport;
use crate::status::limits::Thresholds;
use crate::status::schedule_view::{LastResult, ScheduleReport};
use crate::status::{Reason, State};
use crate::store::Space;

const HOUR: i64 = 3600;
const GIB: u64 = 1 << 30;

struct Facts {
    database: DatabaseReport,
    backups: BackupsReport,
    schedule: ScheduleReport,
    thresholds: Thresholds,
}

fn group(database: &str, kind: &str, age_hours: i64) -> Group {
    Group {
        database: database.into(),
        kind: kind.into(),
        pg_dump_options: Vec::new(),
        count: 1,
        total_bytes: GIB,
        newest: Newest {
            id: format!("{database}-{kind}"),
            age_seconds: Some(age_hours * HOUR),
            size_bytes: GIB,
            ..Newest::default()
        },
        last_verification: None,
    }
}

fn at(text: &str) -> Option<DateTime<FixedOffset>> {
    Some(DateTime::parse_from_rfc3339(text).unwrap())
}

/// A healthy database with one fresh backup, plenty of space and a good last run.
fn healthy() -> Facts {
    Facts {
        database: DatabaseReport {
            reachable: true,
            name: Some("app".into()),
            ..DatabaseReport::default()
        },
        backups: BackupsReport {
            checked: Checked {
                database: Some("app".into()),
                kind: "full".into(),
                ..Checked::default()
            },
            groups: vec![group("app", "full", 3)],
            filesystem: Some(Space {
                free_bytes: 100 * GIB,
                size_bytes: 200 * GIB,
            }),
            next_backup_estimate_bytes: Some(GIB),
            ..BackupsReport::default()
        },
        schedule: ScheduleReport {
            present: true,
            enabled: true,
            kind: "full".into(),
            last_result: Some(LastResult {
                status: "ok".into(),
                ..LastResult::default()
            }),
            ..ScheduleReport::default()
        },
        thresholds: Thresholds {
            max_age_seconds: 26 * HOUR,
            ..Thresholds::default()
        },
    }
}

fn judge(change: impl FnOnce(&mut Facts)) -> (State, Vec<Reason>) {
    let mut facts = healthy();
    change(&mut facts);
    let reasons = assess(
        &facts.database,
        Some(&facts.backups),
        Some(&facts.schedule),
        &facts.thresholds,
    );
    (State::worst(&reasons), reasons)
}

fn expect(change: impl FnOnce(&mut Facts), state: State, words: &[&str]) {
    let (got, reasons) = judge(change);
    assert_eq!(got, state, "{reasons:?}");
    let text = reasons
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for word in words {
        assert!(text.contains(word), "{word:?} not in {text}");
    }
}

#[test]
fn healthy_is_ok() {
    let (state, reasons) = judge(|_| {});
    assert_eq!(state, State::Ok);
    assert!(reasons.is_empty(), "{reasons:?}");
}

#[test]
fn an_unreachable_database_is_critical() {
    expect(
        |f| {
            f.database.reachable = false;
            f.database.error = Some("connection refused".into());
        },
        State::Critical,
        &["database app is unreachable: connection refused"],
    );
}

#[test]
fn no_backup_of_the_checked_database_and_type_is_critical() {
    expect(
        |f| f.backups.groups.clear(),
        State::Critical,
        &["no complete full backup of database app"],
    );
    expect(
        |f| f.backups.groups = vec![group("other", "full", 1), group("app", "schema", 1)],
        State::Critical,
        &["no complete full backup of database app"],
    );
    expect(
        |f| {
            f.backups.checked.database = None;
            f.backups.groups.clear();
        },
        State::Critical,
        &["no complete full backup"],
    );
}

#[test]
fn ages_are_judged_against_the_thresholds() {
    expect(
        |f| f.backups.groups[0].newest.age_seconds = Some(27 * HOUR),
        State::Critical,
        &["newest full backup of app (app-full) is 1d 3h old (limit 1d 2h)"],
    );
    expect(
        |f| {
            f.thresholds.warn_age_seconds = Some(2 * HOUR);
        },
        State::Warning,
        &["is 3h old (limit 2h)"],
    );
    expect(
        |f| f.backups.groups[0].newest.age_seconds = None,
        State::Unknown,
        &["no readable date"],
    );
}

#[test]
fn only_the_checked_groups_are_aged() {
    expect(
        |f| f.backups.groups.push(group("old_db", "full", 1000)),
        State::Ok,
        &[],
    );
    expect(
        |f| {
            f.backups.checked.database = None;
            f.backups.groups.push(group("old_db", "full", 1000));
        },
        State::Critical,
        &["of old_db"],
    );
}

#[test]
fn a_schedule_of_several_databases_and_the_globals_checks_each_of_them() {
    let several = |f: &mut Facts| {
        f.backups.checked.databases = vec!["app".into(), "shop".into()];
        f.backups.checked.globals = true;
        f.backups.groups.push(group("shop", "full", 3));
        f.backups.groups.push(group("", "globals", 3));
    };
    expect(several, State::Ok, &[]);
    expect(
        |f| {
            several(f);
            f.backups.groups.retain(|g| g.database != "shop");
        },
        State::Critical,
        &["there is no complete full backup of database shop"],
    );
    expect(
        |f| {
            several(f);
            f.backups.groups.retain(|g| g.kind != "globals");
        },
        State::Critical,
        &["there is no complete globals backup"],
    );
    expect(
        |f| {
            several(f);
            f.backups.groups.push(group("", "globals", 1000));
            f.backups
                .groups
                .retain(|g| g.kind != "globals" || g.newest.age_seconds != Some(3 * HOUR));
        },
        State::Critical,
        &["newest globals backup"],
    );
    expect(
        |f| {
            several(f);
            f.backups.groups.push(group("other", "full", 1000));
        },
        State::Ok,
        &[],
    );
}

#[test]
fn folder_problems_are_warnings() {
    let missing = |id: &str| EntryRef {
        id: id.into(),
        ..EntryRef::default()
    };
    expect(
        |f| f.backups.missing = (1..=7).map(|n| missing(&format!("m{n}"))).collect(),
        State::Warning,
        &["7 catalog entries have no file: m1, m2, m3, m4, m5 and 2 more"],
    );
    expect(
        |f| f.backups.unsafe_entries = vec![missing("u1")],
        State::Warning,
        &["1 catalog entry points outside backups/"],
    );
    expect(
        |f| f.backups.partials = vec![".backup_full_x.sql.gz.partial".into()],
        State::Warning,
        &["1 leftover partial file", ".backup_full_x.sql.gz.partial"],
    );
    expect(
        |f| {
            f.backups.partials = vec![".backup_full_x.sql.gz.partial".into()];
            f.backups.running = Some(Default::default());
        },
        State::Ok,
        &[],
    );
    expect(
        |f| f.backups.untracked = vec!["backup_full_20250101_000000.sql".into()],
        State::Ok,
        &[],
    );
}

#[test]
fn free_space_is_compared_with_the_last_backup_and_the_minimum() {
    expect(
        |f| f.backups.filesystem.as_mut().unwrap().free_bytes = GIB / 2,
        State::Warning,
        &["512.0 MiB free", "less than the last backup (1.0 GiB)"],
    );
    expect(
        |f| f.thresholds.min_free_bytes = Some(150 * GIB),
        State::Warning,
        &["less than 150.0 GiB (--min-free)"],
    );
    expect(
        |f| f.backups.filesystem = None,
        State::Unknown,
        &["free space"],
    );
    // Object storage has no filesystem to fill.
    expect(
        |f| {
            f.backups.filesystem = None;
            f.backups.object_storage = true;
        },
        State::Ok,
        &[],
    );
}

#[test]
fn a_failed_verification_is_a_warning() {
    expect(
        |f| {
            f.backups.groups[0].last_verification = Some(Verification {
                id: "v1".into(),
                verified_at: "2025-04-08T10:00:00+02:00".into(),
                result: "failed".into(),
                detail: Some("sha256 mismatch".into()),
            })
        },
        State::Warning,
        &["(v1, 2025-04-08T10:00:00+02:00) reported: sha256 mismatch"],
    );
}

#[test]
fn the_schedule_is_judged() {
    expect(
        |f| {
            f.schedule.last_result = Some(LastResult {
                status: "failed".into(),
                error: Some("pg_dump exited with code 1".into()),
                finished_at: at("2025-04-08T03:00:05+02:00"),
                ..LastResult::default()
            })
        },
        State::Critical,
        &[
            "the last scheduled run at 2025-04-08 03:00:05 +02:00 failed: pg_dump exited with code 1",
        ],
    );
    expect(
        |f| {
            f.schedule.overdue = true;
            f.schedule.next_run = at("2025-04-09T03:00:00+02:00");
        },
        State::Warning,
        &["overdue (due 2025-04-09 03:00:00 +02:00)"],
    );
}

#[test]
fn critical_outranks_unknown_which_outranks_warning() {
    let reasons = |states: &[State]| -> Vec<Reason> {
        states
            .iter()
            .map(|s| Reason {
                state: *s,
                message: String::new(),
            })
            .collect()
    };
    use State::{Critical, Ok, Unknown, Warning};
    assert_eq!(State::worst(&reasons(&[])), Ok);
    assert_eq!(State::worst(&reasons(&[Warning, Unknown])), Unknown);
    assert_eq!(
        State::worst(&reasons(&[Unknown, Critical, Warning])),
        Critical
    );
    assert_eq!(
        [Ok, Warning, Critical, Unknown].map(State::exit_code),
        [0, 1, 2, 3]
    );
}

#[test]
fn a_filtered_group_never_stands_in_for_the_unfiltered_one() {
    let filtered = vec!["--exclude-table=public.log".to_string()];
    let only_filtered = filtered.clone();
    expect(
        move |f| f.backups.groups[0].pg_dump_options = only_filtered.clone(),
        State::Critical,
        &["no complete full backup of database app"],
    );
    // A schedule with these options checks the filtered group instead.
    let (state, reasons) = judge(move |f| {
        f.backups.groups[0].pg_dump_options = filtered.clone();
        f.backups.checked.pg_dump_options = filtered.clone();
    });
    assert_eq!(state, State::Ok, "{reasons:?}");
}
