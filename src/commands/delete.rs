//! `pgbackup delete ID...`: confirmed, confined, crash-safe removal of backups.

use anyhow::Result;
use serde::Serialize;

use crate::backup::restore::recovery;
use crate::catalog::removal::{self, Removed, Target};
use crate::catalog::select;
use crate::catalog::{Catalog, Entry};
use crate::cli::DeleteArgs;
use crate::commands::{confirm, present};
use crate::config::Config;
use crate::exit;
use crate::state::audit;

pub fn run(config: &Config, args: &DeleteArgs) -> Result<u8> {
    let catalog = Catalog::load(&*config.store)?;
    let mut chosen: Vec<&Entry> = Vec::new();
    for selector in &args.ids {
        let entry = select::resolve(
            &catalog,
            selector,
            config.database_hint.as_deref(),
            &*config.store,
            config.zone,
        )?;
        if entry.is_pinned() {
            return Err(exit::usage(format!(
                "backup {} is pinned; `pgbackup unpin {}` first",
                entry.id, entry.id
            )));
        }
        if !chosen.iter().any(|c| std::ptr::eq(*c, entry)) {
            chosen.push(entry);
        }
    }
    let targets: Vec<Target> = chosen.iter().map(|e| Target::of(e)).collect();
    // The dry run prints the table on stdout, the confirmation on stderr.
    let mut table = present::table_on(
        &["ID", "Date", "Database", "Type", "Size", "File"],
        !args.dry_run,
    );
    for e in &chosen {
        table.add_row(present::row([
            &e.id,
            &e.date,
            &e.database,
            e.kind.as_str(),
            &present::human_size(e.size),
            &e.filename,
        ]));
    }
    // The ID, type and size never wrap; the date (which the ID carries) gives way first.
    present::fit(&mut table, &[0, 3, 4], &[1]);
    if args.dry_run {
        if config.json {
            let backups = chosen
                .iter()
                .map(|e| Deleted::of(Some(e), &e.id, Outcome::WouldDelete, None))
                .collect();
            return print_report(true, backups);
        }
        present::print_line(&format!(
            "would delete {} backup(s):\n{table}",
            targets.len()
        ))?;
        return Ok(0);
    }
    if !config.assume_yes && config.interactive {
        eprintln!("{table}");
    }
    confirm::confirm(
        config,
        &format!("Delete {} backup(s)? [y/N]", targets.len()),
        "y",
    )?;
    let outcome = (|| {
        let _lock = recovery::acquire(config)?;
        let mut catalog = Catalog::load(&*config.store)?;
        removal::remove(&mut catalog, &*config.store, &targets)
    })();
    audit::record_outcome(config, &outcome, |removed| {
        format!("deleted={}", removed.len())
    });
    let chosen_entry = |id: &str| chosen.iter().copied().find(|e| e.id == id);
    let mut deleted = Vec::new();
    for removed in outcome? {
        match removed {
            Removed::Deleted { id } => {
                if !config.json {
                    present::print_line(&format!("deleted backup {id}"))?;
                }
                deleted.push(Deleted::of(chosen_entry(&id), &id, Outcome::Deleted, None));
            }
            Removed::EntryOnly { id, reason } => {
                tracing::warn!("backup {id}: {reason}; its file was left alone");
                if !config.json {
                    present::print_line(&format!("removed catalog entry {id} (file left alone)"))?;
                }
                deleted.push(Deleted::of(
                    chosen_entry(&id),
                    &id,
                    Outcome::EntryOnly,
                    Some(reason),
                ));
            }
        }
    }
    if config.json {
        return print_report(false, deleted);
    }
    Ok(0)
}

/// What `delete --json` prints.
#[derive(Debug, Serialize)]
struct DeleteReport {
    dry_run: bool,
    backups: Vec<Deleted>,
}

/// One backup `delete` removed (or, with `--dry-run`, would remove).
#[derive(Debug, Serialize)]
struct Deleted {
    id: String,
    database: String,
    #[serde(rename = "type")]
    kind: String,
    date: String,
    filename: String,
    size: u64,
    outcome: Outcome,
    /// Why the file was left alone (`entry_only`).
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// File unlinked (or already gone) and entry dropped.
    Deleted,
    /// Entry dropped, file left alone (it was not pgbackup's to unlink).
    EntryOnly,
    /// `--dry-run`: nothing was changed.
    WouldDelete,
}

impl Deleted {
    /// `entry` comes from the catalog read before the removal.
    fn of(entry: Option<&Entry>, id: &str, outcome: Outcome, reason: Option<String>) -> Deleted {
        let field = |f: fn(&Entry) -> &str| entry.map(|e| f(e).to_string()).unwrap_or_default();
        Deleted {
            id: id.to_string(),
            database: field(|e| &e.database),
            kind: field(|e| e.kind.as_str()),
            date: field(|e| &e.date),
            filename: field(|e| &e.filename),
            size: entry.map_or(0, |e| e.size),
            outcome,
            reason,
        }
    }
}

fn print_report(dry_run: bool, backups: Vec<Deleted>) -> Result<u8> {
    present::print_json(&DeleteReport { dry_run, backups })?;
    Ok(0)
}
