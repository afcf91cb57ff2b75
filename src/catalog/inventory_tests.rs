use std::cell::RefCell;

use super::{Inventory, State};
use crate::catalog::Catalog;
use crate::store::{LocalStore, Object, Stat};

const FOLDER: &str = "/srv/pgbackup/backups";

fn object(name: &str, size: u64) -> Object {
    Object {
        name: name.to_string(),
        size,
    }
}

fn catalog() -> Catalog {
    let text = serde_json::json!([
        {"id": "20250301_030000", "filename": "backup_full_20250301_030000.sql", "size": 1},
        {"id": "20250302_030000", "filename": "backup_full_20250302_030000.sql"},
        {"id": "20250303_030000", "filename": "backup_full_20250303_030000.sql"},
        {"id": "20250304_030000", "filename": "backup_full_20250304_030000.sql",
         "deleting": true},
        {"id": "20250305_030000", "filename": "../../etc/passwd"},
        {"id": "20250306_030000", "filename": "backup_full_20250306_030000.sql"},
        {"id": "20250307_030000", "filename": 7},
    ])
    .to_string();
    Catalog::parse(&text).unwrap()
}

#[test]
fn every_backup_gets_exactly_one_state() {
    let catalog = catalog();
    let asked = RefCell::new(Vec::new());
    let stat = |name: &str| {
        asked.borrow_mut().push(name.to_string());
        match name {
            "backup_full_20250302_030000.sql" => Stat::Missing,
            "backup_full_20250306_030000.sql" => {
                Stat::Unsafe(format!("{FOLDER}/{name} is a symbolic link"))
            }
            _ => Stat::Present { size: 99 },
        }
    };
    let listing = vec![
        object(".backup_full_20250309_030000.sql.partial", 5),
        object("backup_full_20250301_030000.sql", 10),
        object("backup_full_20250303_030000.sql", 30),
        object("backup_full_20250304_030000.sql", 40),
        object("backup_full_20250308_030000.sql.gz", 80),
        object("backup_metadata.json", 2),
    ];
    let inventory = Inventory::build(&catalog, &LocalStore::new(FOLDER), listing, &stat);
    let states: Vec<(&str, &State)> = inventory
        .items
        .iter()
        .map(|i| (i.entry.id.as_str(), &i.state))
        .collect();
    let link = format!("{FOLDER}/backup_full_20250306_030000.sql is a symbolic link");
    let escape = "filename \"../../etc/passwd\" is not a plain file name inside backups/";
    assert_eq!(
        states,
        [
            ("20250301_030000", &State::Ok { size: 10 }),
            ("20250302_030000", &State::Missing),
            ("20250303_030000", &State::Ok { size: 30 }),
            ("20250304_030000", &State::Deleting),
            ("20250305_030000", &State::Unsafe(escape.to_string())),
            ("20250306_030000", &State::Unsafe(link)),
            ("20250307_030000", &inventory.items[6].state),
            ("20250308_030000", &State::Untracked),
        ]
    );
    assert!(matches!(inventory.items[6].state, State::Damaged(_)));
    assert_eq!(
        inventory.items[7].entry.size, 80,
        "the size comes from the listing"
    );
    assert_eq!(
        inventory.items[7].entry.path,
        format!("{FOLDER}/backup_full_20250308_030000.sql.gz")
    );
    assert_eq!(
        inventory.partials,
        [".backup_full_20250309_030000.sql.partial"]
    );
    // Only entries the listing does not hold are looked up one by one.
    assert_eq!(
        *asked.borrow(),
        [
            "backup_full_20250302_030000.sql",
            "backup_full_20250306_030000.sql"
        ]
    );
    let complete: Vec<(&str, u64)> = inventory
        .complete()
        .map(|(e, size)| (e.id.as_str(), size))
        .collect();
    assert_eq!(complete, [("20250301_030000", 10), ("20250303_030000", 30)]);
    assert_eq!(
        inventory.state_of(&catalog.backups[1]),
        Some(&State::Missing)
    );
}

#[test]
fn files_of_damaged_entries_are_not_untracked() {
    let text = serde_json::json!([
        {"id": "20250301_030000", "filename": "backup_full_20250301_030000.sql", "size": "x"},
    ])
    .to_string();
    let catalog = Catalog::parse(&text).unwrap();
    assert_eq!(catalog.damaged.len(), 1, "the entry is damaged");
    let listing = vec![object("backup_full_20250301_030000.sql", 1)];
    let inventory = Inventory::build(&catalog, &LocalStore::new(FOLDER), listing, &|_| {
        Stat::Missing
    });
    let states: Vec<&str> = inventory.items.iter().map(|i| i.state.name()).collect();
    assert_eq!(states, ["damaged"]);
}
