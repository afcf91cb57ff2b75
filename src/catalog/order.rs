//! The one order of backups, newest first: by the recorded instant (sub-second when
//! recorded), then by the `_N` suffix that tells same-second backups apart.

use std::cmp::{Ordering, Reverse};

use crate::catalog::Entry;
use crate::model::zone::Zone;

/// Newest first; entries without a readable date come last, in their previous order.
pub fn newest_first(a: &Entry, b: &Entry, zone: Zone) -> Ordering {
    let key = |e: &Entry| (e.instant(zone), sequence(&e.id));
    key(b).cmp(&key(a))
}

/// Sorts entries newest first (stable). Each entry's date is read once.
pub fn sort_newest_first<T>(items: &mut [T], zone: Zone, entry: impl Fn(&T) -> &Entry) {
    items.sort_by_cached_key(|item| {
        let e = entry(item);
        Reverse((e.instant(zone), sequence(&e.id)))
    });
}

/// The `_N` of `YYYYMMDD_HHMMSS_N`; 1 for an ID without one.
pub fn sequence(id: &str) -> u64 {
    id.get(15..)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use serde_json::json;

    use super::{newest_first, sequence, sort_newest_first};
    use crate::catalog::{Catalog, Entry};
    use crate::model::zone::Zone;

    fn entry(id: &str, created_at: Option<&str>) -> Entry {
        let mut value = json!({"id": id, "filename": format!("backup_full_{id}.sql"),
            "date": format!("{}-{}-{}T{}:{}:{}", &id[..4], &id[4..6], &id[6..8], &id[9..11], &id[11..13], &id[13..15])});
        if let Some(t) = created_at {
            value["created_at"] = json!(t);
        }
        Catalog::parse(&json!([value]).to_string())
            .unwrap()
            .backups
            .remove(0)
    }

    #[test]
    fn same_second_backups_are_ordered_by_suffix() {
        let zone = Zone::parse(Some("UTC")).unwrap();
        let mut entries = vec![
            entry("20250408_160000", None),
            entry("20250408_160000_2", None),
            entry("20250408_160000_10", None),
            entry("20250408_160000_3", None),
            entry("20250408_155959", None),
        ];
        sort_newest_first(&mut entries, zone, |e| e);
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "20250408_160000_10",
                "20250408_160000_3",
                "20250408_160000_2",
                "20250408_160000",
                "20250408_155959"
            ]
        );
    }

    #[test]
    fn sub_second_instants_come_before_the_suffix() {
        let zone = Zone::parse(Some("UTC")).unwrap();
        let later = entry("20250408_160000", Some("2025-04-08T16:00:00.900+00:00"));
        let earlier = entry("20250408_160000_2", Some("2025-04-08T16:00:00.100+00:00"));
        assert_eq!(newest_first(&later, &earlier, zone), Ordering::Less);
        assert_eq!(sequence("20250408_160000"), 1);
        assert_eq!(sequence("20250408_160000_7"), 7);
        assert_eq!(sequence("7"), 1);
    }
}
