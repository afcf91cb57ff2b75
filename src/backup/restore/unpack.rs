//! A seekable local copy of a custom archive for `restore --jobs N`: a parallel pg_restore
//! seeks in its input, which neither a compressed stream nor an object in S3 allows. Every
//! other restore streams the backup into psql or pg_restore and writes no copy.
//!
//! The copy goes to a private (0700) folder made for it in the temporary folder (`TMPDIR`),
//! only after checking that the filesystem has room for it, and the folder is removed with
//! everything in it when the copy is dropped. A decrypted archive is staged only inside the
//! `--stage-dir` the operator chose: no plaintext goes anywhere else on disk.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::backup::integrity::BackupFile;
use crate::codec::decode::StreamFailure;
use crate::model::units::format_size;
use crate::store::fsutil::{self, TempFolder};

/// The decoded archive on disk, removed with its folder when this is dropped.
#[derive(Debug)]
pub struct Unpacked {
    _dir: TempFolder,
    path: PathBuf,
}

impl Unpacked {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Decodes `file` into a private staging folder (inside `stage_dir` when given; an encrypted
/// file needs one); returns it and the SHA-256 of what was read.
pub fn unpack(
    file: &BackupFile,
    stage_dir: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<(Unpacked, String)> {
    let parent = match stage_dir {
        Some(dir) => dir.to_path_buf(),
        None if file.chain.is_encrypted() => bail!(
            "{} is encrypted: its decrypted archive is only staged in a --stage-dir",
            file.describe()
        ),
        None => std::env::temp_dir(),
    };
    if let Some(needed) = file.decoded_size {
        check_room(&parent, needed, file)?;
    }
    let dir = TempFolder::new_in(&parent, "restore")?;
    let path = dir.path().join(format!("{}.unpacked", file.name));
    let unpacked = Unpacked { _dir: dir, path };
    let mut out = fsutil::create_private_file(&unpacked.path)?;
    if file.chain.is_encrypted() {
        tracing::warn!(
            "staging the decrypted archive of {} in {} (a private folder, removed \
             afterwards) for a parallel pg_restore",
            file.describe(),
            unpacked.path.display()
        );
    } else {
        tracing::info!(
            "staging {} in {} for a parallel pg_restore",
            file.describe(),
            unpacked.path.display()
        );
    }
    let scan = file
        .stream(&file.chain, &mut out, progress)
        .map_err(|failure| match failure {
            StreamFailure::Read(err) => anyhow::Error::new(err)
                .context(format!("could not read or decode {}", file.describe())),
            StreamFailure::Write(err) => anyhow::Error::new(err).context(format!(
                "could not write {} (set TMPDIR to a folder with room for the decoded archive)",
                unpacked.path.display()
            )),
        })?;
    Ok((unpacked, scan.sha256))
}

/// Refuses before writing anything when the filesystem of `parent` cannot hold `needed`
/// bytes.
fn check_room(parent: &Path, needed: u64, file: &BackupFile) -> Result<()> {
    let space = fsutil::free_space(parent)
        .with_context(|| format!("could not read the free space of {}", parent.display()))?;
    if space.free_bytes < needed {
        bail!(
            "restore --jobs needs a local copy of {} ({}), but {} has only {} free: set \
             TMPDIR (or --stage-dir) to a folder with room for it, or restore without --jobs",
            file.describe(),
            format_size(needed),
            parent.display(),
            format_size(space.free_bytes)
        );
    }
    Ok(())
}
