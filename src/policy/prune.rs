//! Which backups a retention policy keeps and removes, per (database, type, pg_dump filter
//! options) group, with the
//! safety rules on top of the pure policy: pinned and newest backups always stay, and only
//! complete backups whose file is present take part.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::inventory::{self, Inventory};
use crate::catalog::order;
use crate::catalog::removal::{self, Removed, Target};
use crate::catalog::{Catalog, Entry};
use crate::model::zone::Zone;
use crate::policy::retention::{self, Policy};
use crate::store::Store;

/// A backup the policy keeps, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Kept {
    pub id: String,
    pub database: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The group's pg_dump filter options (absent: an unfiltered group).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pg_dump_options: Vec<String>,
    pub date: String,
    pub reasons: Vec<String>,
}

/// A backup the policy removes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Dropped {
    pub id: String,
    /// Tells apart entries that share an ID.
    #[serde(skip)]
    pub filename: String,
    pub database: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pg_dump_options: Vec<String>,
    pub date: String,
}

/// The decision for every backup that takes part, newest first.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Plan {
    pub keep: Vec<Kept>,
    pub remove: Vec<Dropped>,
}

/// A backup with the instant it was made.
type Dated<'a> = (&'a Entry, DateTime<Utc>);

/// A retention group: the database, the type and the normalized pg_dump filter options
/// (empty for unfiltered backups), so a filtered backup never counts for, or against, the
/// unfiltered ones, and two different filters are two groups.
pub type GroupKey<'a> = (&'a str, &'a str, &'a [String]);

/// Only this group takes part; `None` means every group.
pub type GroupFilter<'a> = Option<GroupKey<'a>>;

/// The retention group `entry` belongs to.
pub fn group_of(entry: &Entry) -> GroupKey<'_> {
    (
        entry.database.as_str(),
        entry.kind.as_str(),
        entry.pg_dump_options(),
    )
}

/// Applies `policy` to the inventory's complete backups at `now`, bucketing in `zone`.
/// Pure: what the repository holds is already in the inventory.
pub fn plan(
    inventory: &Inventory<'_>,
    policy: &Policy,
    zone: Zone,
    now: DateTime<Utc>,
    only: GroupFilter<'_>,
) -> Plan {
    let mut groups: BTreeMap<GroupKey<'_>, Vec<Dated<'_>>> = BTreeMap::new();
    for (entry, _) in inventory.complete() {
        let in_scope = only.is_none_or(|key| group_of(entry) == key);
        if !in_scope {
            continue;
        }
        let Some(instant) = entry.instant(zone) else {
            continue;
        };
        groups
            .entry(group_of(entry))
            .or_default()
            .push((entry, instant));
    }
    let mut plan = Plan::default();
    let mut decided: Vec<(&Entry, Result<Kept, Dropped>)> = Vec::new();
    for mut members in groups.into_values() {
        order::sort_newest_first(&mut members, zone, |(e, _)| e);
        let times: Vec<_> = members.iter().map(|(_, t)| zone.wall_clock(*t)).collect();
        let decisions = retention::apply(&times, policy, zone.wall_clock(now));
        for (position, ((entry, _), decision)) in members.iter().zip(decisions).enumerate() {
            let mut reasons: Vec<String> = decision
                .reasons
                .iter()
                .map(|r| retention::short_reason(r))
                .collect();
            if entry.is_pinned() {
                reasons.push("pinned".to_string());
            }
            if position == 0 && reasons.is_empty() {
                reasons.push("newest".to_string());
            }
            let outcome = if reasons.is_empty() {
                Err(Dropped {
                    id: entry.id.clone(),
                    filename: entry.filename.clone(),
                    database: entry.database.clone(),
                    kind: entry.kind.to_string(),
                    pg_dump_options: entry.pg_dump_options().to_vec(),
                    date: entry.date.clone(),
                })
            } else {
                Ok(Kept {
                    id: entry.id.clone(),
                    database: entry.database.clone(),
                    kind: entry.kind.to_string(),
                    pg_dump_options: entry.pg_dump_options().to_vec(),
                    date: entry.date.clone(),
                    reasons,
                })
            };
            decided.push((entry, outcome));
        }
    }
    order::sort_newest_first(&mut decided, zone, |(e, _)| e);
    for (_, outcome) in decided {
        match outcome {
            Ok(kept) => plan.keep.push(kept),
            Err(dropped) => plan.remove.push(dropped),
        }
    }
    plan
}

/// Plans under the write lock and removes what the policy drops, through the same
/// confined, crash-safe path as `delete`.
pub fn apply(
    store: &dyn Store,
    policy: &Policy,
    zone: Zone,
    now: DateTime<Utc>,
    only: GroupFilter<'_>,
) -> anyhow::Result<(Plan, Vec<Removed>)> {
    let mut catalog = Catalog::load(store)?;
    let plan = plan(
        &inventory::of_store(&catalog, store)?,
        policy,
        zone,
        now,
        only,
    );
    let mut targets = removal::pending(&catalog);
    targets.extend(plan.remove.iter().map(|d| Target {
        id: d.id.clone(),
        filename: d.filename.clone(),
    }));
    let removed = removal::remove(&mut catalog, store, &targets)?;
    Ok((plan, removed))
}

#[cfg(test)]
mod tests;
