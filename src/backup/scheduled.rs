//! Running the schedule: what the systemd timer starts every 15 minutes. Does nothing
//! unless backup_schedule.json says a run is due (or copies are pending); then backs up,
//! prunes only when the backup succeeded, copies it to the copy repositories (see
//! [`crate::backup::scheduled_copies`]), and records the outcome.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};

use crate::backup::create::{self, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, Recipe, ShowProgress};
use crate::backup::restore::recovery;
use crate::backup::scheduled_copies;
use crate::backup::server_run::{self, Databases, Request};
use crate::catalog::Entry;
use crate::codec::Recipients;
use crate::config::Config;
use crate::model::naming::{Compression, Format};
use crate::notify;
use crate::policy::prune;
use crate::policy::schedule::{self, DatabaseSet, Due, LastResult, RunStatus, Schedule};
use crate::state::audit;
use crate::state::lock::WriteLock;
use crate::state::schedule_file;
use crate::status;

/// What a run did.
#[derive(Debug)]
pub struct Run {
    /// The schedule as the run left it.
    pub schedule: Schedule,
    /// The backups made (retention applied to their groups): one, or every part of a run
    /// of several databases; empty when nothing was due or another run handled the slot
    /// meanwhile.
    pub made: Vec<Entry>,
}

impl Run {
    fn idle(schedule: Schedule) -> Run {
        Run {
            schedule,
            made: Vec::new(),
        }
    }
}

/// Runs the schedule once: nothing unless a run is due (or `force`), else the backup and
/// its retention, with the outcome recorded in the schedule file and the audit log.
pub fn run(config: &mut Config, force: bool, progress: ShowProgress<'_>) -> Result<Run> {
    let schedule = schedule_file::load(&config.schedule_path)?;
    if !force && !matches!(schedule::due(&schedule, Utc::now()), Due::Due { .. }) {
        let schedule = plan_first_run(config, schedule);
        log_not_due(config, &schedule);
        if !schedule.pending_copies.is_empty() {
            return retry_copies(config).map(Run::idle);
        }
        write_metrics(config, &schedule);
        return Ok(Run::idle(schedule));
    }
    let lock = recovery::lock_home(config)?;
    // Another run may have finished between the check and the lock.
    let mut schedule = schedule_file::load(&config.schedule_path)?;
    match schedule::due(&schedule, Utc::now()) {
        _ if force => tracing::info!("scheduled backup forced"),
        Due::Due { slot } => tracing::info!(
            "scheduled backup due (slot {})",
            schedule.zone().wall_clock(slot).to_rfc3339()
        ),
        _ => {
            tracing::info!(
                "another run handled this slot, or the schedule changed, meanwhile; nothing to do"
            );
            return Ok(Run::idle(schedule));
        }
    }
    let started = Utc::now();
    let clock = Instant::now();
    let run = notify::Run::start(
        config,
        "run-scheduled",
        &schedule.notify,
        &schedule.hooks,
        true,
    );
    let outcome = match run.pre_hook() {
        Ok(()) => backup_then_prune(config, &schedule, &lock, progress),
        Err(error) => Err(Failure::before_any(error)),
    };
    // What was made, also when a part of a whole-server run failed.
    let made: Vec<Entry> = match &outcome {
        Ok(made) => made.clone(),
        Err(failure) => failure.made.clone(),
    };
    let copied = copy_and_record(config, &mut schedule, &made);
    let result = LastResult {
        status: if outcome.is_ok() {
            RunStatus::Ok
        } else {
            RunStatus::Failed
        },
        backup_id: match &outcome {
            Ok(made) => made.first().map(|e| e.id.clone()),
            Err(failure) => failure.backup_id.clone(),
        },
        error: outcome.as_ref().err().map(|f| format!("{:#}", f.error)),
        duration_ms: Some(clock.elapsed().as_millis() as u64),
        finished_at: Some(schedule.zone().wall_clock(Utc::now())),
    };
    schedule::after_run(&mut schedule, started, result);
    let saved = schedule_file::save(&config.schedule_path, &schedule);
    write_metrics(config, &schedule);
    let outcome = outcome.map_err(|f| f.error);
    if outcome.is_err() {
        log_retry(&schedule);
    }
    if let (Err(_), Err(copy_error)) = (&outcome, &copied) {
        tracing::error!("{copy_error:#}");
    }
    if let Ok(made) = &outcome {
        let ids: Vec<&str> = made.iter().map(|e| e.id.as_str()).collect();
        tracing::info!(
            "scheduled backup {} done; next run at {}",
            ids.join(", "),
            schedule
                .next_run
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
                .unwrap_or_default()
        );
    }
    let outcome = outcome.and_then(|made| copied.map(|()| made));
    let file = match made.as_slice() {
        [entry] => config.store.local_path(&entry.filename),
        _ => None,
    };
    let posted = run.post_hook(&made, file.as_deref(), outcome.as_ref().err());
    let outcome = notify::after_post_hook(outcome, posted, &made);
    let warnings = run.finish(&made, outcome.as_ref().err());
    audit::record_outcome_noting(
        config,
        &outcome,
        |made| {
            let ids: Vec<&str> = made.iter().map(|e| e.id.as_str()).collect();
            format!("id={}", ids.join(","))
        },
        &warnings,
    );
    saved?;
    let made = outcome?;
    Ok(Run { schedule, made })
}

/// A run that is not due, with copies pending: retries them under the lock and records
/// what is still pending.
fn retry_copies(config: &Config) -> Result<Schedule> {
    let _lock = recovery::lock_home(config)?;
    let mut schedule = schedule_file::load(&config.schedule_path)?;
    let copied = copy_and_record(config, &mut schedule, &[]);
    let saved = schedule_file::save(&config.schedule_path, &schedule);
    write_metrics(config, &schedule);
    audit::record_outcome(config, &copied, |()| "pending copies done".to_string());
    saved?;
    copied?;
    Ok(schedule)
}

/// Makes the pending copies and those of `made`, leaving in the schedule what failed; an
/// error says which failed.
fn copy_and_record(config: &Config, schedule: &mut Schedule, made: &[Entry]) -> Result<()> {
    let work = scheduled_copies::to_do(schedule, made);
    let outcome = scheduled_copies::run(config, schedule, work);
    schedule.pending_copies = outcome.pending;
    match outcome.errors.as_slice() {
        [] => Ok(()),
        [one] => Err(anyhow::anyhow!("{one}")),
        [first @ .., last] => {
            for error in first {
                tracing::error!("{error}");
            }
            Err(anyhow::anyhow!(
                "{last} ({} failures in all)",
                first.len() + 1
            ))
        }
    }
}

/// Refreshes the Prometheus textfile when `metrics_file` is set; a failure is only a warning.
fn write_metrics(config: &Config, schedule: &Schedule) {
    let Some(path) = &schedule.metrics_file else {
        return;
    };
    let text = status::metrics_text(config, Utc::now());
    if let Err(err) = status::prometheus::write_file(Path::new(path), &text) {
        tracing::warn!("could not write metrics to {path}: {err:#}");
    }
}

/// A schedule that never ran and has nothing planned (the shipped file) gets its first
/// slot recorded, so that it stays put; skipped quietly while another operation runs.
fn plan_first_run(config: &Config, schedule: Schedule) -> Schedule {
    if schedule.next_run.is_some() || schedule.last_run.is_some() || !schedule.enabled {
        return schedule;
    }
    let planned = (|| {
        let _lock = recovery::lock_schedule(config)?;
        let mut current = schedule_file::load(&config.schedule_path)?;
        if schedule::plan_first_run(&mut current, Utc::now()) {
            schedule_file::save(&config.schedule_path, &current)?;
        }
        anyhow::Ok(current)
    })();
    planned.unwrap_or_else(|err| {
        tracing::debug!("the first run is not recorded yet: {err:#}");
        schedule
    })
}

fn log_retry(schedule: &Schedule) {
    let next = schedule
        .next_run
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
        .unwrap_or_default();
    match schedule.failed_attempts {
        Some(n) => tracing::warn!(
            "the scheduled backup failed; retry {n} of {} at {next}",
            schedule::RETRY_DELAYS_MINUTES.len()
        ),
        None => tracing::warn!(
            "the scheduled backup failed; no retry left before the next run at {next}"
        ),
    }
}

fn log_not_due(config: &Config, schedule: &Schedule) {
    match schedule::due(schedule, Utc::now()) {
        Due::Disabled => tracing::info!(
            "scheduled backups are disabled in {}; nothing to do",
            config.schedule_path.display()
        ),
        // Not due (the caller checked), so the slot is the next run.
        Due::NotYet { next } | Due::Due { slot: next } => {
            let next = schedule
                .zone()
                .wall_clock(next)
                .to_rfc3339_opts(SecondsFormat::Secs, false);
            tracing::info!("no scheduled backup due; next at {next}");
        }
    }
}

struct Failure {
    error: anyhow::Error,
    backup_id: Option<String>,
    /// The backups made all the same (the parts of a run that did not fail).
    made: Vec<Entry>,
}

impl Failure {
    fn before_any(error: anyhow::Error) -> Failure {
        Failure {
            error,
            backup_id: None,
            made: Vec::new(),
        }
    }
}

/// The backups, then retention for the (database, type) group of each backup made, never
/// for a group whose backup failed.
fn backup_then_prune(
    config: &mut Config,
    schedule: &Schedule,
    lock: &WriteLock,
    progress: ShowProgress<'_>,
) -> Result<Vec<Entry>, Failure> {
    let recipe = recipe(config, schedule).map_err(Failure::before_any)?;
    let (made, failed) = match schedule.is_server_run() {
        false => {
            let entry = create::create_locked(
                config,
                recipe,
                "scheduled backup",
                "scheduled",
                lock,
                progress,
            )
            .map_err(Failure::before_any)?;
            (vec![entry], None)
        }
        true => {
            let globals_recipe = recipe.for_globals(schedule.compression, false);
            let request = Request {
                databases: match &schedule.databases {
                    None => Databases::Current,
                    Some(DatabaseSet::All) => Databases::All {
                        exclude: schedule.exclude_databases.clone(),
                    },
                    Some(DatabaseSet::Listed(names)) => Databases::Listed(names.clone()),
                },
                globals: schedule.globals == Some(true),
                no_role_passwords: false,
                recipe: &recipe,
                globals_recipe: &globals_recipe,
                description: "scheduled backup",
                trigger: "scheduled",
            };
            let outcome = server_run::run_locked(config, &request, lock, progress)
                .map_err(Failure::before_any)?;
            let failed = outcome.error();
            (outcome.backups, failed)
        }
    };
    for entry in &made {
        if let Err(error) = apply_retention(config, schedule, entry) {
            return Err(Failure {
                error: error.context(format!(
                    "backup {} was made, but retention failed",
                    entry.id
                )),
                backup_id: Some(entry.id.clone()),
                made,
            });
        }
    }
    match failed {
        Some(error) => Err(Failure {
            error,
            backup_id: made.first().map(|e| e.id.clone()),
            made,
        }),
        None => Ok(made),
    }
}

fn recipe(config: &Config, schedule: &Schedule) -> Result<Recipe> {
    let compression = schedule.compression.unwrap_or(Compression::Gzip);
    Ok(Recipe {
        kind: schedule.kind.unwrap_or_default(),
        format: Format::Plain,
        compression,
        level: match compression {
            Compression::Zstd => DEFAULT_ZSTD_LEVEL,
            _ => DEFAULT_GZIP_LEVEL,
        },
        pg_dump_level: None,
        jobs: None,
        encryption: encryption(config, schedule)?,
        filters: schedule.filters(),
    })
}

/// The schedule's `encryption` recipients; a relative `recipients_file` is in the home.
fn encryption(config: &Config, schedule: &Schedule) -> Result<Option<Recipients>> {
    let Some(encryption) = &schedule.encryption else {
        return Ok(None);
    };
    let files: Vec<PathBuf> = encryption
        .recipients_file
        .iter()
        .map(|file| config.home.join(file))
        .collect();
    let recipients = Recipients::parse(&encryption.recipients, &files)
        .context("the schedule's \"encryption\" does not read")?;
    Ok(recipients)
}

fn apply_retention(config: &Config, schedule: &Schedule, entry: &Entry) -> Result<()> {
    let policy = match schedule.retention.to_policy() {
        Ok(policy) => policy,
        Err(reason) => {
            tracing::warn!("retention not applied: {reason}");
            return Ok(());
        }
    };
    let group = Some(prune::group_of(entry));
    let (plan, removed) = prune::apply(&*config.store, &policy, config.zone, Utc::now(), group)
        .context("could not remove expired backups")?;
    tracing::info!(
        "retention kept {} and removed {} backup(s)",
        plan.keep.len(),
        removed.len()
    );
    Ok(())
}
