//! How big a dump is expected to be, so that its progress can show a share and the time
//! left: the raw size of the previous backup of the same database and type, else the size
//! the server reports for the database (an overestimate of a dump, hence "about").

use std::time::Duration;

use crate::catalog::Entry;
use crate::model::naming::Kind;
use crate::model::units::format_size;

/// The expected raw size of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub bytes: u64,
    /// From `pg_database_size` rather than a previous dump: only a rough guess.
    pub rough: bool,
}

/// The estimate of a dump of `kind`, given the previous dump's raw size and the database's
/// size on the server: the previous dump wins; the database size only stands in for a full
/// dump (a schema-only dump is a small part of it, and the globals are not in it).
pub fn choose(
    kind: Kind,
    previous_raw: Option<u64>,
    database_size: Option<u64>,
) -> Option<Estimate> {
    match (
        previous_raw.filter(|b| *b > 0),
        database_size.filter(|b| *b > 0),
    ) {
        (Some(bytes), _) => Some(Estimate {
            bytes,
            rough: false,
        }),
        (None, Some(bytes)) if kind == Kind::Full => Some(Estimate { bytes, rough: true }),
        _ => None,
    }
}

/// The raw size of the newest backup of `database` of type `kind` made with the same
/// pg_dump filter options in `backups` (the catalog's order is the order they were made),
/// not counting one being deleted.
pub fn previous_raw_size(
    backups: &[Entry],
    database: &str,
    kind: Kind,
    pg_dump_options: &[String],
) -> Option<u64> {
    backups
        .iter()
        .rev()
        .filter(|e| e.database == database && e.kind == kind && !e.is_deleting())
        .filter(|e| e.pg_dump_options() == pg_dump_options)
        .find_map(|e| e.raw_size)
}

/// "395.0 MiB in 1.5 s (263.3 MiB/s)": what a finished piece of work moved.
pub fn summary(bytes: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = (bytes as f64 / seconds.max(0.001)) as u64;
    format!(
        "{} in {seconds:.1} s ({}/s)",
        format_size(bytes),
        format_size(rate)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(database: &str, kind: Kind, raw: Option<u64>) -> Entry {
        let mut e: Entry =
            serde_json::from_value(serde_json::json!({"id": "x", "filename": "f"})).unwrap();
        e.database = database.to_string();
        e.kind = kind.into();
        e.raw_size = raw;
        e
    }

    #[test]
    fn the_previous_dump_wins_over_the_database_size() {
        let exact = Some(Estimate {
            bytes: 100,
            rough: false,
        });
        assert_eq!(choose(Kind::Full, Some(100), Some(9000)), exact);
        assert_eq!(choose(Kind::Full, Some(100), None), exact);
        assert_eq!(choose(Kind::Schema, Some(100), Some(9000)), exact);
    }

    #[test]
    fn the_database_size_stands_in_roughly_for_a_full_dump_only() {
        let rough = Some(Estimate {
            bytes: 9000,
            rough: true,
        });
        assert_eq!(choose(Kind::Full, None, Some(9000)), rough);
        assert_eq!(choose(Kind::Full, Some(0), Some(9000)), rough);
        assert_eq!(choose(Kind::Schema, None, Some(9000)), None);
        assert_eq!(choose(Kind::Globals, None, Some(9000)), None);
    }

    #[test]
    fn without_either_there_is_no_estimate() {
        assert_eq!(choose(Kind::Full, None, None), None);
        assert_eq!(choose(Kind::Full, None, Some(0)), None);
    }

    #[test]
    fn the_previous_dump_is_the_newest_of_the_same_database_and_type() {
        let backups = [
            entry("app", Kind::Full, Some(10)),
            entry("app", Kind::Full, Some(20)),
            entry("app", Kind::Schema, Some(3)),
            entry("other", Kind::Full, Some(99)),
            entry("app", Kind::Full, None),
        ];
        assert_eq!(
            previous_raw_size(&backups, "app", Kind::Full, &[]),
            Some(20)
        );
        assert_eq!(
            previous_raw_size(&backups, "app", Kind::Schema, &[]),
            Some(3)
        );
        assert_eq!(previous_raw_size(&backups, "none", Kind::Full, &[]), None);
        let mut deleting = entry("app", Kind::Full, Some(30));
        deleting.deleting = Some(true);
        let mut more = backups.to_vec();
        more.push(deleting);
        assert_eq!(previous_raw_size(&more, "app", Kind::Full, &[]), Some(20));
    }

    #[test]
    fn summaries_give_bytes_time_and_rate() {
        assert_eq!(
            summary(3 << 20, Duration::from_millis(1500)),
            "3.0 MiB in 1.5 s (2.0 MiB/s)"
        );
        assert_eq!(summary(0, Duration::ZERO), "0 B in 0.0 s (0 B/s)");
    }
}
