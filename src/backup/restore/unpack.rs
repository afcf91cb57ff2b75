//! A decoded copy of a custom archive that pgbackup compressed or encrypted: a parallel
//! pg_restore must seek in its input, which such a stream does not allow. The copy goes to
//! the temporary folder (`TMPDIR`); a decrypted one only to a private folder (0700) inside
//! the `--stage-dir` the operator chose. Both are removed when dropped.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::{fs, process};

use anyhow::{Context, Result, bail};

use crate::backup::integrity::BackupFile;
use crate::codec::decode::StreamFailure;
use crate::store::fsutil;

/// The decoded archive on disk, removed when this is dropped.
#[derive(Debug)]
pub struct Unpacked {
    path: PathBuf,
    /// The private folder made for it, removed with it.
    folder: Option<PathBuf>,
}

impl Unpacked {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        if let Some(folder) = &self.folder {
            let _ = fs::remove_dir(folder);
        }
    }
}

/// Decodes `file` into a private temporary file (in a private folder inside `stage_dir`
/// when given; an encrypted file needs one); returns it and the SHA-256 of what was read.
pub fn unpack(
    file: &BackupFile,
    stage_dir: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<(Unpacked, String)> {
    let stem = &file.name;
    let name = format!("pgbackup-{}-{stem}.unpacked", process::id());
    let (path, folder) = match stage_dir {
        Some(dir) => {
            let folder = dir.join(format!("pgbackup-stage-{}", process::id()));
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&folder)
                .with_context(|| format!("could not create {}", folder.display()))?;
            (folder.join(&name), Some(folder))
        }
        None if file.chain.is_encrypted() => bail!(
            "{} is encrypted: its decrypted archive is only staged in a --stage-dir",
            file.describe()
        ),
        None => (std::env::temp_dir().join(&name), None),
    };
    let unpacked = Unpacked {
        path: path.clone(),
        folder,
    };
    let mut out = fsutil::create_private_file(&path)?;
    match file.chain.is_encrypted() {
        true => tracing::warn!(
            "staging the decrypted archive of {} in {} (a private folder, removed \
             afterwards) for a parallel pg_restore",
            file.describe(),
            unpacked.path.display()
        ),
        false => tracing::info!(
            "decoding {} into {} for a parallel pg_restore",
            file.describe(),
            unpacked.path.display()
        ),
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
