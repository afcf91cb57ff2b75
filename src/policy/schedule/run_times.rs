//! `last_run` and `next_run` as the old module writes them (`"2025-04-09 03:00:00"`, the
//! schedule's wall clock), with `last_run_at`/`next_run_at` beside them holding the same
//! instant with its offset, so that a wall time the clock repeats is not ambiguous.

use chrono::{DateTime, FixedOffset, NaiveDateTime, SubsecRound, Utc};
use serde::Serializer;
use serde_json::{Map, Value};

use super::Zone;
use super::document::as_str;

/// The old module's format: local time, to the second.
pub const WALL_CLOCK_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The instant of `key` given its `<key>_at` companion. The old module's field decides:
/// when the two disagree (the old module or a script rewrote `key`), `key` wins; when they
/// agree, the companion says which of two repeated wall times it was.
pub(super) fn resolve(
    written: Option<RunTime>,
    companion: Option<DateTime<Utc>>,
    zone: Zone,
) -> Option<DateTime<FixedOffset>> {
    let instant = match (written?, companion) {
        (RunTime::Instant(t), _) => t,
        (RunTime::WallClock(wall), Some(at)) if same_second(zone, at, wall) => at,
        (RunTime::WallClock(wall), _) => zone.resolve(wall),
    };
    // To the second, as the old module's format holds it.
    Some(zone.wall_clock(instant.trunc_subsecs(0)))
}

/// Writes the old module's form of `last_run`/`next_run` (null when not set).
pub(super) fn write<S: Serializer>(
    time: &Option<DateTime<FixedOffset>>,
    out: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => out.collect_str(&time.naive_local().format(WALL_CLOCK_FORMAT)),
        None => out.serialize_none(),
    }
}

/// The file's keys with `last_run_at` and `next_run_at` (when set) right after `next_run`.
pub(super) fn with_companions(
    fields: Map<String, Value>,
    last_run: Option<DateTime<FixedOffset>>,
    next_run: Option<DateTime<FixedOffset>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in fields {
        let after_next_run = key == "next_run";
        out.insert(key, value);
        if !after_next_run {
            continue;
        }
        for (key, time) in [("last_run_at", last_run), ("next_run_at", next_run)] {
            if let Some(time) = time {
                out.insert(key.to_string(), Value::from(time.to_rfc3339()));
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunTime {
    /// RFC 3339, as pgbackup 1.x wrote it: an instant already.
    Instant(DateTime<Utc>),
    /// The old module's naive local time.
    WallClock(NaiveDateTime),
}

pub(super) fn parse_run_time(value: &Value) -> Result<RunTime, String> {
    let text = as_str(value)?;
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(RunTime::Instant(instant.to_utc()));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(RunTime::WallClock)
        .ok_or_else(|| {
            format!("{value} is not a date and time (YYYY-MM-DD HH:MM:SS local time, or RFC 3339)")
        })
}

pub(super) fn parse_offset_time(value: &Value) -> Result<DateTime<Utc>, String> {
    let text = as_str(value)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|_| format!("{value} is not an RFC 3339 date and time with an offset"))
}

fn same_second(zone: Zone, at: DateTime<Utc>, wall: NaiveDateTime) -> bool {
    zone.wall_clock(at).naive_local().trunc_subsecs(0) == wall.trunc_subsecs(0)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::{Value, json};

    use crate::policy::schedule::parse;

    fn next_run(file: Value) -> Option<DateTime<Utc>> {
        parse(&file.to_string())
            .unwrap()
            .next_run
            .map(|t| t.to_utc())
    }

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(text).unwrap().to_utc())
    }

    #[test]
    fn the_old_field_decides_and_the_instant_beside_it_disambiguates() {
        let berlin = |next_run: Value, next_run_at: Value| json!({"timezone": "Europe/Berlin", "next_run": next_run, "next_run_at": next_run_at});
        let cases = [
            // 02:30 happens twice on 2025-10-26: the instant says which.
            (
                berlin(
                    json!("2025-10-26 02:30:00"),
                    json!("2025-10-26T02:30:00+01:00"),
                ),
                at("2025-10-26T01:30:00Z"),
            ),
            (
                berlin(json!("2025-10-26 02:30:00"), Value::Null),
                at("2025-10-26T00:30:00Z"),
            ),
            // The old module rewrote next_run: its value wins over a stale instant.
            (
                berlin(
                    json!("2025-04-10 03:00:00"),
                    json!("2025-04-09T03:00:00+02:00"),
                ),
                at("2025-04-10T01:00:00Z"),
            ),
            (
                berlin(Value::Null, json!("2025-04-09T03:00:00+02:00")),
                None,
            ),
            // What pgbackup 1.x wrote, and the old module's own two spellings.
            (
                berlin(json!("2030-01-11T03:00:00Z"), Value::Null),
                at("2030-01-11T03:00:00Z"),
            ),
            (
                berlin(json!("2025-04-09T03:00:00.123456"), Value::Null),
                at("2025-04-09T01:00:00Z"),
            ),
        ];
        for (file, expected) in cases {
            assert_eq!(next_run(file.clone()), expected, "{file}");
        }
    }

    #[test]
    fn a_bad_instant_beside_the_old_field_is_named() {
        let file = json!({"next_run": "2025-04-09 03:00:00", "next_run_at": "2025-04-09 03:00"});
        let error = parse(&file.to_string()).unwrap_err().to_string();
        assert!(error.contains("invalid \"next_run_at\""), "{error}");
    }
}
