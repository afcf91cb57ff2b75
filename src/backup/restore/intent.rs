//! What a restore is about to do, written to `$PGBACKUP_HOME/restore-intent.json` before it
//! does it, so that the next pgbackup command can finish or undo a restore that was killed.
//! The record holds names and the connection target, never a password.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::pg::properties::DatabaseProperties;
use crate::store::fsutil;

pub const FILE: &str = "restore-intent.json";

/// The step a restore was at; each is recorded before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Creating, loading and analyzing the new database; the current one is untouched.
    Loading,
    /// Closing the current database to connections, ending its sessions, swapping the names.
    Swapping,
    /// The names are swapped; finishing the properties and the previous database.
    Swapped,
    /// No database had the name: renaming the new database to it.
    Renaming,
}

impl Phase {
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Loading => "loading the new database",
            Phase::Swapping => "closing the current database and swapping the names",
            Phase::Swapped => "swapped, finishing the previous database",
            Phase::Renaming => "renaming the new database into place",
        }
    }
}

/// One restore in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreIntent {
    pub phase: Phase,
    pub backup_id: String,
    /// The database the restore replaces or creates.
    pub database: String,
    /// The new database, under its temporary name.
    pub staging: String,
    /// The name the current database is kept under after the swap (none: it did not exist).
    pub previous: Option<String>,
    pub drop_previous: bool,
    /// Whether the current database allowed connections before the swap closed it.
    pub allowed_connections: Option<bool>,
    /// Applied to the restored database once it has its name.
    pub properties: Option<DatabaseProperties>,
    /// The connection target without its password (none: libpq's defaults).
    pub connection: Option<String>,
    pub maintenance_db: String,
    pub pid: u32,
    pub started_at: String,
}

impl RestoreIntent {
    /// One line for people: which restore, at which step, since when.
    pub fn summary(&self) -> String {
        format!(
            "a restore of backup {} into database {:?} was interrupted while {} (pid {}, \
             started {})",
            self.backup_id,
            self.database,
            self.phase.describe(),
            self.pid,
            self.started_at
        )
    }
}

pub fn path_in(home: &Path) -> PathBuf {
    home.join(FILE)
}

/// The pending intent, if a restore left one.
pub fn read(home: &Path) -> Result<Option<RestoreIntent>> {
    let path = path_in(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| format!("could not read {}", path.display()));
        }
    };
    serde_json::from_str(&text).map(Some).with_context(|| {
        format!(
            "{} cannot be read: a restore was interrupted, but what it was doing is unknown; \
             check the databases named *_restoring_* and *_pre_restore_* by hand, then \
             remove the file",
            path.display()
        )
    })
}

/// The intent of the restore running now, kept on disk until it is done.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    pub intent: RestoreIntent,
}

impl Journal {
    /// Records `intent` (atomically, fsynced, mode 0600) before the restore touches anything.
    pub fn begin(home: &Path, mut intent: RestoreIntent) -> Result<Journal> {
        intent.pid = std::process::id();
        intent.started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let journal = Journal {
            path: path_in(home),
            intent,
        };
        journal.write()?;
        Ok(journal)
    }

    /// Records that the restore is about to enter `phase`.
    pub fn enter(&mut self, phase: Phase) -> Result<()> {
        self.intent.phase = phase;
        self.write()
    }

    /// Records the current database's `datallowconn` and the swap about to start.
    pub fn swapping(&mut self, allowed_connections: bool) -> Result<()> {
        self.intent.allowed_connections = Some(allowed_connections);
        self.enter(Phase::Swapping)
    }

    fn write(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.intent)?;
        fsutil::write_atomic(&self.path, &bytes)
            .with_context(|| format!("could not record the restore in {}", self.path.display()))
    }
}

/// Removes the temporary files of records whose write was killed before its rename; only
/// under the lock, when no restore is writing one.
pub fn sweep_temporaries(home: &Path) {
    let prefix = format!(".{FILE}.");
    for entry in std::fs::read_dir(home).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes the record once nothing is left to finish or undo.
pub fn clear(home: &Path) -> Result<()> {
    let path = path_in(home);
    match std::fs::remove_file(&path) {
        Ok(()) => fsutil::sync_dir(home),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("could not remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{Journal, Phase, RestoreIntent, clear, path_in, read};

    fn intent() -> RestoreIntent {
        RestoreIntent {
            phase: Phase::Loading,
            backup_id: "20250408_160000".to_string(),
            database: "app".to_string(),
            staging: "app_restoring_20250409_100000".to_string(),
            previous: Some("app_pre_restore_20250409_100000".to_string()),
            drop_previous: false,
            allowed_connections: None,
            properties: None,
            connection: Some("host=/tmp port=5432".to_string()),
            maintenance_db: "postgres".to_string(),
            pid: 0,
            started_at: String::new(),
        }
    }

    #[test]
    fn each_phase_is_on_disk_before_it_starts_and_gone_when_done() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(read(home.path()).unwrap(), None);
        let mut journal = Journal::begin(home.path(), intent()).unwrap();
        let mode = std::fs::metadata(path_in(home.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(home.path()).unwrap().unwrap().phase, Phase::Loading);
        journal.swapping(false).unwrap();
        let read_back = read(home.path()).unwrap().unwrap();
        assert_eq!(read_back.phase, Phase::Swapping);
        assert_eq!(read_back.allowed_connections, Some(false));
        assert_eq!(read_back.pid, std::process::id());
        clear(home.path()).unwrap();
        assert_eq!(read(home.path()).unwrap(), None);
        clear(home.path()).unwrap();
        let stale = home.path().join(".restore-intent.json.4242.tmp");
        std::fs::write(&stale, "{").unwrap();
        super::sweep_temporaries(home.path());
        assert!(!stale.exists());
    }

    #[test]
    fn a_damaged_record_is_an_error_that_says_what_to_check() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(path_in(home.path()), "{\"phase\": \"load").unwrap();
        let err = format!("{:#}", read(home.path()).unwrap_err());
        assert!(err.contains("*_restoring_*"), "{err}");
    }
}
