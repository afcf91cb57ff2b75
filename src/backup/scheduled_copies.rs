//! The copies of a scheduled run: each backup still to be copied (`pending_copies` of the
//! schedule file, plus the one just made) goes to its copy repository, and each repository
//! whose copies all succeeded is then pruned with its own retention. What fails stays
//! pending, for the next run to retry.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use chrono::Utc;

use crate::backup::copy::{self, Copied};
use crate::catalog::{Catalog, Entry};
use crate::config::{self, Config};
use crate::policy::prune;
use crate::policy::schedule::{CopyTarget, PendingCopy, Schedule, repository_identity};
use crate::store::{Store, fsutil};

/// What the copies came to.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The copies that failed, with their error, for `pending_copies`.
    pub pending: Vec<PendingCopy>,
    /// One line per failure (a copy, or pruning a copy repository).
    pub errors: Vec<String>,
}

/// The pending copies plus one of `made` (when a backup was just made) to each copy
/// repository, without repeats; pending copies to repositories no longer listed are dropped.
pub fn to_do(schedule: &Schedule, made: &[Entry]) -> Vec<PendingCopy> {
    let mut work: Vec<PendingCopy> = Vec::new();
    let listed = |p: &PendingCopy| {
        schedule
            .copies
            .iter()
            .any(|c| repository_identity(&c.repository) == repository_identity(&p.repository))
    };
    for pending in &schedule.pending_copies {
        if listed(pending) {
            work.push(pending.clone());
        } else {
            tracing::warn!(
                "the pending copy of backup {} to {} is dropped: that repository is no longer in \"copies\"",
                pending.backup_id,
                pending.repository
            );
        }
    }
    for entry in made {
        for target in &schedule.copies {
            work.push(PendingCopy {
                repository: target.repository.clone(),
                backup_id: entry.id.clone(),
                filename: Some(entry.filename.clone()),
                error: None,
            });
        }
    }
    let mut seen = Vec::new();
    work.retain(|p| {
        let key = (
            repository_identity(&p.repository),
            p.backup_id.clone(),
            p.filename.clone(),
        );
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    work
}

/// Copies `work` from the primary repository, one copy repository at a time in the order
/// of `copies`; prunes each repository all of whose copies succeeded. Callers hold the
/// write lock.
pub fn run(config: &Config, schedule: &Schedule, work: Vec<PendingCopy>) -> Outcome {
    let mut outcome = Outcome::default();
    if work.is_empty() {
        return outcome;
    }
    let catalog = match Catalog::load(&*config.store) {
        Ok(catalog) => catalog,
        Err(err) => {
            let error = format!("{err:#}");
            outcome.errors.push(format!(
                "no copy was made: could not read the primary repository's catalog: {error}; \
                 the copies are retried at the next run-scheduled"
            ));
            outcome.pending = work
                .into_iter()
                .map(|p| PendingCopy {
                    error: Some(error.clone()),
                    ..p
                })
                .collect();
            return outcome;
        }
    };
    for target in &schedule.copies {
        let key = repository_identity(&target.repository);
        let mine: Vec<PendingCopy> = work
            .iter()
            .filter(|p| repository_identity(&p.repository) == key)
            .cloned()
            .collect();
        if !mine.is_empty() {
            copy_to(config, schedule, target, &catalog, mine, &mut outcome);
        }
    }
    outcome
}

/// The copies to one repository, then its retention when they all succeeded.
fn copy_to(
    config: &Config,
    schedule: &Schedule,
    target: &CopyTarget,
    catalog: &Catalog,
    work: Vec<PendingCopy>,
    outcome: &mut Outcome,
) {
    let url = &target.repository;
    let store = open(config, url);
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut all_copied = true;
    for pending in work {
        let Some(entry) = find(catalog, &pending) else {
            tracing::warn!(
                "backup {} is no longer in {}; its copy to {url} is dropped",
                pending.backup_id,
                config.store.location()
            );
            continue;
        };
        let group = (
            entry.database.clone(),
            entry.kind.to_string(),
            entry.pg_dump_options().to_vec(),
        );
        if !groups.contains(&group) {
            groups.push(group);
        }
        let copied = store
            .as_ref()
            .map_err(|err| anyhow!("{err:#}"))
            .and_then(|store| copy::copy_backup(&*config.store, &**store, entry));
        match copied {
            Ok(Copied::Copied(_)) => tracing::info!("backup {} copied to {url}", entry.id),
            Ok(Copied::AlreadyThere(_)) => {
                tracing::info!("backup {} is already in {url}", entry.id)
            }
            Err(err) => {
                all_copied = false;
                let error = format!("{err:#}");
                outcome.errors.push(format!(
                    "backup {} is kept in {}, but copying it to {url} failed: {error}; \
                     the copy is retried at the next run-scheduled",
                    entry.id,
                    config.store.location()
                ));
                outcome.pending.push(PendingCopy {
                    error: Some(error),
                    ..pending
                });
                continue;
            }
        }
    }
    let Ok(store) = store else { return };
    if !all_copied {
        tracing::warn!("retention not applied to {url}: a copy to it failed");
        return;
    }
    let keep = target.retention.as_ref().unwrap_or(&schedule.retention);
    let policy = match keep.to_policy() {
        Ok(policy) => policy,
        Err(reason) => {
            tracing::warn!("retention not applied to {url}: {reason}");
            return;
        }
    };
    for (database, kind, options) in &groups {
        let group = Some((database.as_str(), kind.as_str(), options.as_slice()));
        match prune::apply(&*store, &policy, config.zone, Utc::now(), group) {
            Ok((plan, removed)) => tracing::info!(
                "retention in {url} kept {} and removed {} backup(s)",
                plan.keep.len(),
                removed.len()
            ),
            Err(err) => outcome.errors.push(format!(
                "the copies to {url} were made, but its retention failed: {err:#}"
            )),
        }
    }
}

/// The copy repository (a folder is made when missing), never the primary one under
/// another name.
fn open(config: &Config, url: &str) -> Result<Arc<dyn Store>> {
    if !url.starts_with("s3://") {
        // A folder named in the schedule file is made on first use, as the home's is.
        fsutil::ensure_private_dir(Path::new(url))?;
    }
    let store = config::open_repository(url)
        .with_context(|| format!("could not open copy repository {url}"))?;
    if repository_identity(&store.location()) == repository_identity(&config.store.location()) {
        return Err(anyhow!(
            "{url} is the primary repository; a copy must go elsewhere (correct \"copies\" in {})",
            config.schedule_path.display()
        ));
    }
    Ok(store)
}

/// The backup a pending copy names: by file name when known, else the complete entry
/// with that ID.
fn find<'a>(catalog: &'a Catalog, pending: &PendingCopy) -> Option<&'a Entry> {
    catalog.backups.iter().find(|e| {
        e.id == pending.backup_id
            && !e.is_deleting()
            && pending.filename.as_ref().is_none_or(|f| *f == e.filename)
    })
}
