//! `pgbackup create --all-databases` and `create --globals`: the whole server (or its
//! globals) in one run; exits non-zero naming what failed when a part did.

use anyhow::Result;

use crate::backup::create::Recipe;
use crate::backup::restore::recovery;
use crate::backup::server_run::{self, Databases, Outcome, Request};
use crate::cli::CreateArgs;
use crate::commands::create::check_description;
use crate::commands::present;
use crate::config::Config;
use crate::exit;
use crate::model::naming::Kind;
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
    let interactive = config.interactive;
    let progress = move |message: &str| present::progress_bar(interactive, message);
    let outcome = recovery::lock_home(config)
        .and_then(|lock| server_run::run_locked(config, &request, &lock, &progress));
    audit::record_outcome(config, &outcome, |o| {
        let ids: Vec<&str> = o.backups.iter().map(|e| e.id.as_str()).collect();
        format!(
            "run={} complete={} ids={} failed={}",
            o.run,
            o.complete,
            ids.join(","),
            o.failed.len()
        )
    });
    let outcome = outcome?;
    print(config, &outcome)?;
    match outcome.error() {
        Some(err) => Err(err),
        None => Ok(0),
    }
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
