//! The judgement: what in the gathered facts is a warning or critical, and why. Pure, so
//! every rule is tested with fixed facts.

use crate::model::units::{format_duration, format_size};
use crate::status::Reason;
use crate::status::backups::BackupsReport;
use crate::status::database::DatabaseReport;
use crate::status::limits::Thresholds;
use crate::status::schedule_view::ScheduleReport;

/// Every problem found; an empty list means all is well.
pub fn assess(
    database: &DatabaseReport,
    backups: Option<&BackupsReport>,
    schedule: Option<&ScheduleReport>,
    thresholds: &Thresholds,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if !database.reachable {
        let name = database.name.as_deref().unwrap_or("(libpq default)");
        reasons.push(Reason::critical(format!(
            "database {name} is unreachable: {}",
            database.error.as_deref().unwrap_or("unknown error")
        )));
    }
    if let Some(backups) = backups {
        reasons.extend(backup_ages(backups, thresholds));
        reasons.extend(folder_problems(backups));
        reasons.extend(free_space(backups, thresholds));
    }
    if let Some(schedule) = schedule {
        reasons.extend(schedule_problems(schedule));
    }
    reasons
}

fn backup_ages(backups: &BackupsReport, thresholds: &Thresholds) -> Vec<Reason> {
    let checked = &backups.checked;
    let groups: Vec<_> = backups
        .groups
        .iter()
        .filter(|g| checked.covers_group(g))
        .collect();
    if groups.is_empty() {
        let of = match &checked.database {
            Some(db) => format!("{} backup of database {db}", checked.kind),
            None => format!("{} backup", checked.kind),
        };
        return vec![Reason::critical(format!("there is no complete {of}"))];
    }
    let mut reasons = Vec::new();
    for (database, kind) in checked.expected() {
        if !groups
            .iter()
            .any(|g| g.database == database && g.kind == kind)
        {
            reasons.push(Reason::critical(match database.is_empty() {
                true => format!("there is no complete {kind} backup"),
                false => format!("there is no complete {kind} backup of database {database}"),
            }));
        }
    }
    for group in groups {
        let what = match group.database.is_empty() && group.kind == "globals" {
            true => format!("newest globals backup ({})", group.newest.id),
            false => format!(
                "newest {} backup of {} ({})",
                group.kind, group.database, group.newest.id
            ),
        };
        let Some(age) = group.newest.age_seconds else {
            reasons.push(Reason::unknown(format!("{what} has no readable date")));
            continue;
        };
        let old = |limit: i64| {
            format!(
                "{what} is {} old (limit {})",
                format_duration(age),
                format_duration(limit)
            )
        };
        if age > thresholds.max_age_seconds {
            reasons.push(Reason::critical(old(thresholds.max_age_seconds)));
        } else if let Some(warn) = thresholds.warn_age_seconds.filter(|w| age > *w) {
            reasons.push(Reason::warning(old(warn)));
        }
        if let Some(v) = group.last_verification.as_ref().filter(|v| !v.passed()) {
            reasons.push(Reason::warning(format!(
                "the last verification of a {} backup of {} ({}, {}) reported: {}",
                group.kind,
                group.database,
                v.id,
                v.verified_at,
                v.detail.as_deref().unwrap_or(&v.result)
            )));
        }
    }
    reasons
}

/// Catalog entries without their file, unsafe, damaged or half deleted, and leftovers.
pub(crate) fn folder_problems(backups: &BackupsReport) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let list = |names: Vec<&str>| {
        let shown: Vec<&str> = names.iter().take(5).copied().collect();
        let more = names.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("{}{tail}", shown.join(", "))
    };
    if !backups.missing.is_empty() {
        reasons.push(Reason::warning(format!(
            "{} catalog {} no file: {}",
            backups.missing.len(),
            plural(backups.missing.len(), "entry has", "entries have"),
            list(backups.missing.iter().map(|e| e.id.as_str()).collect())
        )));
    }
    if !backups.unsafe_entries.is_empty() {
        reasons.push(Reason::warning(format!(
            "{} catalog {} outside backups/ or at a symbolic link: {}",
            backups.unsafe_entries.len(),
            plural(
                backups.unsafe_entries.len(),
                "entry points",
                "entries point"
            ),
            list(
                backups
                    .unsafe_entries
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect()
            )
        )));
    }
    if !backups.damaged.is_empty() {
        reasons.push(Reason::warning(format!(
            "{} catalog {} cannot be read and {} not counted: {}",
            backups.damaged.len(),
            plural(backups.damaged.len(), "entry", "entries"),
            plural(backups.damaged.len(), "is", "are"),
            list(backups.damaged.iter().map(|e| e.id.as_str()).collect())
        )));
    }
    if !backups.deleting.is_empty() && backups.running.is_none() {
        reasons.push(Reason::warning(format!(
            "{} interrupted {} (the next delete or prune finishes {}): {}",
            backups.deleting.len(),
            plural(backups.deleting.len(), "delete", "deletes"),
            plural(backups.deleting.len(), "it", "them"),
            list(backups.deleting.iter().map(|e| e.id.as_str()).collect())
        )));
    }
    if !backups.partials.is_empty() && backups.running.is_none() {
        reasons.push(Reason::warning(format!(
            "{} leftover partial {} from an interrupted run (the next backup removes {}): {}",
            backups.partials.len(),
            plural(backups.partials.len(), "file", "files"),
            plural(backups.partials.len(), "it", "them"),
            list(backups.partials.iter().map(String::as_str).collect())
        )));
    }
    reasons
}

fn free_space(backups: &BackupsReport, thresholds: &Thresholds) -> Vec<Reason> {
    let Some(space) = backups.filesystem else {
        if backups.object_storage {
            return Vec::new();
        }
        return vec![Reason::unknown(format!(
            "could not read the free space of {}",
            backups.folder.display()
        ))];
    };
    let free = space.free_bytes;
    if let Some(min) = thresholds.min_free_bytes.filter(|m| free < *m) {
        return vec![Reason::warning(format!(
            "{} free on the backups filesystem, less than {} (--min-free)",
            format_size(free),
            format_size(min)
        ))];
    }
    match backups
        .next_backup_estimate_bytes
        .filter(|need| free < *need)
    {
        Some(need) => vec![Reason::warning(format!(
            "{} free on the backups filesystem, less than the last backup ({}): the next one may not fit",
            format_size(free),
            format_size(need)
        ))],
        None => Vec::new(),
    }
}

fn schedule_problems(schedule: &ScheduleReport) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if let Some(result) = schedule.last_result.as_ref().filter(|r| !r.succeeded()) {
        let when = result
            .finished_at
            .or(schedule.last_run)
            .map(|t| format!(" at {}", t.format("%Y-%m-%d %H:%M:%S %:z")))
            .unwrap_or_default();
        reasons.push(Reason::critical(format!(
            "the last scheduled run{when} {}: {}",
            if result.status == "failed" {
                "failed".to_string()
            } else {
                format!("ended with status {:?}", result.status)
            },
            result.error.as_deref().unwrap_or("no error recorded")
        )));
    }
    if schedule.overdue {
        let due = schedule
            .next_run
            .map(|t| format!(" (due {})", t.format("%Y-%m-%d %H:%M:%S %:z")))
            .unwrap_or_default();
        reasons.push(Reason::warning(format!(
            "the scheduled run is overdue{due}: is pgbackup.timer active?"
        )));
    }
    reasons
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
#[path = "assess_tests.rs"]
mod tests;
