//! The configured time zone: names, `date` fields and retention buckets use its wall clock.

use chrono::{DateTime, FixedOffset, Local, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// The system's zone (TZ, /etc/localtime).
    Local,
    Named(Tz),
}

impl Zone {
    /// An IANA name, or `None` for the system zone.
    pub fn parse(name: Option<&str>) -> Result<Zone, String> {
        match name {
            None | Some("") => Ok(Zone::Local),
            Some(name) => name.parse::<Tz>().map(Zone::Named).map_err(|_| {
                format!("unknown time zone {name:?} (expected an IANA name such as Europe/Berlin)")
            }),
        }
    }

    /// The instant on this zone's wall clock, with its offset.
    pub fn wall_clock(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        match self {
            Zone::Local => instant.with_timezone(&Local).fixed_offset(),
            Zone::Named(tz) => instant.with_timezone(tz).fixed_offset(),
        }
    }

    /// A wall-clock time in this zone as an instant: the earlier one when ambiguous,
    /// the first instant after the gap when it does not exist.
    pub fn resolve(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Local => resolve_in(&Local, naive),
            Zone::Named(tz) => resolve_in(tz, naive),
        }
    }
}

/// A catalog date: RFC 3339 with an offset, or the old module's naive local time
/// (`2025-04-08T16:00:00[.123456]`, `2025-04-08 16:00:00`) read in `zone`.
pub fn parse_date(text: &str, zone: Zone) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y%m%d_%H%M%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|naive| zone.resolve(naive))
}

fn resolve_in<Z: TimeZone>(zone: &Z, naive: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = naive;
    loop {
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => {
                let next_minute = probe + chrono::Duration::minutes(1);
                probe = next_minute.with_second(0).unwrap_or(next_minute);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::{Zone, parse_date};

    #[test]
    fn a_missing_wall_time_runs_after_the_gap() {
        let zone = Zone::parse(Some("Europe/Berlin")).unwrap();
        let naive = NaiveDate::from_ymd_opt(2025, 3, 30)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            zone.resolve(naive),
            Utc.with_ymd_and_hms(2025, 3, 30, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn an_ambiguous_wall_time_takes_the_earlier_instant() {
        let zone = Zone::parse(Some("Europe/Berlin")).unwrap();
        let naive = NaiveDate::from_ymd_opt(2025, 10, 26)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            zone.resolve(naive),
            Utc.with_ymd_and_hms(2025, 10, 26, 0, 30, 0).unwrap()
        );
    }

    #[test]
    fn catalog_dates_parse_in_every_form() {
        let zone = Zone::parse(Some("Europe/Berlin")).unwrap();
        let expected = Utc.with_ymd_and_hms(2025, 4, 8, 14, 0, 0).unwrap();
        for text in [
            "2025-04-08T16:00:00",
            "2025-04-08T16:00:00.123",
            "2025-04-08 16:00:00",
            "2025-04-08T16:00:00+02:00",
        ] {
            let parsed = parse_date(text, zone).unwrap();
            assert_eq!(parsed.timestamp(), expected.timestamp(), "{text}");
        }
        assert_eq!(parse_date("yesterday", zone), None);
    }

    #[test]
    fn unknown_zone_names_are_refused() {
        assert!(Zone::parse(Some("Mars/Olympus")).is_err());
        assert_eq!(Zone::parse(None), Ok(Zone::Local));
    }
}
