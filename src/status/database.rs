//! The database as status sees it: reachable or not, and the facts an operator looks at
//! first, read in one psql round trip that gives up quickly when the server is down.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::pg::postgres;
use crate::pg::process::ProcessError;

/// How long to wait for the server unless PGCONNECT_TIMEOUT (or the conninfo) says otherwise.
const CONNECT_TIMEOUT_SECONDS: &str = "5";

const STATUS_SQL: &str = r#"
SELECT json_build_object(
  'name', current_database(),
  'server_version', current_setting('server_version'),
  'in_recovery', pg_is_in_recovery(),
  'size_bytes', pg_database_size(current_database()),
  'connections', (SELECT count(*) FROM pg_stat_activity a
                  WHERE coalesce(to_jsonb(a)->>'backend_type', 'client backend') = 'client backend'),
  'max_connections', current_setting('max_connections')::int,
  'started_at_epoch', extract(epoch FROM pg_postmaster_start_time())::float8,
  'uptime_seconds', extract(epoch FROM now() - pg_postmaster_start_time())::bigint,
  'largest_tables', (SELECT coalesce(json_agg(t), '[]'::json) FROM (
      SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid) AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\_toast%'
      ORDER BY bytes DESC, schema, name
      LIMIT 5) t)
);
"#;

/// The database section of the status report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatabaseReport {
    pub reachable: bool,
    /// Why the database could not be reached (null when it was).
    pub error: Option<String>,
    /// The connection target, without any password.
    pub connection: String,
    /// The database connected to (or named by the connection when unreachable).
    pub name: Option<String>,
    pub server_version: Option<String>,
    pub in_recovery: Option<bool>,
    pub size_bytes: Option<u64>,
    /// Client connections to the whole server.
    pub connections: Option<u64>,
    pub max_connections: Option<u64>,
    /// When the server (postmaster) started.
    #[serde(serialize_with = "crate::status::rfc3339_opt")]
    pub started_at: Option<DateTime<FixedOffset>>,
    pub uptime_seconds: Option<i64>,
    /// The five largest tables, with indexes and TOAST.
    pub largest_tables: Vec<TableSize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSize {
    pub schema: String,
    pub name: String,
    pub bytes: u64,
}

#[derive(Debug, Deserialize)]
struct Facts {
    name: String,
    server_version: String,
    in_recovery: bool,
    size_bytes: u64,
    connections: u64,
    max_connections: u64,
    started_at_epoch: f64,
    uptime_seconds: i64,
    largest_tables: Vec<TableSize>,
}

/// Asks the server; never prompts for a password, never fails: an error is "unreachable".
pub fn probe(config: &Config) -> DatabaseReport {
    let timeout = config
        .connect_timeout
        .as_deref()
        .unwrap_or(CONNECT_TIMEOUT_SECONDS);
    let asked = postgres::psql(&config.programs, &config.conn)
        .env("PGCONNECT_TIMEOUT", timeout)
        .output(STATUS_SQL)
        .map_err(|err| connection_error(&err))
        .and_then(|output| {
            serde_json::from_str::<Facts>(output.trim())
                .map_err(|err| format!("psql returned unexpected output ({err}): {output:?}"))
        });
    let mut report = DatabaseReport {
        connection: config.conn.display(),
        name: config.database_hint.clone(),
        ..DatabaseReport::default()
    };
    match asked {
        Ok(facts) => {
            let started = DateTime::<Utc>::from_timestamp_micros(
                (facts.started_at_epoch * 1e6).round() as i64,
            );
            report.reachable = true;
            report.name = Some(facts.name);
            report.server_version = Some(facts.server_version);
            report.in_recovery = Some(facts.in_recovery);
            report.size_bytes = Some(facts.size_bytes);
            report.connections = Some(facts.connections);
            report.max_connections = Some(facts.max_connections);
            report.started_at = started.map(|t| config.zone.wall_clock(t));
            report.uptime_seconds = Some(facts.uptime_seconds);
            report.largest_tables = facts.largest_tables;
        }
        Err(error) => report.error = Some(error),
    }
    report
}

/// psql's own words ("connection to server ... failed: ..."), on one line.
fn connection_error(err: &anyhow::Error) -> String {
    let text = match err.downcast_ref::<ProcessError>() {
        Some(process) if !process.stderr.trim().is_empty() => process.stderr.clone(),
        _ => format!("{err:#}"),
    };
    let text = text.trim();
    let text = text.strip_prefix("psql: error: ").unwrap_or(text);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
