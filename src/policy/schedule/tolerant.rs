//! The tolerant view of a [`Document`], for `status` on a damaged file: what can still be
//! shown, with each field that could not be understood noted as a problem instead of
//! failing.
//!
//! Where it differs from the strict view (kept as they were, since status must keep
//! reporting what run-scheduled refuses):
//! - a missing `enabled` is false (strict: true);
//! - `frequency`, `time`, `timezone`, `type` and `metrics_file` are shown as the file
//!   spells them; only a value that is not a string is a problem, and for `frequency` a
//!   name that is not one of the four (strict: `time` must be HH:MM, `type` full or schema,
//!   and so on), and an empty string is absent;
//! - `last_run`/`next_run` are read in the zone the caller gives (not the file's own
//!   `timezone`), without their `_at` companions, and also in the old `YYYYMMDD_HHMMSS`
//!   form; a date that does not read is a problem;
//! - `last_result` is read key by key from the file: a missing `status` is `unknown`,
//!   a `duration_ms` that is not a count is absent;
//! - `failed_attempts` that is not a count is absent, without a problem;
//! - the other fields (`retention`, `weekday`, `day_of_month`, `compression`, the
//!   companions, `repository`, `copies`, `pending_copies`) are not shown, so their
//!   damage is not listed here.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Document, RunTime};
use crate::model::zone::{self, Zone};

const FREQUENCIES: [&str; 4] = ["hourly", "daily", "weekly", "monthly"];

/// What a damaged file still says, and what could not be understood.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tolerant {
    pub enabled: bool,
    pub frequency: Option<String>,
    pub time: Option<String>,
    pub timezone: Option<String>,
    /// `full` when absent.
    pub kind: String,
    pub last_run: Option<DateTime<Utc>>,
    pub next_run: Option<DateTime<Utc>>,
    pub last_result: Option<TolerantResult>,
    pub failed_attempts: Option<u32>,
    pub metrics_file: Option<String>,
    /// One sentence per field that could not be understood.
    pub problems: Vec<String>,
}

/// `last_result` as far as it reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TolerantResult {
    /// As written (`ok`, `failed`), or `unknown` when absent.
    pub status: String,
    pub backup_id: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Document {
    /// The tolerant view, reading old naive dates in `zone`.
    pub fn tolerant(&self, zone: Zone) -> Tolerant {
        let mut notes = Notes {
            zone,
            problems: Vec::new(),
        };
        let enabled = match &self.enabled.read {
            Ok(enabled) => enabled.unwrap_or(false),
            Err(_) => {
                notes.note(format!(
                    "\"enabled\" is {}, not true or false",
                    self.enabled.raw
                ));
                false
            }
        };
        let next_run = notes.run_time("next_run", self.next_run.value(), &self.next_run.raw);
        let frequency = notes.text("frequency", &self.frequency.raw);
        if let Some(f) = &frequency
            && !FREQUENCIES.contains(&f.as_str())
        {
            notes.note(format!(
                "\"frequency\" {f:?} is not hourly, daily, weekly or monthly"
            ));
        }
        let time = notes.text("time", &self.time.raw);
        let timezone = notes.text("timezone", &self.timezone.raw);
        let kind = notes
            .text("type", &self.kind.raw)
            .unwrap_or_else(|| "full".to_string());
        let last_run = notes.run_time("last_run", self.last_run.value(), &self.last_run.raw);
        let last_result = notes.last_result(&self.last_result.raw);
        Tolerant {
            enabled,
            frequency,
            time,
            timezone,
            kind,
            last_run,
            next_run,
            last_result,
            failed_attempts: self.failed_attempts.value().copied(),
            metrics_file: notes.text("metrics_file", &self.metrics_file.raw),
            problems: notes.problems,
        }
    }
}

/// Reads values of the wrong kind as absent, noting each one.
struct Notes {
    zone: Zone,
    problems: Vec<String>,
}

impl Notes {
    fn note(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// A string; empty is absent.
    fn text(&mut self, key: &str, raw: &Value) -> Option<String> {
        match raw {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => {
                self.note(format!("\"{key}\" is {other}, not a string"));
                None
            }
        }
    }

    /// What the strict view read, resolved in this view's zone; else the raw text read
    /// as any date the old modules wrote.
    fn run_time(
        &mut self,
        key: &str,
        read: Option<&RunTime>,
        raw: &Value,
    ) -> Option<DateTime<Utc>> {
        match read {
            Some(RunTime::Instant(t)) => Some(*t),
            Some(RunTime::WallClock(wall)) => Some(self.zone.resolve(*wall)),
            None => self.date(key, raw),
        }
    }

    fn date(&mut self, key: &str, raw: &Value) -> Option<DateTime<Utc>> {
        let text = self.text(key, raw)?;
        let parsed = zone::parse_date(&text, self.zone);
        if parsed.is_none() {
            self.note(format!("\"{key}\" {text:?} is not a date"));
        }
        parsed
    }

    fn last_result(&mut self, raw: &Value) -> Option<TolerantResult> {
        let object: &Map<String, Value> = match raw {
            Value::Null => return None,
            Value::Object(object) => object,
            other => {
                self.note(format!("\"last_result\" is {other}, not an object"));
                return None;
            }
        };
        let mut inner = Notes {
            zone: self.zone,
            problems: Vec::new(),
        };
        let field = |key: &str| object.get(key).unwrap_or(&Value::Null);
        let result = TolerantResult {
            status: inner
                .text("status", field("status"))
                .unwrap_or_else(|| "unknown".to_string()),
            backup_id: inner.text("backup_id", field("backup_id")),
            error: inner.text("error", field("error")),
            duration_ms: field("duration_ms").as_u64(),
            finished_at: inner.date("finished_at", field("finished_at")),
        };
        self.problems.extend(
            inner
                .problems
                .into_iter()
                .map(|p| format!("in \"last_result\": {p}")),
        );
        Some(result)
    }
}
