//! `pgbackup create`: dump one database into a new, cataloged backup; `all` makes the
//! whole server's (`--all-databases`, `--globals`).

use anyhow::Result;

use crate::backup::create::{self, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, Recipe};
use crate::backup::estimate::Estimate;
use crate::cli::{CreateArgs, FilterArgs};
use crate::codec::Recipients;
use crate::commands::present;
use crate::config::Config;
use crate::exit;
use crate::model::filters::DumpFilters;
use crate::model::naming::{Compression, Format, Kind};
use crate::notify;
use crate::state::audit;

mod all;

/// The longest `--description` stored, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

impl Recipe {
    pub fn from_args(args: &CreateArgs, config: &Config) -> Result<Recipe> {
        let format = args.format;
        let compression = match (args.no_compress, args.compression, format) {
            (true, _, _) => Compression::None,
            (false, Some(compression), _) => compression,
            (false, None, Format::Plain | Format::Directory) => Compression::Gzip,
            (false, None, Format::Custom) => Compression::None,
        };
        // A custom archive without --compression is compressed by pg_dump itself.
        let by_pg_dump =
            format == Format::Custom && args.compression.is_none() && !args.no_compress;
        let pg_dump_level = match args.level {
            Some(level) if by_pg_dump && level > 9 => {
                return Err(exit::usage(format!(
                    "--level {level}: pg_dump compresses a custom archive with gzip levels 0 \
                     to 9 (or choose --compression zstd)"
                )));
            }
            Some(level) if by_pg_dump => Some(level),
            _ => None,
        };
        let level = match (compression, args.level) {
            (Compression::None, Some(_)) if !by_pg_dump => {
                return Err(exit::usage("--level needs compression"));
            }
            (Compression::Gzip, Some(level)) if !(1..=9).contains(&level) => {
                return Err(exit::usage(format!(
                    "--level {level}: gzip levels are 1 to 9"
                )));
            }
            (Compression::Zstd, Some(level)) if !(1..=19).contains(&level) => {
                return Err(exit::usage(format!(
                    "--level {level}: zstd levels are 1 to 19"
                )));
            }
            (_, Some(level)) => level,
            (Compression::Zstd, None) => DEFAULT_ZSTD_LEVEL,
            (_, None) => DEFAULT_GZIP_LEVEL,
        };
        if args.jobs.is_some() && format != Format::Directory {
            return Err(exit::usage(
                "--jobs dumps tables in parallel, which only pg_dump's directory format can: \
                 add --format directory",
            ));
        }
        let level = match (format, args.level) {
            (Format::Directory, Some(level)) if compression == Compression::Gzip && level > 9 => {
                return Err(exit::usage(format!(
                    "--level {level}: gzip levels are 1 to 9"
                )));
            }
            _ => level,
        };
        let encryption = encryption(args, config)?;
        if format == Format::Directory && encryption.is_some() {
            return Err(exit::usage(
                "directory-format backups cannot be encrypted yet: leave out the recipients \
                 or passphrase, or use --format custom",
            ));
        }
        Ok(Recipe {
            kind: args.kind,
            format,
            compression,
            level,
            pg_dump_level,
            jobs: args.jobs,
            encryption,
            filters: filters(&args.filters)?,
        })
    }
}

pub fn run(config: &mut Config, args: &CreateArgs) -> Result<u8> {
    if args.all_databases || args.globals || args.kind == Kind::Globals {
        return all::run(config, args);
    }
    if args.no_role_passwords {
        return Err(exit::usage(
            "--no-role-passwords applies to the globals: add --all-databases or --globals",
        ));
    }
    let recipe = Recipe::from_args(args, config)?;
    check_description(&args.description)?;
    config.warn_if_schedule_damaged("backup names and dates");
    if config.schedule_damage.is_some() {
        tracing::warn!("no hooks run and no one is notified until the schedule file is repaired");
    }
    let visible = config.progress;
    let progress = move |message: &str, estimate: Option<Estimate>| {
        present::progress_bar(visible, message, estimate)
    };
    let first_run = !config.home.exists();
    let notify = match args.no_notify {
        true => Default::default(),
        false => config.notify.clone(),
    };
    let hooks = config.hooks.clone();
    let run = notify::Run::start(config, "create", &notify, &hooks, false);
    let hooked = create::create_hooked(config, recipe, &args.description, &run, &progress);
    let (outcome, entry) = (hooked.outcome, hooked.made);
    let warnings = run.finish(entry.as_slice(), outcome.as_ref().err());
    if first_run && outcome.is_err() {
        remove_fresh_home(&config.home);
    } else {
        audit::record_outcome_noting(
            config,
            &outcome,
            |e| format!("id={} file={}", e.id, e.filename),
            &warnings,
        );
    }
    let entry = outcome?;
    if let Some(kib) = peak_memory_kib() {
        tracing::debug!("peak memory of pgbackup: {kib} KiB");
    }
    if config.json {
        present::print_json(&entry)?;
    } else {
        present::print_line(&format!(
            "created backup {} of {} ({}, {})",
            entry.id,
            entry.database,
            entry.filename,
            present::human_size(entry.size)
        ))?;
    }
    Ok(0)
}

/// After a failed first run, removes the home it made, so that nothing is left behind:
/// only when it holds nothing but empty backups/ and logs/ folders, the lock file and an
/// empty catalog or log (never a backup file).
fn remove_fresh_home(home: &std::path::Path) {
    let only_scaffolding = |dir: &std::path::Path, allowed: &[&str]| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().all(|entry| {
                let name = entry.file_name();
                allowed.iter().any(|a| name == *a)
            })
        })
    };
    let fresh = only_scaffolding(home, &["backups", "logs"])
        && (!home.join("backups").exists()
            || only_scaffolding(&home.join("backups"), &[".lock", "backup_metadata.json"]))
        && (!home.join("logs").exists() || only_scaffolding(&home.join("logs"), &["pgbackup.log"]));
    let catalog = home.join("backups/backup_metadata.json");
    let empty_catalog = std::fs::read_to_string(&catalog)
        .map(|text| text.trim().is_empty() || text.trim() == "[]")
        .unwrap_or(true);
    if fresh
        && empty_catalog
        && let Err(err) = std::fs::remove_dir_all(home)
    {
        tracing::warn!("could not remove {}: {err}", home.display());
    }
}

pub fn check_description(description: &str) -> Result<()> {
    let length = description.chars().count();
    if length > MAX_DESCRIPTION_CHARS {
        return Err(exit::usage(format!(
            "--description is {length} characters long; at most {MAX_DESCRIPTION_CHARS} are stored"
        )));
    }
    Ok(())
}

/// The pg_dump filter flags, checked and normalized.
pub fn filters(args: &FilterArgs) -> Result<DumpFilters> {
    let parts = DumpFilters {
        schemas: args.schemas.clone(),
        exclude_schemas: args.exclude_schemas.clone(),
        tables: args.tables.clone(),
        exclude_tables: args.exclude_tables.clone(),
        exclude_table_data: args.exclude_table_data.clone(),
        no_owner: args.no_owner,
        no_privileges: args.no_privileges,
    };
    DumpFilters::from_parts(parts).map_err(exit::usage)
}

/// `--recipient` and `--recipients-file`, or the `--passphrase-file`'s passphrase (age
/// does not mix the two).
fn encryption(args: &CreateArgs, config: &Config) -> Result<Option<Recipients>> {
    let keys = Recipients::parse(&args.recipients, &args.recipients_files)
        .map_err(|err| exit::usage(format!("{err:#}")))?;
    match (keys, &config.passphrase) {
        (Some(_), Some(_)) => Err(exit::usage(
            "--passphrase-file does not go with --recipient or --recipients-file: age \
             encrypts either to public keys or with a passphrase",
        )),
        (Some(keys), None) => Ok(Some(keys)),
        (None, Some(passphrase)) => Ok(Some(Recipients::Passphrase(passphrase.clone()))),
        (None, None) => Ok(None),
    }
}

/// This process's peak resident memory (VmHWM), for benchmarks.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
