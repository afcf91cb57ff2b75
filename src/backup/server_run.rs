//! Backing up the whole server in one run: the globals, then every database that accepts
//! connections (templates excluded, patterns excluded), each part recorded with the run's
//! ID and plan. A part that fails does not discard the others; the run is then incomplete.

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde::Serialize;

use crate::backup::create::{self, Part, Recipe, RunTag, ShowProgress, What};
use crate::catalog::Entry;
use crate::catalog::runs;
use crate::config::Config;
use crate::exit::{self, Refusal};
use crate::interrupt::Interrupt;
use crate::model::pattern::{NamePattern, any_matches};
use crate::model::run::{RunPlan, new_run_id};
use crate::pg::postgres;
use crate::state::lock::WriteLock;

/// The databases a run backs up.
#[derive(Debug, Clone, PartialEq)]
pub enum Databases {
    /// None: only the globals.
    None,
    /// Every database that accepts connections, except templates and these patterns.
    All { exclude: Vec<String> },
    /// These, by name.
    Listed(Vec<String>),
}

/// What one run is to do.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub databases: Databases,
    pub globals: bool,
    pub no_role_passwords: bool,
    /// How database backups are made.
    pub recipe: &'a Recipe,
    /// How the globals backup is made (always plain SQL).
    pub globals_recipe: &'a Recipe,
    pub description: &'a str,
    pub trigger: &'a str,
}

/// A part that failed, and why (one line).
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `globals`, or the database's name.
    pub part: String,
    pub error: String,
}

/// What a run did: `create --all-databases --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub run: String,
    pub complete: bool,
    pub plan: RunPlan,
    pub backups: Vec<Entry>,
    pub failed: Vec<Failure>,
}

impl Outcome {
    /// The error a failed part makes of the run: one line naming what failed.
    pub fn error(&self) -> Option<anyhow::Error> {
        if self.failed.is_empty() {
            return None;
        }
        let failed: Vec<String> = self
            .failed
            .iter()
            .map(|f| format!("{} ({})", f.part, f.error))
            .collect();
        Some(anyhow::anyhow!(
            "run {} is incomplete: {} of {} backups recorded; failed: {}",
            self.run,
            self.backups.len(),
            self.plan.parts(),
            failed.join("; ")
        ))
    }
}

/// The databases that accept connections, templates excluded, by name.
const DATABASES_SQL: &str = "SELECT coalesce(json_agg(datname ORDER BY datname), '[]') \
     FROM pg_database WHERE datallowconn AND NOT datistemplate;";

/// What the run will back up, asking the server which databases there are.
pub fn plan(config: &mut Config, databases: &Databases, globals: bool) -> Result<RunPlan> {
    let databases = match databases {
        Databases::None => Vec::new(),
        Databases::Listed(names) => names.clone(),
        Databases::All { exclude } => {
            let value = postgres::query_json_prompting(
                &config.programs,
                &mut config.conn,
                config.interactive,
                DATABASES_SQL,
            )
            .with_context(|| {
                format!(
                    "could not list the databases through {}",
                    config.conn.display()
                )
            })?;
            let names: Vec<String> =
                serde_json::from_value(value).context("psql returned unexpected database names")?;
            let patterns: Vec<NamePattern> = exclude.iter().map(|p| NamePattern::new(p)).collect();
            names
                .into_iter()
                .filter(|name| !any_matches(&patterns, name))
                .collect()
        }
    };
    let plan = RunPlan { databases, globals };
    if plan.parts() == 0 {
        return Err(exit::usage(
            "nothing to back up: every database is excluded, and the globals are not asked for",
        ));
    }
    Ok(plan)
}

/// Makes every part of a run; the caller holds the write lock. Fails only when the run
/// cannot start; failed parts are in the outcome.
pub fn run_locked(
    config: &mut Config,
    request: &Request<'_>,
    _lock: &WriteLock,
    progress: ShowProgress<'_>,
) -> Result<Outcome> {
    let interrupt = Interrupt::install()?;
    config.store.sweep()?;
    let plan = plan(config, &request.databases, request.globals)?;
    let tag = RunTag {
        id: new_run_id(config.zone.wall_clock(Utc::now()).naive_local()),
        plan,
    };
    tracing::info!(
        "run {}: {} backups planned{}",
        tag.id,
        tag.plan.parts(),
        if tag.plan.globals {
            " (the globals and each database)"
        } else {
            ""
        }
    );
    let mut outcome = Outcome {
        run: tag.id.clone(),
        complete: false,
        plan: tag.plan.clone(),
        backups: Vec::new(),
        failed: Vec::new(),
    };
    for part in runs::planned_parts(&tag.plan) {
        let mut conn = match &part {
            runs::Part::Database(name) => Some(config.conn.for_database(name)),
            runs::Part::Globals => None,
        };
        let (what, recipe, label) = match (&mut conn, &part) {
            (Some(conn), runs::Part::Database(name)) => {
                (What::Database(conn), request.recipe, name.clone())
            }
            _ => (
                What::Globals {
                    no_role_passwords: request.no_role_passwords,
                },
                request.globals_recipe,
                "globals".to_string(),
            ),
        };
        let made = create::make(
            config,
            Part {
                what,
                recipe,
                description: request.description,
                trigger: request.trigger,
                run: Some(&tag),
            },
            &interrupt,
            progress,
        );
        if let Some(conn) = &conn {
            config.conn.take_password_from(conn);
        }
        match made {
            Ok(entry) => outcome.backups.push(entry),
            Err(err) if is_fatal(&err) => return Err(err),
            Err(err) => {
                tracing::error!("run {}: backup of {part} failed: {err:#}", tag.id);
                outcome.failed.push(Failure {
                    part: label,
                    error: first_line(&err),
                });
            }
        }
    }
    outcome.complete = outcome.failed.is_empty();
    if outcome.backups.is_empty() {
        bail!(
            "run {} made no backup: {}",
            tag.id,
            outcome.error().map(|e| e.to_string()).unwrap_or_default()
        );
    }
    Ok(outcome)
}

/// An interruption or a repository that cannot be written stops the whole run.
fn is_fatal(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Refusal>().is_some() || format!("{err:#}").contains("could not be recorded")
}

/// The failure in one line: the context chain, the program's stderr cut to its last line.
fn first_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head = lines.next().unwrap_or("").trim_end_matches(':').to_string();
    match lines.next_back() {
        Some(last) => format!("{head}: {}", last.trim()),
        None => head,
    }
}
