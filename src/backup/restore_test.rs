//! `verify --restore-test`: restore a backup into a scratch database, check that every table
//! its table of contents announces is there, and drop the scratch database again.

use std::collections::BTreeSet;

use anyhow::{Context, Result};

use crate::backup::directory;
use crate::backup::integrity::BackupFile;
use crate::backup::restore::{self, NewDatabase, Selection};
use crate::catalog::Entry;
use crate::interrupt::Interrupt;
use crate::model::naming::Format;
use crate::pg::feed;
use crate::pg::process::Tool;
use crate::pg::server::{Server, free_name};
use crate::pg::toc;

const TABLES_SQL: &str = "SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname, \
     pg_get_userbyid(c.relowner))), '[]') FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname !~ '^pg_toast';";

/// What a restore test found.
#[derive(Debug, Default)]
pub struct TrialOutcome {
    /// Empty when the test passed.
    pub problems: Vec<String>,
    /// How many tables the dump announces (all of them were found when there are no problems).
    pub tables: usize,
}

/// Restores into a scratch database and checks it. `plain_tables` are the tables a plain
/// dump announces, collected while its integrity was checked. Errors only when interrupted.
pub fn restore_test(
    server: &Server,
    entry: &Entry,
    file: &BackupFile,
    plain_tables: Option<Vec<String>>,
    interrupt: &Interrupt,
) -> Result<TrialOutcome> {
    let failed = |problem: String| TrialOutcome {
        problems: vec![problem],
        tables: 0,
    };
    let expected = match (file.format, plain_tables) {
        (Format::Plain, Some(tables)) => tables,
        (Format::Plain, None) => Vec::new(),
        (Format::Custom | Format::Directory, _) => match listed_tables(server, file, interrupt) {
            Ok(tables) => tables,
            Err(err) => {
                interrupt.check()?;
                return Ok(failed(format!("could not list the archive: {err:#}")));
            }
        },
    };
    let scratch = free_name(
        &server.database_names()?,
        "pgbackup_verify",
        &format!("_{}", entry.id),
    );
    let properties = match entry.properties() {
        Ok(properties) => properties,
        Err(err) => return Ok(failed(format!("{err:#}"))),
    };
    tracing::info!("restore test of backup {} in {scratch:?}", entry.id);
    let new = NewDatabase {
        name: &scratch,
        properties,
        file,
        selection: &Selection::default(),
        expected_sha256: entry.sha256.as_deref(),
    };
    let loaded = restore::load_new(server, new, interrupt, &mut |_| {});
    if let Err(err) = loaded {
        interrupt.check()?;
        return Ok(failed(format!(
            "the restore into a scratch database failed: {err:#}"
        )));
    }
    let present = present_tables(server, &scratch);
    let dropped = server.drop_database(&scratch);
    let mut problems = Vec::new();
    match present {
        Ok(present) => {
            let missing: Vec<&String> = expected.iter().filter(|t| !present.contains(*t)).collect();
            if !missing.is_empty() {
                let shown: Vec<&str> = missing.iter().take(10).map(|t| t.as_str()).collect();
                problems.push(format!(
                    "{} of {} tables are missing after the restore: {}{}",
                    missing.len(),
                    expected.len(),
                    shown.join(", "),
                    if missing.len() > shown.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            }
        }
        Err(err) => problems.push(format!("could not list the restored tables: {err:#}")),
    }
    if let Err(err) = dropped {
        problems.push(format!("{err:#}"));
    }
    Ok(TrialOutcome {
        problems,
        tables: expected.len(),
    })
}

/// `schema name owner` of the tables in a restored database.
fn present_tables(server: &Server, name: &str) -> Result<BTreeSet<String>> {
    let rows: Vec<(String, String, String)> =
        serde_json::from_value(server.query_json_in(name, TABLES_SQL)?)
            .context("unexpected list of tables")?;
    Ok(rows
        .iter()
        .map(|(schema, table, owner)| toc::table_key(schema, table, owner))
        .collect())
}

/// The tables in a custom archive's table of contents (`pg_restore --list`).
fn listed_tables(server: &Server, file: &BackupFile, interrupt: &Interrupt) -> Result<Vec<String>> {
    let pg_restore = Tool::new(&server.programs().pg_restore).arg("--list");
    let listing = match file.format {
        Format::Directory => directory::pg_restore_text(file, pg_restore, interrupt)?,
        _ => feed::capture(&pg_restore, file.source(), interrupt)?,
    };
    Ok(toc::listed_tables(&listing))
}
