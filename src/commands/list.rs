//! `pgbackup list`: the catalog and the backups folder, newest first.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::catalog::{Catalog, Entry};
use crate::cli::ListArgs;
use crate::commands::present;
use crate::config::Config;
use crate::files::{self, FileState};
use crate::naming::{self, Compression};

/// A catalog entry or an untracked file, with what is true of it on disk.
#[derive(Debug, Serialize)]
pub struct Listed<'a> {
    #[serde(flatten)]
    pub entry: Cow<'a, Entry>,
    /// ok, missing, untracked, unsafe, deleting
    pub state: &'static str,
}

pub fn state_name(state: &FileState, entry: &Entry) -> &'static str {
    match state {
        _ if entry.is_deleting() => "deleting",
        FileState::Present { .. } => "ok",
        FileState::Missing => "missing",
        FileState::Unsafe(_) => "unsafe",
    }
}

/// Everything `list` shows: cataloged entries and untracked files, newest first.
pub fn gather<'a>(config: &Config, catalog: &'a Catalog) -> Result<Vec<Listed<'a>>> {
    let mut listed: Vec<Listed<'a>> = catalog
        .backups
        .iter()
        .map(|entry| Listed {
            state: state_name(&files::state_of(&config.backups_dir, entry), entry),
            entry: Cow::Borrowed(entry),
        })
        .collect();
    for name in files::scan(&config.backups_dir)?.backups {
        if !catalog.backups.iter().any(|e| e.filename == name) {
            listed.push(Listed {
                entry: Cow::Owned(untracked_entry(&config.backups_dir, &name)),
                state: "untracked",
            });
        }
    }
    listed.sort_by_key(|l| std::cmp::Reverse(l.entry.instant(config.zone)));
    Ok(listed)
}

/// What the file's name and size say about a backup the catalog does not know.
pub fn untracked_entry(backups_dir: &Path, name: &str) -> Entry {
    let parsed = naming::parse_file_name(name).expect("scan returns names that parse");
    let size = std::fs::symlink_metadata(backups_dir.join(name))
        .map(|m| m.len())
        .unwrap_or(0);
    let value = serde_json::json!({
        "id": parsed.id,
        "filename": name,
        "path": backups_dir.join(name),
        "type": parsed.kind.as_str(),
        "compressed": parsed.compression != Compression::None,
        "size": size,
        "date": parsed.stamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "description": "",
        "database": "",
        "format": parsed.format.as_str(),
        "compression": parsed.compression.as_str(),
    });
    serde_json::from_value(value).expect("the untracked entry is well formed")
}

pub fn run(config: &Config, args: &ListArgs) -> Result<u8> {
    let catalog = Catalog::load(&config.catalog_path)?;
    let mut listed = gather(config, &catalog)?;
    listed.retain(|l| {
        args.database
            .as_ref()
            .is_none_or(|db| &l.entry.database == db)
            && args
                .kind
                .is_none_or(|k| l.entry.kind == format!("{k:?}").to_lowercase())
    });
    if config.json {
        return present::print_json(&listed).map(|()| 0);
    }
    if listed.is_empty() {
        present::print_line("no backups")?;
        return Ok(0);
    }
    let mut table = present::table(&[
        "ID",
        "Date",
        "Database",
        "Type",
        "Size",
        "Compression",
        "Description",
        "State",
    ]);
    for l in &listed {
        let e = &l.entry;
        let state = if e.is_pinned() {
            format!("{} (pinned)", l.state)
        } else {
            l.state.to_string()
        };
        table.add_row(vec![
            e.id.clone(),
            e.date.replace('T', " ").chars().take(19).collect(),
            e.database.clone(),
            e.kind.clone(),
            present::human_size(e.size),
            e.compression_name().to_string(),
            e.description.clone(),
            state,
        ]);
    }
    present::print_line(&table.to_string())?;
    Ok(0)
}
