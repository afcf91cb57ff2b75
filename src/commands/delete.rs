//! `pgbackup delete ID...`: confirmed, confined, crash-safe removal of backups.

use anyhow::Result;

use crate::audit;
use crate::catalog::Catalog;
use crate::cli::DeleteArgs;
use crate::commands::{confirm, present, select};
use crate::config::Config;
use crate::exit;
use crate::recovery;
use crate::removal::{self, Removed};

pub fn run(config: &Config, args: &DeleteArgs) -> Result<u8> {
    let catalog = Catalog::load(&config.catalog_path)?;
    let mut ids: Vec<String> = Vec::new();
    for selector in &args.ids {
        let entry = select::resolve(
            &catalog,
            selector,
            config.database_hint.as_deref(),
            &config.backups_dir,
            config.zone,
        )?;
        if entry.is_pinned() {
            return Err(exit::usage(format!(
                "backup {} is pinned; `pgbackup unpin {}` first",
                entry.id, entry.id
            )));
        }
        if !ids.contains(&entry.id) {
            ids.push(entry.id.clone());
        }
    }
    let mut table = present::table(&["ID", "Date", "Database", "Type", "Size", "File"]);
    for id in &ids {
        let e = catalog.find(id).expect("resolved IDs exist");
        table.add_row(vec![
            e.id.clone(),
            e.date.clone(),
            e.database.clone(),
            e.kind.clone(),
            present::human_size(e.size),
            e.filename.clone(),
        ]);
    }
    if args.dry_run {
        present::print_line(&format!("would delete {} backup(s):\n{table}", ids.len()))?;
        return Ok(0);
    }
    if !config.assume_yes && config.interactive {
        eprintln!("{table}");
    }
    confirm::confirm(
        config,
        &format!("Delete {} backup(s)? [y/N]", ids.len()),
        "y",
    )?;
    let outcome = (|| {
        let _lock = recovery::acquire(config)?;
        let mut catalog = Catalog::load(&config.catalog_path)?;
        removal::remove(
            &mut catalog,
            &config.catalog_path,
            &config.backups_dir,
            &ids,
        )
    })();
    audit::record_outcome(config, &outcome, |removed| {
        format!("deleted={}", removed.len())
    });
    for removed in outcome? {
        match removed {
            Removed::Deleted { id } => present::print_line(&format!("deleted backup {id}"))?,
            Removed::EntryOnly { id, reason } => {
                tracing::warn!("backup {id}: {reason}; its file was left alone");
                present::print_line(&format!("removed catalog entry {id} (file left alone)"))?;
            }
        }
    }
    Ok(0)
}
