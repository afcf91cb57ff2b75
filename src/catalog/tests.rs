use std::fs;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::{Catalog, Entry};
use crate::model::zone::Zone;
use crate::store::LocalStore;

const OLD_MODULE_CATALOG: &str = r#"[
  {
    "id": "20250408_160000",
    "filename": "backup_full_20250408_160000.sql.gz",
    "path": "/var/lib/pgbackup/backups/backup_full_20250408_160000.sql.gz",
    "type": "full",
    "compressed": true,
    "size": 1234,
    "date": "2025-04-08T16:00:00.123456",
    "description": "nightly",
    "database": "shop"
  },
  {
    "id": "20250408_170000",
    "filename": "backup_schema_20250408_170000.sql",
    "path": "/var/lib/pgbackup/backups/backup_schema_20250408_170000.sql",
    "type": "schema",
    "compressed": false,
    "size": 99,
    "date": "2025-04-08T17:00:00",
    "description": null,
    "database": "shop"
  }
]"#;

#[test]
fn the_old_modules_catalog_loads() {
    let catalog = Catalog::parse(OLD_MODULE_CATALOG).unwrap();
    assert_eq!(catalog.backups.len(), 2);
    let first = &catalog.backups[0];
    assert_eq!(first.id, "20250408_160000");
    assert_eq!(first.kind, "full");
    assert_eq!(first.size, 1234);
    assert_eq!(first.compression_name(), "gzip");
    assert_eq!(first.format_name(), "plain");
    assert_eq!(catalog.backups[1].description, "");
    assert_eq!(catalog.backups[1].compression_name(), "none");
}

#[test]
fn unknown_fields_survive_a_rewrite() {
    let text = json!({
        "version": 1,
        "owner_note": {"keep": true},
        "backups": [{
            "id": 7, "filename": "backup_full_20250408_160000.sql", "path": "", "type": "full",
            "compressed": false, "size": 1, "date": "2025-04-08T16:00:00", "description": "",
            "database": "shop", "retention_tag": "gold", "sha256": "ab"
        }]
    })
    .to_string();
    let catalog = Catalog::parse(&text).unwrap();
    assert_eq!(catalog.backups[0].id, "7");
    let rewritten: serde_json::Value = serde_json::from_str(&catalog.to_json()).unwrap();
    assert_eq!(rewritten["owner_note"], json!({"keep": true}));
    assert_eq!(rewritten["backups"][0]["retention_tag"], "gold");
    assert_eq!(rewritten["backups"][0]["sha256"], "ab");
    assert_eq!(rewritten["version"], 1);
    assert_eq!(Catalog::parse(&catalog.to_json()).unwrap(), catalog);
}

#[test]
fn the_old_fields_come_first_in_their_order() {
    let catalog = Catalog::parse(OLD_MODULE_CATALOG).unwrap();
    let text = catalog.to_json();
    let keys = [
        "\"id\"",
        "\"filename\"",
        "\"path\"",
        "\"type\"",
        "\"compressed\"",
        "\"size\"",
        "\"date\"",
        "\"description\"",
        "\"database\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn garbage_is_an_error() {
    for text in ["", "{", "42", "{\"backups\": 3}", "[{\"id\": 1},"] {
        assert!(Catalog::parse(text).is_err(), "{text:?} parsed");
    }
}

#[test]
fn a_damaged_entry_is_kept_byte_for_byte_and_the_others_load() {
    let damaged = r#"{"id": "20250408_170000",   "filename": "backup_full_20250408_170000.sql",
        "size": "398", "odd": 1.50}"#;
    let text = format!(
        r#"{{"backups": [{{"id": "20250408_160000", "filename": "backup_full_20250408_160000.sql"}}, {damaged}, 3]}}"#
    );
    let catalog = Catalog::parse(&text).unwrap();
    assert_eq!(catalog.backups.len(), 1);
    assert_eq!(catalog.damaged.len(), 2);
    let first = &catalog.damaged[0];
    assert_eq!(first.id.as_deref(), Some("20250408_170000"));
    assert_eq!(
        first.filename.as_deref(),
        Some("backup_full_20250408_170000.sql")
    );
    assert_eq!(first.position, 2);
    assert!(first.problem.contains("invalid type"), "{}", first.problem);
    assert_eq!(catalog.damaged[1].id, None);
    let rewritten = catalog.to_json();
    assert!(rewritten.contains(damaged), "{rewritten}");
    assert_eq!(Catalog::parse(&rewritten).unwrap(), catalog);
}

#[test]
fn numeric_ids_are_written_back_exactly() {
    let text = r#"[{"id": 1000000000000000000000000000000, "filename": "a.sql"},
        {"id": 7, "filename": "b.sql"}, {"id": "8", "filename": "c.sql"}]"#;
    let catalog = Catalog::parse(text).unwrap();
    assert_eq!(catalog.backups[0].id, "1000000000000000000000000000000");
    let rewritten: serde_json::Value = serde_json::from_str(&catalog.to_json()).unwrap();
    let ids: Vec<String> = rewritten["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].to_string())
        .collect();
    assert_eq!(ids[1], "7");
    assert_eq!(ids[2], "\"8\"");
    assert!(
        catalog
            .to_json()
            .contains("\"id\": 1000000000000000000000000000000,"),
        "{}",
        catalog.to_json()
    );
    assert_eq!(Catalog::parse(&catalog.to_json()).unwrap(), catalog);
}

#[test]
fn the_rewrite_looks_as_before() {
    let catalog = Catalog::parse(OLD_MODULE_CATALOG).unwrap();
    let text = catalog.to_json();
    assert!(
        text.starts_with(
            "{\n  \"version\": 1,\n  \"backups\": [\n    {\n      \"id\": \"20250408_160000\",\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("    }\n  ]\n}\n"), "{text}");
}

/// One entry in the old module's form with `fields` on top.
fn entry(fields: serde_json::Value) -> Entry {
    let mut value = json!({"id": "20250408_160000", "filename": "backup_full_20250408_160000.sql",
        "date": "2025-04-08T16:00:00"});
    for (key, field) in fields.as_object().unwrap() {
        value[key] = field.clone();
    }
    serde_json::from_value(value).unwrap()
}

#[test]
fn the_old_modules_fields_are_read_as_written() {
    let catalog = Catalog::parse(OLD_MODULE_CATALOG).unwrap();
    let first = &catalog.backups[0];
    assert_eq!(first.description, "nightly");
    assert_eq!(first.database, "shop");
    assert_eq!(first.date, "2025-04-08T16:00:00.123456");
    assert!(first.compressed);
    assert_eq!(catalog.backups[1].kind, "schema");
    let minimal = entry(json!({}));
    assert_eq!(
        minimal.kind, "full",
        "an entry without a type is a full backup"
    );
    assert_eq!(
        (minimal.description.as_str(), minimal.database.as_str()),
        ("", "")
    );
    assert_eq!(minimal.size, 0);
    assert_eq!(entry(json!({"id": 20250408})).id, "20250408");
    for bad_id in [json!(null), json!(true), json!(["x"])] {
        let value = json!({"id": bad_id, "filename": "f"});
        assert!(serde_json::from_value::<Entry>(value).is_err(), "{bad_id}");
    }
}

#[test]
fn compression_and_format_are_inferred_for_old_entries() {
    let table = [
        (json!({"compressed": false}), "none", "plain"),
        (
            json!({"compressed": true, "filename": "backup_full_1.sql.gz"}),
            "gzip",
            "plain",
        ),
        (
            json!({"compressed": true, "filename": "backup_full_1.sql.zst"}),
            "zstd",
            "plain",
        ),
        (
            json!({"compressed": false, "filename": "backup_full_1.dump"}),
            "none",
            "custom",
        ),
        (
            json!({"compressed": true, "filename": "backup_full_1.dump.zst"}),
            "zstd",
            "custom",
        ),
        (
            json!({"compressed": true, "compression": "gzip", "format": "custom",
                "filename": "backup_full_1.sql.zst"}),
            "gzip",
            "custom",
        ),
        (
            json!({"compressed": false, "compression": "zstd", "format": "plain",
                "filename": "backup_full_1.dump"}),
            "zstd",
            "plain",
        ),
    ];
    for (fields, compression, format) in table {
        let e = entry(fields.clone());
        assert_eq!(
            (e.compression_name(), e.format_name()),
            (compression, format),
            "{fields}"
        );
    }
}

#[test]
fn pinned_and_deleting_need_an_explicit_true() {
    for (fields, pinned, deleting) in [
        (json!({}), false, false),
        (json!({"pinned": false, "deleting": false}), false, false),
        (json!({"pinned": true}), true, false),
        (json!({"deleting": true}), false, true),
    ] {
        let e = entry(fields.clone());
        assert_eq!(
            (e.is_pinned(), e.is_deleting()),
            (pinned, deleting),
            "{fields}"
        );
    }
}

#[test]
fn the_instant_prefers_created_at_over_the_old_date() {
    let utc = Zone::Named(chrono_tz::UTC);
    let at = |h| Some(Utc.with_ymd_and_hms(2025, 4, 8, h, 0, 0).unwrap());
    assert_eq!(entry(json!({})).instant(utc), at(16));
    let berlin = Zone::Named(chrono_tz::Europe::Berlin);
    assert_eq!(
        entry(json!({})).instant(berlin),
        at(14),
        "the old date is local time"
    );
    let created = entry(json!({"created_at": "2025-04-08T17:00:00+00:00"}));
    assert_eq!(created.instant(utc), at(17));
    let unreadable = entry(json!({"created_at": "soon"}));
    assert_eq!(
        unreadable.instant(utc),
        at(16),
        "falls back to the old date"
    );
    assert_eq!(entry(json!({"date": "yesterday"})).instant(utc), None);
}

#[test]
fn entries_are_found_and_removed_by_id_and_file() {
    let mut catalog = Catalog::parse(OLD_MODULE_CATALOG).unwrap();
    assert_eq!(catalog.find("20250408_170000").unwrap().kind, "schema");
    assert!(catalog.find("20250408_180000").is_none());
    catalog.find_mut("20250408_160000").unwrap().description = "changed".to_string();
    assert!(catalog.find_mut("nope").is_none());
    assert_eq!(catalog.backups[0].description, "changed");
    catalog.remove_file_entry("20250408_160000", "backup_full_20250408_150000.sql");
    assert_eq!(
        catalog.backups.len(),
        2,
        "an entry is removed only with its file name"
    );
    let filename = catalog.backups[0].filename.clone();
    catalog.remove_file_entry("20250408_160000", &filename);
    let left: Vec<&str> = catalog.backups.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(left, ["20250408_170000"]);
}

#[test]
fn loading_tells_a_missing_catalog_from_an_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let path = dir.path().join("backup_metadata.json");
    assert_eq!(Catalog::load(&store).unwrap(), Catalog::default());
    fs::create_dir(&path).unwrap();
    let error = format!("{:#}", Catalog::load(&store).unwrap_err());
    assert!(error.starts_with("could not read catalog"), "{error}");
    fs::remove_dir(&path).unwrap();
    fs::write(&path, "[").unwrap();
    let error = format!("{:#}", Catalog::load(&store).unwrap_err());
    assert!(error.contains("is corrupt"), "{error}");
    let catalog = Catalog::parse(OLD_MODULE_CATALOG).unwrap();
    catalog.save(&store).unwrap();
    assert_eq!(Catalog::load(&store).unwrap(), catalog);
}
