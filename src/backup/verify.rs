//! Verifying backups: each file checked in full (hash, decoding, dump structure), with
//! an optional restore test into a throwaway database, and the verdicts recorded in the
//! catalog and the metadata files.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::backup::integrity::{self, BackupFile};
use crate::backup::restore_test;
use crate::backup::verification::{Verdict, VerifyState};
use crate::catalog::inventory::{self, State};
use crate::catalog::select;
use crate::catalog::sidecar;
use crate::catalog::{Catalog, Entry};
use crate::config::Config;
use crate::exit::Refusal;
use crate::interrupt::Interrupt;
use crate::model::naming::Kind;
use crate::pg::server::Server;
use crate::state::lock;

/// Shows one backup's verification progress: given a label and the bytes to read, the
/// function told how many are read so far; dropping it ends the display.
pub type TrackProgress<'a> = &'a dyn Fn(String, u64) -> Box<dyn FnMut(u64)>;

/// How long verify waits for another writer to release the lock before giving up recording.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// One backup's verification, as `verify --json` prints it.
#[derive(Debug, Serialize)]
pub struct Verified {
    pub id: String,
    pub filename: String,
    pub database: String,
    pub ok: bool,
    /// What is recorded as `verify_result`: `ok` or `failed`.
    pub result: String,
    /// What is recorded as `verify_detail`: what the restore test found, or the problems.
    pub detail: Option<String>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    pub restore_tested: bool,
    pub verified_at: String,
}

/// The entries named on the command line, or every backup that is not being deleted.
pub fn selected(config: &Config, catalog: &Catalog, ids: &[String]) -> Result<Vec<Entry>> {
    if ids.is_empty() {
        let inventory = inventory::of_store(catalog, &*config.store)?;
        let mut all: Vec<&Entry> = inventory
            .cataloged()
            .filter(|(_, state)| **state != State::Deleting)
            .map(|(e, _)| e)
            .collect();
        select::newest_first(&mut all, config.zone);
        return Ok(all.into_iter().cloned().collect());
    }
    let mut chosen: Vec<Entry> = Vec::new();
    for selector in ids {
        let entry = select::resolve(
            catalog,
            selector,
            config.database_hint.as_deref(),
            &*config.store,
            config.zone,
        )?;
        if !chosen.iter().any(|c| c.id == entry.id) {
            chosen.push(entry.clone());
        }
    }
    Ok(chosen)
}

/// Verifies `entries` one after the other, with a restore test into `server` when given.
pub fn verify(
    config: &Config,
    entries: &[Entry],
    server: Option<&Server>,
    track: TrackProgress<'_>,
) -> Result<Vec<Verified>> {
    let interrupt = Interrupt::install()?;
    let mut results = Vec::new();
    for entry in entries {
        results.push(verify_one(config, entry, server, &interrupt, track)?);
    }
    Ok(results)
}

fn verify_one(
    config: &Config,
    entry: &Entry,
    server: Option<&Server>,
    interrupt: &Interrupt,
    track: TrackProgress<'_>,
) -> Result<Verified> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut restore_tested = None;
    let mut sealed = false;
    match BackupFile::locate(&config.store, entry, &config.identities) {
        Err(problem) => problems.push(problem),
        Ok(_) if entry.is_deleting() => problems.push("the backup is being deleted".to_string()),
        Ok(file) => {
            sealed = file.chain.is_encrypted() && file.identities.is_empty();
            let mut progress = track(format!("verifying {}", entry.id), entry.size);
            let findings = integrity::check_everything(
                entry,
                &file,
                &config.programs,
                interrupt,
                server.is_some(),
                &mut |n| progress(n),
            )?;
            drop(progress);
            problems.extend(findings.problems);
            warnings.extend(findings.warnings);
            let globals = entry.kind == Kind::Globals;
            if globals && server.is_some() {
                warnings.push(
                    "not restore-tested: restoring globals would create roles and tablespaces \
                     on the server; checked that it decodes and ends complete"
                        .to_string(),
                );
            }
            if let Some(server) = server.filter(|_| problems.is_empty() && !globals) {
                let trial =
                    restore_test::restore_test(server, entry, &file, findings.tables, interrupt)?;
                problems.extend(trial.problems);
                restore_tested = Some(trial.tables);
            }
        }
    }
    let ok = problems.is_empty();
    let verdict = match (ok, restore_tested) {
        (true, tested) => Verdict {
            state: VerifyState::Ok,
            detail: match tested {
                Some(tables) => Some(format!("restore test passed: {tables} tables present")),
                None if sealed => {
                    Some("size and SHA-256 only: encrypted, no identity given".to_string())
                }
                None => None,
            },
        },
        (false, _) => Verdict {
            state: VerifyState::Failed,
            detail: Some(problems.join("; ")),
        },
    };
    Ok(Verified {
        id: entry.id.clone(),
        filename: entry.filename.clone(),
        database: entry.database.clone(),
        ok,
        result: verdict.state.as_str().to_string(),
        detail: verdict.detail,
        problems,
        warnings,
        restore_tested: restore_tested.is_some(),
        verified_at: config
            .zone
            .wall_clock(Utc::now())
            .to_rfc3339_opts(SecondsFormat::Secs, false),
    })
}

/// Merges the results into a freshly loaded catalog, holding the lock only for that.
pub fn record(config: &Config, results: &[Verified]) -> Result<()> {
    let deadline = Instant::now() + LOCK_WAIT;
    let _lock = loop {
        match lock::acquire(&config.home, &*config.store, &config.command_line) {
            Ok(lock) => break lock,
            Err(err)
                if matches!(err.downcast_ref(), Some(Refusal::LockHeld { .. }))
                    && Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(200));
            }
            Err(err) => return Err(err),
        }
    };
    let mut catalog = Catalog::load(&*config.store)?;
    let mut updated = Vec::new();
    for result in results {
        if let Some(entry) = catalog.find_file_mut(&result.id, &result.filename) {
            entry.verified_at = Some(result.verified_at.clone());
            let verdict = Verdict {
                state: if result.ok {
                    VerifyState::Ok
                } else {
                    VerifyState::Failed
                },
                detail: result.detail.clone(),
            };
            verdict.record(entry);
            updated.push(entry.clone());
        }
    }
    catalog.save(&*config.store)?;
    sidecar::write_all(&*config.store, &updated)
}
