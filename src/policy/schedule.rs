//! `backup_schedule.json` and the pure arithmetic of when a scheduled backup is due.

use std::iter::successors;
use std::ops::Add;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::model::filters::DumpFilters;
use crate::model::naming::{Compression, Kind};
pub use crate::model::zone::Zone;
use crate::policy::keep::{self, Keep};

mod copies;
mod databases;
mod document;
mod encryption;
mod notify;
mod run_state;
mod run_times;
mod salvage;
mod tolerant;

pub use copies::{CopyTarget, PendingCopy, identity as repository_identity};
pub use databases::DatabaseSet;
pub use document::{Damage, Document, Field, Retention};
pub use encryption::Encryption;
pub use notify::{
    DEFAULT_HOOK_TIMEOUT_SECONDS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, Email, Hooks, Notify,
    Webhook, When, url_host,
};

pub use run_state::{
    Due, OVERDUE_SLACK_MINUTES, RETRY_DELAYS_MINUTES, after_run, due, next_run, overdue,
    plan_first_run,
};
pub use run_times::{RunTime, WALL_CLOCK_FORMAT};
pub use salvage::salvage;
pub use tolerant::{Tolerant, TolerantResult};

const DEFAULT_TIME: NaiveTime = NaiveTime::from_hms_opt(3, 0, 0).unwrap();
const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("backup_schedule.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid \"{field}\" in backup_schedule.json: {reason}")]
    Field { field: String, reason: String },
}

/// The schedule, the retention policy and the state of the last scheduled run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub enabled: bool,
    pub frequency: Frequency,
    /// HH:MM on the zone's wall clock; hourly schedules use only the minute.
    #[serde(serialize_with = "write_time")]
    pub time: NaiveTime,
    #[serde(serialize_with = "keep::write_in_file_order")]
    pub retention: Keep,
    /// On the zone's wall clock; written in the old module's format, with `last_run_at`.
    #[serde(serialize_with = "run_times::write")]
    pub last_run: Option<DateTime<FixedOffset>>,
    /// On the zone's wall clock; written in the old module's format, with `next_run_at`.
    #[serde(serialize_with = "run_times::write")]
    pub next_run: Option<DateTime<FixedOffset>>,
    /// For weekly schedules; monday when absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_weekday"
    )]
    pub weekday: Option<Weekday>,
    /// For monthly schedules, 1-31 (past the month's end means its last day); 1 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_of_month: Option<u32>,
    /// What scheduled runs back up; full when absent.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// The databases scheduled runs back up (`"all"` or names); the connection's database
    /// when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub databases: Option<DatabaseSet>,
    /// With `"databases": "all"`: the databases left out (pg_dumpall's patterns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_databases: Vec<String>,
    /// Scheduled runs also back up the server's globals (roles, tablespaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub globals: Option<bool>,
    /// The system zone when absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_timezone"
    )]
    pub timezone: Option<Tz>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_result: Option<LastResult>,
    /// Failed attempts at the slot being retried; absent when `next_run` is a regular slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<String>,
    /// The primary repository (`s3://BUCKET/PREFIX` or an absolute folder); the home's
    /// `backups/` folder when absent. `--repo` and `PGBACKUP_REPO` override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Where each scheduled backup is copied after it is made, each with its own retention.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<CopyTarget>,
    /// Copies that failed, retried at the next run (due or not).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_copies: Vec<PendingCopy>,
    /// The age recipients scheduled backups are encrypted to; unencrypted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// Who is told about each backup's outcome; no one when absent.
    #[serde(skip_serializing_if = "Notify::is_unset")]
    pub notify: Notify,
    /// Programs run before and after each backup.
    #[serde(skip_serializing_if = "Hooks::is_unset")]
    pub hooks: Hooks,
    /// pg_dump filter options of scheduled backups (`-n`, `-T`…), as written; checked
    /// when read. The same options apply to every database a run backs up.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pg_dump_options: Vec<String>,
    /// Keys this version does not know, written back as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Hourly,
    #[default]
    Daily,
    Weekly,
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastResult {
    pub status: RunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Ok,
    Failed,
}

impl Default for Schedule {
    /// The old module's defaults, used when the file is missing.
    fn default() -> Self {
        Schedule {
            enabled: true,
            frequency: Frequency::Daily,
            time: DEFAULT_TIME,
            retention: Keep::schedule_default(),
            last_run: None,
            next_run: None,
            weekday: None,
            day_of_month: None,
            kind: None,
            compression: None,
            databases: None,
            exclude_databases: Vec::new(),
            globals: None,
            timezone: None,
            last_result: None,
            failed_attempts: None,
            metrics_file: None,
            repository: None,
            copies: Vec::new(),
            pending_copies: Vec::new(),
            encryption: None,
            notify: Notify::default(),
            hooks: Hooks::default(),
            pg_dump_options: Vec::new(),
            extra: Map::new(),
        }
    }
}

impl Schedule {
    /// The filters of `pg_dump_options`, normalized (read and checked with the file).
    pub fn filters(&self) -> DumpFilters {
        DumpFilters::parse(&self.pg_dump_options).unwrap_or_default()
    }

    pub fn zone(&self) -> Zone {
        self.timezone.map_or(Zone::Local, Zone::Named)
    }

    /// Pretty JSON with a trailing newline; the old module's keys first, in its order.
    pub fn to_json(&self) -> String {
        let Ok(Value::Object(fields)) = serde_json::to_value(self) else {
            unreachable!("a schedule serializes to a JSON object");
        };
        let fields = run_times::with_companions(fields, self.last_run, self.next_run);
        let mut text =
            serde_json::to_string_pretty(&fields).expect("a schedule serializes to JSON");
        text.push('\n');
        text
    }

    fn runs_on(&self, day: NaiveDate) -> bool {
        match self.frequency {
            Frequency::Hourly | Frequency::Daily => true,
            Frequency::Weekly => day.weekday() == self.weekday.unwrap_or(Weekday::Mon),
            Frequency::Monthly => {
                let last_day = u32::from(day.num_days_in_month());
                day.day() == self.day_of_month.unwrap_or(1).min(last_day)
            }
        }
    }
}

/// Reads `backup_schedule.json` strictly: absent or null fields take their defaults, and
/// the first field that does not read is the error.
pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
    Document::parse(text)?.strict()
}

/// The first scheduled instant strictly after `after`, on the schedule's wall clock.
pub fn next_slot_after(schedule: &Schedule, after: DateTime<Utc>) -> DateTime<Utc> {
    let zone = schedule.zone();
    let slot = match schedule.frequency {
        Frequency::Hourly => next_at_minute(zone, schedule.time.minute(), after),
        _ => next_on_day(schedule, zone, after),
    };
    slot.expect("a schedule has a slot within a month of any representable date")
}

/// Every real hour at `minute` of the wall clock: an hour the clock skips is not made
/// up, and an hour it repeats runs twice (each an hour apart in real time).
fn next_at_minute(zone: Zone, minute: u32, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    minutes_after(after).find(|t| zone.wall_clock(*t).minute() == minute)
}

fn next_on_day(schedule: &Schedule, zone: Zone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    zone.wall_clock(after)
        .date_naive()
        .iter_days()
        .filter(|day| schedule.runs_on(*day))
        .map(|day| zone.resolve(day.and_time(schedule.time)))
        .find(|slot| *slot > after)
}

/// The whole minutes after `t`, without end.
fn minutes_after<T>(t: T) -> impl Iterator<Item = T>
where
    T: Timelike + Add<TimeDelta, Output = T> + Copy,
{
    let minute_start = t
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("second 0 exists");
    let minute = TimeDelta::minutes(1);
    successors(Some(minute_start + minute), move |t| Some(*t + minute))
}

fn write_time<S: Serializer>(time: &NaiveTime, out: S) -> Result<S::Ok, S::Error> {
    out.collect_str(&time.format("%H:%M"))
}

fn write_weekday<S: Serializer>(day: &Option<Weekday>, out: S) -> Result<S::Ok, S::Error> {
    day.map(|day| WEEKDAY_NAMES[day.num_days_from_monday() as usize])
        .serialize(out)
}

fn write_timezone<S: Serializer>(tz: &Option<Tz>, out: S) -> Result<S::Ok, S::Error> {
    tz.map(|tz| tz.name()).serialize(out)
}

#[cfg(test)]
#[path = "schedule/tests.rs"]
mod tests;
