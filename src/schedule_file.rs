//! Reading and atomically writing `backup_schedule.json`.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context, Result};

use crate::fsutil;
use crate::schedule::{self, Schedule};

/// The schedule; a missing file means the defaults (daily at 03:00, enabled).
pub fn load(path: &Path) -> Result<Schedule> {
    match fs::read_to_string(path) {
        Ok(text) => {
            schedule::parse(&text).with_context(|| format!("could not load {}", path.display()))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Schedule::default()),
        Err(err) => Err(err).with_context(|| format!("could not read {}", path.display())),
    }
}

/// Whether the file exists at all (a missing file is "no schedule" for reporting).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Replaces the file atomically. Callers hold the write lock.
pub fn save(path: &Path, schedule: &Schedule) -> Result<()> {
    fsutil::write_atomic(path, schedule.to_json().as_bytes())
        .with_context(|| format!("could not save {}", path.display()))
}
