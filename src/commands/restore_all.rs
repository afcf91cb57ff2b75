//! `pgbackup restore --all-databases RUN|latest`: a whole run onto the server pgbackup
//! connects to, new or existing: the globals first, then each database with the same
//! new-database-then-swap as `restore ID`. One database that fails does not undo the
//! others; the command then exits non-zero naming it. Also `restore ID` of a globals backup.

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use serde::Serialize;

use crate::backup::integrity::{self, BackupFile};
use crate::backup::restore::globals::{self, GlobalsApplied, GlobalsPlan};
use crate::backup::restore::public_schema;
use crate::backup::restore::recovery;
use crate::backup::restore::roles;
use crate::backup::restore::{self, Plan, Request, Selection};
use crate::catalog::runs::{self, Part};
use crate::catalog::{Catalog, Entry};
use crate::cli::RestoreArgs;
use crate::commands::restore::{RestoreReport, carry_out, check_file, describe};
use crate::commands::{confirm, present};
use crate::config::Config;
use crate::exit::{self, Refusal};
use crate::interrupt::Interrupt;
use crate::pg::server::Server;
use crate::state::audit;

/// The globals part of a restore, as `restore --json` prints it.
#[derive(Debug, Serialize)]
pub struct GlobalsReport {
    pub id: String,
    #[serde(flatten)]
    pub applied: GlobalsApplied,
}

/// A database of the run that could not be restored.
#[derive(Debug, Serialize)]
pub struct FailedDatabase {
    pub id: String,
    pub database: String,
    pub error: String,
}

/// What `restore --all-databases --json` prints.
#[derive(Debug, Serialize)]
pub struct RunRestoreReport {
    pub run: String,
    /// Parts the run planned but does not have (an incomplete run named explicitly).
    pub missing_parts: Vec<String>,
    pub globals: Option<GlobalsReport>,
    pub databases: Vec<RestoreReport>,
    pub failed: Vec<FailedDatabase>,
}

pub fn run(config: &Config, args: &RestoreArgs) -> Result<u8> {
    let outcome = restore_run(config, args);
    audit::record_outcome(config, &outcome, |r| {
        let names = |list: Vec<&str>| match list.is_empty() {
            true => "-".to_string(),
            false => list.join(","),
        };
        format!(
            "run={} restored={} failed={}",
            r.run,
            names(r.databases.iter().map(|d| d.database.as_str()).collect()),
            names(r.failed.iter().map(|d| d.database.as_str()).collect())
        )
    });
    let report = outcome?;
    if config.json {
        present::print_json(&report)?;
    } else {
        if let Some(globals) = &report.globals {
            print_globals(globals)?;
        }
        for restored in &report.databases {
            for note in &restored.notes {
                tracing::warn!("{note}");
            }
            let kept = match (&restored.previous, restored.dropped_previous) {
                (Some(previous), false) => format!("; the previous one is kept as {previous:?}"),
                (Some(previous), true) => format!("; the previous one ({previous:?}) was dropped"),
                (None, _) => String::new(),
            };
            present::print_line(&format!(
                "restored database {:?} from backup {}{kept}",
                restored.database, restored.id
            ))?;
        }
    }
    for failed in &report.failed {
        eprintln!(
            "error: database {:?} (backup {}) was not restored: {}",
            failed.database, failed.id, failed.error
        );
    }
    if !report.failed.is_empty() {
        let names: Vec<String> = report
            .failed
            .iter()
            .map(|f| format!("{:?}", f.database))
            .collect();
        bail!(
            "restore of run {} failed for {}; the other databases were restored",
            report.run,
            names.join(", ")
        );
    }
    Ok(0)
}

fn print_globals(globals: &GlobalsReport) -> Result<()> {
    let list = |names: &[String]| match names.is_empty() {
        true => "none".to_string(),
        false => names.join(", "),
    };
    let applied = &globals.applied;
    present::print_line(&format!(
        "restored globals {}: created roles: {}; kept existing roles: {}",
        globals.id,
        list(&applied.created_roles),
        list(&applied.kept_roles)
    ))?;
    if !applied.created_tablespaces.is_empty() || !applied.kept_tablespaces.is_empty() {
        present::print_line(&format!(
            "tablespaces: created: {}; kept existing: {}",
            list(&applied.created_tablespaces),
            list(&applied.kept_tablespaces)
        ))?;
    }
    Ok(())
}

fn refuse_unconfirmed(config: &Config) -> Result<()> {
    if !config.assume_yes && !config.interactive {
        return Err(Refusal::NotConfirmed(
            "refusing to restore without confirmation: there is no terminal to ask on; \
             pass --yes"
                .to_string(),
        )
        .into());
    }
    Ok(())
}

/// A backup's file, checked (decryptable, checksum) before anything is touched.
fn checked_file(config: &Config, entry: &Entry) -> Result<BackupFile> {
    let file = BackupFile::locate(&config.store, entry, &config.identities)
        .map_err(|problem| anyhow!("cannot restore backup {}: {problem}", entry.id))?;
    checked(config, entry, file)
}

/// [`checked_file`] of a file already located.
fn checked(config: &Config, entry: &Entry, file: BackupFile) -> Result<BackupFile> {
    if let Err(problem) = integrity::check_decryptable(&file) {
        bail!(
            "cannot restore backup {}, so nothing was touched: {problem}",
            entry.id
        );
    }
    check_file(config, entry, &file)?;
    Ok(file)
}

/// The decoded text of a globals backup, whose bytes are those the catalog recorded.
fn globals_text(entry: &Entry, file: &BackupFile) -> Result<String> {
    let mut text = Vec::new();
    let scan = file
        .stream(&file.chain, &mut text, &mut |_| {})
        .map_err(|_| anyhow!("could not read or decode {}", file.describe()))?;
    if let Some(expected) = &entry.sha256
        && !scan.sha256.eq_ignore_ascii_case(expected)
    {
        bail!(
            "the backup file {} changed while it was read: nothing was touched",
            file.describe()
        );
    }
    String::from_utf8(text).map_err(|_| anyhow!("{} is not UTF-8 text", file.describe()))
}

/// What a globals backup would do on `server`; checks tablespace locations. Changes nothing.
fn plan_globals(server: &Server, entry: &Entry, file: &BackupFile) -> Result<GlobalsPlan> {
    if entry.no_role_passwords == Some(true) {
        tracing::warn!(
            "globals backup {} was made without role passwords: the roles it creates have \
             none (set them with ALTER ROLE … PASSWORD)",
            entry.id
        );
    }
    let text = globals_text(entry, file)?;
    let plan = globals::plan(
        &text,
        &roles::existing(server)?,
        &globals::existing_tablespaces(server)?,
    )?;
    globals::check_locations(server, &plan)?;
    Ok(plan)
}

fn globals_summary(plan: &GlobalsPlan) -> String {
    let list = |names: &[String]| match names.is_empty() {
        true => "none".to_string(),
        false => names.join(", "),
    };
    format!(
        "  roles created:         {}\n  roles kept as they are: {}\n  tablespaces created:   {}",
        list(&plan.created_roles),
        list(&plan.kept_roles),
        list(
            &plan
                .tablespaces
                .iter()
                .map(|t| format!("{} ({})", t.name, t.location))
                .collect::<Vec<_>>()
        )
    )
}

/// `restore ID` of a globals backup: its roles and tablespaces onto the server.
pub fn globals_only(config: &Config, args: &RestoreArgs, entry: &Entry) -> Result<u8> {
    let outcome = (|| {
        let database_only = args.target.is_some()
            || args.replace
            || args.no_owner
            || args.jobs.is_some()
            || !args.table.is_empty()
            || !args.schema.is_empty();
        if database_only {
            return Err(exit::usage(format!(
                "backup {} holds the server's globals (roles, memberships, tablespaces), which \
                 are restored onto the server: --target, --replace, --no-owner, --jobs, \
                 --table and --schema do not apply",
                entry.id
            )));
        }
        refuse_unconfirmed(config)?;
        let file = checked_file(config, entry)?;
        let server = Server::connect(
            &config.programs,
            &config.conn,
            &args.maintenance_db,
            config.interactive,
        )?;
        let plan = plan_globals(&server, entry, &file)?;
        if config.interactive && !config.assume_yes {
            eprintln!(
                "Restore plan\n  backup: {} (globals)\n{}",
                present::printable(&entry.id),
                present::printable(&globals_summary(&plan))
            );
        }
        confirm::confirm(config, "Type RESTORE to proceed:", "RESTORE")?;
        let _lock = recovery::acquire(config)?;
        Ok(GlobalsReport {
            id: entry.id.clone(),
            applied: globals::apply(&server, &plan)?,
        })
    })();
    audit::record_outcome(config, &outcome, |r| {
        format!(
            "id={} globals created_roles={}",
            r.id,
            r.applied.created_roles.len()
        )
    });
    let report = outcome?;
    match config.json {
        true => present::print_json(&report)?,
        false => print_globals(&report)?,
    }
    Ok(0)
}

fn restore_run(config: &Config, args: &RestoreArgs) -> Result<RunRestoreReport> {
    refuse_unconfirmed(config)?;
    let catalog = Catalog::load(&*config.store)?;
    let all = runs::group(catalog.backups.iter().filter(|e| !e.is_deleting()));
    let run = runs::resolve(&all, &args.id)?;
    if args.id == "latest" {
        // `all` is newest first: anything before the run chosen is newer and incomplete.
        let newer: Vec<&str> = all
            .iter()
            .take_while(|r| r.id != run.id)
            .map(|r| r.id.as_str())
            .collect();
        if !newer.is_empty() {
            tracing::warn!(
                "restoring run {}, the newest complete one; newer runs are incomplete: {} \
                 (name one to restore what it has)",
                run.id,
                newer.join(", ")
            );
        }
    }
    let missing: Vec<String> = run.missing().iter().map(Part::to_string).collect();
    if !missing.is_empty() {
        tracing::warn!(
            "run {} is incomplete: it has no backup of {}; restoring the parts it has",
            run.id,
            missing.join(", ")
        );
    }
    let mut databases = run.databases();
    if !args.databases.is_empty() {
        let unknown: Vec<&String> = args
            .databases
            .iter()
            .filter(|name| !databases.iter().any(|e| e.database == **name))
            .collect();
        if !unknown.is_empty() {
            let present: Vec<&str> = databases.iter().map(|e| e.database.as_str()).collect();
            return Err(exit::usage(format!(
                "run {} has no backup of {:?} (it has {})",
                run.id,
                unknown,
                present.join(", ")
            )));
        }
        databases.retain(|e| args.databases.contains(&e.database));
    }
    let globals_entry = run.globals();
    if globals_entry.is_none() {
        tracing::warn!(
            "run {} has no globals backup: the roles the databases need must exist",
            run.id
        );
    }
    let globals_file = globals_entry
        .map(|entry| checked_file(config, entry))
        .transpose()?;
    let mut files = Vec::new();
    for entry in &databases {
        let mut file = BackupFile::locate(&config.store, entry, &config.identities)
            .map_err(|problem| anyhow!("cannot restore backup {}: {problem}", entry.id))?;
        file.stage_dir = args.stage_dir.clone();
        files.push(((*entry).clone(), checked(config, entry, file)?));
    }

    let server = Server::connect(
        &config.programs,
        &config.conn,
        &args.maintenance_db,
        config.interactive,
    )?;
    // The maintenance database itself is restored from another one.
    let other = if databases.iter().any(|e| e.database == args.maintenance_db) {
        let other = if args.maintenance_db == "template1" {
            "postgres"
        } else {
            "template1"
        };
        Some(Server::connect(
            &config.programs,
            &config.conn,
            other,
            config.interactive,
        )?)
    } else {
        None
    };
    if recovery::pending(config) {
        drop(recovery::acquire(config)?);
    }
    let globals_plan = match (globals_entry, &globals_file) {
        (Some(entry), Some(file)) => Some(plan_globals(&server, entry, file)?),
        _ => None,
    };
    let existing_roles = roles::existing(&server)?;
    let stamp = config
        .zone
        .wall_clock(Utc::now())
        .format("%Y%m%d_%H%M%S")
        .to_string();
    let mut plans: Vec<(Entry, Plan, &Server)> = Vec::new();
    for (entry, file) in files {
        let on = match &other {
            Some(other) if entry.database == args.maintenance_db => other,
            _ => &server,
        };
        let plan = restore::plan(
            on,
            Request {
                entry: &entry,
                file,
                target: entry.database.clone(),
                replace: true,
                drop_previous: args.drop_previous,
                stamp: stamp.clone(),
                selection: Selection {
                    jobs: args.jobs,
                    stage_dir: args.stage_dir.clone(),
                    recreates_public: public_schema::created_by_dump(on, &entry)?,
                    ..Selection::default()
                },
                existing_roles: existing_roles.clone(),
            },
        )?;
        plans.push((entry, plan, on));
    }
    if config.interactive && !config.assume_yes {
        eprintln!("Restore of run {}", present::printable(&run.id));
        if let Some(plan) = &globals_plan {
            eprintln!("{}", present::printable(&globals_summary(plan)));
        }
        for (entry, plan, _) in &plans {
            eprintln!("{}", describe(entry, plan));
        }
    }
    confirm::confirm(config, "Type RESTORE to proceed:", "RESTORE")?;

    let _lock = recovery::acquire(config)?;
    let interrupt = Interrupt::install()?;
    let globals = match (globals_entry, &globals_plan) {
        (Some(entry), Some(plan)) => {
            let applied = globals::apply(&server, plan)
                .map_err(|err| err.context("no database was restored"))?;
            Some(GlobalsReport {
                id: entry.id.clone(),
                applied,
            })
        }
        _ => None,
    };
    let mut report = RunRestoreReport {
        run: run.id.clone(),
        missing_parts: missing,
        globals,
        databases: Vec::new(),
        failed: Vec::new(),
    };
    for (entry, plan, on) in &plans {
        interrupt.check()?;
        match carry_out(config, on, entry, plan, &interrupt) {
            Ok(restored) => report.databases.push(restored),
            Err(err) => report.failed.push(FailedDatabase {
                id: entry.id.clone(),
                database: entry.database.clone(),
                error: format!("{err:#}"),
            }),
        }
    }
    Ok(report)
}
