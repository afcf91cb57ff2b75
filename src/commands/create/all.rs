//! `pgbackup create --all-databases` and `create --globals`: the whole server (or its
//! globals) in one run; exits non-zero naming what failed when a part did.

use anyhow::Result;

use super::check_description;
use crate::backup::create::Recipe;
use crate::backup::estimate::Estimate;
use crate::backup::restore::recovery;
use crate::backup::server_run::{self, Databases, Outcome, Request};
use crate::catalog::Entry;
use crate::cli::CreateArgs;
use crate::commands::present;
use crate::config::Config;
use crate::exit;
use crate::model::naming::Kind;
use crate::notify;
use crate::state::audit;

pub fn run(config: &mut Config, args: &CreateArgs) -> Result<u8> {
    if args.all_databases && args.kind == Kind::Globals {
        return Err(exit::usage(
            "--type globals is the globals alone (as --globals); --all-databases backs up \
             the globals anyway, with --type full or schema for the databases",
        ));
    }
    let globals_only = args.globals || args.kind == Kind::Globals;
    let recipe = Recipe::from_args(args, config)?;
    if globals_only && !recipe.filters.is_empty() {
        return Err(exit::usage(
            "pg_dump filters (--schema, --exclude-table, --no-owner…) apply to databases, \
             not to the globals: leave them out, or use --all-databases",
        ));
    }
    check_description(&args.description)?;
    config.warn_if_schedule_damaged("backup names and dates");
    let globals_recipe = recipe.for_globals(args.compression, args.no_compress);
    let request = Request {
        databases: match globals_only {
            true => Databases::None,
            false => Databases::All {
                exclude: args.exclude_database.clone(),
            },
        },
        globals: true,
        no_role_passwords: args.no_role_passwords,
        recipe: &recipe,
        globals_recipe: &globals_recipe,
        description: &args.description,
        trigger: "manual",
    };
    let visible = config.progress;
    let progress = move |message: &str, estimate: Option<Estimate>| {
        present::progress_bar(visible, message, estimate)
    };
    let channels = match args.no_notify {
        true => Default::default(),
        false => config.notify.clone(),
    };
    let hooks = config.hooks.clone();
    let run = notify::Run::start(config, "create", &channels, &hooks, false);
    let outcome = recovery::lock_home(config).and_then(|lock| {
        run.pre_hook()?;
        server_run::run_locked(config, &request, &lock, &progress)
    });
    // A run with a failed part is told as failed, with the parts it did make.
    let made: Vec<Entry> = (outcome.as_ref()).map_or_else(|_| Vec::new(), |o| o.backups.clone());
    let incomplete = outcome.as_ref().ok().and_then(Outcome::error);
    let error = outcome.as_ref().err().or(incomplete.as_ref());
    let posted = match outcome.is_ok() {
        true => run.post_hook(&made, None, error),
        false => Ok(()),
    };
    let warnings = run.finish(&made, error.or(posted.as_ref().err()));
    let outcome = outcome.inspect_err(|err| {
        let failed = Err(anyhow::anyhow!("{err:#}"));
        audit::record_outcome_noting::<()>(config, &failed, |_| String::new(), &warnings);
    })?;
    // An incomplete run is a failure in the audit log too, with what it did record.
    let ids: Vec<&str> = outcome.backups.iter().map(|e| e.id.as_str()).collect();
    let done = format!("run={} ids={}", outcome.run, ids.join(","));
    let judged = match &incomplete {
        Some(err) => Err(anyhow::anyhow!("{err}; recorded {done}")),
        None => Ok(()),
    };
    audit::record_outcome_noting(config, &judged, |()| done.clone(), &warnings);
    print(config, &outcome)?;
    let result = match incomplete {
        Some(err) => Err(err),
        None => Ok(0),
    };
    notify::after_post_hook(result, posted, &made)
}

fn print(config: &Config, outcome: &Outcome) -> Result<()> {
    if config.json {
        return present::print_json(outcome);
    }
    for entry in &outcome.backups {
        let of = match entry.kind == Kind::Globals {
            true => "the globals".to_string(),
            false => entry.database.clone(),
        };
        present::print_line(&format!(
            "created backup {} of {of} ({}, {})",
            entry.id,
            entry.filename,
            present::human_size(entry.size)
        ))?;
    }
    let size: u64 = outcome.backups.iter().map(|e| e.size).sum();
    present::print_line(&format!(
        "run {}: {} of {} backups, {}{}",
        outcome.run,
        outcome.backups.len(),
        outcome.plan.parts(),
        present::human_size(size),
        if outcome.complete {
            ", complete"
        } else {
            ", INCOMPLETE"
        }
    ))
}
