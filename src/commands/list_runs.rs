//! `pgbackup list --runs`: the runs in the catalog, newest first, with how many of their
//! planned backups are there (cataloged, file present) and whether the run is complete.

use anyhow::Result;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::catalog::inventory;
use crate::catalog::runs::{self, Run};
use crate::commands::present;
use crate::config::Config;

/// One run as `list --runs --json` prints it.
#[derive(Debug, Serialize)]
pub struct ListedRun {
    pub run: String,
    /// The earliest part's `created_at` (else its `date`).
    pub started: Option<String>,
    /// Backups of the run that count: cataloged, complete, file present.
    pub done: usize,
    pub planned: usize,
    pub complete: bool,
    /// Bytes of those backups.
    pub size: u64,
    /// Their IDs, globals first, then databases in the plan's order.
    pub backups: Vec<String>,
    /// The planned parts that are not there: `globals` or a database's name.
    pub missing: Vec<String>,
}

impl From<&Run<'_>> for ListedRun {
    fn from(run: &Run<'_>) -> ListedRun {
        let backups = run.globals().into_iter().chain(run.databases());
        ListedRun {
            run: run.id.clone(),
            started: run.started().map(str::to_string),
            done: run.parts.len(),
            planned: run.planned(),
            complete: run.is_complete(),
            size: run.size(),
            backups: backups.map(|e| e.id.clone()).collect(),
            missing: (run.missing().into_iter())
                .map(|part| match part {
                    runs::Part::Globals => "globals".to_string(),
                    runs::Part::Database(name) => name,
                })
                .collect(),
        }
    }
}

pub fn run(config: &Config, catalog: &Catalog) -> Result<u8> {
    let inventory = inventory::of_store(catalog, &*config.store)?;
    let grouped = runs::group(inventory.complete().map(|(entry, _)| entry));
    let listed: Vec<ListedRun> = grouped.iter().map(ListedRun::from).collect();
    if config.json {
        return present::print_json(&listed).map(|()| 0);
    }
    if listed.is_empty() {
        present::print_line("no runs")?;
        return Ok(0);
    }
    let mut table = present::table(&["Run", "Started", "Parts", "Size", "State", "Missing"]);
    for run in &listed {
        let started: String = (run.started.as_deref().unwrap_or(""))
            .replace('T', " ")
            .chars()
            .take(19)
            .collect();
        let missing = present::printable(&run.missing.join(", "));
        table.add_row(present::row([
            &run.run,
            &started,
            &format!("{}/{}", run.done, run.planned),
            &present::human_size(run.size),
            if run.complete {
                "complete"
            } else {
                "incomplete"
            },
            &missing,
        ]));
    }
    present::fit(&mut table, &[0, 2, 3, 4], &[1]);
    present::print_line(&table.to_string())?;
    Ok(0)
}
