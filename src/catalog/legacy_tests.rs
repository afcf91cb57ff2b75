use serde_json::json;

use crate::catalog::Entry;
use crate::codec::{Chain, Stage};
use crate::model::naming::{Format, Kind};
use crate::model::recorded::Recorded;

fn entry(fields: serde_json::Value) -> Entry {
    let mut value = json!({"id": "20250408_160000", "filename": "backup_full_20250408_160000.sql"});
    for (key, field) in fields.as_object().unwrap() {
        value[key] = field.clone();
    }
    serde_json::from_value(value).unwrap()
}

#[test]
fn old_entries_map_onto_the_chain_and_format_they_stand_for() {
    let gzip = || Chain::new(vec![Stage::Gzip]);
    let zstd = || Chain::new(vec![Stage::Zstd]);
    let table = [
        (json!({"compressed": false}), Chain::NONE, Format::Plain),
        (
            json!({"compressed": true, "filename": "backup_full_1.sql.gz"}),
            gzip(),
            Format::Plain,
        ),
        (
            json!({"compressed": true, "filename": "backup_full_1.sql"}),
            gzip(),
            Format::Plain,
        ),
        (
            json!({"compressed": true, "filename": "backup_full_1.sql.zst"}),
            zstd(),
            Format::Plain,
        ),
        (
            json!({"compressed": false, "filename": "backup_full_1.dump"}),
            Chain::NONE,
            Format::Custom,
        ),
        (
            json!({"compressed": true, "filename": "backup_full_1.dump.zst"}),
            zstd(),
            Format::Custom,
        ),
        (
            json!({"compressed": true, "compression": "gzip", "format": "custom",
                "filename": "backup_full_1.sql.zst"}),
            gzip(),
            Format::Custom,
        ),
        (
            json!({"compressed": false, "compression": "zstd", "format": "plain",
                "filename": "backup_full_1.dump"}),
            zstd(),
            Format::Plain,
        ),
        (
            json!({"compression": "none", "compressed": true}),
            Chain::NONE,
            Format::Plain,
        ),
        (
            json!({"codecs": ["zstd"], "compression": "gzip", "compressed": true}),
            zstd(),
            Format::Plain,
        ),
        (
            json!({"codecs": [], "compressed": true}),
            Chain::NONE,
            Format::Plain,
        ),
    ];
    for (fields, chain, format) in table {
        let e = entry(fields.clone());
        assert_eq!(e.chain(), Ok(chain), "{fields}");
        assert_eq!(e.format(), format, "{fields}");
    }
}

#[test]
fn values_this_version_does_not_know_are_named_not_guessed() {
    let e = entry(json!({"compression": "brotli", "compressed": true}));
    assert_eq!(e.chain(), Err("unknown compression \"brotli\"".to_string()));
    assert_eq!(e.compression_name(), "brotli");
    let e = entry(json!({"codecs": ["gzip", "rot13"], "compression": "gzip"}));
    assert_eq!(e.chain(), Err("unknown codec \"rot13\"".to_string()));
    let e = entry(json!({"codecs": ["gzip", "age"], "compression": "gzip"}));
    assert_eq!(e.chain(), Ok(Chain::new(vec![Stage::Gzip, Stage::Age])));
    let e = entry(json!({"format": "tar"}));
    assert_eq!(e.format(), Recorded::Other("tar".to_string()));
    assert_eq!(e.format_name(), "tar");
    let e = entry(json!({"format": "directory", "compression": "gzip", "compressed": true}));
    assert_eq!(e.format(), Format::Directory);
    assert_eq!(e.chain(), Ok(Chain::NONE), "pg_dump compressed its files");
}

#[test]
fn a_typed_entry_round_trips_with_unknown_fields_and_values() {
    let written = json!({
        "id": "20250408_160000",
        "filename": "backup_incremental_20250408_160000.sql.gz.age",
        "path": "",
        "type": "incremental",
        "compressed": true,
        "size": 10,
        "date": "2025-04-08T16:00:00",
        "description": "",
        "database": "shop",
        "format": "plain",
        "compression": "gzip",
        "codecs": ["gzip", "age"],
        "database_properties": {"owner": "o", "encoding": "UTF8", "collate": "C",
            "ctype": "C", "icu_rules": null, "future_setting": {"x": 1}},
        "retention_tag": "gold"
    });
    let e: Entry = serde_json::from_value(written.clone()).unwrap();
    assert_eq!(e.kind, Recorded::<Kind>::Other("incremental".to_string()));
    assert_ne!(e.kind, Kind::Full);
    let properties = e.database_properties.as_ref().unwrap().get().unwrap();
    assert_eq!(properties.owner, "o");
    assert_eq!(serde_json::to_value(&e).unwrap(), written);
    let broken = json!({"id": "1", "filename": "f", "database_properties": {"owner": 3}});
    let e: Entry = serde_json::from_value(broken.clone()).unwrap();
    assert!(e.database_properties.as_ref().unwrap().get().is_err());
    assert_eq!(
        serde_json::to_value(&e).unwrap()["database_properties"],
        broken["database_properties"]
    );
}

#[test]
fn the_type_is_typed_and_full_when_absent() {
    assert_eq!(entry(json!({})).kind, Kind::Full);
    assert_eq!(entry(json!({"type": "schema"})).kind, Kind::Schema);
}
