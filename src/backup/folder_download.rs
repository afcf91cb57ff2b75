//! A local copy of a directory-format backup kept where pg_restore cannot read it in place
//! (S3): its files are downloaded once into a private folder (0700, inside `--stage-dir`
//! or `TMPDIR`), after checking that the filesystem has room for them, each file's size and
//! SHA-256 checked against the manifest as it arrives. The copy is shared by every clone of
//! the [`BackupFile`] (the role check, the load and verify's pg_restore read the same
//! folder) and removed with its files when the last one is dropped, on success and on
//! failure alike.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::backup::integrity::BackupFile;
use crate::catalog::manifest;
use crate::model::units::format_size;
use crate::store::fsutil::{self, TempFolder};

/// Downloads the folder into a private local folder, hashing every file as it arrives,
/// and keeps the copy with `file` when every file matches the manifest. Returns what does
/// not match (nothing then is kept); an error when the copy cannot be written (no room, a
/// folder that cannot be made).
pub fn download(
    file: &BackupFile,
    stage_dir: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<String>> {
    let Some(recorded) = &file.manifest else {
        return Ok(vec![
            "the catalog records no manifest of the backup's files".to_string(),
        ]);
    };
    let listed = match file.store.folder_files(&file.name) {
        Ok(listed) => listed,
        Err(err) => return Ok(vec![err.to_string()]),
    };
    let sizes: Vec<(String, u64)> = listed.iter().map(|o| (o.name.clone(), o.size)).collect();
    let problems = manifest::compare_sizes(recorded, &sizes);
    if !problems.is_empty() {
        return Ok(problems);
    }
    let parent = stage_dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    check_room(&parent, manifest::total_size(recorded), file)?;
    let folder = TempFolder::new_in(&parent, "folder")?;
    tracing::info!(
        "downloading {} into {} for pg_restore",
        file.describe(),
        folder.path().display()
    );
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut done = 0u64;
    for want in recorded {
        let name = want.name.as_str();
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            problems.push(format!("{name:?} is not a plain file name"));
            continue;
        }
        let path = folder.path().join(name);
        let reader = match file.store.open_in_folder(&file.name, name) {
            Ok(reader) => reader,
            Err(err) => {
                problems.push(format!("could not read file {name}: {err}"));
                continue;
            }
        };
        let mut saving = Saving {
            inner: reader,
            out: fsutil::create_private_file(&path)?,
            write_error: None,
            done: &mut done,
            progress: &mut *progress,
        };
        match manifest::hash_reader(name, &mut saving) {
            Ok(hashed) => found.push(hashed),
            Err(err) if saving.write_error.is_some() => {
                return Err(err).with_context(|| {
                    format!(
                        "could not write {} (set TMPDIR, or --stage-dir, to a folder with room \
                         for the backup's files)",
                        path.display()
                    )
                });
            }
            Err(err) => problems.push(format!("could not read file {name}: {err}")),
        }
    }
    if problems.is_empty() {
        problems = manifest::compare(recorded, &found);
    }
    if problems.is_empty() {
        // Another clone may have made its copy meanwhile: this one is then removed.
        let _ = file.staged.set(folder);
    }
    Ok(problems)
}

/// The local copy, or the folder itself in a local repository; downloaded into `TMPDIR`
/// first when there is none yet.
pub fn local_folder(file: &BackupFile) -> Result<std::path::PathBuf> {
    if let Some(path) = file.local_path() {
        return Ok(path);
    }
    if file.staged.get().is_none() {
        let problems = download(file, file.stage_dir.as_deref(), &mut |_| {})?;
        if !problems.is_empty() {
            bail!(
                "{} does not match its manifest: {}",
                file.describe(),
                problems.join("; ")
            );
        }
    }
    match file.staged.get() {
        Some(folder) => Ok(folder.path().to_path_buf()),
        None => bail!("no local copy of {} was made", file.describe()),
    }
}

/// Refuses before writing anything when the filesystem of `parent` cannot hold `needed`
/// bytes.
fn check_room(parent: &Path, needed: u64, file: &BackupFile) -> Result<()> {
    let space = fsutil::free_space(parent)
        .with_context(|| format!("could not read the free space of {}", parent.display()))?;
    if space.free_bytes < needed {
        bail!(
            "pg_restore reads a directory-format backup from local disk, so the files of {} \
             ({}) are downloaded first, but {} has only {} free: set TMPDIR (or --stage-dir) \
             to a folder with room for them",
            file.describe(),
            format_size(needed),
            parent.display(),
            format_size(space.free_bytes)
        );
    }
    Ok(())
}

/// Reads from `inner`, writing every byte into `out`; a failed write is kept apart from a
/// failed read.
struct Saving<'a, R> {
    inner: R,
    out: File,
    write_error: Option<String>,
    done: &'a mut u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Saving<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(err) = self.out.write_all(&buf[..n]) {
            self.write_error = Some(err.to_string());
            return Err(err);
        }
        *self.done += n as u64;
        (self.progress)(*self.done);
        Ok(n)
    }
}
