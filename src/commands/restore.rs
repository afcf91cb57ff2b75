//! `pgbackup restore ID`: check the file, show the plan, confirm, restore into a new
//! database and swap it in.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use serde::Serialize;

use crate::backup::estimate;
use crate::backup::integrity::{self, BackupFile};
use crate::backup::restore::intent::{self, Journal};
use crate::backup::restore::prepass;
use crate::backup::restore::public_schema;
use crate::backup::restore::recovery;
use crate::backup::restore::roles;
use crate::backup::restore::selection;
use crate::backup::restore::selective;
use crate::backup::restore::{self, Plan, PropertiesFrom, Request, Selection};
use crate::catalog::select;
use crate::catalog::{Catalog, Entry};
use crate::cli::RestoreArgs;
use crate::commands::progress::Progress;
use crate::commands::{confirm, present, restore_all, schema_only};
use crate::config::Config;
use crate::exit::{self, Refusal};
use crate::interrupt::Interrupt;
use crate::model::naming::{Format, Kind};
use crate::pg::process::Tool;
use crate::pg::server::Server;
use crate::pg::sql::MAX_NAME_BYTES;
use crate::state::audit;
use crate::state::lock;

/// What `restore --json` prints.
#[derive(Debug, Serialize)]
pub struct RestoreReport {
    pub id: String,
    pub database: String,
    /// The database the restore replaced, under its new name (null when there was none).
    pub previous: Option<String>,
    /// Whether that previous database was dropped (`--drop-previous`) instead of kept.
    pub dropped_previous: bool,
    /// What did not work after the swap, with the SQL to finish it.
    pub notes: Vec<String>,
}

pub fn run(config: &Config, args: &RestoreArgs) -> Result<u8> {
    let chosen = chosen_entry(config, args);
    if let Ok(entry) = &chosen
        && entry.kind == Kind::Globals
        && !entry.is_deleting()
    {
        return restore_all::globals_only(config, args, entry);
    }
    let outcome = restore(config, args, chosen);
    audit::record_outcome(config, &outcome, |r| {
        format!(
            "id={} database={} previous={}{}",
            r.id,
            r.database,
            r.previous.as_deref().unwrap_or("-"),
            if r.dropped_previous {
                " dropped_previous=true"
            } else {
                ""
            }
        )
    });
    let report = outcome?;
    if let Some(kib) = super::create::peak_memory_kib() {
        tracing::debug!("peak memory of pgbackup: {kib} KiB");
    }
    for note in &report.notes {
        tracing::warn!("{note}");
    }
    if config.json {
        present::print_json(&report)?;
    } else {
        let kept = match (&report.previous, report.dropped_previous) {
            (Some(previous), false) => {
                format!("; the previous database is kept as {previous:?}")
            }
            (Some(previous), true) => format!("; the previous database {previous:?} was dropped"),
            (None, _) => String::new(),
        };
        present::print_line(&format!(
            "restored backup {} into database {:?}{kept}",
            report.id, report.database
        ))?;
    }
    Ok(0)
}

/// The backup `args` names, read from the catalog once: a globals backup is restored onto
/// the server, any other into a database.
fn chosen_entry(config: &Config, args: &RestoreArgs) -> Result<Entry> {
    let catalog = Catalog::load(&*config.store)?;
    let entry = select::resolve_kind(
        &catalog,
        &args.id,
        schema_only::latest_kind(args.kind).as_str(),
        config.database_hint.as_deref(),
        &*config.store,
        config.zone,
    )?;
    Ok(entry.clone())
}

fn restore(config: &Config, args: &RestoreArgs, chosen: Result<Entry>) -> Result<RestoreReport> {
    if !config.assume_yes && !config.interactive {
        return Err(Refusal::NotConfirmed(
            "refusing to restore without confirmation: there is no terminal to ask on; \
             pass --yes"
                .to_string(),
        )
        .into());
    }
    let entry = chosen?;
    if entry.is_deleting() {
        return Err(exit::usage(format!("backup {} is being deleted", entry.id)));
    }
    schema_only::check_type(&entry, args.kind)?;
    let mut file = BackupFile::locate(&config.store, &entry, &config.identities)
        .map_err(|problem| anyhow!("cannot restore backup {}: {problem}", entry.id))?;
    file.stage_dir = args.stage_dir.clone();
    // An encrypted file opens with the keys given, before its archive is even listed.
    if let Err(problem) = integrity::check_decryptable(&file) {
        bail!(
            "cannot restore backup {}, so nothing was touched: {problem}",
            entry.id
        );
    }
    let mut selection = selection(args, &file)?;
    if selection.is_partial() {
        // Up front: a selection that matches nothing in the archive is a usage error.
        let toc = selective::read_toc(&config.programs, &file, &Interrupt::untrapped())?;
        selection.toc = Some(selection::resolve(
            &toc,
            &selection.tables,
            &selection.schemas,
        )?);
    }
    let target = target_name(args, &entry)?;
    if target == args.maintenance_db {
        return Err(exit::usage(format!(
            "{target:?} is the maintenance database; connect to another one for the \
             restore with --maintenance-db (e.g. template1)"
        )));
    }
    let scanned_roles = match file.format {
        Format::Plain if entry.sha256.is_some() => {
            let read = check_plain_file(config, &entry, &file, selection.jobs)?;
            selection.plain_plan = read.plan;
            Some(read.roles)
        }
        _ => {
            check_file(config, &entry, &file)?;
            None
        }
    };

    let server = Server::connect(
        &config.programs,
        &config.conn,
        &args.maintenance_db,
        config.interactive,
    )?;
    if recovery::pending(config) {
        // An interrupted restore is finished first, so that the plan sees the databases
        // as they are once it is done.
        drop(recovery::acquire(config)?);
    }
    let asks = config.interactive && !config.assume_yes;
    let warning = schema_only::guard(
        &server,
        &entry,
        args.kind,
        &target,
        selection.is_partial(),
        asks,
    )?;
    selection.recreates_public = public_schema::created_by_dump(&server, &entry)?;
    let existing_roles = roles::existing(&server)?;
    if !selection.is_partial() {
        let read = Read {
            file: &file,
            scanned: scanned_roles,
        };
        check_roles(config, &entry, read, &existing_roles, args.no_owner)?;
    }
    if selection.is_partial() && server.properties(&target)?.is_some() {
        return replace_objects(config, &server, &entry, file, &selection, &target, warning);
    }
    let stamp = config
        .zone
        .wall_clock(Utc::now())
        .format("%Y%m%d_%H%M%S")
        .to_string();
    let plan = restore::plan(
        &server,
        Request {
            entry: &entry,
            file,
            target,
            replace: args.target.is_none() || args.replace,
            drop_previous: args.drop_previous,
            stamp,
            selection,
            existing_roles,
        },
    )?;
    if asks {
        eprintln!("{}", describe(&entry, &plan));
        warning.iter().for_each(|w| eprintln!("{w}"));
    }
    confirm::confirm(config, "Type RESTORE to proceed:", "RESTORE")?;

    let _lock = recovery::acquire(config)?;
    let still_there = Catalog::load(&*config.store)?
        .find(&entry.id)
        .is_some_and(|e| e.filename == entry.filename && e.sha256 == entry.sha256);
    if !still_there {
        bail!(
            "backup {} was deleted or changed while this restore was being prepared; nothing \
             was touched",
            entry.id
        );
    }
    let interrupt = Interrupt::install()?;
    carry_out(config, &server, &entry, &plan, &interrupt)
}

/// Carries out the plan of one database under the lock, recording its intent so that an
/// interrupted restore is finished or undone by the next command.
pub fn carry_out(
    config: &Config,
    server: &Server,
    entry: &Entry,
    plan: &Plan,
    interrupt: &Interrupt,
) -> Result<RestoreReport> {
    let mut journal = Journal::begin(&config.home, restore::intent(server, plan, &entry.id))?;
    let mut progress = Progress::new(config.progress, "restoring", entry.size);
    let clock = Instant::now();
    let restored = restore::execute(server, plan, &mut journal, interrupt, &mut |n| {
        progress.update(n)
    });
    progress.finish();
    let restored = match restored {
        Ok(restored) => {
            log_summary(entry, clock.elapsed());
            restored
        }
        Err(err) if !recovery::safe_after_failure(server, &journal.intent) => {
            return Err(err.context(format!(
                "the next pgbackup command that takes the lock finishes or undoes this restore \
                 (recorded in {})",
                intent::path_in(&config.home).display()
            )));
        }
        Err(err) => {
            clear_intent(config);
            return Err(err);
        }
    };
    clear_intent(config);
    // The previous database is named whether it was kept or dropped.
    let previous = match restored.dropped_previous {
        true => plan.previous.clone(),
        false => restored.previous,
    };
    Ok(RestoreReport {
        id: entry.id.clone(),
        database: restored.database,
        previous,
        dropped_previous: restored.dropped_previous,
        notes: restored.notes,
    })
}

/// Removes the restore's intent once nothing is left to finish. Left behind, it only makes
/// the next command check a restore that is already complete.
fn clear_intent(config: &Config) {
    if let Err(err) = intent::clear(&config.home) {
        tracing::warn!("{err:#}");
    }
}

/// `--table`/`--schema` into an existing database: those objects are dropped and restored
/// from the backup in one transaction, after the same confirmation.
fn replace_objects(
    config: &Config,
    server: &Server,
    entry: &Entry,
    file: BackupFile,
    selection: &Selection,
    target: &str,
    warning: Option<String>,
) -> Result<RestoreReport> {
    let chosen = selection
        .toc
        .as_ref()
        .expect("a partial selection is resolved");
    selective::check(server, target, chosen)?;
    let objects: Vec<String> = chosen
        .dropped
        .iter()
        .map(|t| format!("table {t}"))
        .chain(selection.schemas.iter().map(|s| format!("schema {s}")))
        .collect();
    if config.interactive && !config.assume_yes {
        eprintln!(
            "Restore plan\n  backup:    {} ({})\n  database:  {target:?} (existing)\n  replaces:  {}\n  \
             how:       dropped and restored from the backup in one transaction; everything else is untouched",
            present::printable(&entry.id),
            present::printable(&entry.date),
            present::printable(&objects.join(", "))
        );
        warning.iter().for_each(|w| eprintln!("{w}"));
    }
    confirm::confirm(config, "Type RESTORE to proceed:", "RESTORE")?;
    let _lock = lock::acquire(&config.home, &*config.store, &config.command_line)?;
    let interrupt = Interrupt::install()?;
    let mut progress = Progress::new(config.progress, "restoring", entry.size);
    let clock = Instant::now();
    let replaced = restore::replace_objects(
        server,
        target,
        &file,
        selection,
        entry.sha256.as_deref(),
        &interrupt,
        &mut |n| progress.update(n),
    );
    progress.finish();
    replaced?;
    log_summary(entry, clock.elapsed());
    Ok(RestoreReport {
        id: entry.id.clone(),
        database: target.to_string(),
        previous: None,
        dropped_previous: false,
        notes: vec![format!("replaced {} in {target:?}", objects.join(", "))],
    })
}

/// The backup file, and the roles its statements name when the check of the file found
/// them already (or why it could not).
struct Read<'a> {
    file: &'a BackupFile,
    scanned: Option<Result<roles::Needed, String>>,
}

/// Before anything is created: the server has every role the backup needs (its owners and
/// grantees, unless `--no-owner`; the roles of its policies and user mappings).
fn check_roles(
    config: &Config,
    entry: &Entry,
    read: Read<'_>,
    existing: &BTreeSet<String>,
    no_owner: bool,
) -> Result<()> {
    let needed = match read.scanned {
        Some(scanned) => scanned.map_err(|problem| anyhow!("{problem}")),
        None => {
            let pg_restore = Tool::new(&config.programs.pg_restore);
            roles::read(read.file, &pg_restore, &Interrupt::untrapped())
        }
    };
    let mut needed = needed.map_err(|e| {
        anyhow!(
            "cannot restore backup {}, so nothing was touched: {e:#}",
            entry.id
        )
    })?;
    if let Some(properties) = entry.properties()? {
        for (role, uses) in roles::of_database(properties) {
            needed.entry(role).or_default().extend(uses);
        }
    }
    let missing = roles::missing(&needed, existing, no_owner);
    match missing.is_empty() {
        true => Ok(()),
        false => Err(roles::missing_error(&missing, &entry.id, no_owner)),
    }
}

/// Step 1, before anything is touched: the file is the one the catalog describes.
pub fn check_file(config: &Config, entry: &Entry, file: &BackupFile) -> Result<()> {
    let mut progress = Progress::new(config.progress, "checking", entry.size);
    let remote_folder = file.format == Format::Directory && file.local_path().is_none();
    let findings = match entry.sha256 {
        // Downloaded once into the local copy that the role check and pg_restore read.
        _ if remote_folder => {
            let fetched = integrity::fetch_checked(entry, file, &mut |n| progress.update(n));
            progress.finish();
            fetched.map_err(|err| {
                anyhow!(
                    "cannot restore backup {}, so nothing was touched: {err:#}",
                    entry.id
                )
            })?
        }
        Some(_) => integrity::check_checksum(entry, file, &mut |n| progress.update(n)),
        None => integrity::check_everything(
            entry,
            file,
            &config.programs,
            &Interrupt::untrapped(),
            false,
            &mut |n| progress.update(n),
        )?,
    };
    progress.finish();
    refuse_unless_intact(entry, &findings)
}

/// Step 1 for a plain backup with a checksum: the file is the one the catalog describes,
/// and the same read finds the roles its statements name and, with `--jobs`, plans the
/// parallel load.
fn check_plain_file(
    config: &Config,
    entry: &Entry,
    file: &BackupFile,
    jobs: Option<u32>,
) -> Result<prepass::Read> {
    let mut progress = Progress::new(config.progress, "checking", entry.size);
    let plan = jobs.is_some_and(|j| j > 1);
    let read = prepass::read(entry, file, plan, &mut |n| progress.update(n));
    progress.finish();
    refuse_unless_intact(entry, &read.findings)?;
    Ok(read)
}

fn refuse_unless_intact(entry: &Entry, findings: &integrity::Findings) -> Result<()> {
    if !findings.is_ok() {
        bail!(
            "backup {} failed its integrity check, so nothing was touched:\n  - {}",
            entry.id,
            findings.problems.join("\n  - ")
        );
    }
    for warning in &findings.warnings {
        tracing::warn!("backup {}: {warning}", entry.id);
    }
    Ok(())
}

/// The database the restore replaces or creates.
fn target_name(args: &RestoreArgs, entry: &Entry) -> Result<String> {
    let target = match &args.target {
        Some(target) => target.clone(),
        None if !entry.database.is_empty() => entry.database.clone(),
        None => {
            return Err(exit::usage(format!(
                "backup {} does not say which database it was made from; choose the \
                 database to restore into with --target NAME",
                entry.id
            )));
        }
    };
    if target.is_empty() || target.len() > MAX_NAME_BYTES {
        return Err(exit::usage(format!(
            "{target:?} is not a database name PostgreSQL accepts (1 to {MAX_NAME_BYTES} bytes)"
        )));
    }
    Ok(target)
}

/// pg_restore's options, refused where they would not do what they say.
fn selection(args: &RestoreArgs, file: &BackupFile) -> Result<Selection> {
    let partial = !args.table.is_empty() || !args.schema.is_empty();
    if partial && file.format == Format::Directory {
        return Err(exit::usage(
            "--table and --schema are not supported for directory-format backups yet: \
             restore the whole backup into another database with --target NAME",
        ));
    }
    if partial && file.format != Format::Custom {
        return Err(exit::usage(
            "--table and --schema need a custom-format backup (pgbackup create --format custom)",
        ));
    }
    if args.jobs.is_some() && args.no_owner && file.format == Format::Plain {
        return Err(exit::usage(
            "--jobs and --no-owner do not go together for a plain backup yet; restore it \
             with one of them",
        ));
    }
    if partial && (args.replace || args.drop_previous || args.jobs.is_some()) {
        return Err(exit::usage(
            "--table and --schema replace objects inside a database in one transaction; \
             they do not go with --replace, --drop-previous or --jobs",
        ));
    }
    if args.jobs.is_some()
        && file.format == Format::Custom
        && file.chain.is_encrypted()
        && args.stage_dir.is_none()
    {
        return Err(exit::usage(
            "the backup is encrypted, and pg_restore --jobs needs a file it can seek in, so \
             the decrypted archive would be written to disk: pass --stage-dir DIR to stage \
             it in a private folder there (removed afterwards), or restore without --jobs",
        ));
    }
    Ok(Selection {
        jobs: args.jobs,
        stage_dir: args.stage_dir.clone(),
        tables: args.table.clone(),
        schemas: args.schema.clone(),
        in_place: false,
        toc: None,
        no_owner: args.no_owner,
        recreates_public: false,
        plain_plan: None,
    })
}

/// The plan for the operator, shown before asking for `RESTORE`.
pub fn describe(entry: &Entry, plan: &Plan) -> String {
    let current = match (&plan.previous, plan.drop_previous) {
        (None, _) => format!("none: {:?} is created", plan.target),
        (Some(previous), false) => format!(
            "{:?} is renamed to {previous:?} and kept; its sessions are ended at the swap",
            plan.target
        ),
        (Some(_), true) => format!(
            "{:?} is DROPPED after the swap (--drop-previous); its sessions are ended",
            plan.target
        ),
    };
    let properties = match &plan.properties_from {
        PropertiesFrom::Backup => "as recorded at backup time".to_string(),
        PropertiesFrom::Database(name) => format!("copied from database {name:?}"),
        PropertiesFrom::ServerDefaults => "the server's defaults".to_string(),
    };
    let rows = [
        (
            "backup",
            format!(
                "{} ({}, {})",
                entry.id,
                entry.kind,
                present::human_size(entry.size)
            ),
        ),
        (
            "made",
            entry.date.replace('T', " ").chars().take(19).collect(),
        ),
        ("source database", entry.database.clone()),
        ("target database", plan.target.clone()),
        ("current database", current),
        ("loaded first into", plan.staging.clone()),
        ("owner, locale, ACL", properties),
    ];
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let mut text = String::from("Restore plan:");
    for (key, value) in rows {
        text += &format!("\n  {key:<width$}  {}", present::printable(&value));
    }
    text
}

/// The one line at info level that says how much of the stored file was read, how fast.
fn log_summary(entry: &Entry, took: Duration) {
    tracing::info!(
        "restored backup {}: read {}",
        entry.id,
        estimate::summary(entry.size, took)
    );
}
