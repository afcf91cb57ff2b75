use serde_json::json;

use super::Catalog;

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
