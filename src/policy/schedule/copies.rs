//! The repositories of `backup_schedule.json`: `repository` (the primary, where scheduled
//! backups are made), `copies` (where each one is copied afterwards, each with its own
//! retention) and `pending_copies` (copies that failed and are retried at the next run).

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::document::{Damage, Retention, as_str};
use crate::policy::keep::{self, Keep};

/// One entry of `copies`.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyTarget {
    /// `s3://BUCKET/PREFIX` or an absolute folder.
    pub repository: String,
    /// The schedule's own `retention` when absent.
    pub retention: Option<Keep>,
}

impl Serialize for CopyTarget {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        struct InFileOrder<'a>(&'a Keep);
        impl Serialize for InFileOrder<'_> {
            fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
                keep::write_in_file_order(self.0, out)
            }
        }
        let mut map = out.serialize_map(None)?;
        map.serialize_entry("repository", &self.repository)?;
        if let Some(retention) = &self.retention {
            map.serialize_entry("retention", &InFileOrder(retention))?;
        }
        map.end()
    }
}

/// A copy that has not succeeded yet: the backup (by ID, and file name when known) and the
/// repository it is to be copied to, with the last error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingCopy {
    pub repository: String,
    pub backup_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An array of the file read element by element: the elements that read, and what did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub damage: Vec<Damage>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed {
            items: Vec::new(),
            damage: Vec::new(),
        }
    }
}

impl<T> Listed<T> {
    /// Reads `key` as an array, each element with `read` (given its dotted path); absent or
    /// null is empty.
    fn read(
        key: &str,
        value: Option<Value>,
        mut read: impl FnMut(&str, Value) -> Result<T, Vec<Damage>>,
    ) -> Listed<T> {
        let mut listed = Listed::default();
        let elements = match value {
            None | Some(Value::Null) => return listed,
            Some(Value::Array(elements)) => elements,
            Some(other) => {
                listed.damage.push(Damage {
                    field: key.to_string(),
                    reason: format!("{other} is not a list"),
                });
                return listed;
            }
        };
        for (n, element) in elements.into_iter().enumerate() {
            match read(&format!("{key}[{n}]"), element) {
                Ok(item) => listed.items.push(item),
                Err(damage) => listed.damage.extend(damage),
            }
        }
        listed
    }
}

/// Reads `copies`: each an object with a valid `repository` that is not `primary` nor named
/// twice, and an optional `retention` read like the top-level one.
pub fn read_copies(value: Option<Value>, primary: Option<&str>) -> Listed<CopyTarget> {
    let mut seen: Vec<String> = Vec::new();
    Listed::read("copies", value, |path, element| {
        let damage = |field: String, reason: String| vec![Damage { field, reason }];
        let Value::Object(mut keys) = element else {
            return Err(damage(
                path.to_string(),
                format!("{element} is not an object with \"repository\" and \"retention\""),
            ));
        };
        let at = |key: &str| format!("{path}.{key}");
        if let Some(key) = keys
            .keys()
            .find(|key| !["repository", "retention"].contains(&key.as_str()))
        {
            return Err(damage(
                at(key),
                "is not known (a copy has \"repository\" and \"retention\")".to_string(),
            ));
        }
        let repository = match keys.shift_remove("repository") {
            None | Some(Value::Null) => {
                return Err(damage(
                    at("repository"),
                    "is missing (s3://BUCKET/PREFIX or an absolute folder)".to_string(),
                ));
            }
            Some(value) => {
                check_repository(&value).map_err(|reason| damage(at("repository"), reason))?
            }
        };
        let key = identity(&repository);
        if primary.is_some_and(|primary| identity(primary) == key) {
            return Err(damage(
                at("repository"),
                format!(
                    "{repository:?} is the primary repository (\"repository\"); a copy must go elsewhere"
                ),
            ));
        }
        if seen.contains(&key) {
            return Err(damage(
                at("repository"),
                format!("{repository:?} is named by an earlier copy"),
            ));
        }
        seen.push(key);
        let retention = Retention::read_at(&at("retention"), keys.shift_remove("retention"));
        if !retention.damage.is_empty() {
            return Err(retention.damage);
        }
        Ok(CopyTarget {
            repository,
            retention: retention.keep,
        })
    })
}

/// Reads `pending_copies`: each `{"repository", "backup_id"}`, with `filename` and `error`
/// when known.
pub fn read_pending(value: Option<Value>) -> Listed<PendingCopy> {
    Listed::read("pending_copies", value, |path, element| {
        PendingCopy::deserialize(&element).map_err(|e| {
            vec![Damage {
                field: path.to_string(),
                reason: format!("{element} is not a pending copy ({e})"),
            }]
        })
    })
}

/// A repository as the schedule file may name it: `s3://BUCKET/PREFIX`, or an absolute
/// folder.
pub fn check_repository(value: &Value) -> Result<String, String> {
    let url = as_str(value)?;
    if let Some(rest) = url.strip_prefix("s3://") {
        if rest.contains(['@', '?', '#']) {
            return Err(format!(
                "{value} must not hold credentials or options: set them in AWS_* variables"
            ));
        }
        if rest.split('/').next().unwrap_or("").is_empty() {
            return Err(format!("{value} names no bucket (s3://BUCKET/PREFIX)"));
        }
        return Ok(url.to_string());
    }
    if url.contains("://") {
        return Err(format!(
            "{value} is neither an absolute folder nor an s3://BUCKET/PREFIX URL"
        ));
    }
    if !url.starts_with('/') {
        return Err(format!(
            "{value} is not an absolute folder (nor an s3://BUCKET/PREFIX URL)"
        ));
    }
    Ok(url.to_string())
}

/// What tells two names of one repository apart from two repositories: the URL or folder
/// without repeated or trailing slashes.
pub fn identity(repository: &str) -> String {
    let (scheme, rest) = match repository.strip_prefix("s3://") {
        Some(rest) => ("s3://", rest),
        None => ("", repository),
    };
    let parts: Vec<&str> = rest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let lead = if scheme.is_empty() && rest.starts_with('/') {
        "/"
    } else {
        ""
    };
    format!("{scheme}{lead}{}", parts.join("/"))
}

#[cfg(test)]
#[path = "copies_tests.rs"]
mod tests;
