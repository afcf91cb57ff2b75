use serde_json::{Value, json};

use super::Document;
use crate::model::zone::Zone;
use crate::policy::schedule::{parse, salvage};

struct Case {
    file: Value,
    /// The strict view's error, or `None` when it reads.
    strict: Option<&'static str>,
    /// The tolerant view's problems, in order.
    tolerant: &'static [&'static str],
    /// What salvage drops.
    dropped: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            file: json!({"enabled": "yes"}),
            strict: Some(
                "invalid \"enabled\" in backup_schedule.json: \"yes\" is not true or false",
            ),
            tolerant: &["\"enabled\" is \"yes\", not true or false"],
            dropped: &["enabled"],
        },
        Case {
            file: json!({"frequency": "fortnightly"}),
            strict: Some(
                "invalid \"frequency\" in backup_schedule.json: \"fortnightly\" \
                 (expected hourly, daily, weekly or monthly)",
            ),
            tolerant: &["\"frequency\" \"fortnightly\" is not hourly, daily, weekly or monthly"],
            dropped: &["frequency"],
        },
        Case {
            file: json!({"next_run": "soon"}),
            strict: Some(
                "invalid \"next_run\" in backup_schedule.json: \"soon\" is not a date and time \
                 (YYYY-MM-DD HH:MM:SS local time, or RFC 3339)",
            ),
            tolerant: &["\"next_run\" \"soon\" is not a date"],
            dropped: &["next_run"],
        },
        // The views disagree: status shows what it can, run-scheduled refuses.
        Case {
            file: json!({"time": "25:00"}),
            strict: Some(
                "invalid \"time\" in backup_schedule.json: \"25:00\" is not HH:MM (00:00-23:59)",
            ),
            tolerant: &[],
            dropped: &["time"],
        },
        Case {
            file: json!({"next_run": "20250409_030000"}),
            strict: Some("invalid \"next_run\""),
            tolerant: &[],
            dropped: &["next_run"],
        },
        Case {
            file: json!({"failed_attempts": -1}),
            strict: Some(
                "invalid \"failed_attempts\" in backup_schedule.json: -1 is not a count of failed attempts",
            ),
            tolerant: &[],
            dropped: &["failed_attempts"],
        },
        // Strict names the first field it checks; tolerant lists all it shows, in its order.
        Case {
            file: json!({"enabled": "x", "timezone": 5}),
            strict: Some("invalid \"timezone\" in backup_schedule.json: 5 is not a string"),
            tolerant: &[
                "\"enabled\" is \"x\", not true or false",
                "\"timezone\" is 5, not a string",
            ],
            dropped: &["timezone", "enabled"],
        },
        Case {
            file: json!({"retention": {"daily": "7", "weekly": 2, "monthly": "3"}, "time": "25:00"}),
            strict: Some("invalid \"time\""),
            tolerant: &[],
            dropped: &["time", "retention.daily", "retention.monthly"],
        },
        Case {
            file: json!({"retention": 7}),
            strict: Some("invalid \"retention\" in backup_schedule.json: 7 is not an object"),
            tolerant: &[],
            dropped: &["retention"],
        },
        Case {
            file: json!({"last_result": {"status": "ok", "finished_at": 5}}),
            strict: Some("invalid \"last_result\""),
            tolerant: &["in \"last_result\": \"finished_at\" is 5, not a string"],
            dropped: &["last_result"],
        },
        Case {
            file: json!({"next_run": "2025-04-09 03:00:00", "next_run_at": "2025-04-09 03:00"}),
            strict: Some("invalid \"next_run_at\""),
            tolerant: &[],
            dropped: &["next_run_at"],
        },
        Case {
            file: json!({"enabled": true, "frequency": "weekly", "weekday": "fri", "alerts": 1}),
            strict: None,
            tolerant: &[],
            dropped: &[],
        },
        // Secrets: the reason names the field, never the URL or the header.
        Case {
            file: json!({"notify": {"ping_url": "hc-ping.com/T0KEN"}, "hooks": {"pre": []}}),
            strict: Some(
                "invalid \"notify\" in backup_schedule.json: ping_url is not an http:// or \
                 https:// URL",
            ),
            tolerant: &[],
            dropped: &["notify"],
        },
        Case {
            file: json!({"hooks": {"pre": "backup-prepare --now"}}),
            strict: Some(
                "invalid \"hooks\" in backup_schedule.json: invalid type: a string, expected \
                 a sequence",
            ),
            tolerant: &[],
            dropped: &["hooks"],
        },
    ]
}

#[test]
fn one_damaged_file_through_both_views() {
    let zone = Zone::parse(Some("Europe/Berlin")).unwrap();
    for case in cases() {
        let text = case.file.to_string();
        match (parse(&text), case.strict) {
            (Ok(_), None) => {}
            (Err(error), Some(expected)) => {
                assert!(error.to_string().starts_with(expected), "{text}: {error}");
            }
            (got, expected) => panic!("{text}: {got:?}, expected {expected:?}"),
        }
        let document = Document::parse(&text).unwrap();
        assert_eq!(document.tolerant(zone).problems, case.tolerant, "{text}");
        assert_eq!(salvage(&text).1, case.dropped, "{text}");
    }
}

#[test]
fn the_tolerant_view_shows_what_the_strict_one_refuses() {
    let zone = Zone::parse(Some("Europe/Berlin")).unwrap();
    let file = json!({"time": "25:00", "type": "incremental", "next_run": "20250409_030000",
                      "failed_attempts": -1, "frequency": ""});
    let seen = Document::from_fields(file.as_object().unwrap().clone()).tolerant(zone);
    assert!(
        !seen.enabled,
        "a missing enabled is false here, true in the strict view"
    );
    assert_eq!(seen.time.as_deref(), Some("25:00"));
    assert_eq!(seen.kind, "incremental");
    assert_eq!(seen.frequency, None);
    assert_eq!(seen.failed_attempts, None);
    assert_eq!(
        seen.next_run.map(|t| t.to_rfc3339()).as_deref(),
        Some("2025-04-09T01:00:00+00:00")
    );
    assert!(parse(&json!({}).to_string()).unwrap().enabled);
}

#[test]
fn naive_run_times_are_read_in_the_files_zone_strictly_and_the_given_zone_tolerantly() {
    let file = json!({"timezone": "Asia/Tokyo", "next_run": "2025-04-09 03:00:00"});
    let strict = parse(&file.to_string()).unwrap().next_run.unwrap();
    assert_eq!(strict.to_rfc3339(), "2025-04-09T03:00:00+09:00");
    let berlin = Zone::parse(Some("Europe/Berlin")).unwrap();
    let seen = Document::parse(&file.to_string()).unwrap().tolerant(berlin);
    assert_eq!(
        seen.next_run.unwrap().to_rfc3339(),
        "2025-04-09T01:00:00+00:00"
    );
}
