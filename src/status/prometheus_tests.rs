use chrono::{DateTime, TimeZone, Utc};

use super::{escape_label, render, write_file};
use crate::policy::schedule::PendingCopy;
use crate::status::backups::{BackupsReport, Group, Newest};
use crate::status::database::DatabaseReport;
use crate::status::repositories::{RepositoryReport, Role};
use crate::status::schedule_view::{LastResult, ScheduleReport};
use crate::status::{Reason, Report};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 4, 9, 1, 0, 0).unwrap()
}

fn report() -> Report {
    let made = Utc.with_ymd_and_hms(2025, 4, 8, 1, 0, 0).unwrap();
    Report {
        database: Some(DatabaseReport {
            reachable: true,
            name: Some("app".into()),
            size_bytes: Some(8_000_000),
            ..DatabaseReport::default()
        }),
        backups: Some(BackupsReport {
            groups: vec![Group {
                database: "we\"ird\\db\nname".into(),
                kind: "full".into(),
                pg_dump_options: Vec::new(),
                count: 2,
                total_bytes: 3000,
                newest: Newest {
                    id: "20250408_030000".into(),
                    created_at: Some(made.fixed_offset()),
                    age_seconds: Some(86_400),
                    size_bytes: 1500,
                    duration_ms: Some(2500),
                    ..Newest::default()
                },
                last_verification: None,
            }],
            partials: vec![".backup_full_x.sql.partial".into()],
            ..BackupsReport::default()
        }),
        schedule: Some(ScheduleReport {
            present: true,
            enabled: true,
            last_result: Some(LastResult {
                status: "failed".into(),
                ..LastResult::default()
            }),
            ..ScheduleReport::default()
        }),
        ..Report::new(vec![Reason::critical("x")], now().fixed_offset())
    }
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

#[test]
fn every_family_has_help_and_type_before_its_samples() {
    let text = render(&report());
    let expected = [
        "# HELP pgbackup_status_state ",
        "# TYPE pgbackup_status_state gauge",
        "pgbackup_status_state 2",
        "pgbackup_database_up{database=\"app\"} 1",
        "pgbackup_database_size_bytes{database=\"app\"} 8000000",
        "pgbackup_backups{database=\"we\\\"ird\\\\db\\nname\",type=\"full\"} 2",
        "pgbackup_newest_backup_timestamp_seconds{database=\"we\\\"ird\\\\db\\nname\",type=\"full\"} 1744074000",
        "pgbackup_newest_backup_duration_seconds{database=\"we\\\"ird\\\\db\\nname\",type=\"full\"} 2.5",
        "pgbackup_partial_files 1",
        "pgbackup_schedule_enabled 1",
        "pgbackup_schedule_last_run_success 0",
    ];
    for line in expected {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "{line:?} missing in\n{text}"
        );
    }
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_string());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            assert_eq!(declared.last().map(String::as_str), Some(name), "{line}");
        }
    }
    assert!(
        !text.contains("pgbackup_schedule_next_run_timestamp_seconds"),
        "families without samples are left out"
    );
    assert!(
        !text.contains("repository"),
        "one default repository has no label"
    );
}

#[test]
fn listed_repositories_label_their_metrics() {
    let mut report = report();
    let primary = RepositoryReport::new(
        "/var/lib/pgbackup/backups".into(),
        Role::Primary,
        Ok(Ok(report.backups.clone().unwrap())),
    );
    let mut down = RepositoryReport::new("s3://b/off-site".into(), Role::Copy, Err("gone".into()));
    down.pending_copies = vec![PendingCopy {
        repository: "s3://b/off-site".into(),
        backup_id: "20250408_030000".into(),
        filename: None,
        error: None,
    }];
    report.repositories = Some(vec![primary, down]);
    let text = render(&report);
    for line in [
        "pgbackup_backups{repository=\"/var/lib/pgbackup/backups\",database=\"we\\\"ird\\\\db\\nname\",type=\"full\"} 2",
        "pgbackup_partial_files{repository=\"/var/lib/pgbackup/backups\"} 1",
        "pgbackup_repository_up{repository=\"/var/lib/pgbackup/backups\"} 1",
        "pgbackup_repository_up{repository=\"s3://b/off-site\"} 0",
        "pgbackup_repository_backups{repository=\"/var/lib/pgbackup/backups\"} 0",
        "pgbackup_repository_pending_copies{repository=\"s3://b/off-site\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
    assert!(
        !text.contains("pgbackup_repository_backups{repository=\"s3://b/off-site\"}"),
        "an unreachable repository has no count: {text}"
    );
}

#[test]
fn the_metrics_file_is_replaced_atomically_and_readable_by_all() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgbackup.prom");
    write_file(&path, "a 1\n").unwrap();
    write_file(&path, "a 2\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "no temporary file is left");
}
