//! Making a backup: dump one database through the store into a new file, then record it
//! in its metadata file and the catalog; nothing is recorded when the dump fails.

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use indicatif::ProgressBar;

use crate::backup::directory;
use crate::backup::estimate::{self, Estimate};
use crate::backup::globals;
use crate::backup::restore::recovery;
use crate::catalog::Encryption;
use crate::catalog::manifest;
use crate::catalog::sidecar;
use crate::catalog::{Catalog, Entry};
use crate::codec::{Chain, Recipients, Settings};
use crate::config::Config;
use crate::interrupt::Interrupt;
use crate::model::filters::DumpFilters;
use crate::model::naming::{self, Compression, Format, Kind};
use crate::model::recorded::Kept;
use crate::model::run::RunPlan;
use crate::notify;
use crate::pg::conn::Conn;
use crate::pg::dump::{self, DumpPlan, Dumped};
use crate::pg::postgres::{self, ServerFacts};
use crate::pg::process::Tool;
use crate::state::lock::WriteLock;

/// Shows the dump's progress: given what is being dumped and how big it is expected to be,
/// a bar the workflow advances and clears.
pub type ShowProgress<'a> = &'a dyn Fn(&str, Option<Estimate>) -> ProgressBar;

/// gzip level when none is given: level 1 is ISA-L's igzip, the fastest at gzip -6's size
/// (bench/RESULTS.md has the measurements); levels 2 to 9 are zlib-rs's.
pub const DEFAULT_GZIP_LEVEL: u32 = 1;
/// zstd level when none is given: level 1 was both faster and smaller than 3 on the
/// benchmark dump (bench/RESULTS.md).
pub const DEFAULT_ZSTD_LEVEL: u32 = 1;
/// How the backup is to be made, resolved from the flags.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub kind: Kind,
    pub format: Format,
    pub compression: Compression,
    pub level: u32,
    /// `pg_dump --compress` for a custom archive that pg_dump compresses itself; pg_dump's
    /// default when `None`.
    pub pg_dump_level: Option<u32>,
    /// pg_dump --jobs of a directory-format backup.
    pub jobs: Option<u32>,
    /// Who can decrypt the backup; stored unencrypted when `None`.
    pub encryption: Option<Recipients>,
    /// pg_dump filter options; an unfiltered dump of the whole database when empty.
    pub filters: DumpFilters,
}

impl Recipe {
    /// The recipe of a globals backup made alongside `self`: plain SQL, compressed as
    /// `--compression` says (gzip unless told otherwise, also with `--format custom`).
    pub fn for_globals(&self, explicit: Option<Compression>, no_compress: bool) -> Recipe {
        let compression = match (no_compress, explicit) {
            (true, _) => Compression::None,
            (false, Some(compression)) => compression,
            (false, None) => Compression::Gzip,
        };
        let level = match (compression == self.compression, compression) {
            (true, _) => self.level,
            (false, Compression::Zstd) => DEFAULT_ZSTD_LEVEL,
            (false, _) => DEFAULT_GZIP_LEVEL,
        };
        Recipe {
            kind: Kind::Globals,
            format: Format::Plain,
            compression,
            level,
            pg_dump_level: None,
            jobs: None,
            encryption: self.encryption.clone(),
            filters: DumpFilters::default(),
        }
    }

    /// The stages the dump goes through: the compression, then age when encrypting. None
    /// for a directory, whose files pg_dump compresses itself.
    pub fn chain(&self) -> Chain {
        if self.format == Format::Directory {
            return Chain::NONE;
        }
        let chain = Chain::from(self.compression);
        match self.encryption {
            Some(_) => chain.encrypted(),
            None => chain,
        }
    }
}

/// Takes the write lock, makes one backup and records it.
pub fn create(
    config: &mut Config,
    recipe: Recipe,
    description: &str,
    trigger: &str,
    progress: ShowProgress<'_>,
) -> Result<Entry> {
    let lock = recovery::lock_home(config)?;
    create_locked(config, recipe, description, trigger, &lock, progress)
}

/// What [`create_hooked`] did.
pub struct Hooked {
    /// The command's outcome: a failed post hook fails it, the backup staying recorded.
    pub outcome: Result<Entry>,
    /// The backup made, whatever the post hook did.
    pub made: Option<Entry>,
}

/// [`create`] between the pre and the post hook of `run`, all under the lock. A failed
/// pre hook means no backup; the post hook follows every pre hook that ran.
pub fn create_hooked(
    config: &mut Config,
    recipe: Recipe,
    description: &str,
    run: &notify::Run,
    progress: ShowProgress<'_>,
) -> Hooked {
    let lock = match recovery::lock_home(config) {
        Ok(lock) => lock,
        Err(err) => {
            return Hooked {
                outcome: Err(err),
                made: None,
            };
        }
    };
    let outcome = run
        .pre_hook()
        .and_then(|()| create_locked(config, recipe, description, "manual", &lock, progress));
    let made = outcome.as_ref().ok().cloned();
    let file = (made.as_ref()).and_then(|e| config.store.local_path(&e.filename));
    let posted = run.post_hook(made.as_slice(), file.as_deref(), outcome.as_ref().err());
    Hooked {
        outcome: notify::after_post_hook(outcome, posted, made.as_slice()),
        made,
    }
}

/// Makes one backup and records it; the caller holds the write lock.
pub fn create_locked(
    config: &mut Config,
    recipe: Recipe,
    description: &str,
    trigger: &str,
    _lock: &WriteLock,
    progress: ShowProgress<'_>,
) -> Result<Entry> {
    let interrupt = Interrupt::install()?;
    config.store.sweep()?;
    let mut conn = config.conn.clone();
    let part = Part {
        what: What::Database(&mut conn),
        recipe: &recipe,
        description,
        trigger,
        run: None,
    };
    let entry = make(config, part, &interrupt, progress);
    config.conn.take_password_from(&conn);
    entry
}

/// What one backup dumps: a database, through this connection to it (a password asked for
/// stays in it), or the server's globals.
pub enum What<'c> {
    Database(&'c mut Conn),
    Globals { no_role_passwords: bool },
}

/// The run a backup is a part of.
#[derive(Debug, Clone)]
pub struct RunTag {
    pub id: String,
    pub plan: RunPlan,
}

/// One backup to make.
pub struct Part<'a, 'c> {
    pub what: What<'c>,
    pub recipe: &'a Recipe,
    pub description: &'a str,
    pub trigger: &'a str,
    pub run: Option<&'a RunTag>,
}

/// Makes one backup and records it; the caller holds the write lock and has swept the
/// repository.
pub fn make(
    config: &Config,
    part: Part<'_, '_>,
    interrupt: &Interrupt,
    progress: ShowProgress<'_>,
) -> Result<Entry> {
    let mut catalog = Catalog::load(&*config.store)?;
    let recipe = part.recipe;
    let (facts, version, dump_conn, mut skip_passwords) = match part.what {
        What::Database(conn) => (
            postgres::connect(&config.programs, conn, config.interactive)?,
            postgres::pg_dump_version(&config.programs)?,
            conn.clone(),
            false,
        ),
        What::Globals { no_role_passwords } => {
            let mut conn = globals::server_conn(config);
            let facts = postgres::connect(&config.programs, &mut conn, config.interactive)?;
            let version = globals::pg_dumpall_version(&config.programs)?;
            (facts, version, conn, no_role_passwords)
        }
    };
    let globals = recipe.kind == Kind::Globals;
    let major: u32 = (version.split(['.', ' ']).next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if recipe.format == Format::Directory && recipe.compression == Compression::Zstd && major < 16 {
        return Err(crate::exit::usage(format!(
            "pg_dump {version} compresses a directory backup with gzip only (zstd needs \
             pg_dump 16 or later): use --compression gzip or none"
        )));
    }
    interrupt.check()?;

    let started = Utc::now();
    let clock = Instant::now();
    let id = allocate_id(config, &catalog, started)?;
    let chain = recipe.chain();
    let final_name = naming::file_name(
        recipe.kind,
        &id,
        recipe.format,
        recipe.compression,
        chain.is_encrypted(),
    );
    let directory = recipe.format == Format::Directory;
    let what = match globals {
        true => "the globals".to_string(),
        false => format!("database {:?}", facts.database),
    };
    tracing::info!("dumping {what} into {final_name}");
    let database = if globals { "" } else { facts.database.as_str() };
    let pg_dump_options = recipe.filters.to_args();
    // The database's size says little about a filtered dump's.
    let database_size = facts.size.filter(|_| pg_dump_options.is_empty());
    let expected = estimate::choose(
        recipe.kind,
        estimate::previous_raw_size(&catalog.backups, database, recipe.kind, &pg_dump_options),
        database_size,
    );
    if directory {
        let previous = (catalog.backups.iter())
            .filter(|e| e.database == database && e.kind == recipe.kind && !e.is_deleting())
            .filter(|e| e.format() == Format::Directory)
            .map(|e| e.size)
            .next_back();
        directory::check_dump_room(&*config.store, &final_name, previous)?;
    }
    let dump = |skip_passwords: bool| {
        if directory {
            let tool = pg_dump_command(config, &dump_conn, recipe);
            // The folder's size is pg_dump's compressed output: no estimate to compare with.
            let bar = progress(&format!("dumping {what}"), None);
            let position = |n: u64| bar.set_position(n);
            let dumped = directory::dump(&*config.store, &final_name, tool, interrupt, &position);
            bar.finish_and_clear();
            return dumped.map(|d| Dumped {
                size: manifest::total_size(&d.files),
                raw_size: manifest::total_size(&d.files),
                sha256: manifest::digest(&d.files),
                warnings: d.warnings,
                files: Some(d.files),
            });
        }
        let bar = progress(&format!("dumping {what}"), expected);
        let program = match globals {
            true => globals::pg_dumpall_command(&config.programs, &dump_conn, skip_passwords),
            false => pg_dump_command(config, &dump_conn, recipe),
        };
        let plan = DumpPlan {
            pg_dump: program,
            store: &*config.store,
            final_name: final_name.clone(),
            chain: chain.clone(),
            settings: Settings {
                level: recipe.level,
                recipients: recipe.encryption.clone(),
            },
            progress: &|bytes| bar.set_position(bytes),
        };
        let dumped = dump::run(plan, interrupt);
        bar.finish_and_clear();
        dumped
    };
    let mut dumped = dump(skip_passwords);
    if globals && !skip_passwords && dumped.as_ref().is_err_and(globals::is_pg_authid_denied) {
        tracing::warn!(
            "pg_authid is not readable by this role (a managed server?): the globals are \
             backed up without role passwords (--no-role-passwords); restored roles will \
             have no password"
        );
        skip_passwords = true;
        interrupt.check()?;
        dumped = dump(true);
    }
    let dumped =
        dumped.with_context(|| format!("backup of {what} failed; nothing was recorded"))?;
    for line in dumped.warnings.lines().filter(|l| !l.trim().is_empty()) {
        tracing::warn!("{}: {line}", if globals { "pg_dumpall" } else { "pg_dump" });
    }
    let finished = Utc::now();
    let took = clock.elapsed();
    let files = dumped.files.clone();
    let mut entry = new_entry(
        config,
        EntryParts {
            id,
            recipe,
            description: part.description,
            trigger: part.trigger,
            facts: &facts,
            pg_dump_version: version,
            dumped: &dumped,
            started,
            finished,
            duration_ms: took.as_millis() as u64,
        },
    );
    if directory {
        entry.compression = Some(recipe.compression.into());
        entry.compressed = recipe.compression != Compression::None;
        entry.files = files;
        entry.jobs = Some(recipe.jobs.unwrap_or_else(directory::default_jobs));
    }
    if globals {
        entry.database = String::new();
        entry.database_properties = None;
        entry.no_role_passwords = Some(skip_passwords);
    }
    if let Some(run) = part.run {
        entry.run = Some(run.id.clone());
        entry.run_plan = Some(Kept::new(
            serde_json::to_value(&run.plan).expect("a run plan serializes"),
        ));
    }
    catalog.backups.push(entry.clone());
    let saved = interrupt
        .check()
        .and_then(|()| sidecar::write(&*config.store, &entry))
        .and_then(|()| catalog.save(&*config.store));
    if let Err(err) = saved {
        let _ = sidecar::remove(&*config.store, &entry.filename);
        let _ = config.store.remove(&entry.filename);
        return Err(
            err.context("the backup file was removed again because it could not be recorded")
        );
    }
    tracing::info!(
        "created backup {}: dumped {}",
        entry.id,
        estimate::summary(dumped.raw_size, took)
    );
    Ok(entry)
}

/// The time stamp of `now` in the configured zone, with `_N` added until no catalog entry
/// and no file uses it.
fn allocate_id(config: &Config, catalog: &Catalog, now: DateTime<Utc>) -> Result<String> {
    let stamp = config.zone.wall_clock(now).naive_local();
    let on_disk: Vec<String> = (config.store.list("backup_")?.iter())
        .filter_map(|object| naming::parse_file_name(&object.name).map(|p| p.id))
        .collect();
    let damaged: Vec<&str> = catalog
        .damaged
        .iter()
        .filter_map(|d| d.id.as_deref())
        .collect();
    let taken = |id: &str| {
        catalog.find(id).is_some() || on_disk.iter().any(|d| d == id) || damaged.contains(&id)
    };
    let id = (1..)
        .map(|sequence| naming::backup_id(stamp, sequence))
        .find(|id| !taken(id))
        .expect("some sequence number is free");
    Ok(id)
}

fn pg_dump_command(config: &Config, conn: &Conn, recipe: &Recipe) -> Tool {
    let mut tool = Tool::new(&config.programs.pg_dump).arg("--no-password");
    tool = match recipe.format {
        Format::Plain => tool.arg("--format=plain"),
        Format::Custom if recipe.compression == Compression::None => match recipe.pg_dump_level {
            Some(level) => {
                tool.args(["--format=custom".to_string(), format!("--compress={level}")])
            }
            None => tool.arg("--format=custom"),
        },
        Format::Custom => tool.args(["--format=custom", "--compress=0"]),
        Format::Directory => {
            let jobs = recipe.jobs.unwrap_or_else(directory::default_jobs);
            let compress = match recipe.compression {
                Compression::None => "0".to_string(),
                Compression::Gzip => recipe.level.to_string(),
                Compression::Zstd => format!("zstd:{}", recipe.level),
            };
            tool.args([
                "--format=directory".to_string(),
                format!("--jobs={jobs}"),
                format!("--compress={compress}"),
            ])
        }
    };
    if recipe.kind == Kind::Schema {
        tool = tool.arg("--schema-only");
    }
    // One argument per option and pattern (`--schema=app`): no shell, no splitting.
    tool = tool.args(recipe.filters.to_args());
    conn.apply(tool)
}

struct EntryParts<'a> {
    id: String,
    recipe: &'a Recipe,
    description: &'a str,
    trigger: &'a str,
    facts: &'a ServerFacts,
    pg_dump_version: String,
    dumped: &'a Dumped,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    duration_ms: u64,
}

fn new_entry(config: &Config, parts: EntryParts<'_>) -> Entry {
    let local = |t: DateTime<Utc>| config.zone.wall_clock(t);
    let chain = parts.recipe.chain();
    let filename = naming::file_name(
        parts.recipe.kind,
        &parts.id,
        parts.recipe.format,
        chain.compression(),
        chain.is_encrypted(),
    );
    let encryption = parts.recipe.encryption.as_ref().map(|recipients| {
        let recorded = Encryption {
            method: "age".to_string(),
            recipients: recipients.public().to_vec(),
            passphrase: recipients.is_passphrase(),
        };
        Kept::new(serde_json::to_value(recorded).expect("the encryption record serializes"))
    });
    Entry {
        path: config.store.describe(&filename),
        filename,
        id: parts.id,
        kind: parts.recipe.kind.into(),
        compressed: chain.compression() != Compression::None,
        size: parts.dumped.size,
        date: local(parts.started)
            .naive_local()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
        description: parts.description.to_string(),
        database: parts.facts.database.clone(),
        created_at: Some(local(parts.started).to_rfc3339_opts(SecondsFormat::Micros, false)),
        finished_at: Some(local(parts.finished).to_rfc3339_opts(SecondsFormat::Micros, false)),
        duration_ms: Some(parts.duration_ms),
        format: Some(parts.recipe.format.into()),
        compression: Some(chain.compression().into()),
        codecs: Some(chain.stages().iter().map(|&stage| stage.into()).collect()),
        sha256: Some(parts.dumped.sha256.clone()),
        raw_size: Some(parts.dumped.raw_size),
        server_version: Some(parts.facts.server_version.clone()),
        pg_dump_version: Some(parts.pg_dump_version),
        host: parts.facts.host.clone(),
        port: parts.facts.port.as_deref().and_then(|p| p.parse().ok()),
        trigger: Some(parts.trigger.to_string()),
        pinned: None,
        verified_at: None,
        verify_result: None,
        verify_detail: None,
        tool_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        database_properties: Some(Kept::new(parts.facts.properties.clone())),
        encryption,
        run: None,
        run_plan: None,
        no_role_passwords: None,
        pg_dump_options: Some(parts.recipe.filters.to_args()).filter(|o| !o.is_empty()),
        deleting: None,
        files: None,
        jobs: None,
        extra: Default::default(),
    }
}
