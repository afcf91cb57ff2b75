//! `pgbackup view ID`: every field of one backup.

use anyhow::Result;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::cli::ViewArgs;
use crate::commands::list::{Listed, state_name};
use crate::commands::{present, select};
use crate::config::Config;
use crate::files;

pub fn run(config: &Config, args: &ViewArgs) -> Result<u8> {
    if args.contents {
        anyhow::bail!("`pgbackup view --contents` is not implemented yet");
    }
    let catalog = Catalog::load(&config.catalog_path)?;
    let entry = select::resolve(
        &catalog,
        &args.id,
        config.database_hint.as_deref(),
        &config.backups_dir,
        config.zone,
    )?;
    let file_state = files::state_of(&config.backups_dir, entry);
    let listed = Listed {
        entry: std::borrow::Cow::Borrowed(entry),
        state: state_name(&file_state, entry),
    };
    if config.json {
        return present::print_json(&listed).map(|()| 0);
    }
    let Value::Object(fields) = serde_json::to_value(&listed)? else {
        unreachable!("an entry serializes to an object")
    };
    let mut table = present::table(&["Field", "Value"]);
    for (key, value) in &fields {
        table.add_row(vec![key.clone(), show(value)]);
    }
    if let files::FileState::Unsafe(reason) = &file_state {
        table.add_row(vec!["problem".to_string(), reason.clone()]);
    }
    present::print_line(&table.to_string())?;
    Ok(0)
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
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
