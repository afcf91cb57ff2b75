//! Questions asked of the server through psql: who and where it is, and the database-level
//! properties a restore must re-create.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::config::PgPrograms;
use crate::pg::conn::Conn;
use crate::pg::process::{ProcessError, Tool};

/// What pgbackup records about the server and database at backup time.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerFacts {
    pub database: String,
    pub server_version: String,
    pub host: Option<String>,
    pub port: Option<String>,
    /// Owner, encoding, locale, settings, ACL, comment... as recorded in the catalog.
    pub properties: Value,
    /// `pg_database_size`: what the database takes on disk, a rough upper bound of a dump.
    #[serde(default)]
    pub size: Option<u64>,
}

/// The properties of database `d` (a row of pg_database) as one JSON object.
pub const PROPERTIES_JSON: &str = r#"json_build_object(
    'name', d.datname,
    'owner', pg_get_userbyid(d.datdba),
    'encoding', pg_encoding_to_char(d.encoding),
    'collate', d.datcollate,
    'ctype', d.datctype,
    'locale_provider', CASE to_jsonb(d)->>'datlocprovider'
        WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END,
    'icu_locale', coalesce(to_jsonb(d)->>'datlocale', to_jsonb(d)->>'daticulocale'),
    'icu_rules', to_jsonb(d)->>'daticurules',
    'connection_limit', d.datconnlimit,
    'allow_connections', d.datallowconn,
    'is_template', d.datistemplate,
    'tablespace', (SELECT spcname FROM pg_tablespace t WHERE t.oid = d.dattablespace),
    'acl', d.datacl::text[],
    'comment', shobj_description(d.oid, 'pg_database'),
    'settings', (SELECT coalesce(json_agg(json_build_object(
                    'role', (SELECT rolname FROM pg_roles r WHERE r.oid = s.setrole),
                    'settings', s.setconfig) ORDER BY s.setrole), '[]'::json)
                 FROM pg_db_role_setting s WHERE s.setdatabase = d.oid)
  )"#;

fn facts_sql() -> String {
    format!(
        "SELECT json_build_object(
  'database', current_database(),
  'server_version', current_setting('server_version'),
  'host', :'HOST',
  'port', :'PORT',
  'size', pg_database_size(current_database()),
  'properties', {PROPERTIES_JSON})
FROM pg_database d WHERE d.datname = current_database();"
    )
}

/// psql set up for scripted use: no psqlrc, never prompt, stop at the first error.
pub fn psql(programs: &PgPrograms, conn: &Conn) -> Tool {
    conn.apply(Tool::new(&programs.psql).args([
        "-X",
        "-w",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
    ]))
}

/// Runs SQL that returns one JSON value.
pub fn query_json(programs: &PgPrograms, conn: &Conn, sql: &str) -> Result<Value> {
    let output = psql(programs, conn).output(sql)?;
    serde_json::from_str(output.trim())
        .with_context(|| format!("psql returned unexpected output: {output:?}"))
}

/// Connects and reads the server facts. When the server wants a password and none is
/// configured, asks for it without echo on a terminal; without one, says what to set.
pub fn connect(programs: &PgPrograms, conn: &mut Conn, interactive: bool) -> Result<ServerFacts> {
    let value = match query_json_prompting(programs, conn, interactive, &facts_sql()) {
        Err(err) if no_server(&err).is_some() => bail!(
            "could not connect to database {}: {}; start PostgreSQL, or point pgbackup at a \
             server with --dbname (a name, a conninfo string or a postgresql:// URI), \
             --host/--port or PGHOST/PGPORT, or a service (PGSERVICE)",
            conn.display(),
            no_server(&err).unwrap_or_default()
        ),
        other => {
            other.with_context(|| format!("could not connect to database {}", conn.display()))?
        }
    };
    serde_json::from_value(value).context("psql returned unexpected server facts")
}

/// [`query_json`], asking for a password first when the server wants one and none is
/// configured (on a terminal; without one, says what to set). The password stays in `conn`.
pub fn query_json_prompting(
    programs: &PgPrograms,
    conn: &mut Conn,
    interactive: bool,
    sql: &str,
) -> Result<Value> {
    match query_json(programs, conn, sql) {
        Err(err) if wants_password(&err) && !conn.has_password() => {
            if !interactive {
                bail!(
                    "the server asks for a password and none is configured, and there is no \
                     terminal to ask on: set PGPASSWORD, use a password file (PGPASSFILE, \
                     ~/.pgpass) or a service file"
                );
            }
            let password =
                rpassword::prompt_password("Password: ").context("could not read the password")?;
            conn.set_password(password);
            query_json(programs, conn, sql)
        }
        other => other,
    }
}

/// libpq's first line when no server answers where it looked ("connection to server on
/// socket \"…\" failed: No such file or directory"), without the "psql: error: " prefix.
fn no_server(err: &anyhow::Error) -> Option<String> {
    let stderr = &err.downcast_ref::<ProcessError>()?.stderr;
    let unreachable = ["No such file or directory", "Connection refused"];
    let line = stderr.lines().find(|line| {
        line.contains("connection to server") && unreachable.iter().any(|u| line.contains(u))
    })?;
    let line = line.trim();
    Some(
        line.strip_prefix("psql: error: ")
            .unwrap_or(line)
            .to_string(),
    )
}

fn wants_password(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ProcessError>()
        .is_some_and(|e| e.stderr.contains("no password supplied"))
}

/// `pg_dump --version` without the program name: "15.18 (Debian 15.18-0+deb12u1)".
pub fn pg_dump_version(programs: &PgPrograms) -> Result<String> {
    let output = Tool::new(&programs.pg_dump).arg("--version").output("")?;
    let line = output.lines().next().unwrap_or("").trim();
    Ok(line
        .strip_prefix("pg_dump (PostgreSQL) ")
        .unwrap_or(line)
        .to_string())
}
