//! Reading and atomically writing `backup_schedule.json`, and telling a missing file (the
//! defaults) from a damaged one (only the commands that need the schedule refuse it).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};

use crate::policy::schedule::{self, Schedule};
use crate::store::fsutil;

/// What is on disk.
#[derive(Debug)]
pub enum Stored {
    /// No file: the old module's defaults (daily at 03:00, enabled).
    Missing,
    Valid(Box<Schedule>),
    /// The file exists but does not read as a schedule.
    Damaged {
        text: String,
        reason: String,
    },
}

impl Stored {
    /// The schedule to work from: the defaults when missing, an error naming the file
    /// and the way to repair it when damaged.
    pub fn schedule(self, path: &Path) -> Result<Schedule> {
        match self {
            Stored::Missing => Ok(Schedule::default()),
            Stored::Valid(schedule) => Ok(*schedule),
            Stored::Damaged { reason, .. } => Err(damaged(path, &reason)),
        }
    }
}

/// Reads the file; an error only when it exists but cannot be read at all.
pub fn read(path: &Path) -> Result<Stored> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(match schedule::parse(&text) {
            Ok(schedule) => Stored::Valid(Box::new(schedule)),
            Err(err) => Stored::Damaged {
                text,
                reason: err.to_string(),
            },
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Stored::Missing),
        Err(err) if err.kind() == io::ErrorKind::InvalidData => Ok(Stored::Damaged {
            text: String::new(),
            reason: "backup_schedule.json is not UTF-8 text".to_string(),
        }),
        Err(err) => Err(err).with_context(|| format!("could not read {}", path.display())),
    }
}

/// The schedule; a missing file means the defaults, a damaged one is an error.
pub fn load(path: &Path) -> Result<Schedule> {
    read(path)?.schedule(path)
}

/// The one-line error for a damaged file: what is wrong and how to repair it.
pub fn damaged(path: &Path, reason: &str) -> anyhow::Error {
    anyhow!(
        "{} is damaged ({reason}); correct it by hand, or rewrite it with `pgbackup schedule set --yes` \
         (which keeps the damaged file beside it as {}.broken-<time>)",
        path.display(),
        file_name(path)
    )
}

/// Keeps the damaged file as `<name>.broken-<UTC time>` beside it, without replacing
/// anything already there; the path it was kept as.
pub fn keep_aside(path: &Path, now: DateTime<Utc>) -> Result<PathBuf> {
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut last_error = None;
    for n in 1..=100 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("_{n}")
        };
        let aside = dir.join(format!("{}.broken-{stamp}{suffix}", file_name(path)));
        match fs::hard_link(path, &aside) {
            Ok(()) => {
                fsutil::sync_dir(dir)?;
                return Ok(aside);
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("could not keep {} as {}", path.display(), aside.display())
                });
            }
        }
    }
    Err(last_error.expect("tried at least once"))
        .with_context(|| format!("could not keep {} aside", path.display()))
}

/// Replaces the file atomically. Callers hold the write lock.
pub fn save(path: &Path, schedule: &Schedule) -> Result<()> {
    fsutil::write_atomic(path, schedule.to_json().as_bytes())
        .with_context(|| format!("could not save {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}
