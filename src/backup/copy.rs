//! Copying a backup from one repository to another (local folder to S3 and back): the
//! object streams from the source into a pending write in the destination, counted and
//! hashed on the way; it becomes visible there only when its size and SHA-256 match the
//! catalog, and is then recorded in the destination's metadata file and catalog. Nothing
//! is ever overwritten, and copying again what is already there uploads nothing. A
//! directory-format backup is copied file by file against its manifest ([`copy_folder`]).

use std::io::{self, Read};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use crate::backup::copy_folder;
use crate::backup::integrity::BackupFile;
use crate::catalog::sidecar;
use crate::catalog::{Catalog, Entry};
use crate::fault;
use crate::model::naming::Format;
use crate::pg::dump::hex;
use crate::store::{Stat, Store};

const CHUNK: usize = 256 * 1024;

/// What [`copy_backup`] did; the entry is the one recorded in the destination.
#[derive(Debug, Clone, PartialEq)]
pub enum Copied {
    /// The backup was uploaded, checked and recorded.
    Copied(Entry),
    /// The destination already held the backup with the same SHA-256: nothing was uploaded.
    AlreadyThere(Entry),
}

impl Copied {
    /// The entry as recorded in the destination.
    pub fn entry(&self) -> &Entry {
        match self {
            Copied::Copied(entry) | Copied::AlreadyThere(entry) => entry,
        }
    }
}

/// Copies the backup `entry` (an entry of `from`'s catalog) to `to` and records it there.
/// The caller holds the write lock.
pub fn copy_backup(from: &dyn Store, to: &dyn Store, entry: &Entry) -> Result<Copied> {
    copy_backup_with(from, to, entry, &mut |_| {})
}

/// As [`copy_backup`], calling `progress` with the bytes copied so far.
pub fn copy_backup_with(
    from: &dyn Store,
    to: &dyn Store,
    entry: &Entry,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied> {
    let id = &entry.id;
    let (name, expected) = source(from, entry)?;
    let mut catalog = Catalog::load(to)?;
    let uploaded = match in_destination(to, &catalog, entry, name, expected)? {
        There::Recorded(existing) => return Ok(Copied::AlreadyThere(*existing)),
        There::Unrecorded => false,
        There::Nothing => {
            upload(from, to, entry, name, expected, progress)?;
            true
        }
    };
    let mut recorded = entry.clone();
    recorded.path = to.describe(name);
    recorded.deleting = None;
    catalog.backups.retain(|e| e.filename != name);
    catalog.backups.push(recorded.clone());
    let saved = sidecar::write(to, &recorded).and_then(|()| catalog.save(to));
    if let Err(err) = saved {
        if uploaded {
            let _ = sidecar::remove(to, name);
            let _ = to.remove(name);
        }
        return Err(err.context(format!(
            "backup {id} could not be recorded in {}{}",
            to.location(),
            if uploaded {
                "; its copy was removed again"
            } else {
                ""
            }
        )));
    }
    Ok(match uploaded {
        true => Copied::Copied(recorded),
        false => Copied::AlreadyThere(recorded),
    })
}

/// The entry's object name in `from` and its recorded SHA-256, or why it must not be
/// copied.
fn source<'a>(from: &dyn Store, entry: &'a Entry) -> Result<(&'a str, &'a str)> {
    let id = &entry.id;
    if entry.is_deleting() {
        bail!(
            "backup {id} is being deleted in {}; it is not copied",
            from.location()
        );
    }
    let name = BackupFile::present(from, entry)
        .map_err(|problem| anyhow!("backup {id} cannot be copied: {problem}"))?;
    let Some(expected) = entry.sha256.as_deref() else {
        bail!(
            "backup {id} has no SHA-256 in the catalog of {} (it was made before pgbackup), \
             so its copy could not be checked; it is not copied",
            from.location()
        );
    };
    if let Ok(Stat::Present { size }) = from.stat(name)
        && size != entry.size
    {
        bail!(
            "backup {id} is damaged in {}: {} has {size} bytes, the catalog says {}; \
             nothing was copied",
            from.location(),
            from.describe(name),
            entry.size
        );
    }
    Ok((name, expected))
}

/// What the destination holds under the backup's name.
enum There {
    /// The same backup, recorded and present.
    Recorded(Box<Entry>),
    /// The same bytes, not (or no longer) recorded: only the records are missing.
    Unrecorded,
    Nothing,
}

fn in_destination(
    to: &dyn Store,
    catalog: &Catalog,
    entry: &Entry,
    name: &str,
    expected: &str,
) -> Result<There> {
    let id = &entry.id;
    let location = to.location();
    if catalog.damaged_files().any(|f| f == name) {
        bail!(
            "{location} has a damaged catalog entry for {name}; backup {id} is not copied \
             over it (`pgbackup verify --rebuild-catalog --repo {location}` repairs it)"
        );
    }
    let recorded = catalog.backups.iter().find(|e| e.filename == name);
    if let Some(existing) = recorded {
        if existing.is_deleting() {
            bail!(
                "backup {id} is being deleted in {location}; finish deleting it there \
                 (`pgbackup delete {id} --repo {location}`) before copying it again"
            );
        }
        let same = existing
            .sha256
            .as_deref()
            .is_some_and(|sha| sha.eq_ignore_ascii_case(expected));
        if !same {
            bail!(
                "{location} already holds a different backup named {name} (SHA-256 {}, \
                 this one {expected}); it is never overwritten",
                existing.sha256.as_deref().unwrap_or("not recorded")
            );
        }
    } else if let Some(other) = catalog.backups.iter().find(|e| e.id == *id) {
        bail!(
            "{location} already has a backup with ID {id} ({}); backup {id} ({name}) is not \
             copied beside it",
            other.filename
        );
    }
    match to.stat(name)? {
        Stat::Unsafe(reason) => bail!("backup {id} cannot be copied to {location}: {reason}"),
        Stat::Missing => Ok(There::Nothing),
        Stat::Present { .. } if entry.format() == Format::Directory => {
            if !copy_folder::matches(to, entry, name)? {
                bail!(
                    "{} already exists with other files than backup {id}'s manifest; it is \
                     never overwritten",
                    to.describe(name)
                );
            }
            Ok(match recorded {
                Some(existing) => There::Recorded(Box::new(existing.clone())),
                None => There::Unrecorded,
            })
        }
        Stat::Present { size } => {
            let (found_size, found_sha) = hash(to, name, &mut io::sink(), &mut |_| {})
                .with_context(|| format!("could not check {}", to.describe(name)))?;
            if found_size != entry.size || !found_sha.eq_ignore_ascii_case(expected) {
                bail!(
                    "{} already exists with other content ({size} bytes, SHA-256 {found_sha}; \
                     backup {id} has {} bytes, SHA-256 {expected}); it is never overwritten",
                    to.describe(name),
                    entry.size
                );
            }
            Ok(match recorded {
                Some(existing) => There::Recorded(Box::new(existing.clone())),
                None => There::Unrecorded,
            })
        }
    }
}

/// Streams the object into a pending write in `to`, committed only when what was read
/// matches the catalog's size and SHA-256.
fn upload(
    from: &dyn Store,
    to: &dyn Store,
    entry: &Entry,
    name: &str,
    expected: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let id = &entry.id;
    if entry.format() == Format::Directory {
        return copy_folder::upload(from, to, entry, name, progress);
    }
    let mut pending = to.create(name)?;
    let (size, sha256) = hash(from, name, &mut pending, progress)?;
    fault::point("copy:before-commit");
    if size != entry.size || !sha256.eq_ignore_ascii_case(expected) {
        drop(pending);
        bail!(
            "backup {id} was not copied: {} reads as {size} bytes with SHA-256 {sha256}, the \
             catalog says {} bytes with SHA-256 {expected}; the file was changed or damaged \
             after the backup, and nothing was written to {}",
            from.describe(name),
            entry.size,
            to.location()
        );
    }
    pending.commit()?;
    fault::point("copy:after-commit");
    Ok(())
}

/// Reads `name` from `store` to its end into `sink`, returning its size and SHA-256.
fn hash(
    store: &dyn Store,
    name: &str,
    sink: &mut dyn io::Write,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, String)> {
    let mut source = store.open(name)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("could not read {}", store.describe(name)));
            }
        };
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n])?;
        size += n as u64;
        progress(size);
    }
    sink.flush()?;
    Ok((size, hex(&hasher.finalize())))
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
