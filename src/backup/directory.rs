//! Directory-format backups (pg_dump -Fd --jobs N): pg_dump writes into the store's pending
//! folder; once it exited 0 the store publishes the files, hashing each into the manifest
//! as it stores it; reading goes through pg_restore on the folder in place (in a local
//! repository) or on a checked local copy (in S3).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::backup::folder_download;
use crate::backup::integrity::{BackupFile, Findings};
use crate::catalog::Entry;
use crate::catalog::manifest::{self, ManifestFile};
use crate::interrupt::Interrupt;
use crate::model::units::format_size;
use crate::pg::process::Tool;
use crate::store::Store;

/// pg_dump --jobs when `--jobs` is not given: 2, or 1 on a single core.
pub fn default_jobs() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    cores.min(2)
}

/// A complete folder, published, with its manifest.
#[derive(Debug)]
pub struct DumpedFolder {
    pub files: Vec<ManifestFile>,
    /// What pg_dump printed on stderr although it succeeded.
    pub warnings: String,
}

/// Runs `pg_dump` (without `--file`) into a new pending folder of `store`, hashes every
/// file and publishes the folder under `final_name`. On any failure or signal nothing is
/// left: the pending folder is removed.
/// `progress` is told the bytes written so far (the folder's size, polled).
pub fn dump(
    store: &dyn Store,
    final_name: &str,
    pg_dump: Tool,
    interrupt: &Interrupt,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<DumpedFolder> {
    let pending = store.create_folder(final_name)?;
    let tool = pg_dump.arg(format!("--file={}", pending.path().display()));
    let child = tool.spawn_reader()?;
    let guard = interrupt.watch_child(child.pid());
    let done = AtomicBool::new(false);
    let folder = pending.path().to_path_buf();
    let finished = thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                progress(folder_size(&folder));
                thread::sleep(POLL);
            }
        });
        let finished = child.finish();
        done.store(true, Ordering::Relaxed);
        finished
    });
    drop(guard);
    let warnings = interrupt.check().and(finished)?;
    let files = pending.commit()?;
    Ok(DumpedFolder { files, warnings })
}

/// Refuses before pg_dump starts when the dump goes through a temporary folder (a
/// repository that is not a local folder: S3) and `TMPDIR` has less room than the last
/// directory-format backup of the same database took (`previous`; unknown for a first one).
pub fn check_dump_room(store: &dyn Store, final_name: &str, previous: Option<u64>) -> Result<()> {
    let Some(needed) = previous.filter(|_| store.local_path(final_name).is_none()) else {
        return Ok(());
    };
    let parent = std::env::temp_dir();
    let space = crate::store::fsutil::free_space(&parent)
        .with_context(|| format!("could not read the free space of {}", parent.display()))?;
    if space.free_bytes < needed {
        anyhow::bail!(
            "pg_dump writes a directory-format backup into {} before it is uploaded to {}, \
             but it has only {} free and the last such backup of this database took {}: set \
             TMPDIR to a folder with room for it",
            parent.display(),
            store.location(),
            format_size(space.free_bytes),
            format_size(needed)
        );
    }
    Ok(())
}

/// How often the size of the folder being written is looked at.
const POLL: Duration = Duration::from_millis(250);

/// The bytes in a folder's files so far (0 when it cannot be read).
fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| d.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// The backup's folder on local disk, which pg_restore reads: in place in a local
/// repository, else the checked local copy ([`folder_download`]).
pub fn local_folder(file: &BackupFile) -> Result<PathBuf> {
    folder_download::local_folder(file)
}

/// Every file of the folder against the entry's manifest: missing, extra, size, SHA-256,
/// each problem naming its file.
pub fn check_manifest(entry: &Entry, file: &BackupFile, progress: &mut dyn FnMut(u64)) -> Findings {
    let mut findings = Findings::default();
    let Some(recorded) = &entry.files else {
        findings
            .problems
            .push("the catalog records no manifest of the backup's files".to_string());
        return findings;
    };
    let listed = match file.store.folder_files(&file.name) {
        Ok(listed) => listed,
        Err(err) => {
            findings.problems.push(err.to_string());
            return findings;
        }
    };
    let sizes: Vec<(String, u64)> = listed.iter().map(|o| (o.name.clone(), o.size)).collect();
    let size_problems = manifest::compare_sizes(recorded, &sizes);
    let mut found = Vec::new();
    let mut done = 0u64;
    for object in &listed {
        let wanted = recorded.iter().find(|f| f.name == object.name);
        if wanted.is_none_or(|w| w.size != object.size) {
            found.push(ManifestFile {
                name: object.name.clone(),
                size: object.size,
                sha256: String::new(),
            });
            continue;
        }
        let hashed = file
            .store
            .open_in_folder(&file.name, &object.name)
            .map_err(io::Error::other)
            .and_then(|reader| manifest::hash_reader(&object.name, reader));
        match hashed {
            Ok(hashed) => found.push(hashed),
            Err(err) => findings
                .problems
                .push(format!("could not read file {}: {err}", object.name)),
        }
        done += object.size;
        progress(done);
    }
    let mut problems = manifest::compare(recorded, &found);
    if problems.is_empty() && !size_problems.is_empty() {
        problems = size_problems;
    }
    findings.problems.extend(problems);
    if findings.problems.is_empty()
        && entry
            .sha256
            .as_deref()
            .is_some_and(|sha| !sha.eq_ignore_ascii_case(&manifest::digest(recorded)))
    {
        findings.problems.push(
            "the manifest does not match the catalog's SHA-256 of it: the catalog entry was \
             changed"
                .to_string(),
        );
    }
    findings
}

/// Runs pg_restore (given its options) on the folder, its output going into `sink`.
pub fn pg_restore_into(
    file: &BackupFile,
    pg_restore: Tool,
    sink: &mut dyn Write,
    interrupt: &Interrupt,
) -> Result<()> {
    let folder = local_folder(file)?;
    let mut child = pg_restore.arg(&folder).spawn_reader()?;
    let guard = interrupt.watch_child(child.pid());
    let mut stdout = child.take_stdout();
    let copied = io::copy(&mut stdout, sink);
    drop(stdout);
    let finished = child.finish();
    drop(guard);
    interrupt.check()?;
    finished?;
    copied
        .with_context(|| format!("could not read pg_restore's output for {}", file.describe()))?;
    Ok(())
}

/// pg_restore's output on the folder, as text.
pub fn pg_restore_text(
    file: &BackupFile,
    pg_restore: Tool,
    interrupt: &Interrupt,
) -> Result<String> {
    let mut out = Vec::new();
    pg_restore_into(file, pg_restore, &mut out, interrupt)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
