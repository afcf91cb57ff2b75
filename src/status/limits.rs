//! The thresholds status judges by: what the command line asks for, else defaults that
//! follow the schedule's frequency.

use serde::Serialize;

use crate::exit;
use crate::model::{duration, units};

/// Thresholds as given on the command line; `None` takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub max_age: Option<i64>,
    pub warn_age: Option<i64>,
    pub min_free: Option<u64>,
}

/// The thresholds in force, as reported in `status --json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Thresholds {
    /// Critical when the newest backup is older than this.
    pub max_age_seconds: i64,
    /// Warning when the newest backup is older than this.
    pub warn_age_seconds: Option<i64>,
    /// Warning when less space than this is free on the backups filesystem.
    pub min_free_bytes: Option<u64>,
}

impl Limits {
    /// Parses `--max-age`, `--warn-age` and `--min-free`; a bad value is a usage error.
    pub fn parse(
        max_age: Option<&str>,
        warn_age: Option<&str>,
        min_free: Option<&str>,
    ) -> anyhow::Result<Limits> {
        let flag = |name: &str, message: String| exit::usage(format!("--{name}: {message}"));
        let limits = Limits {
            max_age: max_age
                .map(duration::parse_elapsed)
                .transpose()
                .map_err(|m| flag("max-age", m))?,
            warn_age: warn_age
                .map(duration::parse_elapsed)
                .transpose()
                .map_err(|m| flag("warn-age", m))?,
            min_free: min_free
                .map(units::parse_size)
                .transpose()
                .map_err(|m| flag("min-free", m))?,
        };
        if let (Some(max), Some(warn)) = (limits.max_age, limits.warn_age)
            && warn >= max
        {
            return Err(exit::usage(format!(
                "--warn-age ({}) must be shorter than --max-age ({})",
                units::format_duration(warn),
                units::format_duration(max)
            )));
        }
        Ok(limits)
    }

    /// Fills in the defaults for a schedule of `frequency` (none: no schedule file).
    pub fn resolve(&self, frequency: Option<&str>) -> Thresholds {
        Thresholds {
            max_age_seconds: self.max_age.unwrap_or_else(|| default_max_age(frequency)),
            warn_age_seconds: self.warn_age,
            min_free_bytes: self.min_free,
        }
    }
}

/// One period of the schedule plus slack for a late or slow run; 26h without a schedule.
pub fn default_max_age(frequency: Option<&str>) -> i64 {
    const HOUR: i64 = 3_600;
    const DAY: i64 = 24 * HOUR;
    match frequency {
        Some("hourly") => 2 * HOUR,
        Some("weekly") => 8 * DAY,
        Some("monthly") => 32 * DAY,
        _ => 26 * HOUR,
    }
}

#[cfg(test)]
mod tests {
    use super::{Limits, default_max_age};

    #[test]
    fn the_default_age_follows_the_frequency() {
        for (frequency, hours) in [
            (Some("hourly"), 2),
            (Some("daily"), 26),
            (Some("weekly"), 8 * 24),
            (Some("monthly"), 32 * 24),
            (None, 26),
            (Some("fortnightly"), 26),
        ] {
            assert_eq!(default_max_age(frequency), hours * 3600, "{frequency:?}");
        }
    }

    #[test]
    fn flags_override_the_defaults() {
        let limits = Limits::parse(Some("3d"), Some("1d"), Some("5G")).unwrap();
        let thresholds = limits.resolve(Some("hourly"));
        assert_eq!(thresholds.max_age_seconds, 3 * 86_400);
        assert_eq!(thresholds.warn_age_seconds, Some(86_400));
        assert_eq!(thresholds.min_free_bytes, Some(5 << 30));
        let defaults = Limits::default().resolve(Some("weekly"));
        assert_eq!(defaults.max_age_seconds, 8 * 86_400);
        assert_eq!(defaults.warn_age_seconds, None);
    }

    #[test]
    fn bad_flags_are_usage_errors_naming_the_flag() {
        for (max, warn, free, expected) in [
            (Some("26"), None, None, "--max-age"),
            (None, Some("soon"), None, "--warn-age"),
            (None, None, Some("lots"), "--min-free"),
            (Some("1d"), Some("2d"), None, "must be shorter"),
        ] {
            let err = Limits::parse(max, warn, free).unwrap_err();
            assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }
}
