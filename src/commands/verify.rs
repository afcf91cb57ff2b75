//! `pgbackup verify [ID...]`: check backups without the lock, record the results under it
//! briefly; `--rebuild-catalog` re-creates the catalog from the files.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::backup::integrity::{self, BackupFile};
use crate::backup::restore_test;
use crate::backup::verification::{Verdict, VerifyState};
use crate::catalog::inventory::{self, State};
use crate::catalog::rebuild;
use crate::catalog::select;
use crate::catalog::sidecar;
use crate::catalog::{Catalog, Entry};
use crate::cli::VerifyArgs;
use crate::commands::present;
use crate::commands::progress::Progress;
use crate::config::Config;
use crate::exit::{self, Refusal};
use crate::interrupt::Interrupt;
use crate::pg::server::Server;
use crate::state::audit;
use crate::state::lock;

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

pub fn run(config: &Config, args: &VerifyArgs) -> Result<u8> {
    if args.rebuild_catalog {
        return rebuild_catalog(config);
    }
    let catalog = Catalog::load(&*config.store)?;
    let entries = selected(config, &catalog, &args.ids)?;
    if entries.is_empty() {
        present::print_line("no backups to verify")?;
        return Ok(0);
    }
    let server = match args.restore_test {
        true => Some(Server::connect(
            &config.programs,
            &config.conn,
            &args.maintenance_db,
            config.interactive,
        )?),
        false => None,
    };
    let interrupt = Interrupt::install()?;
    let mut results = Vec::new();
    for entry in &entries {
        results.push(verify_one(config, entry, server.as_ref(), &interrupt)?);
    }
    let recorded = record(config, &results);
    let failed = results.iter().filter(|r| !r.ok).count();
    audit::record_outcome(config, &recorded, |()| {
        format!("verified={} failed={failed}", results.len())
    });
    if let Err(err) = recorded {
        tracing::warn!("the results were not recorded in the catalog: {err:#}");
    }
    print(config, &results)?;
    Ok(if failed == 0 { 0 } else { exit::FAILURE })
}

/// The entries named on the command line, or every backup that is not being deleted.
fn selected(config: &Config, catalog: &Catalog, ids: &[String]) -> Result<Vec<Entry>> {
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

fn verify_one(
    config: &Config,
    entry: &Entry,
    server: Option<&Server>,
    interrupt: &Interrupt,
) -> Result<Verified> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut restore_tested = None;
    match BackupFile::locate(&config.store, entry) {
        Err(problem) => problems.push(problem),
        Ok(_) if entry.is_deleting() => problems.push("the backup is being deleted".to_string()),
        Ok(file) => {
            let mut progress = Progress::new(
                config.progress,
                format!("verifying {}", entry.id),
                entry.size,
            );
            let findings = integrity::check_everything(
                entry,
                &file,
                &config.programs,
                interrupt,
                server.is_some(),
                &mut |n| progress.update(n),
            )?;
            progress.finish();
            problems.extend(findings.problems);
            warnings.extend(findings.warnings);
            if let Some(server) = server.filter(|_| problems.is_empty()) {
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
            detail: tested.map(|tables| format!("restore test passed: {tables} tables present")),
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
fn record(config: &Config, results: &[Verified]) -> Result<()> {
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

fn print(config: &Config, results: &[Verified]) -> Result<()> {
    if config.json {
        return present::print_json(results);
    }
    let mut table = present::table(&["ID", "Database", "File", "Result", "Details"]);
    for r in results {
        let details: Vec<String> = r
            .problems
            .iter()
            .chain(&r.warnings)
            .map(|d| present::printable(d))
            .collect();
        table.add_row(vec![
            present::printable(&r.id),
            present::printable(&r.database),
            present::printable(&r.filename),
            if r.ok {
                match &r.detail {
                    Some(detail) => format!("ok ({detail})"),
                    None => r.result.clone(),
                }
            } else {
                "FAILED".to_string()
            },
            details.join("\n"),
        ]);
    }
    // The ID never wraps.
    present::fit(&mut table, &[0], &[]);
    present::print_line(&table.to_string())
}

/// What `verify --rebuild-catalog --json` prints.
#[derive(Debug, Serialize)]
struct RebuildReport {
    kept_aside: Option<String>,
    kept: usize,
    /// Damaged entries replaced from their backup's metadata file.
    repaired: Vec<String>,
    adopted: Vec<AdoptedReport>,
}

#[derive(Debug, Serialize)]
struct AdoptedReport {
    id: String,
    filename: String,
    database: String,
    notes: Vec<String>,
}

fn rebuild_catalog(config: &Config) -> Result<u8> {
    let outcome = (|| {
        lock::ensure_folder(&config.home)?;
        let _lock = lock::acquire(&config.home, &*config.store, &config.command_line)?;
        let interrupt = Interrupt::install()?;
        let stamp = config
            .zone
            .wall_clock(Utc::now())
            .format("%Y%m%d_%H%M%S")
            .to_string();
        rebuild::rebuild(&config.store, &config.programs, &interrupt, &stamp)
    })();
    audit::record_outcome(config, &outcome, |r| {
        format!(
            "rebuild-catalog kept={} adopted={}",
            r.kept,
            r.adopted.len()
        )
    });
    let rebuilt = outcome?;
    let report = RebuildReport {
        kept_aside: rebuilt.kept_aside,
        kept: rebuilt.kept,
        repaired: rebuilt.repaired.clone(),
        adopted: rebuilt
            .adopted
            .iter()
            .map(|a| AdoptedReport {
                id: a.entry.id.clone(),
                filename: a.entry.filename.clone(),
                database: a.entry.database.clone(),
                notes: a.notes.clone(),
            })
            .collect(),
    };
    if config.json {
        present::print_json(&report)?;
        return Ok(0);
    }
    if let Some(aside) = &report.kept_aside {
        present::print_line(&format!("the broken catalog was kept as {aside}"))?;
    }
    for id in &report.repaired {
        present::print_line(&format!("repaired {id} from its metadata file"))?;
    }
    for a in &report.adopted {
        present::print_line(&format!("adopted {} ({})", a.id, a.filename))?;
        for note in &a.notes {
            tracing::warn!("{}: {note}", a.id);
        }
    }
    present::print_line(&format!(
        "catalog rebuilt: {} entries kept, {} files adopted",
        report.kept,
        report.adopted.len()
    ))?;
    Ok(0)
}
