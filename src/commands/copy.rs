//! `pgbackup copy ID... --to URL`: copies backups from the repository (`--repo`) to
//! another one, each checked against the catalog's SHA-256 before it is recorded there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use crate::backup::copy::{self, Copied};
use crate::backup::restore::recovery;
use crate::catalog::select;
use crate::catalog::{Catalog, Entry};
use crate::cli::CopyArgs;
use crate::commands::present;
use crate::commands::progress::Progress;
use crate::config::{self, Config};
use crate::exit;
use crate::state::audit;
use crate::store::{Store, fsutil};

pub fn run(config: &Config, args: &CopyArgs) -> Result<u8> {
    if args.to.trim().is_empty() {
        return Err(exit::usage(
            "--to needs a repository: a folder or s3://BUCKET/PREFIX",
        ));
    }
    let to = config::repository(Some(&args.to), &config.home.join("backups"))?;
    if same_repository(&*config.store, &*to) {
        return Err(exit::usage(format!(
            "--to {} is the repository the backups are in (--repo); name another one",
            to.location()
        )));
    }
    let mut done = Vec::new();
    let outcome = copy_all(config, &to, args, &mut done);
    audit::record_outcome(config, &outcome, |()| summary(&to, &done));
    outcome?;
    if config.json {
        present::print_json(&CopyReport {
            to: to.location(),
            backups: done,
        })?;
    }
    Ok(0)
}

/// Copies the selected backups in order, stopping at the first failure; `done` receives
/// each one copied (or found there) before it.
fn copy_all(
    config: &Config,
    to: &Arc<dyn Store>,
    args: &CopyArgs,
    done: &mut Vec<CopiedBackup>,
) -> Result<()> {
    let _lock = recovery::lock_home(config)?;
    for name in to.sweep()? {
        tracing::debug!("swept {name} in {}", to.location());
    }
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
        if !chosen.iter().any(|c| std::ptr::eq(*c, entry)) {
            chosen.push(entry);
        }
    }
    if !args.to.starts_with("s3://") {
        // A folder repository is made on first use, private to its owner.
        fsutil::ensure_private_dir(Path::new(&to.location()))?;
    }
    for entry in chosen {
        let mut progress =
            Progress::new(config.progress, format!("copying {}", entry.id), entry.size);
        let copied = copy::copy_backup_with(&*config.store, &**to, entry, &mut |bytes| {
            progress.update(bytes)
        });
        progress.finish();
        let copied = copied?;
        let backup = CopiedBackup::of(&copied);
        if !config.json {
            present::print_line(&match backup.outcome {
                Outcome::Copied => format!("copied backup {} to {}", backup.id, to.location()),
                Outcome::AlreadyThere => format!(
                    "backup {} is already in {} (same SHA-256); nothing uploaded",
                    backup.id,
                    to.location()
                ),
            })?;
        }
        done.push(backup);
    }
    Ok(())
}

/// Whether both name the same repository: the same URL, or the same folder however it is
/// spelled.
fn same_repository(a: &dyn Store, b: &dyn Store) -> bool {
    fn key(store: &dyn Store) -> PathBuf {
        let location = store.location();
        let trimmed = Path::new(location.trim_end_matches('/'));
        match location.starts_with('/') {
            true => std::fs::canonicalize(trimmed).unwrap_or_else(|_| trimmed.to_path_buf()),
            false => trimmed.to_path_buf(),
        }
    }
    key(a) == key(b)
}

/// The audit log's words for what was done (repository URLs never hold a secret).
fn summary(to: &Arc<dyn Store>, done: &[CopiedBackup]) -> String {
    let ids = |outcome: Outcome| {
        let ids: Vec<&str> = (done.iter())
            .filter(|b| b.outcome == outcome)
            .map(|b| b.id.as_str())
            .collect();
        match ids.is_empty() {
            true => "-".to_string(),
            false => ids.join(","),
        }
    };
    format!(
        "to={} copied={} already_there={}",
        to.location(),
        ids(Outcome::Copied),
        ids(Outcome::AlreadyThere)
    )
}

/// What `copy --json` prints.
#[derive(Debug, Serialize)]
struct CopyReport {
    /// The destination repository.
    to: String,
    backups: Vec<CopiedBackup>,
}

/// One backup `copy` copied or found already there.
#[derive(Debug, Serialize)]
struct CopiedBackup {
    id: String,
    database: String,
    #[serde(rename = "type")]
    kind: String,
    date: String,
    filename: String,
    size: u64,
    sha256: Option<String>,
    outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// Uploaded, checked and recorded in the destination.
    Copied,
    /// The destination held the same backup (same SHA-256): nothing was uploaded.
    AlreadyThere,
}

impl CopiedBackup {
    fn of(copied: &Copied) -> CopiedBackup {
        let e = copied.entry();
        CopiedBackup {
            id: e.id.clone(),
            database: e.database.clone(),
            kind: e.kind.as_str().to_string(),
            date: e.date.clone(),
            filename: e.filename.clone(),
            size: e.size,
            sha256: e.sha256.clone(),
            outcome: match copied {
                Copied::Copied(_) => Outcome::Copied,
                Copied::AlreadyThere(_) => Outcome::AlreadyThere,
            },
        }
    }
}
