//! `pgbackup view ID`: every field of one backup.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::backup::integrity::BackupFile;
use crate::catalog::inventory::{self, State};
use crate::catalog::select;
use crate::catalog::{Catalog, Entry};
use crate::cli::ViewArgs;
use crate::commands::listed::Listed;
use crate::commands::present;
use crate::config::Config;
use crate::interrupt::Interrupt;
use crate::pg::contents;
use crate::pg::process::Tool;

pub fn run(config: &Config, args: &ViewArgs) -> Result<u8> {
    let catalog = Catalog::load(&*config.store)?;
    let entry = select::resolve(
        &catalog,
        &args.id,
        config.database_hint.as_deref(),
        &*config.store,
        config.zone,
    )?;
    if args.contents {
        return contents(config, entry);
    }
    let inventory = inventory::of_store(&catalog, &*config.store)?;
    let state = inventory
        .state_of(entry)
        .expect("the entry is in the catalog");
    let listed = Listed {
        entry: std::borrow::Cow::Borrowed(entry),
        state: state.name(),
    };
    if config.json {
        return present::print_json(&listed).map(|()| 0);
    }
    let Value::Object(fields) = serde_json::to_value(&listed)? else {
        unreachable!("an entry serializes to an object")
    };
    let mut table = present::table(&["Field", "Value"]);
    for (key, value) in &fields {
        let shown = match (key.as_str(), value) {
            ("files", Value::Array(files)) => {
                format!(
                    "{} (each with its size and SHA-256: see --json)",
                    files.len()
                )
            }
            _ => show(value),
        };
        table.add_row(vec![key.clone(), shown]);
    }
    if let State::Unsafe(reason) = state {
        table.add_row(vec!["problem".to_string(), present::printable(reason)]);
    }
    present::fit(&mut table, &[0], &[]);
    present::print_line(&table.to_string())?;
    Ok(0)
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => present::printable(s),
        Value::Null => String::new(),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", show(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[derive(Serialize)]
struct Contents<'a> {
    id: &'a str,
    format: &'a str,
    tables: Vec<contents::Table>,
}

/// `view --contents`: the tables the backup holds, with rows and bytes of data.
fn contents(config: &Config, entry: &Entry) -> Result<u8> {
    let file =
        BackupFile::locate(&config.store, entry, &config.identities).map_err(anyhow::Error::msg)?;
    let pg_restore = Tool::new(&config.programs.pg_restore);
    let tables = contents::read(&file, &pg_restore, &Interrupt::untrapped())?;
    if config.json {
        let report = Contents {
            id: &entry.id,
            format: entry.format_name(),
            tables,
        };
        return present::print_json(&report).map(|()| 0);
    }
    let mut table = present::table(&["Schema", "Table", "Rows", "Data"]);
    for t in &tables {
        table.add_row(vec![
            present::printable(&t.schema),
            present::printable(&t.name),
            t.rows
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".to_string()),
            t.bytes
                .map(present::human_size)
                .unwrap_or_else(|| "-".to_string()),
        ]);
    }
    present::print_line(&table.to_string())?;
    Ok(0)
}
