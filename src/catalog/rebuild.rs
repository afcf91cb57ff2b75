//! `verify --rebuild-catalog`: re-create catalog entries from the files in backups/. A
//! catalog that cannot be read is renamed aside (never deleted); the entries of one that
//! parses are kept; backup files it does not know are adopted, from the metadata file
//! beside them when there is one, else from their name and content.

use std::io::{self, Write};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};

use crate::backup::integrity::{self, BackupFile};
use crate::catalog::{Catalog, Entry, FILE_NAME};
use crate::catalog::{sidecar, untracked};
use crate::codec::decode::StreamFailure;
use crate::codec::{Chain, Identities};
use crate::config::PgPrograms;
use crate::interrupt::Interrupt;
use crate::model::naming::{self, Format, Kind};
use crate::pg::feed;
use crate::pg::process::Tool;
use crate::store::{Stat, Store, StoreError};

/// How far into a plain dump to look for a `\connect` line naming the database.
const HEADER_BYTES: u64 = 64 * 1024;

/// What the rebuild did.
#[derive(Debug, Default)]
pub struct Rebuilt {
    /// Where a catalog that did not parse was kept.
    pub kept_aside: Option<String>,
    /// Entries kept from a catalog that parsed.
    pub kept: usize,
    /// Damaged entries replaced by what their backup's metadata file records.
    pub repaired: Vec<String>,
    pub adopted: Vec<Adopted>,
}

/// A backup file that got a catalog entry.
#[derive(Debug)]
pub struct Adopted {
    pub entry: Entry,
    /// What the operator should know: unknown database, a file that does not check out.
    pub notes: Vec<String>,
}

/// Rebuilds the catalog; `stamp` (`YYYYMMDD_HHMMSS`) names a broken catalog kept aside.
/// Callers hold the write lock.
pub fn rebuild(
    store: &Arc<dyn Store>,
    programs: &PgPrograms,
    interrupt: &Interrupt,
    stamp: &str,
) -> Result<Rebuilt> {
    let mut rebuilt = Rebuilt::default();
    let mut catalog = match read_catalog(&**store) {
        Ok(catalog) => catalog,
        Err((problem, bytes)) => {
            let aside = keep_aside(&**store, bytes, &problem, stamp)?;
            tracing::warn!(
                "catalog {} cannot be read ({problem}); kept it as {aside}",
                store.describe(FILE_NAME),
            );
            rebuilt.kept_aside = Some(aside);
            Catalog::default()
        }
    };
    rebuilt.kept = catalog.backups.len();
    let damaged = std::mem::take(&mut catalog.damaged);
    for d in damaged {
        let recorded = d
            .filename
            .as_deref()
            .and_then(|f| sidecar::read(&**store, f));
        match recorded {
            Some(Ok(entry)) => {
                tracing::warn!("{} repaired from its metadata file", d.label());
                rebuilt.repaired.push(entry.id.clone());
                catalog.backups.push(entry);
            }
            _ => catalog.damaged.push(d),
        }
    }
    let listed = store.list("")?;
    let backups = listed
        .iter()
        .filter(|object| naming::parse_file_name(&object.name).is_some());
    for object in backups {
        let name = &object.name;
        let known = catalog.backups.iter().any(|e| &e.filename == name)
            || catalog.damaged_files().any(|f| f == name);
        if known {
            continue;
        }
        let adopted = match sidecar::read(&**store, name) {
            Some(Ok(entry)) => {
                let notes = match object.size == entry.size {
                    true => Vec::new(),
                    false => vec![format!(
                        "the file's size differs from its metadata file's {} bytes; \
                         `pgbackup verify {}` checks it",
                        entry.size, entry.id
                    )],
                };
                Adopted { entry, notes }
            }
            recorded => {
                let mut adopted = adopt(store, name, object.size, programs, interrupt)?;
                if let Some(Err(problem)) = recorded {
                    adopted.notes.insert(0, problem);
                }
                sidecar::write(&**store, &adopted.entry)?;
                adopted
            }
        };
        catalog.backups.push(adopted.entry.clone());
        rebuilt.adopted.push(adopted);
    }
    catalog.save(&**store)?;
    Ok(rebuilt)
}

/// The catalog as it is: missing is empty; anything that cannot be read or parsed
/// (an I/O error, invalid UTF-8, broken JSON) is a problem, and the file goes aside (its
/// bytes with the problem, when they could be read).
fn read_catalog(store: &dyn Store) -> Result<Catalog, (String, Option<Vec<u8>>)> {
    let bytes = match store.read_small(FILE_NAME) {
        Ok(None) => return Ok(Catalog::default()),
        Err(err) => return Err((err.to_string(), None)),
        Ok(Some(bytes)) => bytes,
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(("it is not valid UTF-8".to_string(), Some(bytes)));
    };
    Catalog::parse(text).map_err(|err| (format!("{err:#}"), Some(bytes.clone())))
}

/// Keeps the broken catalog's bytes as `backup_metadata.json.broken-<stamp>[-N]`, never
/// replacing anything; the catalog itself is then rewritten.
fn keep_aside(
    store: &dyn Store,
    bytes: Option<Vec<u8>>,
    problem: &str,
    stamp: &str,
) -> Result<String> {
    let what = || {
        format!(
            "could not move the broken catalog {} aside",
            store.describe(FILE_NAME)
        )
    };
    let bytes = bytes
        .ok_or_else(|| anyhow!("{problem}"))
        .with_context(what)?;
    for n in 1.. {
        let aside = match n {
            1 => format!("{FILE_NAME}.broken-{stamp}"),
            n => format!("{FILE_NAME}.broken-{stamp}-{n}"),
        };
        if store.stat(&aside)? != Stat::Missing {
            continue;
        }
        let mut pending = store.create(&aside).with_context(what)?;
        pending.write_all(&bytes).with_context(what)?;
        match pending.commit() {
            Ok(_) => return Ok(store.describe(&aside)),
            Err(StoreError::Exists(_)) => continue,
            Err(err) => return Err(err).with_context(what),
        }
    }
    unreachable!("some name is free")
}

/// An entry for a file: type and date from its name, size and checksum from its content.
fn adopt(
    store: &Arc<dyn Store>,
    name: &str,
    size: u64,
    programs: &PgPrograms,
    interrupt: &Interrupt,
) -> Result<Adopted> {
    let mut entry = untracked::entry_for_name(name, size, &store.describe(name));
    let mut notes = Vec::new();
    let file = match BackupFile::locate(store, &entry, &Identities::default()) {
        Ok(file) => file,
        Err(problem) => {
            notes.push(problem);
            return Ok(Adopted { entry, notes });
        }
    };
    let findings =
        integrity::check_everything(&entry, &file, programs, interrupt, false, &mut |_| {})?;
    match &findings.scan {
        Some(scan) => {
            entry.size = scan.size;
            entry.sha256 = Some(scan.sha256.clone());
            entry.raw_size = Some(scan.raw_size);
        }
        None => {
            let raw = file.stream(&Chain::NONE, &mut io::sink(), &mut |_| {});
            match raw {
                Ok(scan) => entry.sha256 = Some(scan.sha256),
                Err(StreamFailure::Read(err) | StreamFailure::Write(err)) => {
                    notes.push(format!("could not read it: {err}"));
                }
            }
        }
    }
    notes.extend(findings.problems);
    if entry.kind == Kind::Globals {
        // The server's globals belong to no database.
        return Ok(Adopted { entry, notes });
    }
    entry.database = database_name(programs, &file, interrupt).unwrap_or_default();
    if entry.database.is_empty() {
        notes.push(
            "the database it was made from is unknown (the dump does not name it); \
             restore it with --target"
                .to_string(),
        );
    }
    Ok(Adopted { entry, notes })
}

/// The database a dump names: `dbname:` in a custom archive's header, or a `\connect` line
/// near the start of a plain dump (made with --create).
fn database_name(
    programs: &PgPrograms,
    file: &BackupFile,
    interrupt: &Interrupt,
) -> Option<String> {
    match file.format {
        Format::Custom | Format::Directory => {
            let pg_restore = Tool::new(&programs.pg_restore).arg("--list");
            let listing = match file.format {
                Format::Directory => {
                    crate::backup::directory::pg_restore_text(file, pg_restore, interrupt).ok()?
                }
                _ => feed::capture(&pg_restore, file.source(), interrupt).ok()?,
            };
            listing.lines().find_map(|line| {
                let name = line
                    .strip_prefix(';')?
                    .trim_start()
                    .strip_prefix("dbname: ")?;
                Some(name.to_string())
            })
        }
        Format::Plain => {
            let head = file.head(HEADER_BYTES).ok()?;
            String::from_utf8_lossy(&head)
                .lines()
                .find_map(|line| connect_target(line.strip_prefix("\\connect ")?))
        }
    }
}

/// The database of a `\connect` line's argument: `app`, `"my db"` or
/// `-reuse-previous=on "dbname='my db'"`.
fn connect_target(argument: &str) -> Option<String> {
    let argument = argument.trim();
    if let Some(quoted) = argument.strip_prefix("-reuse-previous=on ") {
        let conninfo = quoted
            .trim()
            .strip_prefix('"')?
            .strip_suffix('"')?
            .replace("\"\"", "\"");
        let value = conninfo.strip_prefix("dbname=")?;
        let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
            return Some(value.to_string());
        };
        let mut name = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            name.extend(if c == '\\' { chars.next() } else { Some(c) });
        }
        return Some(name);
    }
    match argument.strip_prefix('"') {
        Some(rest) => Some(rest.strip_suffix('"')?.replace("\"\"", "\"")),
        None => Some(argument.split_whitespace().next()?.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::connect_target;

    #[test]
    fn connect_lines_name_the_database() {
        assert_eq!(connect_target("app").as_deref(), Some("app"));
        assert_eq!(connect_target("\"My DB\"").as_deref(), Some("My DB"));
        assert_eq!(
            connect_target("-reuse-previous=on \"dbname='it\\'s db'\"").as_deref(),
            Some("it's db")
        );
        assert_eq!(
            connect_target("-reuse-previous=on \"dbname=Ünï\"").as_deref(),
            Some("Ünï")
        );
        assert_eq!(
            connect_target("-reuse-previous=on \"dbname='a \"\"b\"\" \\\\c'\"").as_deref(),
            Some("a \"b\" \\c")
        );
        assert_eq!(connect_target(""), None);
    }
}
