//! The databases restores leave behind, known by their names: `<db>_restoring_<stamp>`, a
//! new database a killed or failed restore did not drop, and `<db>_pre_restore_<stamp>`,
//! the previous database a restore kept.

use crate::pg::sql::derived_name;

pub const RESTORING: &str = "_restoring_";
pub const PRE_RESTORE: &str = "_pre_restore_";

/// `name` split into what comes before `marker` and the marker with its stamp
/// (`YYYYMMDD_HHMMSS`, optionally `_N`), when it ends that way.
fn split<'a>(name: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let at = name.rfind(marker)?;
    let stamp = &name[at + marker.len()..];
    let mut parts = stamp.split('_');
    let digits = |part: Option<&str>, len: Option<usize>| {
        part.is_some_and(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && len.is_none_or(|len| p.len() == len)
        })
    };
    let valid = digits(parts.next(), Some(8))
        && digits(parts.next(), Some(6))
        && parts.next().is_none_or(|n| digits(Some(n), None))
        && parts.next().is_none();
    valid.then(|| name.split_at(at))
}

/// A new database of a restore (complete or not) under its temporary name.
pub fn is_restoring(name: &str) -> bool {
    split(name, RESTORING).is_some_and(|(base, _)| !base.is_empty())
}

/// A previous database kept by a restore.
pub fn is_pre_restore(name: &str) -> bool {
    split(name, PRE_RESTORE).is_some_and(|(base, _)| !base.is_empty())
}

/// Whether `name` is the temporary name a restore of `database` gives its new database.
pub fn is_restoring_of(name: &str, database: &str) -> bool {
    split(name, RESTORING).is_some_and(|(_, suffix)| derived_name(database, suffix) == name)
}

#[cfg(test)]
mod tests {
    use super::{is_pre_restore, is_restoring, is_restoring_of};

    #[test]
    fn only_names_with_a_stamp_are_leftovers() {
        for name in [
            "app_restoring_20250408_160000",
            "app_restoring_20250408_160000_2",
            "my_restoring_app_restoring_20250408_160000",
        ] {
            assert!(is_restoring(name), "{name}");
        }
        for name in [
            "app",
            "app_restoring_",
            "app_restoring_2025_160000",
            "app_restoring_20250408_160000_",
            "app_restoring_20250408_160000_x",
            "_restoring_20250408_160000",
            "app_pre_restore_20250408_160000",
        ] {
            assert!(!is_restoring(name), "{name}");
        }
        assert!(is_pre_restore("app_pre_restore_20250408_160000_3"));
        assert!(!is_pre_restore("app_restoring_20250408_160000"));
    }

    #[test]
    fn leftovers_belong_to_the_database_they_were_restored_for() {
        assert!(is_restoring_of("app_restoring_20250408_160000", "app"));
        assert!(is_restoring_of("app_restoring_20250408_160000_2", "app"));
        assert!(!is_restoring_of("app_restoring_20250408_160000", "ap"));
        assert!(!is_restoring_of("app2_restoring_20250408_160000", "app"));
        let long = "x".repeat(70);
        let name = crate::pg::sql::derived_name(&long, "_restoring_20250408_160000");
        assert!(is_restoring_of(&name, &long));
        assert!(!is_restoring_of(&name, "x"));
    }
}
