//! `pgbackup run-scheduled`: runs the schedule once (see [`crate::backup::scheduled`]) and,
//! with `--json`, says what it did.

use anyhow::Result;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::backup::estimate::Estimate;
use crate::backup::scheduled::{self, Run};
use crate::catalog::Entry;
use crate::cli::RunScheduledArgs;
use crate::commands::present;
use crate::config::Config;
use crate::policy::schedule::{self, Due, Schedule};

pub fn run(config: &mut Config, args: &RunScheduledArgs) -> Result<u8> {
    let visible = config.progress;
    let progress = move |message: &str, estimate: Option<Estimate>| {
        present::progress_bar(visible, message, estimate)
    };
    let Run { schedule, made } = scheduled::run(config, args.force, &progress)?;
    if made.is_empty() {
        return print_idle(config, &schedule);
    }
    if config.json {
        let next_run = schedule
            .next_run
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false));
        present::print_json(&RunReport {
            ran: true,
            backup: made.first().cloned(),
            run: made.first().and_then(|e| e.run.clone()),
            backups: made,
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
    /// The backup made, as `create --json` prints it (the first of a run's).
    backup: Option<Entry>,
    /// The run's ID, when the schedule backs up several databases or the globals.
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    /// Every backup made.
    backups: Vec<Entry>,
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
            run: None,
            backups: Vec::new(),
            next_run,
        })?;
    }
    Ok(0)
}
