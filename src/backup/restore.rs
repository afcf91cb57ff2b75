//! Restoring a backup: always into a new database first; only when that worked is it
//! swapped in place of the current database (or given its new name with --target). Before
//! the swap, any failure leaves the current database as it was and drops the new one.

pub mod analyze;
pub mod globals;
pub mod intent;
pub mod leftovers;
pub mod plain_jobs;
pub mod prepass;
pub mod public_schema;
pub mod recovery;
pub mod roles;
pub mod selection;
pub mod selective;
pub mod subscriptions;
pub mod swap;
pub mod unpack;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::backup::directory;
use crate::backup::integrity::BackupFile;
use crate::catalog::Entry;
use crate::exit;
use crate::fault;
use crate::interrupt::Interrupt;
use crate::model::naming::Format;
use crate::pg::feed::{self, FeedFailure};
use crate::pg::process::Tool;
use crate::pg::properties::DatabaseProperties;
use crate::pg::server::{Server, free_name};
use crate::pg::sql::ident;
use intent::{Journal, Phase, RestoreIntent};
use selection::TocSelection;
use swap::SwapNames;

/// What to restore where, as the operator asked.
#[derive(Debug)]
pub struct Request<'a> {
    pub entry: &'a Entry,
    pub file: BackupFile,
    /// The name the restored database gets.
    pub target: String,
    /// Whether an existing database of that name is swapped out (else refused).
    pub replace: bool,
    pub drop_previous: bool,
    /// `YYYYMMDD_HHMMSS`, for the names of the new and the previous database.
    pub stamp: String,
    pub selection: Selection,
    /// The roles of the server, with `selection.no_owner`: the database's own settings for
    /// other roles are left out.
    pub existing_roles: BTreeSet<String>,
}

/// pg_restore options for custom archives.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub jobs: Option<u32>,
    /// Where the decrypted archive of an encrypted backup is staged for `jobs`.
    pub stage_dir: Option<PathBuf>,
    pub tables: Vec<String>,
    pub schemas: Vec<String>,
    /// Replace the selected objects in an existing database, in one transaction, instead
    /// of loading a new database.
    pub in_place: bool,
    /// The archive entries `tables` and `schemas` stand for; a partial selection is loaded
    /// by [`selective::load`].
    pub toc: Option<TocSelection>,
    /// Restore no ownership and no grants (`pg_restore --no-owner --no-privileges`).
    pub no_owner: bool,
    /// The dump creates schema `public` itself (see [`public_schema`]): the new database's
    /// own is dropped before the load.
    pub recreates_public: bool,
    /// The plan of a plain backup's parallel load, made when the file was checked
    /// ([`prepass`]); without it, `jobs` plans the load with one more read of the file.
    pub plain_plan: Option<Arc<plain_jobs::Prepared>>,
}

impl Selection {
    pub fn is_partial(&self) -> bool {
        !self.tables.is_empty() || !self.schemas.is_empty()
    }
}

/// Where the new database's owner, encoding, locale, settings, ACL and comment come from.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertiesFrom {
    /// Recorded at backup time.
    Backup,
    /// Copied from this database (backups made before pgbackup recorded them).
    Database(String),
    /// Nothing known: the server's defaults, owned by the restoring role.
    ServerDefaults,
}

/// Everything decided before anything is touched; shown to the operator for confirmation.
#[derive(Debug)]
pub struct Plan {
    pub target: String,
    /// The database the backup is loaded into, renamed to `target` at the end.
    pub staging: String,
    /// When `target` exists: the name it is kept under after the swap.
    pub previous: Option<String>,
    pub drop_previous: bool,
    pub properties: Option<DatabaseProperties>,
    pub properties_from: PropertiesFrom,
    pub file: BackupFile,
    /// The checksum the bytes fed to psql/pg_restore must have.
    pub expected_sha256: Option<String>,
    pub selection: Selection,
}

/// A database to create and load a backup into.
#[derive(Debug, Clone, Copy)]
pub struct NewDatabase<'a> {
    pub name: &'a str,
    /// Owner, encoding and locale for CREATE DATABASE; the server's defaults when `None`.
    pub properties: Option<&'a DatabaseProperties>,
    pub file: &'a BackupFile,
    pub selection: &'a Selection,
    /// The checksum the bytes fed to psql/pg_restore must have.
    pub expected_sha256: Option<&'a str>,
}

/// The outcome of a restore that got its database in place.
#[derive(Debug)]
pub struct Restored {
    pub database: String,
    /// The previous database, kept under this name.
    pub previous: Option<String>,
    pub dropped_previous: bool,
    /// What did not work after the swap, with the SQL to finish it.
    pub notes: Vec<String>,
}

/// Checks rights and names, and decides the plan. Changes nothing.
pub fn plan(server: &Server, request: Request<'_>) -> Result<Plan> {
    let role = &server.role;
    if !role.superuser && !role.createdb {
        bail!(
            "role {:?} may not create databases (it lacks CREATEDB), and a restore always \
             creates a new database: restore as a superuser, or grant it with \
             ALTER ROLE {} CREATEDB",
            role.name,
            ident(&role.name)
        );
    }
    let target = &request.target;
    let (current, taken) = server.survey(target)?;
    let exists = current.is_some();
    if exists && !request.replace {
        return Err(exit::usage(format!(
            "database {target:?} already exists; choose another --target, or add --replace to \
             swap the restored database in its place"
        )));
    }
    if let Some(current) = &current
        && !role.superuser
        && !server.acts_as(&current.owner)?
    {
        bail!(
            "role {:?} does not own database {target:?} (its owner is {:?}), so it cannot \
             rename it for the swap: restore as its owner or a superuser",
            role.name,
            current.owner
        );
    }
    let (properties, properties_from) = match request.entry.properties()? {
        Some(recorded) => (Some(recorded.clone()), PropertiesFrom::Backup),
        None => match current {
            Some(current) => (Some(current), PropertiesFrom::Database(target.clone())),
            None => copied_from_source(server, &request.entry.database)?,
        },
    };
    let properties = match properties {
        Some(properties) if request.selection.no_owner => Some(roles::without_owner(
            &properties,
            &role.name,
            &request.existing_roles,
        )),
        other => other,
    };
    if let Some(properties) = &properties
        && !role.superuser
        && !server.acts_as(&properties.owner)?
    {
        bail!(
            "role {:?} cannot create a database owned by {:?} (it is not a member of that \
             role, or that role does not exist on this server): restore as a superuser",
            role.name,
            properties.owner
        );
    }
    let staging = free_name(&taken, target, &format!("_restoring_{}", request.stamp));
    let previous =
        exists.then(|| free_name(&taken, target, &format!("_pre_restore_{}", request.stamp)));
    Ok(Plan {
        target: target.clone(),
        staging,
        previous,
        drop_previous: request.drop_previous,
        properties,
        properties_from,
        expected_sha256: request.entry.sha256.clone(),
        file: request.file,
        selection: request.selection,
    })
}

fn copied_from_source(
    server: &Server,
    source: &str,
) -> Result<(Option<DatabaseProperties>, PropertiesFrom)> {
    if source.is_empty() {
        return Ok((None, PropertiesFrom::ServerDefaults));
    }
    Ok(match server.properties(source)? {
        Some(found) => (Some(found), PropertiesFrom::Database(source.to_string())),
        None => (None, PropertiesFrom::ServerDefaults),
    })
}

/// What the restore of `plan` is about to do, for [`Journal::begin`].
pub fn intent(server: &Server, plan: &Plan, backup_id: &str) -> RestoreIntent {
    RestoreIntent {
        phase: Phase::Loading,
        backup_id: backup_id.to_string(),
        database: plan.target.clone(),
        staging: plan.staging.clone(),
        previous: plan.previous.clone(),
        drop_previous: plan.drop_previous,
        allowed_connections: None,
        properties: plan.properties.clone(),
        connection: server.connection_target(),
        maintenance_db: server.maintenance_db().to_string(),
        pid: 0,
        started_at: String::new(),
    }
}

/// Carries out the plan: drop what earlier restores of the target left, load into the new
/// database, ANALYZE, apply the properties, then swap or rename. `journal` holds the
/// restore's intent and is moved on before each step.
pub fn execute(
    server: &Server,
    plan: &Plan,
    journal: &mut Journal,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored> {
    let mut notes = drop_leftovers(server, plan);
    let untouched = || match &plan.previous {
        Some(_) => format!("restore failed; {:?} was not touched", plan.target),
        None => "restore failed; nothing was changed".to_string(),
    };
    let new = NewDatabase {
        name: &plan.staging,
        properties: plan.properties.as_ref(),
        file: &plan.file,
        selection: &plan.selection,
        expected_sha256: plan.expected_sha256.as_deref(),
    };
    load_new(server, new, interrupt, progress).with_context(untouched)?;
    let prepared = (|| {
        tracing::info!("analyzing {:?}", plan.staging);
        let workers = plan.selection.jobs.unwrap_or(analyze::DEFAULT_WORKERS);
        analyze::analyze(server, &plan.staging, workers)?;
        // After ANALYZE: settings such as default_transaction_read_only apply to new sessions.
        if let Some(sql) = plan
            .properties
            .as_ref()
            .map(|p| p.apply_sql(&plan.staging))
            .filter(|sql| !sql.is_empty())
        {
            server
                .execute(&sql)
                .context("could not apply the database-level properties")?;
        }
        interrupt.check()
    })();
    if let Err(err) = prepared {
        return Err(discard(server, &plan.staging, err).context(untouched()));
    }
    fault::point("restore:after-load");
    match &plan.previous {
        Some(previous) => {
            let names = SwapNames {
                current: plan.target.clone(),
                staging: plan.staging.clone(),
                previous: previous.clone(),
            };
            let swapped = swap::swap(
                server,
                &names,
                plan.properties.as_ref(),
                plan.drop_previous,
                journal,
            )?;
            notes.extend(swapped.notes);
            fault::point("restore:done");
            Ok(Restored {
                database: plan.target.clone(),
                previous: (!swapped.dropped_previous).then(|| previous.clone()),
                dropped_previous: swapped.dropped_previous,
                notes,
            })
        }
        None => {
            journal
                .enter(Phase::Renaming)
                .map_err(|err| discard(server, &plan.staging, err).context(untouched()))?;
            notes.extend(swap::rename_into_place(
                server,
                &plan.staging,
                &plan.target,
                plan.properties.as_ref(),
            )?);
            fault::point("restore:done");
            Ok(Restored {
                database: plan.target.clone(),
                previous: None,
                dropped_previous: false,
                notes,
            })
        }
    }
}

/// Drops the `<target>_restoring_*` databases that killed or failed restores left; what
/// cannot be dropped is kept, and said so.
fn drop_leftovers(server: &Server, plan: &Plan) -> Vec<String> {
    let names = match server.database_names() {
        Ok(names) => names,
        Err(err) => return vec![format!("could not look for leftover databases: {err:#}")],
    };
    let mut notes = Vec::new();
    for name in names
        .iter()
        .filter(|n| **n != plan.staging && leftovers::is_restoring_of(n, &plan.target))
    {
        tracing::info!("dropping {name:?}, left over from an earlier restore");
        if let Err(err) = server.drop_database(name) {
            notes.push(format!(
                "{err:#}; the leftover {name:?} of an earlier restore is kept"
            ));
        }
    }
    notes
}

/// Replaces the selected tables and schemas of an existing database with the backup's, in
/// one transaction: on any failure the database is exactly as it was.
pub fn replace_objects(
    server: &Server,
    database: &str,
    file: &BackupFile,
    selection: &Selection,
    expected_sha256: Option<&str>,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let selection = Selection {
        in_place: true,
        jobs: None,
        ..selection.clone()
    };
    let into = NewDatabase {
        name: database,
        properties: None,
        file,
        selection: &selection,
        expected_sha256,
    };
    load(server, into, interrupt, progress).with_context(|| {
        format!("restore failed; {database:?} was not changed (the transaction was rolled back)")
    })
}

/// Creates the database with its owner, encoding and locale, and loads the backup into it;
/// on failure the database is dropped again.
pub fn load_new(
    server: &Server,
    new: NewDatabase<'_>,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let name = new.name;
    let create = match new.properties {
        Some(properties) => properties.create_sql(name),
        None => format!("CREATE DATABASE {} TEMPLATE template0;", ident(name)),
    };
    tracing::info!("creating database {name:?}");
    server
        .execute(&create)
        .with_context(|| format!("could not create database {name:?}"))?;
    let loaded = if new.selection.recreates_public {
        public_schema::make_room(server, name)
    } else {
        Ok(())
    };
    loaded
        .and_then(|()| load(server, new, interrupt, progress))
        .map_err(|err| discard(server, name, err))
}

/// Drops a database pgbackup created after `err`, and says whether that worked.
fn discard(server: &Server, name: &str, err: anyhow::Error) -> anyhow::Error {
    match server.drop_database(name) {
        Ok(()) => err.context(format!("the new database {name:?} was removed")),
        Err(drop_err) => err.context(format!(
            "the new database {name:?} is left behind ({drop_err:#}); remove it with \
             DROP DATABASE {};",
            ident(name)
        )),
    }
}

fn load(
    server: &Server,
    new: NewDatabase<'_>,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let NewDatabase {
        name,
        file,
        selection,
        expected_sha256,
        ..
    } = new;
    let programs = server.programs();
    let conn = server.conn_for(name);
    tracing::info!("loading {} into {name:?}", file.describe());
    let tool = match file.format {
        Format::Plain if selection.no_owner => {
            let tool = conn.apply(loader(&programs.psql, selection.in_place).args(PSQL_LOAD));
            let mut keep = |statement: &str| !roles::is_ownership_or_privilege(statement);
            let fed = feed::feed_filtered(
                &tool,
                Stdio::null(),
                file.source(),
                Some(&mut keep),
                interrupt,
                progress,
            );
            return finish_load(&tool, fed, name, expected_sha256);
        }
        Format::Plain if let Some(jobs) = selection.jobs.filter(|j| *j > 1) => {
            let psql = conn.apply(loader(&programs.psql, false).args(PSQL_LOAD));
            let fresh;
            let planned = match selection.plain_plan.as_deref() {
                Some(prepared) => plain_jobs::usable(prepared),
                None => {
                    fresh = plain_jobs::plan(file, expected_sha256, progress)?;
                    fresh.as_ref()
                }
            };
            if let Some(planned) = planned {
                return plain_jobs::load(&psql, file, planned, jobs, expected_sha256, interrupt)
                    .with_context(|| format!("could not load the backup into {name:?}"));
            }
            psql
        }
        Format::Plain => conn.apply(loader(&programs.psql, selection.in_place).args(PSQL_LOAD)),
        Format::Directory => {
            // pg_restore reads the folder in place, or the local copy of one in S3; its
            // files were checked against the manifest before anything was touched.
            let folder = directory::local_folder(file)?;
            let mut tool = loader(&programs.pg_restore, selection.in_place).args([
                "-w",
                "--exit-on-error",
                "--format=directory",
            ]);
            if selection.no_owner {
                tool = tool.args(["--no-owner", "--no-privileges"]);
            }
            if let Some(jobs) = selection.jobs {
                tool = tool.arg(format!("--jobs={jobs}"));
            }
            interrupt.check()?;
            let tool = conn.apply(tool).arg(&folder);
            tool.output("")
                .with_context(|| format!("could not load the backup into {name:?}"))?;
            return Ok(());
        }
        Format::Custom if let Some(chosen) = &selection.toc => {
            return selective::load(
                server,
                name,
                file,
                chosen,
                selection.in_place,
                selection.no_owner,
                expected_sha256,
                interrupt,
                progress,
            );
        }
        Format::Custom => {
            let mut tool =
                loader(&programs.pg_restore, selection.in_place).args(["-w", "--exit-on-error"]);
            if selection.no_owner {
                tool = tool.args(["--no-owner", "--no-privileges"]);
            }
            if selection.in_place {
                tool = tool.args(["--clean", "--if-exists", "--single-transaction"]);
            }
            for table in &selection.tables {
                tool = tool.arg("--table").arg(table);
            }
            for schema in &selection.schemas {
                tool = tool.arg("--schema").arg(schema);
            }
            if let Some(jobs) = selection.jobs {
                // pg_restore --jobs seeks: it reads a local plain archive in place, and
                // anything else (compressed, or in S3) from a staged local copy.
                let (archive, _unpacked) = match file.local_path() {
                    Some(path) if file.chain.is_empty() => (path, None),
                    _ => {
                        let stage_dir = selection.stage_dir.as_deref();
                        let (unpacked, sha256) = unpack::unpack(file, stage_dir, progress)?;
                        unchanged(&sha256, expected_sha256)?;
                        (unpacked.path().to_path_buf(), Some(unpacked))
                    }
                };
                interrupt.check()?;
                let tool = conn.apply(tool.arg(format!("--jobs={jobs}")).arg(&archive));
                tool.output("")
                    .with_context(|| format!("could not load the backup into {name:?}"))?;
                return Ok(());
            }
            conn.apply(tool)
        }
    };
    let fed = feed::feed(&tool, Stdio::null(), file.source(), interrupt, progress);
    finish_load(&tool, fed, name, expected_sha256)
}

/// psql's arguments for loading a plain dump.
const PSQL_LOAD: [&str; 8] = ["-X", "-w", "-q", "-b", "-v", "ON_ERROR_STOP=1", "-f", "-"];

/// Checks how the load of `name` went: the program's exit, the bytes it read.
fn finish_load(
    tool: &Tool,
    fed: Result<feed::Fed, FeedFailure>,
    name: &str,
    expected_sha256: Option<&str>,
) -> Result<()> {
    let fed = fed.map_err(|failure| match failure {
        FeedFailure::Unreadable(err) => err,
        FeedFailure::Program(err) | FeedFailure::StoppedEarly(err) => {
            err.context(format!("could not load the backup into {name:?}"))
        }
    })?;
    unchanged(&fed.scan.sha256, expected_sha256)?;
    for line in fed.warnings.lines().filter(|l| !l.trim().is_empty()) {
        tracing::warn!("{}: {line}", tool.name());
    }
    Ok(())
}

/// Whether the bytes read during the load are still those the catalog recorded.
pub(crate) fn unchanged(sha256: &str, expected: Option<&str>) -> Result<()> {
    match expected {
        Some(expected) if !sha256.eq_ignore_ascii_case(expected) => bail!(
            "the backup file changed while it was being restored: its SHA-256 is now \
             {sha256}, the catalog says {expected}"
        ),
        _ => Ok(()),
    }
}

/// psql or pg_restore for the load. Into a new database, its commits need not wait for
/// the disk (`synchronous_commit=off`, appended to any `PGOPTIONS` of the environment):
/// a crash can only lose that new database, which a failed restore drops anyway, and the
/// final rename or swap commits synchronously, which flushes everything written before it.
/// A selective restore into an existing database keeps the server's setting: its one
/// commit is the result.
fn loader(program: impl AsRef<OsStr>, in_place: bool) -> Tool {
    let tool = Tool::new(program);
    if in_place {
        return tool;
    }
    let options = match std::env::var("PGOPTIONS") {
        Ok(options) if !options.trim().is_empty() => {
            format!("{options} -c synchronous_commit=off")
        }
        _ => "-c synchronous_commit=off".to_string(),
    };
    tool.env("PGOPTIONS", options)
}
