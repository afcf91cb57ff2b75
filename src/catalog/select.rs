//! Finding backups by ID, unambiguous prefix, or `latest`.

use anyhow::Result;

use crate::catalog::inventory;
use crate::catalog::order;
use crate::catalog::{Catalog, Entry};
use crate::exit;
use crate::model::zone::Zone;
use crate::store::Store;

/// The type `latest` stands for unless told otherwise: a schema-only backup never stands in
/// for a full one.
pub const FULL: &str = "full";

/// Entries newest first; undated ones last, in catalog order.
pub fn newest_first(entries: &mut [&Entry], zone: Zone) {
    order::sort_newest_first(entries, zone, |e| e);
}

/// One backup by exact ID, unambiguous ID prefix, or `latest` (the newest complete full
/// backup with its file present, of `database` when known; never a filtered one, which
/// does not hold the whole database).
pub fn resolve<'a>(
    catalog: &'a Catalog,
    selector: &str,
    database: Option<&str>,
    store: &dyn Store,
    zone: Zone,
) -> Result<&'a Entry> {
    resolve_kind(catalog, selector, FULL, database, store, zone)
}

/// As `resolve`, with `latest` meaning the newest complete backup of type `kind`.
pub fn resolve_kind<'a>(
    catalog: &'a Catalog,
    selector: &str,
    kind: &str,
    database: Option<&str>,
    store: &dyn Store,
    zone: Zone,
) -> Result<&'a Entry> {
    if selector == "latest" {
        return latest(catalog, kind, database, store, zone);
    }
    match catalog.find_all(selector).as_slice() {
        [] => {}
        [one] => return Ok(one),
        many => {
            let files: Vec<&str> = many.iter().map(|e| e.filename.as_str()).collect();
            return Err(exit::usage(format!(
                "ID {selector:?} is ambiguous: {} catalog entries share it ({}); give each \
                 its own ID in {} before acting on them",
                many.len(),
                files.join(", "),
                crate::catalog::FILE_NAME
            )));
        }
    }
    let matches: Vec<&Entry> = catalog
        .backups
        .iter()
        .filter(|e| e.id.starts_with(selector))
        .collect();
    match matches.as_slice() {
        [] => Err(exit::usage(format!(
            "no backup with ID {selector:?} (see `pgbackup list`)"
        ))),
        [one] => Ok(one),
        many => {
            let ids: Vec<&str> = many.iter().take(8).map(|e| e.id.as_str()).collect();
            Err(exit::usage(format!(
                "ID prefix {selector:?} is ambiguous: it matches {} backups ({}{})",
                many.len(),
                ids.join(", "),
                if many.len() > ids.len() { ", ..." } else { "" }
            )))
        }
    }
}

fn latest<'a>(
    catalog: &'a Catalog,
    kind: &str,
    database: Option<&str>,
    store: &dyn Store,
    zone: Zone,
) -> Result<&'a Entry> {
    let inventory = inventory::of_store(catalog, store)?;
    let mut complete: Vec<&Entry> = inventory
        .complete()
        .map(|(e, _)| e)
        .filter(|e| e.kind == kind && !e.is_filtered())
        .collect();
    let databases: std::collections::BTreeSet<&str> =
        complete.iter().map(|e| e.database.as_str()).collect();
    match database {
        Some(db) => complete.retain(|e| e.database == db),
        None if databases.len() > 1 => {
            return Err(exit::usage(format!(
                "`latest` is ambiguous: the catalog holds backups of several databases ({}); choose one with --dbname",
                databases.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        None => {}
    }
    newest_first(&mut complete, zone);
    complete.first().copied().ok_or_else(|| {
        let of = database
            .map(|db| format!(" of database {db:?}"))
            .unwrap_or_default();
        let others = match kind {
            FULL => {
                " (schema-only backups are never `latest`: name one by its ID, or use \
                     `restore latest --type schema`; filtered backups are never `latest` \
                     either)"
            }
            _ => "",
        };
        exit::usage(format!("there is no complete {kind} backup{of}{others}"))
    })
}
