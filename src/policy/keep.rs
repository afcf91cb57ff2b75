//! The one retention policy type, as the command line (`--keep-*` flags) and the schedule
//! file (its `retention` object) both give it: the same struct is a clap `Args` and a serde
//! type, and [`Keep::to_policy`] turns either into the rules [`retention`] applies.

use std::fmt;
use std::str::FromStr;

use clap::Args;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::model::duration::{ParseSpanError, Span};
use crate::policy::retention::{self, Policy};

/// A retention policy: restic's `forget` rules. A count is 0 = off, -1 = unlimited, absent =
/// not set.
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
pub struct Keep {
    /// Keep the N newest backups (-1 = all)
    #[arg(long = "keep-last", value_name = "N", allow_negative_numbers = true)]
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub last: Option<i32>,
    /// Keep the newest backup of each of the last N hours
    #[arg(long = "keep-hourly", value_name = "N", allow_negative_numbers = true)]
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub hourly: Option<i32>,
    /// Keep the newest backup of each of the last N days
    #[arg(long = "keep-daily", value_name = "N", allow_negative_numbers = true)]
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub daily: Option<i32>,
    /// Keep the newest backup of each of the last N ISO weeks
    #[arg(long = "keep-weekly", value_name = "N", allow_negative_numbers = true)]
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub weekly: Option<i32>,
    /// Keep the newest backup of each of the last N months
    #[arg(long = "keep-monthly", value_name = "N", allow_negative_numbers = true)]
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub monthly: Option<i32>,
    /// Keep the newest backup of each of the last N years
    #[arg(long = "keep-yearly", value_name = "N", allow_negative_numbers = true)]
    #[serde(
        default,
        deserialize_with = "count",
        skip_serializing_if = "Option::is_none"
    )]
    pub yearly: Option<i32>,
    /// Keep every backup newer than this, relative to the newest (e.g. 1y2m3d4h)
    #[arg(long = "keep-within", value_name = "DURATION")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Within>,
    /// Keys of the schedule file's `retention` this version does not know, written back as
    /// they were.
    #[arg(skip)]
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The order the schedule file lists its keys in: the old module's three, then the rest.
const FILE_ORDER: [&str; 7] = [
    "daily", "weekly", "monthly", "last", "hourly", "yearly", "within",
];

impl Keep {
    /// What a schedule file without `retention` keeps (the old module's defaults).
    pub fn schedule_default() -> Keep {
        Keep {
            daily: Some(7),
            weekly: Some(4),
            monthly: Some(3),
            ..Keep::default()
        }
    }

    /// No rule is given at all (a rule set to 0 is given).
    pub fn is_unset(&self) -> bool {
        self.counts().iter().all(|(_, count)| count.is_none()) && self.within.is_none()
    }

    /// Reads the schedule file's `retention` object; on failure, the first key that does
    /// not read and why.
    pub fn from_object(keys: &Map<String, Value>) -> Result<Keep, (String, String)> {
        Keep::deserialize(Value::Object(keys.clone())).map_err(|whole| {
            keys.iter()
                .find_map(|(key, value)| {
                    let alone = Map::from_iter([(key.clone(), value.clone())]);
                    let error = Keep::deserialize(Value::Object(alone)).err()?;
                    Some((key.clone(), error.to_string()))
                })
                .unwrap_or_else(|| (String::new(), whole.to_string()))
        })
    }

    /// A policy that keeps something, or a message naming what is wrong (`keep-` + the rule
    /// name, as the flags spell it).
    pub fn to_policy(&self) -> Result<Policy, String> {
        let mut counts = [0; 6];
        for (slot, (name, value)) in counts.iter_mut().zip(self.counts()) {
            *slot = match value.unwrap_or(0) {
                n if n < retention::UNLIMITED => {
                    return Err(format!(
                        "keep-{name} {n}: use a count, 0 (off) or -1 (unlimited)"
                    ));
                }
                n => n,
            };
        }
        let [last, hourly, daily, weekly, monthly, yearly] = counts;
        let policy = Policy {
            last,
            hourly,
            daily,
            weekly,
            monthly,
            yearly,
            within: self
                .within
                .as_ref()
                .map(|w| w.span)
                .filter(|s| !s.is_zero()),
            ..Policy::default()
        };
        if policy.is_empty() {
            return Err(
                "the retention policy is empty and would keep nothing; give at least one \
                        --keep-* option or set retention in backup_schedule.json"
                    .to_string(),
            );
        }
        Ok(policy)
    }

    fn counts(&self) -> [(&'static str, Option<i32>); 6] {
        [
            ("last", self.last),
            ("hourly", self.hourly),
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
            ("yearly", self.yearly),
        ]
    }
}

/// Writes `keep` with its keys in the schedule file's order, unknown keys last.
pub fn write_in_file_order<S: Serializer>(keep: &Keep, out: S) -> Result<S::Ok, S::Error> {
    let mut fields = match serde_json::to_value(keep) {
        Ok(Value::Object(fields)) => fields,
        _ => unreachable!("a retention policy serializes to a JSON object"),
    };
    let mut ordered: Map<String, Value> = FILE_ORDER
        .iter()
        .filter_map(|key| Some((key.to_string(), fields.shift_remove(*key)?)))
        .collect();
    ordered.append(&mut fields);
    ordered.serialize(out)
}

/// A count in the schedule file: absent or null is not set.
fn count<'de, D: Deserializer<'de>>(input: D) -> Result<Option<i32>, D::Error> {
    let value = Value::deserialize(input)?;
    if value.is_null() {
        return Ok(None);
    }
    value
        .as_i64()
        .filter(|count| *count >= i64::from(retention::UNLIMITED))
        .and_then(|count| i32::try_from(count).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{value} is not a count (0 or more, or -1 for unlimited)"
            ))
        })
}

/// A `keep-within` span as written (`1y6m`), kept as written for the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Within {
    text: String,
    span: Span,
}

impl FromStr for Within {
    type Err = ParseSpanError;

    fn from_str(text: &str) -> Result<Within, ParseSpanError> {
        Ok(Within {
            text: text.to_string(),
            span: text.parse()?,
        })
    }
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Within {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Within {
    fn deserialize<D: Deserializer<'de>>(input: D) -> Result<Within, D::Error> {
        match Value::deserialize(input)? {
            Value::String(text) => text.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!("{other} is not a string"))),
        }
    }
}

#[cfg(test)]
#[path = "keep_tests.rs"]
mod tests;
