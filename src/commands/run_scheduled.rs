//! `pgbackup run-scheduled`: what the systemd timer runs every 15 minutes. Does nothing
//! unless backup_schedule.json says a run is due; then backs up, prunes only when the
//! backup succeeded, and records the outcome.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::catalog::Entry;
use crate::cli::RunScheduledArgs;
use crate::commands::create::{self, Recipe};
use crate::commands::present;
use crate::config::Config;
use crate::model::naming::{Compression, Format};
use crate::policy::prune;
use crate::policy::schedule::{self, Due, LastResult, RunStatus, Schedule};
use crate::state::audit;
use crate::state::lock::WriteLock;
use crate::state::schedule_file;
use crate::status;

pub fn run(config: &mut Config, args: &RunScheduledArgs) -> Result<u8> {
    let schedule = schedule_file::load(&config.schedule_path)?;
    if !args.force && !matches!(schedule::due(&schedule, Utc::now()), Due::Due { .. }) {
        let schedule = plan_first_run(config, schedule);
        log_not_due(config, &schedule);
        write_metrics(config, &schedule);
        return print_idle(config, &schedule);
    }
    let lock = create::lock_home(config)?;
    // Another run may have finished between the check and the lock.
    let mut schedule = schedule_file::load(&config.schedule_path)?;
    match schedule::due(&schedule, Utc::now()) {
        _ if args.force => tracing::info!("scheduled backup forced"),
        Due::Due { slot } => tracing::info!(
            "scheduled backup due (slot {})",
            schedule.zone().wall_clock(slot).to_rfc3339()
        ),
        _ => {
            tracing::info!(
                "another run handled this slot, or the schedule changed, meanwhile; nothing to do"
            );
            return print_idle(config, &schedule);
        }
    }
    let started = Utc::now();
    let clock = Instant::now();
    let outcome = backup_then_prune(config, &schedule, &lock);
    let result = LastResult {
        status: if outcome.is_ok() {
            RunStatus::Ok
        } else {
            RunStatus::Failed
        },
        backup_id: match &outcome {
            Ok(entry) => Some(entry.id.clone()),
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
    audit::record_outcome(config, &outcome, |entry| format!("id={}", entry.id));
    saved?;
    let entry = outcome?;
    tracing::info!(
        "scheduled backup {} done; next run at {}",
        entry.id,
        schedule
            .next_run
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
            .unwrap_or_default()
    );
    if config.json {
        let next_run = schedule
            .next_run
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false));
        present::print_json(&RunReport {
            ran: true,
            backup: Some(entry),
            next_run,
        })?;
    }
    Ok(0)
}

/// What `run-scheduled --json` prints (nothing on stdout when the run fails).
#[derive(Debug, Serialize)]
struct RunReport {
    /// A backup was made: the run was due, or `--force` was given.
    ran: bool,
    /// The backup made, as `create --json` prints it.
    backup: Option<Entry>,
    /// When the next run is due, RFC 3339 in the schedule's zone; null when disabled.
    next_run: Option<String>,
}

/// Nothing was due: with `--json`, says so and when the next run is.
fn print_idle(config: &Config, schedule: &Schedule) -> Result<u8> {
    if config.json {
        let next_run = match schedule::due(schedule, Utc::now()) {
            Due::NotYet { next } => Some(
                schedule
                    .zone()
                    .wall_clock(next)
                    .to_rfc3339_opts(SecondsFormat::Secs, false),
            ),
            Due::Disabled | Due::Due { .. } => None,
        };
        present::print_json(&RunReport {
            ran: false,
            backup: None,
            next_run,
        })?;
    }
    Ok(0)
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
        let _lock = create::lock_home(config)?;
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
}

/// The backup, then retention for its own (database, type) group, never after a failure.
fn backup_then_prune(
    config: &mut Config,
    schedule: &Schedule,
    lock: &WriteLock,
) -> Result<Entry, Failure> {
    let recipe = recipe(schedule);
    let entry = create::create_locked(config, recipe, "scheduled backup", "scheduled", lock)
        .map_err(|error| Failure {
            error,
            backup_id: None,
        })?;
    apply_retention(config, schedule, &entry).map_err(|error| Failure {
        error: error.context(format!(
            "backup {} was made, but retention failed",
            entry.id
        )),
        backup_id: Some(entry.id.clone()),
    })?;
    Ok(entry)
}

fn recipe(schedule: &Schedule) -> Recipe {
    let compression = schedule.compression.unwrap_or(Compression::Gzip);
    Recipe {
        kind: schedule.kind.unwrap_or_default(),
        format: Format::Plain,
        compression,
        level: match compression {
            Compression::Zstd => create::DEFAULT_ZSTD_LEVEL,
            _ => create::DEFAULT_GZIP_LEVEL,
        },
        pg_dump_level: None,
    }
}

fn apply_retention(config: &Config, schedule: &Schedule, entry: &Entry) -> Result<()> {
    let policy = match schedule.retention.to_policy() {
        Ok(policy) => policy,
        Err(reason) => {
            tracing::warn!("retention not applied: {reason}");
            return Ok(());
        }
    };
    let group = Some((entry.database.as_str(), entry.kind.as_str()));
    let (plan, removed) = prune::apply(&*config.store, &policy, config.zone, Utc::now(), group)
        .context("could not remove expired backups")?;
    tracing::info!(
        "retention kept {} and removed {} backup(s)",
        plan.keep.len(),
        removed.len()
    );
    Ok(())
}
