//! A schema-only backup restored over a database that holds data leaves its tables empty:
//! that takes `--type schema`, or, on a terminal, a plan that says so in capitals.

use anyhow::Result;

use crate::catalog::Entry;
use crate::exit;
use crate::model::naming::Kind;
use crate::pg::server::Server;

/// Whether any table or materialized view of the database has rows (or had them).
const HOLDS_DATA_SQL: &str = "SELECT to_json(EXISTS (SELECT 1 FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') \
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' \
     AND pg_relation_size(c.oid) > 0));";

/// The type `latest` stands for: full unless `--type` says otherwise.
pub fn latest_kind(requested: Option<Kind>) -> Kind {
    requested.unwrap_or_default()
}

/// `--type` must name the backup's own type.
pub fn check_type(entry: &Entry, requested: Option<Kind>) -> Result<()> {
    match requested {
        Some(kind) if entry.kind != kind => Err(exit::usage(format!(
            "backup {} is a {} backup, not a {kind} backup (--type {kind})",
            entry.id, entry.kind
        ))),
        _ => Ok(()),
    }
}

/// Refuses (exit 2) to restore a schema-only backup over `target` when it holds data and
/// `--type schema` was not given, unless the operator confirms on a terminal (`asks`):
/// then the warning for the plan is returned.
pub fn guard(
    server: &Server,
    entry: &Entry,
    requested: Option<Kind>,
    target: &str,
    partial: bool,
    asks: bool,
) -> Result<Option<String>> {
    if entry.kind != Kind::Schema || requested == Some(Kind::Schema) {
        return Ok(None);
    }
    if server.properties(target)?.is_none() {
        return Ok(None);
    }
    // When it cannot be told (the database refuses connections), assume it holds data.
    let holds_data = server
        .query_json_in(target, HOLDS_DATA_SQL)
        .map_or(true, |v| v.as_bool() != Some(false));
    if !holds_data {
        return Ok(None);
    }
    let lost = match partial {
        true => format!("THE DATA OF THE TABLES IT REPLACES IN {target:?}"),
        false => format!("ALL DATA IN DATABASE {target:?}"),
    };
    if asks {
        return Ok(Some(format!(
            "WARNING: BACKUP {} IS SCHEMA-ONLY. {lost} WILL BE GONE: the tables are restored \
             empty.",
            entry.id
        )));
    }
    Err(exit::usage(format!(
        "backup {} is schema-only: restoring it over database {target:?}, which holds data, \
         would leave its tables empty; add --type schema if that is what you want, or restore \
         a full backup (`latest` is the newest full one)",
        entry.id
    )))
}
