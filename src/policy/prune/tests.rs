//! The planner over hand-made inventories: no folder, a fixed clock, one table of cases.

use chrono::{DateTime, TimeZone, Utc};

use super::{GroupFilter, plan};
use crate::catalog::Catalog;
use crate::catalog::inventory::Inventory;
use crate::model::zone::Zone;
use crate::policy::retention::Policy;
use crate::store::{LocalStore, Object, Stat};

const FOLDER: &str = "/srv/pgbackup/backups";

/// One catalog entry: database, type, ID, and what is true of it: `ok` (listed), `missing`,
/// `link` (a symbolic link), `escape` (a name outside the folder), `deleting`, `pinned`,
/// `undated` (a date that does not read).
type Spec = (&'static str, &'static str, &'static str, &'static str);

fn inventory_of(catalog: &Catalog) -> Inventory<'_> {
    let listing = catalog
        .backups
        .iter()
        .filter(|e| !e.extra.contains_key("absent"))
        .map(|e| Object {
            name: e.filename.clone(),
            size: 8,
        })
        .collect();
    let stat = |name: &str| match name.contains("_link_") {
        true => Stat::Unsafe(format!("{FOLDER}/{name} is a symbolic link")),
        false => Stat::Missing,
    };
    Inventory::build(catalog, &LocalStore::new(FOLDER), listing, &stat)
}

fn catalog_of(specs: &[Spec]) -> Catalog {
    let entries: Vec<serde_json::Value> = specs
        .iter()
        .map(|&(database, kind, id, how)| {
            let date = format!(
                "{}-{}-{}T{}:{}:{}",
                &id[..4],
                &id[4..6],
                &id[6..8],
                &id[9..11],
                &id[11..13],
                &id[13..15]
            );
            let infix = if how == "link" { "link_" } else { "" };
            let mut value = serde_json::json!({
                "id": id, "filename": format!("backup_{kind}_{infix}{id}.sql"),
                "type": kind, "size": 8, "date": date, "database": database,
            });
            match how {
                "ok" => {}
                "missing" | "link" => value["absent"] = true.into(),
                "escape" => value["filename"] = "../../etc/passwd".into(),
                "deleting" => value["deleting"] = true.into(),
                "pinned" => value["pinned"] = true.into(),
                "undated" => value["date"] = "yesterday".into(),
                other => panic!("unknown spec {other}"),
            }
            value
        })
        .collect();
    Catalog::parse(&serde_json::Value::Array(entries).to_string()).unwrap()
}

struct Case {
    name: &'static str,
    entries: &'static [Spec],
    policy: Policy,
    only: GroupFilter<'static>,
    /// (database, ID, reasons) newest first.
    keep: &'static [(&'static str, &'static str, &'static str)],
    /// (database, ID) newest first.
    remove: &'static [(&'static str, &'static str)],
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 0, 0, 0).unwrap()
}

fn last(n: i32) -> Policy {
    Policy {
        last: n,
        ..Policy::default()
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a policy that keeps nothing still keeps each group's newest",
            entries: &[
                ("app", "full", "20250301_030000", "ok"),
                ("app", "full", "20250302_030000", "ok"),
                ("crm", "full", "20250301_030000", "ok"),
                ("crm", "full", "20250303_030000", "ok"),
            ],
            policy: Policy::default(),
            only: None,
            keep: &[
                ("crm", "20250303_030000", "newest"),
                ("app", "20250302_030000", "newest"),
            ],
            remove: &[("app", "20250301_030000"), ("crm", "20250301_030000")],
        },
        Case {
            name: "types are groups of their own",
            entries: &[
                ("app", "full", "20250301_030000", "ok"),
                ("app", "schema", "20250302_030000", "ok"),
                ("app", "full", "20250303_030000", "ok"),
            ],
            policy: last(1),
            only: None,
            keep: &[
                ("app", "20250303_030000", "last"),
                ("app", "20250302_030000", "last"),
            ],
            remove: &[("app", "20250301_030000")],
        },
        Case {
            name: "pinned backups stay, with the policy's reasons too",
            entries: &[
                ("app", "full", "20250301_030000", "pinned"),
                ("app", "full", "20250302_030000", "ok"),
                ("app", "full", "20250303_030000", "pinned"),
                ("app", "full", "20250304_030000", "ok"),
            ],
            policy: last(2),
            only: None,
            keep: &[
                ("app", "20250304_030000", "last"),
                ("app", "20250303_030000", "last,pinned"),
                ("app", "20250301_030000", "pinned"),
            ],
            remove: &[("app", "20250302_030000")],
        },
        Case {
            name: "missing, deleting and unsafe backups take no part and are never removed",
            entries: &[
                ("app", "full", "20250301_030000", "ok"),
                ("app", "full", "20250302_030000", "ok"),
                ("app", "full", "20250303_030000", "missing"),
                ("app", "full", "20250304_030000", "deleting"),
                ("app", "full", "20250305_030000", "link"),
                ("app", "full", "20250306_030000", "escape"),
            ],
            policy: last(1),
            only: None,
            keep: &[("app", "20250302_030000", "last")],
            remove: &[("app", "20250301_030000")],
        },
        Case {
            name: "the newest complete backup stays when newer ones are missing",
            entries: &[
                ("app", "full", "20250301_030000", "ok"),
                ("app", "full", "20250302_030000", "ok"),
                ("app", "full", "20250309_030000", "missing"),
            ],
            policy: Policy::default(),
            only: None,
            keep: &[("app", "20250302_030000", "newest")],
            remove: &[("app", "20250301_030000")],
        },
        Case {
            name: "the group filter leaves other groups out of the plan",
            entries: &[
                ("app", "full", "20250301_030000", "ok"),
                ("app", "full", "20250302_030000", "ok"),
                ("app", "schema", "20250301_030000", "ok"),
                ("crm", "full", "20250301_030000", "ok"),
                ("crm", "full", "20250302_030000", "ok"),
            ],
            policy: last(1),
            only: Some(("crm", "full", &[])),
            keep: &[("crm", "20250302_030000", "last")],
            remove: &[("crm", "20250301_030000")],
        },
        Case {
            name: "undated entries are neither kept nor removed",
            entries: &[
                ("app", "full", "20250301_030000", "undated"),
                ("app", "full", "20250302_030000", "ok"),
                ("app", "full", "20250303_030000", "ok"),
            ],
            policy: last(1),
            only: None,
            keep: &[("app", "20250303_030000", "last")],
            remove: &[("app", "20250302_030000")],
        },
        Case {
            name: "same-second backups are ordered by their suffix",
            entries: &[
                ("app", "full", "20250301_030000_2", "ok"),
                ("app", "full", "20250301_030000_10", "ok"),
                ("app", "full", "20250301_030000", "ok"),
            ],
            policy: last(2),
            only: None,
            keep: &[
                ("app", "20250301_030000_10", "last"),
                ("app", "20250301_030000_2", "last"),
            ],
            remove: &[("app", "20250301_030000")],
        },
        Case {
            name: "daily buckets keep the newest backup of each day",
            entries: &[
                ("app", "full", "20250307_010000", "ok"),
                ("app", "full", "20250307_230000", "ok"),
                ("app", "full", "20250308_010000", "ok"),
                ("app", "full", "20250308_230000", "ok"),
                ("app", "full", "20250309_010000", "ok"),
            ],
            policy: Policy {
                daily: 2,
                ..Policy::default()
            },
            only: None,
            keep: &[
                ("app", "20250309_010000", "daily"),
                ("app", "20250308_230000", "daily"),
            ],
            remove: &[
                ("app", "20250308_010000"),
                ("app", "20250307_230000"),
                ("app", "20250307_010000"),
            ],
        },
    ]
}

#[test]
fn the_planner_decides_every_case_of_the_table() {
    let zone = Zone::Named(chrono_tz::UTC);
    for case in cases() {
        let catalog = catalog_of(case.entries);
        let plan = plan(
            &inventory_of(&catalog),
            &case.policy,
            zone,
            now(),
            case.only,
        );
        let kept: Vec<(&str, &str, String)> = plan
            .keep
            .iter()
            .map(|k| (k.database.as_str(), k.id.as_str(), k.reasons.join(",")))
            .collect();
        let expected: Vec<(&str, &str, String)> = case
            .keep
            .iter()
            .map(|&(db, id, reasons)| (db, id, reasons.to_string()))
            .collect();
        assert_eq!(kept, expected, "kept, in case: {}", case.name);
        let removed: Vec<(&str, &str)> = plan
            .remove
            .iter()
            .map(|d| (d.database.as_str(), d.id.as_str()))
            .collect();
        assert_eq!(removed, case.remove, "removed, in case: {}", case.name);
    }
}

#[test]
fn removed_backups_name_their_file() {
    let catalog = catalog_of(&[
        ("app", "full", "20250301_030000", "ok"),
        ("app", "full", "20250302_030000", "ok"),
    ]);
    let zone = Zone::Named(chrono_tz::UTC);
    let plan = plan(&inventory_of(&catalog), &last(1), zone, now(), None);
    let files: Vec<&str> = plan.remove.iter().map(|d| d.filename.as_str()).collect();
    assert_eq!(files, ["backup_full_20250301_030000.sql"]);
}

#[test]
fn a_filtered_backup_is_a_group_of_its_own_keyed_by_its_options() {
    let mut catalog = catalog_of(&[
        ("app", "full", "20250301_030000", "ok"),
        ("app", "full", "20250302_030000", "ok"),
        ("app", "full", "20250303_030000", "ok"),
        ("app", "full", "20250304_030000", "ok"),
        ("app", "full", "20250305_030000", "ok"),
    ]);
    let no_log = vec!["--exclude-table=public.log".to_string()];
    let only_app = vec!["--schema=app".to_string()];
    catalog.backups[1].pg_dump_options = Some(no_log.clone());
    catalog.backups[3].pg_dump_options = Some(no_log.clone());
    catalog.backups[4].pg_dump_options = Some(only_app.clone());
    let zone = Zone::Named(chrono_tz::UTC);
    let plan = plan(&inventory_of(&catalog), &last(1), zone, now(), None);
    let kept: Vec<(&str, &[String])> = (plan.keep.iter())
        .map(|k| (k.id.as_str(), k.pg_dump_options.as_slice()))
        .collect();
    // The newest unfiltered backup is kept although two filtered ones are newer.
    assert_eq!(
        kept,
        [
            ("20250305_030000", only_app.as_slice()),
            ("20250304_030000", no_log.as_slice()),
            ("20250303_030000", &[][..]),
        ]
    );
    let removed: Vec<&str> = plan.remove.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(removed, ["20250302_030000", "20250301_030000"]);
    let only = Some(("app", "full", no_log.as_slice()));
    let plan = super::plan(&inventory_of(&catalog), &last(1), zone, now(), only);
    let removed: Vec<&str> = plan.remove.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(removed, ["20250302_030000"]);
}
