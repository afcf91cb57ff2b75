//! What `schedule set` rebuilds a damaged `backup_schedule.json` from: every field that
//! can still be read, the defaults for the rest.

use super::{Document, Schedule};

/// The readable part of `text`, and the fields that were not (dotted paths such as
/// `retention.daily`, or `the whole file` when it is not a JSON object).
pub fn salvage(text: &str) -> (Schedule, Vec<String>) {
    let whole_file = || (Schedule::default(), vec!["the whole file".to_string()]);
    let Ok(document) = Document::parse(text) else {
        return whole_file();
    };
    if !document.retention.salvageable {
        return whole_file();
    }
    let dropped = document.damage().into_iter().map(|d| d.field).collect();
    (document.readable(), dropped)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::salvage;
    use crate::policy::schedule::{Frequency, Schedule};

    #[test]
    fn readable_fields_are_kept_and_damaged_ones_take_their_defaults() {
        let cases: [(&str, &[&str]); 5] = [
            (
                r#"{"enabled": true, "frequency": "wee"#,
                &["the whole file"],
            ),
            ("[1, 2]", &["the whole file"]),
            (r#"{"frequency": "weekly", "timezone": 5}"#, &["timezone"]),
            (
                r#"{"frequency": "weekly", "retention": {"daily": "7", "weekly": 2}, "time": "25:00"}"#,
                &["time", "retention.daily"],
            ),
            (r#"{"frequency": "weekly"}"#, &[]),
        ];
        for (text, expected) in cases {
            let (schedule, dropped) = salvage(text);
            assert_eq!(dropped, expected, "{text}");
            if expected != ["the whole file"] {
                assert_eq!(schedule.frequency, Frequency::Weekly, "{text}");
            } else {
                assert_eq!(schedule, Schedule::default(), "{text}");
            }
        }
        let (kept, _) = salvage(
            &json!({"retention": {"daily": "7", "weekly": 2}, "alerts": {"to": "ops"}}).to_string(),
        );
        assert_eq!(kept.retention.weekly, Some(2));
        assert_eq!(kept.retention.daily, None);
        assert_eq!(kept.extra["alerts"], json!({"to": "ops"}));
    }
}
