//! Putting a restored database in place: the current database stops taking connections,
//! its sessions are ended, and both renames happen in one transaction. Whatever fails, the
//! error says which database holds what and the SQL to finish or undo.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use serde::Deserialize;

use crate::backup::restore::intent::{Journal, Phase};
use crate::fault;
use crate::pg::properties::DatabaseProperties;
use crate::pg::server::Server;
use crate::pg::sql::{ident, literal};

/// How long to wait for ended sessions to go away.
const SESSION_WAIT: Duration = Duration::from_secs(5);
/// How often the renames are tried when a session slips in between.
const RENAME_ATTEMPTS: u32 = 3;

/// The databases a swap is about.
#[derive(Debug, Clone)]
pub struct SwapNames {
    /// The database in service now; the restored one takes its name.
    pub current: String,
    /// The complete restored database, under its temporary name.
    pub staging: String,
    /// The name the current database is given and kept under.
    pub previous: String,
}

/// What the swap left behind for the operator.
#[derive(Debug, Default)]
pub struct Swapped {
    /// The previous database was dropped (`--drop-previous`).
    pub dropped_previous: bool,
    /// Things that did not work after the swap itself, with the SQL to finish them.
    pub notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Session {
    pid: i64,
    user: Option<String>,
    database: String,
}

/// Swaps `names.staging` in place of `names.current`, recording each step in `journal`
/// before it starts.
pub fn swap(
    server: &Server,
    names: &SwapNames,
    properties: Option<&DatabaseProperties>,
    drop_previous: bool,
    journal: &mut Journal,
) -> Result<Swapped> {
    let (current, staging, previous) = (&names.current, &names.staging, &names.previous);
    let allowed_before = allows_connections(server, current)
        .and_then(|allowed| journal.swapping(allowed).map(|()| allowed))
        .map_err(|err| not_swapped(names, &format!("{err:#}"), None))?;
    tracing::info!("ending connections to {current:?} and swapping in the restored database");
    server
        .execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false;",
            ident(current)
        ))
        .map_err(|err| not_swapped(names, &format!("{err:#}"), None))?;
    fault::point("restore:after-close");
    let reopen = format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS {allowed_before};",
        ident(current)
    );
    let give_up = |cause: String| {
        let reopened = server.execute(&reopen).is_ok();
        not_swapped(names, &cause, (!reopened).then_some(reopen.as_str()))
    };
    let rename_both = format!(
        "BEGIN;\nALTER DATABASE {} RENAME TO {};\nALTER DATABASE {} RENAME TO {};\nCOMMIT;",
        ident(current),
        ident(previous),
        ident(staging),
        ident(current)
    );
    for attempt in 1..=RENAME_ATTEMPTS {
        if let Err(cause) = end_sessions(server, &[current, staging]) {
            return Err(give_up(cause));
        }
        let Err(err) = server.execute(&rename_both) else {
            break;
        };
        match names_present(server, names) {
            Ok([true, false, true]) => {
                tracing::warn!("psql reported {err:#}, but the renames did happen");
                break;
            }
            // A session may have connected to the new database in between: try again.
            Ok([true, true, false]) if attempt < RENAME_ATTEMPTS => {
                tracing::debug!("the renames failed ({err:#}); trying again");
            }
            Ok([true, true, false]) => return Err(give_up(format!("{err:#}"))),
            _ => return Err(unknown_state(names, &format!("{err:#}"))),
        }
    }
    fault::point("restore:after-rename");
    let mut swapped = Swapped::default();
    if let Err(err) = journal.enter(Phase::Swapped) {
        tracing::warn!("{err:#}");
    }
    if let Some(sql) = properties
        .map(|p| p.finish_sql(current))
        .filter(|s| !s.is_empty())
        && let Err(err) = server.execute(&sql)
    {
        swapped.notes.push(format!(
            "could not finish the properties of {current:?} ({err:#}); run:\n{sql}"
        ));
    }
    fault::point("restore:after-finish");
    if drop_previous {
        match server.drop_database(previous) {
            Ok(()) => swapped.dropped_previous = true,
            Err(err) => swapped.notes.push(format!(
                "{err:#}; the previous database is kept as {previous:?} and refuses connections; \
                 drop it with: DROP DATABASE {};",
                ident(previous)
            )),
        }
    } else {
        let reopen_previous = format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {allowed_before};",
            ident(previous)
        );
        if let Err(err) = server.execute(&reopen_previous) {
            swapped.notes.push(format!(
                "the previous database {previous:?} still refuses connections ({err:#}); \
                 to allow them again run: {reopen_previous}"
            ));
        }
    }
    Ok(swapped)
}

/// Gives the restored database its final name when no database of that name exists.
pub fn rename_into_place(
    server: &Server,
    staging: &str,
    target: &str,
    properties: Option<&DatabaseProperties>,
) -> Result<Vec<String>> {
    end_sessions(server, &[staging]).map_err(|cause| anyhow!(cause))?;
    let rename = format!(
        "ALTER DATABASE {} RENAME TO {};",
        ident(staging),
        ident(target)
    );
    server.execute(&rename).map_err(|err| {
        anyhow!(
            "{err:#}\nthe restore is complete in database {staging:?}, but it could not be \
             renamed to {target:?}. To finish: {rename} To discard it: DROP DATABASE {};",
            ident(staging)
        )
    })?;
    fault::point("restore:after-rename");
    let mut notes = Vec::new();
    if let Some(sql) = properties
        .map(|p| p.finish_sql(target))
        .filter(|s| !s.is_empty())
        && let Err(err) = server.execute(&sql)
    {
        notes.push(format!(
            "could not finish the properties of {target:?} ({err:#}); run:\n{sql}"
        ));
    }
    Ok(notes)
}

fn allows_connections(server: &Server, name: &str) -> Result<bool> {
    let value = server.query_json(&format!(
        "SELECT coalesce((SELECT to_json(datallowconn) FROM pg_database WHERE datname = {}), \
         'null');",
        literal(name)
    ))?;
    value
        .as_bool()
        .ok_or_else(|| anyhow!("database {name:?} no longer exists"))
}

/// Ends every other session on `databases` and waits until they are gone.
fn end_sessions(server: &Server, databases: &[&str]) -> Result<(), String> {
    let list = databases
        .iter()
        .map(|d| literal(d))
        .collect::<Vec<_>>()
        .join(", ");
    let terminate = format!(
        "DO $$DECLARE p int; BEGIN\n\
         FOR p IN SELECT pid FROM pg_stat_activity WHERE datname IN ({list}) \
         AND pid <> pg_backend_pid() LOOP\n\
         BEGIN PERFORM pg_terminate_backend(p); \
         EXCEPTION WHEN insufficient_privilege THEN NULL; END;\n\
         END LOOP; END$$;"
    );
    // One round trip: end the sessions, then list what is left.
    let sessions_sql = format!(
        "{terminate}\nSELECT coalesce(json_agg(json_build_object('pid', pid, 'user', usename, \
         'database', datname)), '[]') FROM pg_stat_activity WHERE datname IN ({list}) \
         AND pid <> pg_backend_pid();"
    );
    let deadline = Instant::now() + SESSION_WAIT;
    loop {
        let sessions: Vec<Session> = server
            .query_json(&sessions_sql)
            .and_then(|v| Ok(serde_json::from_value(v)?))
            .map_err(|err| format!("could not end the sessions: {err:#}"))?;
        if sessions.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let listed: Vec<String> = sessions
                .iter()
                .map(|s| {
                    format!(
                        "pid {} of {} on {:?}",
                        s.pid,
                        s.user.as_deref().unwrap_or("?"),
                        s.database
                    )
                })
                .collect();
            return Err(format!(
                "{} session(s) could not be ended ({}): the role {} may lack the right to end \
                 them (superuser or pg_signal_backend)",
                sessions.len(),
                listed.join(", "),
                server.role.name
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `current`, `staging` and `previous` exist, in that order.
fn names_present(server: &Server, names: &SwapNames) -> Result<[bool; 3]> {
    let present = server.database_names()?;
    Ok([&names.current, &names.staging, &names.previous].map(|name| present.contains(name)))
}

fn swap_sql(names: &SwapNames) -> String {
    format!(
        "  ALTER DATABASE {c} ALLOW_CONNECTIONS false;\n  \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ({cl}, {sl});\n  \
         BEGIN;\n  ALTER DATABASE {c} RENAME TO {p};\n  ALTER DATABASE {s} RENAME TO {c};\n  COMMIT;\n  \
         ALTER DATABASE {p} ALLOW_CONNECTIONS true;",
        c = ident(&names.current),
        s = ident(&names.staging),
        p = ident(&names.previous),
        cl = literal(&names.current),
        sl = literal(&names.staging),
    )
}

/// The error for a swap that did not happen: the current database is as it was.
fn not_swapped(names: &SwapNames, cause: &str, still_closed: Option<&str>) -> anyhow::Error {
    let current_state = match still_closed {
        None => "unchanged, and accepts connections as before".to_string(),
        Some(reopen) => format!(
            "unchanged, but it still refuses new connections: run {reopen} to allow them again"
        ),
    };
    anyhow!(
        "the restore is complete, but it could not be swapped in: {cause}\n\
         Nothing was swapped:\n  {current:?}: {current_state}\n  {staging:?}: the restored \
         database, complete and analyzed\n\
         To finish the swap by hand:\n{sql}\n\
         To discard the restored database instead:\n  DROP DATABASE {staging_ident};",
        current = names.current,
        staging = names.staging,
        sql = swap_sql(names),
        staging_ident = ident(&names.staging),
    )
}

fn unknown_state(names: &SwapNames, cause: &str) -> anyhow::Error {
    anyhow!(
        "the swap failed and its outcome could not be checked: {cause}\n\
         The renames run in one transaction, so exactly one of these holds:\n  \
         swapped: {previous:?} is the previous database, {current:?} the restored one \
         (then run: ALTER DATABASE {pi} ALLOW_CONNECTIONS true;)\n  \
         not swapped: {current:?} is unchanged but refuses connections, {staging:?} is the \
         restored one (then run: ALTER DATABASE {ci} ALLOW_CONNECTIONS true; and either \
         finish the swap or DROP DATABASE {si};)\n\
         See which with: SELECT datname, datallowconn FROM pg_database WHERE datname IN \
         ({cl}, {sl}, {pl});",
        current = names.current,
        staging = names.staging,
        previous = names.previous,
        pi = ident(&names.previous),
        ci = ident(&names.current),
        si = ident(&names.staging),
        cl = literal(&names.current),
        sl = literal(&names.staging),
        pl = literal(&names.previous),
    )
}
