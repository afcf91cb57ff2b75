//! A new database already has schema `public`, and a dump made with a `--schema` pattern
//! that selects `public` creates it (pg_dump writes `CREATE SCHEMA public` only then, with
//! its owner, comment and grants), which would fail the load. Such a backup is loaded into
//! a new database whose `public` was dropped first, so that the result is the schema as
//! dumped.

use anyhow::{Context, Result};

use crate::catalog::Entry;
use crate::model::filters::DumpFilters;
use crate::pg::name_pattern::last_part_regex;
use crate::pg::server::Server;
use crate::pg::sql::literal;

/// Whether the backup's dump creates schema `public` itself: a `--schema` pattern matches
/// it and no `--exclude-schema` pattern does, as the server's regular expressions say.
pub fn created_by_dump(server: &Server, entry: &Entry) -> Result<bool> {
    let Ok(filters) = DumpFilters::parse(entry.pg_dump_options()) else {
        return Ok(false);
    };
    if filters.schemas.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "SELECT to_json('public' ~ ANY({}) AND NOT 'public' ~ ANY({}));",
        regex_array(&filters.schemas),
        regex_array(&filters.exclude_schemas)
    );
    let value = server
        .query_json(&sql)
        .context("could not match the backup's --schema patterns")?;
    Ok(value.as_bool().unwrap_or(false))
}

fn regex_array(patterns: &[String]) -> String {
    let items: Vec<String> = patterns
        .iter()
        .map(|pattern| literal(&last_part_regex(pattern)))
        .collect();
    format!("ARRAY[{}]::text[]", items.join(", "))
}

/// Drops the new database's own `public`, which the dump is about to create.
pub fn make_room(server: &Server, database: &str) -> Result<()> {
    server
        .psql(database)
        .output("DROP SCHEMA public;")
        .map(drop)
        .with_context(|| format!("could not drop schema public of the new database {database:?}"))
}
