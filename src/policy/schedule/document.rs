//! `backup_schedule.json` parsed once: each field this version knows is either read or
//! carries why it did not, beside the keys it does not know. The strict view
//! ([`Document::strict`], the `Schedule` run-scheduled and `schedule set` work from), the
//! salvage of a damaged file and the tolerant view `status` shows are all derived from it.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::copies::{self, CopyTarget, Listed, PendingCopy};
use super::databases::{self, DatabaseSet};
use super::encryption::{self, Encryption};
use super::notify::{self, Hooks, Notify};
use super::run_times::{self, RunTime};
use super::{DEFAULT_TIME, Frequency, LastResult, Schedule, ScheduleError};
use crate::model::filters::DumpFilters;
use crate::model::naming::{Compression, Kind};
use crate::model::zone::Zone;
use crate::policy::keep::Keep;

/// One key of the file and how it read.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<T> {
    pub key: &'static str,
    /// What the file holds there; null when the key is absent.
    pub raw: Value,
    /// `Ok(None)` when absent or null; `Err` says why the value does not read.
    pub read: Result<Option<T>, String>,
}

/// A field that does not read: its dotted path (`time`, `retention.daily`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub field: String,
    pub reason: String,
}

/// The `retention` object, read key by key.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// The policy from the keys that read (an empty policy when none do); `None` when
    /// absent, null or not an object, which means the schedule's default.
    pub keep: Option<Keep>,
    /// What does not read, in the order the strict view names it: `retention` when it is
    /// not an object, else each key that does not read on its own.
    pub damage: Vec<Damage>,
    /// false when every key reads on its own but not together, so that no key can be
    /// dropped to repair it.
    pub salvageable: bool,
}

/// The whole file, field by field.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub timezone: Field<Option<Tz>>,
    pub enabled: Field<bool>,
    pub frequency: Field<Frequency>,
    pub time: Field<NaiveTime>,
    pub retention: Retention,
    pub last_run: Field<RunTime>,
    pub last_run_at: Field<DateTime<Utc>>,
    pub next_run: Field<RunTime>,
    pub next_run_at: Field<DateTime<Utc>>,
    pub weekday: Field<Weekday>,
    pub day_of_month: Field<u32>,
    pub kind: Field<Kind>,
    pub compression: Field<Compression>,
    pub databases: Field<DatabaseSet>,
    pub exclude_databases: Field<Vec<String>>,
    pub globals: Field<bool>,
    pub last_result: Field<LastResult>,
    pub failed_attempts: Field<u32>,
    pub metrics_file: Field<String>,
    /// The primary repository; the home's `backups/` folder when absent.
    pub repository: Field<String>,
    pub copies: Listed<CopyTarget>,
    pub pending_copies: Listed<PendingCopy>,
    pub encryption: Field<Encryption>,
    pub notify: Field<Notify>,
    pub hooks: Field<Hooks>,
    /// pg_dump filter options scheduled backups are made with, as written.
    pub pg_dump_options: Field<Vec<String>>,
    /// Keys this version does not know, in the file's order, written back as they were.
    pub extra: Map<String, Value>,
}

impl<T> Field<T> {
    /// Removes `key` from `fields` and validates it; absent and null read as `None`.
    fn take(
        fields: &mut Map<String, Value>,
        key: &'static str,
        validate: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Self {
        let raw = fields.shift_remove(key).unwrap_or(Value::Null);
        let read = match &raw {
            Value::Null => Ok(None),
            value => validate(value).map(Some),
        };
        Field { key, raw, read }
    }

    /// The value read; `None` when absent, null or damaged.
    pub fn value(&self) -> Option<&T> {
        self.read.as_ref().ok().and_then(Option::as_ref)
    }

    fn into_value(self) -> Option<T> {
        self.read.ok().flatten()
    }

    fn damage(&self) -> Option<Damage> {
        self.read.as_ref().err().map(|reason| Damage {
            field: self.key.to_string(),
            reason: reason.clone(),
        })
    }
}

impl From<Damage> for ScheduleError {
    fn from(damage: Damage) -> Self {
        ScheduleError::Field {
            field: damage.field,
            reason: damage.reason,
        }
    }
}

impl Document {
    /// Parses the file's text; an error only when it is not a JSON object.
    pub fn parse(text: &str) -> Result<Document, serde_json::Error> {
        Ok(Document::from_fields(serde_json::from_str(text)?))
    }

    pub fn from_fields(mut fields: Map<String, Value>) -> Document {
        let f = &mut fields;
        let repository = Field::take(f, "repository", copies::check_repository);
        let copies = copies::read_copies(
            f.shift_remove("copies"),
            repository.value().map(String::as_str),
        );
        Document {
            timezone: Field::take(f, "timezone", parse_timezone),
            enabled: Field::take(f, "enabled", parse_bool),
            frequency: Field::take(f, "frequency", |v| {
                choice(v, "hourly, daily, weekly or monthly")
            }),
            time: Field::take(f, "time", parse_time),
            retention: Retention::read(f.shift_remove("retention")),
            last_run: Field::take(f, "last_run", run_times::parse_run_time),
            last_run_at: Field::take(f, "last_run_at", run_times::parse_offset_time),
            next_run: Field::take(f, "next_run", run_times::parse_run_time),
            next_run_at: Field::take(f, "next_run_at", run_times::parse_offset_time),
            weekday: Field::take(f, "weekday", parse_weekday),
            day_of_month: Field::take(f, "day_of_month", parse_day_of_month),
            kind: Field::take(f, "type", parse_kind),
            compression: Field::take(f, "compression", |v| choice(v, "gzip, zstd or none")),
            databases: Field::take(f, "databases", databases::parse_databases),
            exclude_databases: Field::take(f, "exclude_databases", databases::parse_exclude),
            globals: Field::take(f, "globals", parse_bool),
            last_result: Field::take(f, "last_result", |v| {
                LastResult::deserialize(v).map_err(|e| e.to_string())
            }),
            failed_attempts: Field::take(f, "failed_attempts", parse_attempts),
            metrics_file: Field::take(f, "metrics_file", |v| as_str(v).map(String::from)),
            repository,
            copies,
            pending_copies: copies::read_pending(f.shift_remove("pending_copies")),
            encryption: Field::take(f, "encryption", encryption::parse),
            notify: Field::take(f, "notify", notify::parse_notify),
            hooks: Field::take(f, "hooks", notify::parse_hooks),
            pg_dump_options: Field::take(f, "pg_dump_options", parse_pg_dump_options),
            extra: fields,
        }
    }

    /// Every field that does not read, in the order the strict view checks them.
    pub fn damage(&self) -> Vec<Damage> {
        let mut damage: Vec<Damage> = [self.timezone.damage(), self.enabled.damage()]
            .into_iter()
            .chain([self.frequency.damage(), self.time.damage()])
            .flatten()
            .collect();
        damage.extend(self.retention.damage.iter().cloned());
        damage.extend(
            [
                self.last_run.damage(),
                self.last_run_at.damage(),
                self.next_run.damage(),
                self.next_run_at.damage(),
                self.weekday.damage(),
                self.day_of_month.damage(),
                self.kind.damage(),
                self.compression.damage(),
                self.databases.damage(),
                self.exclude_databases.damage(),
                self.globals.damage(),
                self.last_result.damage(),
                self.failed_attempts.damage(),
                self.metrics_file.damage(),
                self.repository.damage(),
                self.encryption.damage(),
                self.notify.damage(),
                self.hooks.damage(),
                self.pg_dump_options.damage(),
            ]
            .into_iter()
            .flatten(),
        );
        damage.extend(self.copies.damage.iter().cloned());
        damage.extend(self.pending_copies.damage.iter().cloned());
        damage
    }

    /// The strict view: the schedule, or the first field that does not read.
    pub fn strict(self) -> Result<Schedule, ScheduleError> {
        match self.damage().into_iter().next() {
            Some(damage) => Err(damage.into()),
            None => Ok(self.readable()),
        }
    }

    /// The schedule from the fields that read, the defaults for the rest. Old naive
    /// `last_run`/`next_run` values are read on the schedule's wall clock.
    pub fn readable(self) -> Schedule {
        let timezone = self.timezone.into_value().flatten();
        let zone = timezone.map_or(Zone::Local, Zone::Named);
        Schedule {
            enabled: self.enabled.into_value().unwrap_or(true),
            frequency: self.frequency.into_value().unwrap_or_default(),
            time: self.time.into_value().unwrap_or(DEFAULT_TIME),
            retention: self.retention.keep.unwrap_or_else(Keep::schedule_default),
            last_run: run_times::resolve(
                self.last_run.into_value(),
                self.last_run_at.into_value(),
                zone,
            ),
            next_run: run_times::resolve(
                self.next_run.into_value(),
                self.next_run_at.into_value(),
                zone,
            ),
            weekday: self.weekday.into_value(),
            day_of_month: self.day_of_month.into_value(),
            kind: self.kind.into_value(),
            compression: self.compression.into_value(),
            databases: self.databases.into_value(),
            exclude_databases: self.exclude_databases.into_value().unwrap_or_default(),
            globals: self.globals.into_value(),
            timezone,
            last_result: self.last_result.into_value(),
            failed_attempts: self.failed_attempts.into_value(),
            metrics_file: self.metrics_file.into_value(),
            repository: self.repository.into_value(),
            copies: self.copies.items,
            pending_copies: self.pending_copies.items,
            encryption: self.encryption.into_value(),
            notify: self.notify.into_value().unwrap_or_default(),
            hooks: self.hooks.into_value().unwrap_or_default(),
            pg_dump_options: self.pg_dump_options.into_value().unwrap_or_default(),
            extra: self.extra,
        }
    }
}

impl Retention {
    /// Reads the object with [`Keep::from_object`], dropping each key it names until the
    /// rest reads.
    fn read(value: Option<Value>) -> Retention {
        Retention::read_at("retention", value)
    }

    /// [`Retention::read`] for a retention object at `path` (`copies[0].retention`).
    pub(super) fn read_at(path: &str, value: Option<Value>) -> Retention {
        let mut keys = match value {
            None | Some(Value::Null) => {
                return Retention {
                    keep: None,
                    damage: Vec::new(),
                    salvageable: true,
                };
            }
            Some(Value::Object(keys)) => keys,
            Some(other) => {
                return Retention {
                    keep: None,
                    damage: vec![Damage {
                        field: path.to_string(),
                        reason: format!("{other} is not an object"),
                    }],
                    salvageable: true,
                };
            }
        };
        let mut damage = Vec::new();
        loop {
            match Keep::from_object(&keys) {
                Ok(keep) => {
                    return Retention {
                        keep: Some(keep),
                        damage,
                        salvageable: true,
                    };
                }
                Err((key, reason)) => {
                    let salvageable = keys.shift_remove(&key).is_some();
                    damage.push(Damage {
                        field: format!("{path}.{key}"),
                        reason,
                    });
                    if !salvageable {
                        return Retention {
                            keep: None,
                            damage,
                            salvageable,
                        };
                    }
                }
            }
        }
    }
}

pub(super) fn as_str(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{value} is not a string"))
}

fn choice<'a, T: Deserialize<'a>>(value: &'a Value, expected: &str) -> Result<T, String> {
    T::deserialize(value).map_err(|_| format!("{value} (expected {expected})"))
}

/// A database backup type: the globals are `"globals": true`, not a `type`.
fn parse_kind(value: &Value) -> Result<Kind, String> {
    match choice(value, "full or schema")? {
        Kind::Globals => Err(format!(
            "{value} (expected full or schema; the globals are backed up with \"globals\": true)"
        )),
        kind => Ok(kind),
    }
}

/// An array of pg_dump arguments, read by the command line's rules and restricted to the
/// filter options; kept as written.
fn parse_pg_dump_options(value: &Value) -> Result<Vec<String>, String> {
    let example = "an array of pg_dump arguments such as \
                   [\"--exclude-table=public.audit_log\", \"-n\", \"app\"]";
    let items = value
        .as_array()
        .ok_or_else(|| format!("{value} is not {example}"))?;
    let args = items
        .iter()
        .map(|item| item.as_str().map(String::from))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| format!("{value} is not {example}: every item is a string"))?;
    DumpFilters::parse(&args)?;
    Ok(args)
}

fn parse_bool(value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{value} is not true or false"))
}

fn parse_time(value: &Value) -> Result<NaiveTime, String> {
    value
        .as_str()
        .and_then(|text| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .ok_or_else(|| format!("{value} is not HH:MM (00:00-23:59)"))
}

fn parse_attempts(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{value} is not a count of failed attempts"))
}

fn parse_weekday(value: &Value) -> Result<Weekday, String> {
    as_str(value)?
        .parse()
        .map_err(|_| format!("{value} (expected monday to sunday, or mon to sun)"))
}

fn parse_day_of_month(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .filter(|day| (1..=31).contains(day))
        .and_then(|day| u32::try_from(day).ok())
        .ok_or_else(|| format!("{value} is not a day of the month (1-31, 31 = the last day)"))
}

/// `None` for an empty name, which means the system zone.
fn parse_timezone(value: &Value) -> Result<Option<Tz>, String> {
    match as_str(value)? {
        "" => Ok(None),
        name => name
            .parse()
            .map(Some)
            .map_err(|_| format!("{value} is not an IANA time zone name such as Europe/Berlin")),
    }
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
