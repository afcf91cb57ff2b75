//! `pgbackup list`: the catalog and the backups folder, newest first.

use anyhow::Result;

use crate::catalog::Catalog;
use crate::catalog::inventory;
use crate::cli::ListArgs;
use crate::commands::listed::Listed;
use crate::commands::present;
use crate::config::Config;
use crate::model::naming::Kind;

mod runs;

/// Everything `list` shows: cataloged entries and untracked files, newest first.
pub fn gather<'a>(config: &Config, catalog: &'a Catalog) -> Result<Vec<Listed<'a>>> {
    let inventory = inventory::of_store(catalog, &*config.store)?;
    Ok(inventory
        .into_newest_first(config.zone)
        .into_iter()
        .map(Listed::from)
        .collect())
}

/// The characters of a description the table shows; `view ID` shows all of it.
const DESCRIPTION_SHOWN: usize = 60;

pub fn run(config: &Config, args: &ListArgs) -> Result<u8> {
    let catalog = Catalog::load(&*config.store)?;
    if args.runs {
        return runs::run(config, &catalog);
    }
    let mut listed = gather(config, &catalog)?;
    listed.retain(|l| {
        args.database
            .as_ref()
            .is_none_or(|db| &l.entry.database == db)
            && args.kind.is_none_or(|k| l.entry.kind == k)
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
        let kind = e.kind_shown();
        let state = if e.is_pinned() {
            format!("{} (pinned)", l.state)
        } else {
            l.state.to_string()
        };
        let date: String = e.date.replace('T', " ").chars().take(19).collect();
        let description = present::printable(&e.description);
        table.add_row(present::row([
            &e.id,
            &date,
            match e.kind == Kind::Globals && e.database.is_empty() {
                true => "(server)",
                false => &e.database,
            },
            &kind,
            &present::human_size(e.size),
            e.compression_name(),
            &present::shortened(&description, DESCRIPTION_SHOWN),
            &state,
        ]));
    }
    // ID, type, size and state never wrap; the date (which the ID carries) and the
    // compression give way first on a narrow terminal.
    present::fit(&mut table, &[0, 3, 4, 7], &[1, 5]);
    present::print_line(&table.to_string())?;
    Ok(0)
}
