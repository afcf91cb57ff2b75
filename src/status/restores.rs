//! Restores as status sees them: one that was interrupted and waits to be finished, the
//! databases restores left behind (`*_restoring_*`), and the previous databases they kept
//! (`*_pre_restore_*`), each a whole copy of a database.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::backup::restore::intent::{self, Phase, RestoreIntent};
use crate::backup::restore::leftovers;
use crate::config::Config;
use crate::model::units::format_size;
use crate::pg::conn::Conn;
use crate::pg::postgres;
use crate::pg::sql::ident;
use crate::status::Reason;
use crate::status::backups;

/// A warning when restores keep more previous databases than this...
pub const MAX_KEPT_COPIES: usize = 2;
/// ...or when those hold more than this many bytes together (10 GiB).
pub const MAX_KEPT_BYTES: u64 = 10 << 30;

/// How long to wait for the server unless PGCONNECT_TIMEOUT says otherwise.
const CONNECT_TIMEOUT_SECONDS: &str = "5";

const DATABASES_SQL: &str = "SELECT coalesce(json_agg(json_build_object('name', datname, \
     'allows_connections', datallowconn, 'bytes', CASE WHEN has_database_privilege(oid, \
     'CONNECT') OR pg_has_role('pg_read_all_stats', 'MEMBER') THEN pg_database_size(oid) END) \
     ORDER BY datname), '[]') FROM pg_database \
     WHERE datname ~ '_(restoring|pre_restore)_[0-9]{8}_[0-9]{6}(_[0-9]+)?$';";

/// The restores section of `status --json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RestoresReport {
    /// A restore that was killed and is not finished or undone yet.
    pub interrupted: Option<Interrupted>,
    /// The restore running right now (its process holds the write lock).
    pub in_progress: Option<Interrupted>,
    /// `*_restoring_*` databases (null when the server could not be asked).
    pub leftovers: Option<Vec<RestoreDatabase>>,
    /// `*_pre_restore_*` databases (null when the server could not be asked).
    pub kept: Option<Vec<RestoreDatabase>>,
    /// What the kept databases hold together.
    pub kept_bytes: Option<u64>,
    pub max_kept_copies: usize,
    pub max_kept_bytes: u64,
    /// Why the restore record could not be read.
    pub error: Option<String>,
}

/// The restore `restore-intent.json` describes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interrupted {
    pub backup_id: String,
    pub database: String,
    pub phase: Phase,
    pub pid: u32,
    pub started_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreDatabase {
    pub name: String,
    /// Null when the role may not see its size.
    pub bytes: Option<u64>,
    pub allows_connections: bool,
}

/// Reads the restore record and asks the server (unless `reachable` says it did not answer
/// status and no restore names another database to ask); never fails, never prompts.
pub fn probe(config: &Config, reachable: bool) -> RestoresReport {
    let mut report = RestoresReport {
        max_kept_copies: MAX_KEPT_COPIES,
        max_kept_bytes: MAX_KEPT_BYTES,
        ..RestoresReport::default()
    };
    let pending = match intent::read(&config.home) {
        Ok(pending) => pending,
        Err(err) => {
            report.error = Some(format!("{err:#}"));
            None
        }
    };
    // While a restore is interrupted its database may refuse connections: ask the
    // maintenance database it used instead.
    let conn = match &pending {
        Some(pending) => match maintenance_conn(config, pending) {
            Ok(conn) => conn,
            Err(err) => {
                report.error = Some(format!("{err:#}"));
                config.conn.clone()
            }
        },
        None => config.conn.clone(),
    };
    let running = backups::running_writer(&crate::state::lock::path(&config.home)).map(|w| w.pid);
    let loading = pending.as_ref().map(|p| p.staging.clone());
    let record = pending.map(|p| Interrupted {
        backup_id: p.backup_id,
        database: p.database,
        phase: p.phase,
        pid: p.pid,
        started_at: p.started_at,
    });
    match record {
        Some(r) if running == i32::try_from(r.pid).ok() => report.in_progress = Some(r),
        record => report.interrupted = record,
    }
    let timeout = config
        .connect_timeout
        .as_deref()
        .unwrap_or(CONNECT_TIMEOUT_SECONDS);
    let ask = reachable || loading.is_some();
    let found = ask
        .then(|| postgres::psql(&config.programs, &conn))
        .and_then(|psql| {
            psql.env("PGCONNECT_TIMEOUT", timeout)
                .output(DATABASES_SQL)
                .ok()
        })
        .and_then(|out| serde_json::from_str::<Vec<RestoreDatabase>>(out.trim()).ok());
    if let Some(found) = found {
        let (leftovers, kept): (Vec<_>, Vec<_>) = found
            .into_iter()
            .filter(|d| leftovers::is_restoring(&d.name) || leftovers::is_pre_restore(&d.name))
            // The new database of the restore running now is no leftover.
            .filter(|d| report.in_progress.is_none() || loading.as_ref() != Some(&d.name))
            .partition(|d| leftovers::is_restoring(&d.name));
        report.kept_bytes = Some(kept.iter().filter_map(|d| d.bytes).sum());
        report.leftovers = Some(leftovers);
        report.kept = Some(kept);
    }
    report
}

fn maintenance_conn(config: &Config, pending: &RestoreIntent) -> Result<Conn> {
    Ok(
        Conn::from_recorded(pending.connection.as_deref(), &config.conn)?
            .for_database(&pending.maintenance_db),
    )
}

/// The warnings and the critical finding about restores.
pub fn assess(report: &RestoresReport) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if let Some(error) = &report.error {
        reasons.push(Reason::critical(error.clone()));
    }
    if let Some(i) = &report.interrupted {
        reasons.push(Reason::critical(format!(
            "a restore of backup {} into database {} was interrupted while {} (pid {}, \
             started {}); the next pgbackup command that takes the lock (create, restore, \
             delete, prune, pin, unpin; run-scheduled when a backup is due) finishes or \
             undoes it",
            i.backup_id,
            i.database,
            i.phase.describe(),
            i.pid,
            i.started_at
        )));
    }
    for leftover in report.leftovers.iter().flatten() {
        reasons.push(Reason::warning(format!(
            "database {} ({}) is left over from an interrupted or failed restore; the next \
             restore of its database drops it, or drop it with DROP DATABASE {};",
            leftover.name,
            size(leftover.bytes),
            ident(&leftover.name)
        )));
    }
    if let (Some(kept), Some(bytes)) = (&report.kept, report.kept_bytes)
        && (kept.len() > report.max_kept_copies || bytes > report.max_kept_bytes)
    {
        let names: Vec<&str> = kept.iter().map(|d| d.name.as_str()).collect();
        reasons.push(Reason::warning(format!(
            "{} previous databases kept by restores hold {} (warning above {} copies or {}): \
             drop those no longer needed ({})",
            kept.len(),
            format_size(bytes),
            report.max_kept_copies,
            format_size(report.max_kept_bytes),
            names.join(", ")
        )));
    }
    reasons
}

fn size(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "size unknown".to_string(), format_size)
}

#[cfg(test)]
mod tests {
    use super::{
        Interrupted, MAX_KEPT_BYTES, MAX_KEPT_COPIES, RestoreDatabase, RestoresReport, assess,
    };
    use crate::backup::restore::intent::Phase;
    use crate::status::State;

    fn copy(name: &str, bytes: u64) -> RestoreDatabase {
        RestoreDatabase {
            name: name.to_string(),
            bytes: Some(bytes),
            allows_connections: true,
        }
    }

    fn report(kept: Vec<RestoreDatabase>) -> RestoresReport {
        RestoresReport {
            kept_bytes: Some(kept.iter().filter_map(|d| d.bytes).sum()),
            kept: Some(kept),
            leftovers: Some(Vec::new()),
            max_kept_copies: MAX_KEPT_COPIES,
            max_kept_bytes: MAX_KEPT_BYTES,
            ..RestoresReport::default()
        }
    }

    #[test]
    fn kept_copies_warn_past_either_threshold() {
        let small = |n: usize| {
            (0..n)
                .map(|i| copy(&format!("app_pre_restore_20250408_16000{i}"), 1 << 20))
                .collect::<Vec<_>>()
        };
        assert!(assess(&report(small(MAX_KEPT_COPIES))).is_empty());
        let many = assess(&report(small(MAX_KEPT_COPIES + 1)));
        assert_eq!(many.len(), 1);
        assert_eq!(many[0].state, State::Warning);
        assert!(many[0].message.contains("3 previous databases"), "{many:?}");
        let big = assess(&report(vec![copy(
            "app_pre_restore_20250408_160000",
            MAX_KEPT_BYTES + 1,
        )]));
        assert_eq!(big.len(), 1, "{big:?}");
        assert!(
            assess(&report(vec![copy(
                "app_pre_restore_20250408_160000",
                MAX_KEPT_BYTES
            )]))
            .is_empty()
        );
    }

    #[test]
    fn an_interrupted_restore_is_critical_and_leftovers_warn() {
        let mut r = report(Vec::new());
        r.leftovers = Some(vec![copy("app_restoring_20250408_160000", 2048)]);
        r.interrupted = Some(Interrupted {
            backup_id: "20250408_150000".to_string(),
            database: "app".to_string(),
            phase: Phase::Swapping,
            pid: 42,
            started_at: "2025-04-08T16:00:00Z".to_string(),
        });
        let reasons = assess(&r);
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(reasons[0].state, State::Critical);
        assert!(reasons[0].message.contains("interrupted while closing"));
        assert_eq!(reasons[1].state, State::Warning);
        assert!(
            reasons[1]
                .message
                .contains("DROP DATABASE \"app_restoring_20250408_160000\"")
        );
    }
}
