use super::{RepositoryReport, Role, assess, copies_to_report, why_unreachable};
use crate::policy::schedule::PendingCopy;
use crate::status::backups::{BackupsReport, EntryRef};
use crate::status::{Reason, State};
use crate::store::StoreError;

fn surveyed(url: &str, role: Role, survey: BackupsReport) -> RepositoryReport {
    RepositoryReport::new(url.into(), role, Ok(Ok(survey)))
}

fn pending(url: &str, id: &str, error: Option<&str>) -> PendingCopy {
    PendingCopy {
        repository: url.into(),
        backup_id: id.into(),
        filename: None,
        error: error.map(String::from),
    }
}

#[test]
fn an_unreachable_repository_is_critical_with_its_reason_on_one_line() {
    let mut down = RepositoryReport::new(
        "s3://off-site/prod".into(),
        Role::Copy,
        Err("could not reach http://127.0.0.1:9: Connection refused".into()),
    );
    down.pending_copies = vec![pending("s3://off-site/prod", "20250408_030000", None)];
    assert_eq!(
        assess(&[down]),
        [Reason::critical(
            "repository s3://off-site/prod is unreachable: could not reach \
             http://127.0.0.1:9: Connection refused; 1 backup waits to be copied to it"
        )]
    );
    let primary = RepositoryReport::new("s3://b".into(), Role::Primary, Err("gone".into()));
    assert!(!primary.reachable && primary.count.is_none());
    assert_eq!(assess(&[primary])[0].state, State::Critical);
}

#[test]
fn pending_copies_are_one_warning_per_repository_with_the_last_error() {
    let mut copy = surveyed("/mnt/usb", Role::Copy, BackupsReport::default());
    copy.pending_copies = (1..=7)
        .map(|n| pending("/mnt/usb/", &format!("id{n}"), Some(&format!("error {n}"))))
        .collect();
    let reasons = assess(&[copy]);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0].state, State::Warning);
    assert_eq!(
        reasons[0].message,
        "7 backups wait to be copied to /mnt/usb (last error: error 7); the next \
         run-scheduled retries: id1, id2, id3, id4, id5 and 2 more"
    );
}

#[test]
fn a_copy_repository_reports_its_own_problems_and_the_primary_does_not_twice() {
    let broken = BackupsReport {
        missing: vec![EntryRef {
            id: "20250408_030000".into(),
            ..EntryRef::default()
        }],
        ..BackupsReport::default()
    };
    let copy = surveyed("s3://b/copy", Role::Copy, broken.clone());
    let primary = surveyed("/var/lib/pgbackup/backups", Role::Primary, broken);
    let reasons = assess(&[primary, copy]);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0]
            .message
            .starts_with("repository s3://b/copy: 1 catalog entry has no file"),
        "{reasons:?}"
    );
    let unread = RepositoryReport::new(
        "s3://b/copy".into(),
        Role::Copy,
        Ok(Err(Reason::critical("catalog s3://b/copy/x is corrupt"))),
    );
    assert!(unread.reachable);
    assert_eq!(
        unread.error.as_deref(),
        Some("catalog s3://b/copy/x is corrupt")
    );
    assert_eq!(assess(&[unread])[0].state, State::Critical);
}

#[test]
fn counts_and_groups_come_from_the_survey() {
    let survey = BackupsReport {
        count: 3,
        total_bytes: 4096,
        ..BackupsReport::default()
    };
    let repo = surveyed("s3://b", Role::Copy, survey);
    assert_eq!((repo.count, repo.total_bytes), (Some(3), Some(4096)));
    let json = serde_json::to_value(&repo).unwrap();
    assert_eq!(json["role"], "copy");
    assert_eq!(json["reachable"], true);
    assert!(json.get("survey").is_none() && json.get("unread").is_none());
}

#[test]
fn each_copy_is_reported_once_and_never_the_primary_again() {
    let copies = [
        "s3://b/prod/".to_string(),
        "/mnt/usb".to_string(),
        "/mnt//usb/".to_string(),
        "/var/lib/pgbackup/backups/".to_string(),
    ];
    let listed = copies_to_report("/var/lib/pgbackup/backups", &copies);
    assert_eq!(listed, [&copies[0], &copies[1]]);
}

#[test]
fn the_reason_names_the_repository_once() {
    let err = StoreError::Other(anyhow::anyhow!(
        "cannot open s3://b/p: bucket b does not exist at http://h"
    ));
    assert_eq!(
        why_unreachable("s3://b/p", &err),
        "bucket b does not exist at http://h"
    );
    let other = StoreError::Other(anyhow::anyhow!("line one\nline two"));
    assert_eq!(why_unreachable("s3://b/p", &other), "line one");
}
