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
    for text in ["", "{", "[{\"id\": \"x\"}]", "42", "{\"backups\": 3}"] {
        assert!(Catalog::parse(text).is_err(), "{text:?} parsed");
    }
}
