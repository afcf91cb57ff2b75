//! A decoded copy of a custom archive that pgbackup compressed itself: a parallel pg_restore
//! must seek in its input, which a compressed stream does not allow. The copy goes to the
//! temporary folder (`TMPDIR`) and is removed when dropped.

use std::path::{Path, PathBuf};
use std::{fs, process};

use anyhow::Result;

use crate::backup::integrity::BackupFile;
use crate::codec::decode::StreamFailure;
use crate::store::fsutil;

/// The decoded archive on disk, removed when this is dropped.
#[derive(Debug)]
pub struct Unpacked {
    path: PathBuf,
}

impl Unpacked {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Decodes `file` into a private temporary file; returns it and the SHA-256 of what was read.
pub fn unpack(file: &BackupFile, progress: &mut dyn FnMut(u64)) -> Result<(Unpacked, String)> {
    let stem = &file.name;
    let path = std::env::temp_dir().join(format!("pgbackup-{}-{stem}.unpacked", process::id()));
    let mut out = fsutil::create_private_file(&path)?;
    let unpacked = Unpacked { path };
    tracing::info!(
        "decoding {} into {} for a parallel pg_restore",
        file.describe(),
        unpacked.path.display()
    );
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
