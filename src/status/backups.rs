//! The backups as status sees them: complete backups per (database, type, pg_dump filter
//! options) with the newest one and its age, what is wrong in the folder, and the space left for the next one.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::backup::verification::{Verdict, VerifyState};
use crate::catalog::inventory::{self, State};
use crate::catalog::order;
use crate::catalog::runs;
use crate::catalog::{Catalog, Entry, FILE_NAME};
use crate::model::naming::Kind;
use crate::model::zone::{self, Zone};
use crate::policy::prune::{self, GroupKey};
use crate::status::Reason;
use crate::store::{Space, Store};

/// The backups section of the status report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackupsReport {
    pub folder: PathBuf,
    /// Whose backups the age thresholds apply to.
    pub checked: Checked,
    /// Complete backups (file present, not being deleted), all databases and types.
    pub count: usize,
    pub total_bytes: u64,
    /// Per (database, type), sorted by database then type.
    pub groups: Vec<Group>,
    /// Catalog entries whose file is gone.
    pub missing: Vec<EntryRef>,
    /// Catalog entries that point outside backups/ or at a symbolic link.
    #[serde(rename = "unsafe")]
    pub unsafe_entries: Vec<EntryRef>,
    /// Catalog entries that do not read (kept as written, never counted).
    pub damaged: Vec<EntryRef>,
    /// Catalog entries an interrupted delete left marked (the next delete or prune
    /// finishes them).
    pub deleting: Vec<EntryRef>,
    /// Backup files in the folder that the catalog does not know.
    pub untracked: Vec<String>,
    /// Hidden `.partial` files: leftovers, unless `running` names the operation writing them.
    pub partials: Vec<String>,
    /// The pgbackup operation holding the write lock right now, if any.
    pub running: Option<Writer>,
    /// The backups filesystem (null when it could not be read, or for object storage).
    pub filesystem: Option<Space>,
    /// The repository is object storage (S3), which has no filesystem to fill.
    #[serde(skip)]
    pub object_storage: bool,
    /// The size of the newest checked backup: about what the next one needs.
    pub next_backup_estimate_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Checked {
    /// The database status connects to (null: unknown, then every database is checked).
    pub database: Option<String>,
    /// The type scheduled runs make.
    #[serde(rename = "type")]
    pub kind: String,
    /// The databases the schedule backs up when it names them (`"databases"`), checked
    /// instead of `database`; for `"all"`, those the newest run planned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// The schedule backs up the globals, whose newest backup is checked too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub globals: bool,
    /// `"databases": "all"`: [`survey`] fills `databases` from the newest run's plan.
    #[serde(skip)]
    pub all_databases: bool,
    /// The schedule's pg_dump filter options, normalized: only backups made with exactly
    /// these count (none: only unfiltered backups count).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pg_dump_options: Vec<String>,
}

impl Checked {
    pub fn covers(&self, database: &str, kind: &str, pg_dump_options: &[String]) -> bool {
        if kind == Kind::Globals.as_str() {
            return self.globals;
        }
        kind == self.kind
            && pg_dump_options == self.pg_dump_options.as_slice()
            && match self.databases.is_empty() {
                true => self.database.as_deref().is_none_or(|d| d == database),
                false => self.databases.iter().any(|d| d == database),
            }
    }

    pub fn covers_group(&self, group: &Group) -> bool {
        self.covers(&group.database, &group.kind, &group.pg_dump_options)
    }

    /// The (database, type) groups that must each have a recent backup, beyond "some
    /// checked backup": every named database, and the globals.
    pub fn expected(&self) -> Vec<(String, String)> {
        let databases = self
            .databases
            .iter()
            .map(|d| (d.clone(), self.kind.clone()));
        let globals = (self.globals).then(|| (String::new(), Kind::Globals.to_string()));
        databases.chain(globals).collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Group {
    pub database: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The group's pg_dump filter options (absent: unfiltered backups).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pg_dump_options: Vec<String>,
    pub count: usize,
    pub total_bytes: u64,
    pub newest: Newest,
    /// The most recent verification of a backup in this group.
    pub last_verification: Option<Verification>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Newest {
    pub id: String,
    pub filename: String,
    #[serde(serialize_with = "crate::status::rfc3339_opt")]
    pub created_at: Option<DateTime<FixedOffset>>,
    pub age_seconds: Option<i64>,
    pub size_bytes: u64,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verification {
    pub id: String,
    pub verified_at: String,
    /// `ok` or `failed`.
    pub result: String,
    /// What the verification checked or found.
    pub detail: Option<String>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        self.result == VerifyState::Ok.as_str()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EntryRef {
    pub id: String,
    pub filename: String,
    pub database: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Why the entry is unsafe (null for missing files).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Writer {
    pub pid: i32,
    pub command: String,
}

/// Reads the catalog and the folder. A catalog that does not parse is critical (every
/// writer will refuse to run); one that cannot be read at all leaves the state unknown.
pub fn survey(
    store: &dyn Store,
    lock_path: &Path,
    zone: Zone,
    now: DateTime<Utc>,
    checked: Checked,
) -> Result<BackupsReport, Reason> {
    let catalog = load_catalog(store)?;
    let inventory =
        inventory::of_store(&catalog, store).map_err(|e| Reason::unknown(format!("{e:#}")))?;
    let mut checked = checked;
    if checked.all_databases {
        let newest = runs::group(&catalog.backups)
            .into_iter()
            .find_map(|r| r.plan);
        checked.databases = newest.map(|plan| plan.databases).unwrap_or_default();
    }
    let mut report = BackupsReport {
        folder: PathBuf::from(store.location()),
        checked,
        partials: inventory.partials.clone(),
        running: running_writer(lock_path),
        filesystem: store.free_space(),
        object_storage: store.location().starts_with("s3://"),
        ..BackupsReport::default()
    };
    let mut complete: BTreeMap<GroupKey<'_>, Vec<(&Entry, u64)>> = BTreeMap::new();
    for item in &inventory.items {
        let entry = item.entry.as_ref();
        match &item.state {
            State::Ok { size } => complete
                .entry(prune::group_of(entry))
                .or_default()
                .push((entry, *size)),
            State::Missing => report.missing.push(entry_ref(entry, None)),
            State::Unsafe(why) => report
                .unsafe_entries
                .push(entry_ref(entry, Some(why.clone()))),
            State::Deleting => report.deleting.push(entry_ref(entry, None)),
            State::Untracked => report.untracked.push(entry.filename.clone()),
            State::Damaged(why) => report.damaged.push(EntryRef {
                id: entry.id.clone(),
                filename: entry.filename.clone(),
                reason: Some(why.clone()),
                ..EntryRef::default()
            }),
        }
    }
    report.groups = complete
        .into_iter()
        .map(|(key, entries)| group(key, &entries, zone, now))
        .collect();
    report.count = report.groups.iter().map(|g| g.count).sum();
    report.total_bytes = report.groups.iter().map(|g| g.total_bytes).sum();
    report.next_backup_estimate_bytes = next_backup_estimate(&report);
    Ok(report)
}

fn load_catalog(store: &dyn Store) -> Result<Catalog, Reason> {
    let path = store.describe(FILE_NAME);
    let text = store.read_small(FILE_NAME).map(|bytes| {
        bytes.map(|bytes| {
            String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("it is not valid UTF-8"))
        })
    });
    match text {
        Ok(Some(text)) => text.and_then(|text| Catalog::parse(&text)).map_err(|e| {
            Reason::critical(format!(
                "catalog {path} is corrupt ({e:#}): backups cannot be made or listed until \
                 `pgbackup verify --rebuild-catalog` rebuilds it"
            ))
        }),
        Ok(None) => Ok(Catalog::default()),
        Err(e) => Err(Reason::unknown(format!(
            "could not read catalog {path}: {e}"
        ))),
    }
}

fn entry_ref(entry: &Entry, reason: Option<String>) -> EntryRef {
    EntryRef {
        id: entry.id.clone(),
        filename: entry.filename.clone(),
        database: entry.database.clone(),
        kind: entry.kind.to_string(),
        reason,
    }
}

fn group(
    (database, kind, pg_dump_options): GroupKey<'_>,
    entries: &[(&Entry, u64)],
    zone: Zone,
    now: DateTime<Utc>,
) -> Group {
    let (newest, size) = entries
        .iter()
        .min_by(|(a, _), (b, _)| order::newest_first(a, b, zone))
        .copied()
        .expect("a group has entries");
    let made = newest.instant(zone);
    let last_verification = entries
        .iter()
        .filter_map(|(e, _)| Some((*e, e.verified_at.as_deref()?)))
        .max_by_key(|(_, at)| zone::parse_date(at, zone))
        .map(|(e, at)| {
            let verdict = Verdict::of(e).unwrap_or(Verdict {
                state: VerifyState::Failed,
                detail: Some("no result was recorded".to_string()),
            });
            Verification {
                id: e.id.clone(),
                verified_at: at.to_string(),
                result: verdict.state.as_str().to_string(),
                detail: verdict.detail,
            }
        });
    Group {
        database: database.to_string(),
        kind: kind.to_string(),
        pg_dump_options: pg_dump_options.to_vec(),
        count: entries.len(),
        total_bytes: entries.iter().map(|(_, size)| size).sum(),
        newest: Newest {
            id: newest.id.clone(),
            filename: newest.filename.clone(),
            created_at: made.map(|t| zone.wall_clock(t)),
            age_seconds: made.map(|t| (now - t).num_seconds()),
            size_bytes: size,
            duration_ms: newest.duration_ms,
        },
        last_verification,
    }
}

/// The newest checked backup's size (the largest, when several are checked); without
/// any, the largest newest backup of any group.
fn next_backup_estimate(report: &BackupsReport) -> Option<u64> {
    let newest_size = |checked_only: bool| {
        report
            .groups
            .iter()
            .filter(|g| !checked_only || report.checked.covers_group(g))
            .map(|g| g.newest.size_bytes)
            .max()
    };
    newest_size(true).or_else(|| newest_size(false))
}

/// The holder named in the lock file at `lock_path` (`backups/.lock`), when that process
/// is still alive.
pub fn running_writer(lock_path: &Path) -> Option<Writer> {
    let text = fs::read_to_string(lock_path).ok()?;
    let mut lines = text.lines();
    let pid: i32 = lines.next()?.trim().parse().ok().filter(|p| *p > 0)?;
    // SAFETY: kill(2) with signal 0 only checks that the process exists; pid is positive,
    // so it never addresses a process group.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then(|| Writer {
        pid,
        command: lines.next().unwrap_or("").trim().to_string(),
    })
}
