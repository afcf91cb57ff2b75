//! `pgbackup verify [ID...]`: check backups without the lock, record the results under it
//! briefly; `--rebuild-catalog` re-creates the catalog from the files.

use anyhow::Result;
use chrono::Utc;
use serde::Serialize;

use crate::backup::verify::{self, Verified};
use crate::catalog::Catalog;
use crate::catalog::rebuild;
use crate::cli::VerifyArgs;
use crate::commands::present;
use crate::commands::progress::Progress;
use crate::config::Config;
use crate::exit;
use crate::interrupt::Interrupt;
use crate::pg::server::Server;
use crate::state::audit;
use crate::state::lock;

pub fn run(config: &Config, args: &VerifyArgs) -> Result<u8> {
    if args.rebuild_catalog {
        return rebuild_catalog(config);
    }
    let catalog = Catalog::load(&*config.store)?;
    let entries = verify::selected(config, &catalog, &args.ids)?;
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
    let enabled = config.progress;
    let track = move |label: String, total: u64| -> Box<dyn FnMut(u64)> {
        let mut progress = Progress::new(enabled, label, total);
        Box::new(move |done| progress.update(done))
    };
    let results = verify::verify(config, &entries, server.as_ref(), &track)?;
    let recorded = verify::record(config, &results);
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
