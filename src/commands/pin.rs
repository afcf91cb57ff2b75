//! `pgbackup pin ID` / `unpin ID`: protect a backup from prune and delete.

use anyhow::Result;
use serde::Serialize;

use crate::backup::restore::recovery;
use crate::catalog::Catalog;
use crate::catalog::select;
use crate::catalog::sidecar;
use crate::commands::present;
use crate::config::Config;
use crate::state::audit;

pub fn run(config: &Config, selector: &str, pinned: bool) -> Result<u8> {
    let outcome = (|| {
        let _lock = recovery::acquire(config)?;
        let mut catalog = Catalog::load(&*config.store)?;
        let id = select::resolve(
            &catalog,
            selector,
            config.database_hint.as_deref(),
            &*config.store,
            config.zone,
        )?
        .id
        .clone();
        let entry = catalog.find_mut(&id).expect("resolved IDs exist");
        entry.pinned = pinned.then_some(true);
        let entry = entry.clone();
        catalog.save(&*config.store)?;
        sidecar::write(&*config.store, &entry)?;
        Ok(id)
    })();
    audit::record_outcome(config, &outcome, |id| format!("id={id}"));
    let id = outcome?;
    if config.json {
        present::print_json(&PinReport { id, pinned })?;
        return Ok(0);
    }
    present::print_line(&format!(
        "backup {id} {}",
        if pinned { "pinned" } else { "unpinned" }
    ))?;
    Ok(0)
}

/// What `pin --json` and `unpin --json` print: the backup and whether it is now pinned.
#[derive(Debug, Serialize)]
struct PinReport {
    id: String,
    pinned: bool,
}
