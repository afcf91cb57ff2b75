use std::fs;

use chrono::{TimeZone, Utc};

use super::plan;
use crate::catalog::Catalog;
use crate::model::zone::Zone;
use crate::policy::retention::Policy;

/// Two groups of three backups each, with their files present in a temporary folder.
fn catalog_with_files(dir: &std::path::Path) -> Catalog {
    let mut entries = Vec::new();
    for database in ["app", "crm"] {
        for day in 1..=3 {
            let id = format!("2025030{day}_030000");
            let filename = format!("backup_full_{id}.sql");
            fs::write(dir.join(&filename), "-- dump\n").unwrap();
            entries.push(serde_json::json!({
                "id": id, "filename": filename, "path": dir.join(&filename),
                "type": "full", "compressed": false, "size": 8,
                "date": format!("2025-03-0{day}T03:00:00"), "description": "",
                "database": database,
            }));
        }
    }
    Catalog::parse(&serde_json::Value::Array(entries).to_string()).unwrap()
}

#[test]
fn the_newest_backup_of_each_group_stays_whatever_the_policy_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_with_files(dir.path());
    let now = Utc.with_ymd_and_hms(2025, 3, 10, 0, 0, 0).unwrap();
    // A policy that keeps nothing at all: the command line refuses it, and every rule
    // restic has keeps the newest backup anyway; the rule must hold without their help.
    let plan = plan(
        &catalog,
        dir.path(),
        &Policy::default(),
        Zone::Named(chrono_tz::UTC),
        now,
        None,
    );
    let kept: Vec<(&str, &str, &[String])> = plan
        .keep
        .iter()
        .map(|k| (k.database.as_str(), k.id.as_str(), k.reasons.as_slice()))
        .collect();
    let newest = ["newest".to_string()];
    assert_eq!(
        kept,
        [
            ("app", "20250303_030000", &newest[..]),
            ("crm", "20250303_030000", &newest[..]),
        ]
    );
    assert_eq!(plan.remove.len(), 4, "{plan:?}");
}
