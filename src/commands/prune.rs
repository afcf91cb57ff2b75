//! `pgbackup prune`: apply the retention policy (flags, else backup_schedule.json).

use anyhow::Result;
use chrono::Utc;
use serde::Serialize;

use crate::backup::restore::recovery;
use crate::catalog::removal::Removed;
use crate::catalog::{Catalog, inventory};
use crate::cli::PruneArgs;
use crate::commands::present;
use crate::config::Config;
use crate::exit;
use crate::policy::prune::{self, Plan};
use crate::state::audit;
use crate::state::schedule_file;

#[derive(Serialize)]
struct Report<'a> {
    dry_run: bool,
    #[serde(flatten)]
    plan: &'a Plan,
}

pub fn run(config: &Config, args: &PruneArgs) -> Result<u8> {
    let spec = if args.keep.is_unset() {
        schedule_file::load(&config.schedule_path)?.retention
    } else {
        config.warn_if_schedule_damaged("retention buckets");
        args.keep.clone()
    };
    let policy = spec.to_policy().map_err(exit::usage)?;
    if args.dry_run {
        let catalog = Catalog::load(&*config.store)?;
        let plan = prune::plan(
            &inventory::of_store(&catalog, &*config.store)?,
            &policy,
            config.zone,
            Utc::now(),
            None,
        );
        return print(config, &plan, true, &[]);
    }
    let outcome = recovery::lock_home(config)
        .and_then(|_lock| prune::apply(&*config.store, &policy, config.zone, Utc::now(), None));
    audit::record_outcome(config, &outcome, |(plan, _)| {
        format!("kept={} removed={}", plan.keep.len(), plan.remove.len())
    });
    let (plan, removed) = outcome?;
    print(config, &plan, false, &removed)
}

fn print(config: &Config, plan: &Plan, dry_run: bool, removed: &[Removed]) -> Result<u8> {
    for r in removed {
        if let Removed::EntryOnly { id, reason } = r {
            tracing::warn!("backup {id}: {reason}; its file was left alone");
        }
    }
    if config.json {
        return present::print_json(&Report { dry_run, plan }).map(|()| 0);
    }
    let mut kept = present::table(&["Keep", "Date", "Database", "Type", "Reasons"]);
    for k in &plan.keep {
        kept.add_row(present::row([
            &k.id,
            &k.date,
            &k.database,
            &k.kind,
            &k.reasons.join(", "),
        ]));
    }
    // The ID and type never wrap; the date (which the ID carries) gives way first.
    present::fit(&mut kept, &[0, 3], &[1]);
    present::print_line(&kept.to_string())?;
    if plan.remove.is_empty() {
        present::print_line("nothing to remove")?;
        return Ok(0);
    }
    let mut gone = present::table(&[
        if dry_run { "Would remove" } else { "Removed" },
        "Date",
        "Database",
        "Type",
    ]);
    for d in &plan.remove {
        gone.add_row(present::row([&d.id, &d.date, &d.database, &d.kind]));
    }
    present::fit(&mut gone, &[0, 3], &[1]);
    present::print_line(&gone.to_string())?;
    Ok(0)
}
