//! Copying a directory-format backup between repositories: file by file into a pending
//! folder of the destination (in S3, a private temporary folder whose files are then
//! uploaded), each file hashed as it is read and the whole checked against the manifest
//! before the folder is committed, then what was stored checked against it again.

use std::io::{self, Read, Write};

use anyhow::{Context, Result, anyhow, bail};

use crate::catalog::Entry;
use crate::catalog::manifest::{self, ManifestFile};
use crate::model::units::format_size;
use crate::store::{Store, fsutil};

/// The entry's manifest, checked against the catalog's SHA-256 of it.
fn recorded(entry: &Entry) -> Result<&[ManifestFile]> {
    let files = entry.files.as_deref().ok_or_else(|| {
        anyhow!(
            "backup {} records no manifest of its files; it is not copied",
            entry.id
        )
    })?;
    let digest = manifest::digest(files);
    if !entry
        .sha256
        .as_deref()
        .is_some_and(|sha| sha.eq_ignore_ascii_case(&digest))
    {
        bail!(
            "backup {}: its manifest does not match the catalog's SHA-256 of it (the \
             catalog entry was changed); it is not copied",
            entry.id
        );
    }
    Ok(files)
}

/// Copies the folder `name` of `from` into `to`, committed only when every file read
/// matches the manifest.
pub fn upload(
    from: &dyn Store,
    to: &dyn Store,
    entry: &Entry,
    name: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let id = &entry.id;
    let recorded = recorded(entry)?;
    let listed: Vec<(String, u64)> = (from.folder_files(name)?.into_iter())
        .map(|o| (o.name, o.size))
        .collect();
    let problems = manifest::compare_sizes(recorded, &listed);
    if !problems.is_empty() {
        bail!(
            "backup {id} was not copied: in {}: {}; nothing was written to {}",
            from.location(),
            problems.join("; "),
            to.location()
        );
    }
    check_room(to, entry, name, manifest::total_size(recorded))?;
    let pending = to.create_folder(name)?;
    let mut found = Vec::new();
    let mut done = 0u64;
    for want in recorded {
        let file = want.name.as_str();
        if file.is_empty() || file == "." || file == ".." || file.contains(['/', '\0']) {
            bail!("backup {id}: {file:?} in its manifest is not a plain file name");
        }
        let path = pending.path().join(file);
        let reader = from.open_in_folder(name, file)?;
        let mut out = fsutil::create_private_file(&path)?;
        let mut copying = Copying {
            inner: reader,
            out: &mut out,
            done: &mut done,
            progress: &mut *progress,
        };
        let hashed = manifest::hash_reader(file, &mut copying).with_context(|| {
            format!(
                "could not copy {name}/{file} from {} to {}",
                from.location(),
                path.display()
            )
        })?;
        out.flush()?;
        found.push(hashed);
    }
    let problems = manifest::compare(recorded, &found);
    if !problems.is_empty() {
        bail!(
            "backup {id} was not copied: {}; the files were changed or damaged after the \
             backup, and nothing was written to {}",
            problems.join("; "),
            to.location()
        );
    }
    let stored = pending.commit()?;
    let problems = manifest::compare(recorded, &stored);
    if !problems.is_empty() {
        let _ = to.remove(name);
        bail!(
            "backup {id}: the copy in {} does not match the manifest ({}); it was removed again",
            to.location(),
            problems.join("; ")
        );
    }
    Ok(())
}

/// A destination that is not a local folder (S3) gets the files through a temporary folder
/// under `TMPDIR`: refused before anything is read when it has less room than `needed`.
fn check_room(to: &dyn Store, entry: &Entry, name: &str, needed: u64) -> Result<()> {
    if to.local_path(name).is_some() {
        return Ok(());
    }
    let parent = std::env::temp_dir();
    let space = fsutil::free_space(&parent)
        .with_context(|| format!("could not read the free space of {}", parent.display()))?;
    if space.free_bytes < needed {
        bail!(
            "backup {} was not copied: its files ({}) go through {} before they are uploaded \
             to {}, which has only {} free: set TMPDIR to a folder with room for them",
            entry.id,
            format_size(needed),
            parent.display(),
            to.location(),
            format_size(space.free_bytes)
        );
    }
    Ok(())
}

/// Whether the folder `name` in `to` holds exactly the manifest's files.
pub fn matches(to: &dyn Store, entry: &Entry, name: &str) -> Result<bool> {
    let recorded = recorded(entry)?;
    let mut found = Vec::new();
    for object in to.folder_files(name)? {
        let reader = to.open_in_folder(name, &object.name)?;
        let hashed = manifest::hash_reader(&object.name, reader)
            .with_context(|| format!("could not read {}/{}", to.describe(name), object.name))?;
        found.push(hashed);
    }
    Ok(manifest::compare(recorded, &found).is_empty())
}

/// Reads from `inner`, writing every byte into `out` and telling `progress` the total.
struct Copying<'a, R> {
    inner: R,
    out: &'a mut dyn Write,
    done: &'a mut u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Copying<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        *self.done += n as u64;
        (self.progress)(*self.done);
        Ok(n)
    }
}
