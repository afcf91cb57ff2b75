//! Finishing or undoing a restore that was killed. Every command that takes the write lock
//! does this first, before anything else, by what it finds in pg_database: the previous
//! database back in service, or the restored one fully in place; never a database left
//! refusing connections.

use anyhow::{Context, Result, anyhow, bail};

use crate::backup::restore::intent::{self, Phase, RestoreIntent};
use crate::backup::restore::swap;
use crate::config::Config;
use crate::pg::conn::Conn;
use crate::pg::server::Server;
use crate::pg::sql::{ident, literal};
use crate::state::audit;
use crate::state::lock::{self, WriteLock};
use crate::store::fsutil;

/// Takes the write lock, then finishes or undoes a restore that was interrupted.
pub fn acquire(config: &Config) -> Result<WriteLock> {
    let lock = lock::acquire(&config.home, &*config.store, &config.command_line)?;
    recover(config)?;
    Ok(lock)
}

/// Makes the home folders when missing, takes the write lock, and finishes or undoes an
/// interrupted restore.
pub fn lock_home(config: &Config) -> Result<WriteLock> {
    fsutil::ensure_private_dir(&config.home)?;
    lock::ensure_folder(&config.home)?;
    acquire(config)
}

/// [`lock_home`] for a change of the schedule file alone: the repository is neither
/// swept nor contacted, so the schedule can be changed while it cannot be reached.
pub fn lock_schedule(config: &Config) -> Result<WriteLock> {
    fsutil::ensure_private_dir(&config.home)?;
    lock::ensure_folder(&config.home)?;
    let lock = lock::hold(&config.home, &config.command_line)?;
    recover(config)?;
    Ok(lock)
}

/// Whether an interrupted restore waits to be finished or undone.
pub fn pending(config: &Config) -> bool {
    intent::path_in(&config.home).exists()
}

fn recover(config: &Config) -> Result<()> {
    intent::sweep_temporaries(&config.home);
    let Some(intent) = intent::read(&config.home)? else {
        return Ok(());
    };
    tracing::warn!("{}; finishing it first", intent.summary());
    let server = connect(config, &intent).map_err(|err| {
        anyhow!(
            "{}, and must be finished before anything else, but the server could not be \
             reached ({}); make it reachable and run the command again: it finishes or undoes \
             the restore first (the record is {})",
            intent.summary(),
            one_line(&format!("{err:#}")),
            intent::path_in(&config.home).display()
        )
    })?;
    let done = settle(&server, &intent).with_context(|| {
        format!(
            "{}, and could not be finished; the record {} is kept",
            intent.summary(),
            intent::path_in(&config.home).display()
        )
    })?;
    intent::clear(&config.home)?;
    let text = done.join("; ");
    tracing::warn!("interrupted restore of {:?}: {text}", intent.database);
    if let Err(err) = audit::record(
        config,
        &format!(
            "recovered restore id={} database={}: {text}",
            intent.backup_id, intent.database
        ),
    ) {
        tracing::warn!("{err:#}");
    }
    Ok(())
}

/// The server the restore was talking to, with this invocation's password when it has one
/// for the same target.
fn connect(config: &Config, intent: &RestoreIntent) -> Result<Server> {
    let conn = Conn::from_recorded(intent.connection.as_deref(), &config.conn)?;
    Server::connect(
        &config.programs,
        &conn,
        &intent.maintenance_db,
        config.interactive,
    )
}

/// After a restore returned an error: whether its intent can go, because the database in
/// service accepts connections as before. Otherwise the next command finishes the work.
pub fn safe_after_failure(server: &Server, intent: &RestoreIntent) -> bool {
    if intent.phase == Phase::Loading || intent.previous.is_none() {
        return true;
    }
    let allowed = server.query_json(&format!(
        "SELECT coalesce((SELECT to_json(datallowconn) FROM pg_database WHERE datname = {}), \
         'null');",
        literal(&intent.database)
    ));
    match allowed.ok().and_then(|v| v.as_bool()) {
        Some(true) => true,
        Some(false) => intent.allowed_connections == Some(false),
        None => false,
    }
}

/// Brings the databases to the end of the restore or back to its start; says what it did.
pub fn settle(server: &Server, intent: &RestoreIntent) -> Result<Vec<String>> {
    let present = server.database_names()?;
    let has = |name: &str| present.contains(name);
    let (database, staging) = (&intent.database, &intent.staging);
    let mut done = Vec::new();
    if intent.phase == Phase::Loading {
        if has(staging) {
            server.drop_database(staging)?;
            done.push(format!("dropped the partly restored database {staging:?}"));
        }
        done.push(match intent.previous {
            Some(_) => format!("{database:?} was not touched"),
            None => "nothing else was changed".to_string(),
        });
        return Ok(done);
    }
    let Some(previous) = &intent.previous else {
        match (has(database), has(staging)) {
            (false, true) => done.extend(swap::rename_into_place(
                server,
                staging,
                database,
                intent.properties.as_ref(),
            )?),
            (true, false) => finish(server, intent, &mut done),
            found => bail!(
                "pgbackup cannot tell how far the rename got ({database:?} {}, {staging:?} {}); \
                 rename the restored database to {database:?} or drop it, then remove the record",
                exists(found.0),
                exists(found.1),
            ),
        }
        done.push(format!("the restored database is in place as {database:?}"));
        return Ok(done);
    };
    let allowed = intent.allowed_connections.unwrap_or(true);
    match (has(database), has(staging), has(previous)) {
        (true, true, false) => {
            server.execute(&allow(database, allowed))?;
            server.drop_database(staging)?;
            done.push(format!(
                "the names had not been swapped: {database:?} is unchanged and accepts \
                 connections again, the restored database {staging:?} was dropped; run the \
                 restore again"
            ));
        }
        (true, false, true) => {
            finish(server, intent, &mut done);
            if intent.drop_previous {
                server.drop_database(previous)?;
                done.push(format!("dropped the previous database {previous:?}"));
            } else {
                server.execute(&allow(previous, allowed))?;
                done.push(format!(
                    "the previous database is kept as {previous:?} and accepts connections"
                ));
            }
            done.push(format!(
                "the names had been swapped: {database:?} is the restored database"
            ));
        }
        (true, false, false) if intent.drop_previous => {
            finish(server, intent, &mut done);
            done.push(format!(
                "the names had been swapped and the previous database dropped: {database:?} \
                 is the restored database"
            ));
        }
        (true, false, false) => {
            server.execute(&allow(database, allowed))?;
            done.push(format!(
                "neither {staging:?} nor {previous:?} exists any more; {database:?} accepts \
                 connections"
            ));
        }
        found => bail!(
            "pgbackup cannot tell how far the swap got ({database:?} {}, {staging:?} {}, \
             {previous:?} {}); look with: SELECT datname, datallowconn FROM pg_database WHERE \
             datname IN ({}, {}, {}); then make sure {database:?} exists and accepts \
             connections (ALTER DATABASE {} ALLOW_CONNECTIONS true;) and remove the record",
            exists(found.0),
            exists(found.1),
            exists(found.2),
            literal(database),
            literal(staging),
            literal(previous),
            ident(database),
        ),
    }
    Ok(done)
}

/// The properties that are set once the restored database has its name.
fn finish(server: &Server, intent: &RestoreIntent, done: &mut Vec<String>) {
    let Some(sql) = intent
        .properties
        .as_ref()
        .map(|p| p.finish_sql(&intent.database))
        .filter(|sql| !sql.is_empty())
    else {
        return;
    };
    if let Err(err) = server.execute(&sql) {
        done.push(format!(
            "could not finish the properties of {:?} ({err:#}); run:\n{sql}",
            intent.database
        ));
    }
}

fn allow(name: &str, allowed: bool) -> String {
    format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS {allowed};",
        ident(name)
    )
}

fn exists(present: bool) -> &'static str {
    if present { "exists" } else { "is missing" }
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
