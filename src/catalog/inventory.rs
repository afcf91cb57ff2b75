//! The inventory: the catalog joined with one listing of the repository, giving every
//! backup exactly one state. Built once, in O(n log n), and read by list, view, select,
//! prune, verify and status, so "which backups count as good" is decided here only.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use anyhow::Result;

use crate::catalog::order;
use crate::catalog::{Catalog, Entry};
use crate::catalog::{confine, untracked};
use crate::model::naming;
use crate::model::zone::Zone;
use crate::store::{Object, Stat, Store};

/// What is true of one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Cataloged, complete, its file present.
    Ok { size: u64 },
    /// Cataloged, its file gone.
    Missing,
    /// A backup file the catalog does not know.
    Untracked,
    /// An interrupted delete left the entry marked; it no longer counts.
    Deleting,
    /// The entry names something pgbackup must never touch, and why.
    Unsafe(String),
    /// The catalog entry does not read, and why.
    Damaged(String),
}

impl State {
    /// The name `list --json` and `view --json` print.
    pub fn name(&self) -> &'static str {
        match self {
            State::Ok { .. } => "ok",
            State::Missing => "missing",
            State::Untracked => "untracked",
            State::Deleting => "deleting",
            State::Unsafe(_) => "unsafe",
            State::Damaged(_) => "damaged",
        }
    }
}

/// One backup and its state. Cataloged entries are borrowed; untracked files and damaged
/// entries are stand-ins built from what is known of them.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub entry: Cow<'a, Entry>,
    pub state: State,
}

/// Every backup with its state, and the leftovers interrupted writers left.
#[derive(Debug, Clone, Default)]
pub struct Inventory<'a> {
    /// Catalog entries in catalog order, then damaged entries, then untracked files by name.
    pub items: Vec<Item<'a>>,
    /// Leftover partial and temporary files, by name (no backup is in that state: such a
    /// file never becomes one).
    pub partials: Vec<String>,
}

impl<'a> Inventory<'a> {
    /// Joins `catalog` with `listing` (the repository's objects, name and size; a listing
    /// names only plain files, and leftovers whatever they are). `stat` is asked only about
    /// entries whose file the listing does not hold, so links and folders are told apart
    /// from missing files. `store` confines entries and names untracked files.
    pub fn build(
        catalog: &'a Catalog,
        store: &dyn Store,
        listing: Vec<Object>,
        stat: &dyn Fn(&str) -> Stat,
    ) -> Inventory<'a> {
        let mut partials = Vec::new();
        let mut held: HashMap<String, u64> = HashMap::with_capacity(listing.len());
        for object in listing {
            if naming::is_partial_name(&object.name) || naming::is_temporary_name(&object.name) {
                partials.push(object.name);
            } else {
                held.insert(object.name, object.size);
            }
        }
        partials.sort();
        let mut items: Vec<Item<'a>> = Vec::with_capacity(catalog.backups.len() + 1);
        for entry in &catalog.backups {
            let state = match confine::entry_name(store, entry) {
                _ if entry.is_deleting() => State::Deleting,
                Err(reason) => State::Unsafe(reason),
                Ok(_) => match held.get(&entry.filename) {
                    Some(&size) => State::Ok { size },
                    None => match stat(&entry.filename) {
                        Stat::Present { size } => State::Ok { size },
                        Stat::Missing => State::Missing,
                        Stat::Unsafe(reason) => State::Unsafe(reason),
                    },
                },
            };
            items.push(Item {
                entry: Cow::Borrowed(entry),
                state,
            });
        }
        items.extend(catalog.damaged.iter().map(|d| Item {
            entry: Cow::Owned(d.stand_in()),
            state: State::Damaged(format!("{}: {}", d.label(), d.problem)),
        }));
        let known: HashSet<&str> = catalog
            .backups
            .iter()
            .map(|e| e.filename.as_str())
            .chain(catalog.damaged_files())
            .collect();
        let mut untracked: Vec<(&String, u64)> = held
            .iter()
            .filter(|(name, _)| !known.contains(name.as_str()))
            .filter(|(name, _)| naming::parse_file_name(name).is_some())
            .map(|(name, size)| (name, *size))
            .collect();
        untracked.sort();
        items.extend(untracked.into_iter().map(|(name, size)| Item {
            entry: Cow::Owned(untracked::entry_for_name(name, size, &store.describe(name))),
            state: State::Untracked,
        }));
        Inventory { items, partials }
    }

    /// Cataloged entries in catalog order, with their state.
    pub fn cataloged(&self) -> impl Iterator<Item = (&'a Entry, &State)> + '_ {
        self.items.iter().filter_map(|item| match item.entry {
            Cow::Borrowed(entry) => Some((entry, &item.state)),
            Cow::Owned(_) => None,
        })
    }

    /// The backups that count (invariant 5): cataloged, not being deleted, the file
    /// present. With the file's size, in catalog order.
    pub fn complete(&self) -> impl Iterator<Item = (&'a Entry, u64)> + '_ {
        self.cataloged().filter_map(|(entry, state)| match state {
            State::Ok { size } => Some((entry, *size)),
            _ => None,
        })
    }

    /// The state of a cataloged entry (the very entry, not one sharing its ID).
    pub fn state_of(&self, entry: &Entry) -> Option<&State> {
        self.cataloged()
            .find(|(e, _)| std::ptr::eq(*e, entry))
            .map(|(_, state)| state)
    }

    /// Every item, newest first (undated last, in inventory order).
    pub fn into_newest_first(mut self, zone: Zone) -> Vec<Item<'a>> {
        order::sort_newest_first(&mut self.items, zone, |item| &item.entry);
        self.items
    }
}

/// The inventory of `store`: its one listing with the leftovers of interrupted writers
/// and, for entries the listing does not hold, a stat.
pub fn of_store<'a>(catalog: &'a Catalog, store: &dyn Store) -> Result<Inventory<'a>> {
    let listing = store.list("")?;
    let mut inventory = Inventory::build(catalog, store, listing, &|name| {
        store.stat(name).unwrap_or(Stat::Missing)
    });
    // Whatever their names (an S3 folder without its metadata object is named as the
    // backup would have been), leftovers never count as backups.
    inventory.partials.extend(store.leftovers()?);
    inventory.partials.sort();
    inventory.partials.dedup();
    Ok(inventory)
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
