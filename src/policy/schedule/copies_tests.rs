use serde_json::json;

use super::identity;
use crate::policy::schedule::{self, Document, PendingCopy};

fn damage(file: serde_json::Value) -> Vec<(String, String)> {
    Document::parse(&file.to_string())
        .unwrap()
        .damage()
        .into_iter()
        .map(|d| (d.field, d.reason))
        .collect()
}

#[test]
fn repository_and_copies_read_and_write_back_in_place() {
    let text = json!({
        "repository": "/srv/backups",
        "copies": [
            {"repository": "s3://off-site/prod", "retention": {"weekly": 8, "daily": 2}},
            {"repository": "/mnt/usb/pgbackup"}
        ],
        "pending_copies": [{"repository": "s3://off-site/prod", "backup_id": "20250408_030000"}]
    })
    .to_string();
    let schedule = schedule::parse(&text).unwrap();
    assert_eq!(schedule.repository.as_deref(), Some("/srv/backups"));
    assert_eq!(schedule.copies.len(), 2);
    assert_eq!(
        schedule.copies[0].retention.as_ref().unwrap().weekly,
        Some(8)
    );
    assert_eq!(
        schedule.copies[1].retention, None,
        "absent: the top-level one"
    );
    assert_eq!(
        schedule.pending_copies,
        [PendingCopy {
            repository: "s3://off-site/prod".into(),
            backup_id: "20250408_030000".into(),
            filename: None,
            error: None,
        }]
    );
    let written: serde_json::Value = serde_json::from_str(&schedule.to_json()).unwrap();
    assert_eq!(
        written["copies"],
        json!([
            {"repository": "s3://off-site/prod", "retention": {"daily": 2, "weekly": 8}},
            {"repository": "/mnt/usb/pgbackup"}
        ])
    );
    assert_eq!(schedule::parse(&schedule.to_json()).unwrap(), schedule);
    let plain = schedule::Schedule::default().to_json();
    for key in ["repository", "copies", "pending_copies"] {
        assert!(!plain.contains(key), "{plain}");
    }
}

#[test]
fn bad_repositories_and_copies_are_damage_naming_the_element() {
    let cases = [
        (
            json!({"repository": "ftp://host/x"}),
            "repository",
            "neither",
        ),
        (json!({"repository": "backups"}), "repository", "absolute"),
        (json!({"repository": "s3://"}), "repository", "no bucket"),
        (
            json!({"repository": "s3://k:s@b/p"}),
            "repository",
            "credentials",
        ),
        (
            json!({"copies": {"repository": "s3://b/p"}}),
            "copies",
            "not a list",
        ),
        (
            json!({"copies": ["s3://b/p"]}),
            "copies[0]",
            "not an object",
        ),
        (json!({"copies": [{}]}), "copies[0].repository", "missing"),
        (
            json!({"copies": [{"repository": "s3://b/p", "keep": 1}]}),
            "copies[0].keep",
            "not known",
        ),
        (
            json!({"copies": [{"repository": "http://b/p"}]}),
            "copies[0].repository",
            "neither",
        ),
        (
            json!({"repository": "s3://b/p", "copies": [{"repository": "s3://b//p/"}]}),
            "copies[0].repository",
            "primary",
        ),
        (
            json!({"copies": [{"repository": "s3://b/p"}, {"repository": "s3://b/p/"}]}),
            "copies[1].repository",
            "earlier copy",
        ),
        (
            json!({"copies": [{"repository": "s3://b/p", "retention": {"daily": "7"}}]}),
            "copies[0].retention.daily",
            "not a count",
        ),
        (
            json!({"copies": [{"repository": "s3://b/p", "retention": 3}]}),
            "copies[0].retention",
            "not an object",
        ),
        (
            json!({"pending_copies": [{"repository": 1}]}),
            "pending_copies[0]",
            "not a pending copy",
        ),
    ];
    for (file, field, reason) in cases {
        let found = damage(file.clone());
        assert!(
            found.iter().any(|(f, r)| f == field && r.contains(reason)),
            "{file}: {found:?}"
        );
        let strict = schedule::parse(&file.to_string()).unwrap_err().to_string();
        assert!(strict.contains(&format!("invalid \"{field}\"")), "{strict}");
    }
}

#[test]
fn salvage_keeps_the_copies_that_read() {
    let (kept, dropped) = schedule::salvage(
        &json!({"copies": [{"repository": "s3://b/p"}, {"repository": "nope"}]}).to_string(),
    );
    assert_eq!(dropped, ["copies[1].repository"]);
    assert_eq!(kept.copies.len(), 1);
}

#[test]
fn identity_ignores_repeated_and_trailing_slashes() {
    assert_eq!(identity("s3://b//p/q/"), "s3://b/p/q");
    assert_eq!(identity("/srv//backups/"), "/srv/backups");
    assert_ne!(identity("s3://b/p"), identity("s3://b/q"));
}
