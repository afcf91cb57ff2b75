//! The catalog, `backups/backup_metadata.json`: the old module's fields plus pgbackup's,
//! loaded leniently, rewritten atomically, unknown fields preserved.

pub mod confine;
pub mod inventory;
pub mod legacy;
pub mod manifest;
pub mod order;
pub mod rebuild;
pub mod removal;
pub mod runs;
pub mod select;
pub mod sidecar;
pub mod untracked;

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::codec::Stage;
use crate::model::naming::{Compression, Format, Kind};
use crate::model::recorded::{Kept, Recorded};
use crate::model::run::RunPlan;
use crate::pg::properties::DatabaseProperties;
use crate::store::Store;

pub const FILE_NAME: &str = "backup_metadata.json";
pub const VERSION: u32 = 1;

/// One backup as the catalog records it. The first nine fields are the old module's (read
/// in their old shapes by `legacy`); values this version does not know are kept as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    #[serde(deserialize_with = "legacy::string_or_number")]
    pub id: String,
    pub filename: String,
    #[serde(default)]
    pub path: String,
    /// A full backup when absent.
    #[serde(rename = "type", default)]
    pub kind: Recorded<Kind>,
    #[serde(default)]
    pub compressed: bool,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub date: String,
    #[serde(default, deserialize_with = "legacy::string_or_null")]
    pub description: String,
    #[serde(default, deserialize_with = "legacy::string_or_null")]
    pub database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Recorded<Format>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Recorded<Compression>>,
    /// The codec chain, first applied first; inferred from the fields above when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codecs: Option<Vec<Recorded<Stage>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_dump_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_result: Option<String>,
    /// What the last verification checked or found (see `verification`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// Database-level properties at backup time, applied to the database a restore creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_properties: Option<Kept<DatabaseProperties>>,
    /// How the file is encrypted, when it is: never a secret, only public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Kept<Encryption>>,
    /// The run this backup is a part of (`create --all-databases`, `--globals`, a scheduled
    /// run of several databases): every part of one run has the same ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// What the run set out to back up, recorded with each part: a run is complete only
    /// when every planned part is in the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_plan: Option<Kept<RunPlan>>,
    /// A globals backup made without role passwords (`--no-role-passwords`, asked for or
    /// because pg_authid was not readable): restored roles have no password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_role_passwords: Option<bool>,
    /// The pg_dump filter options the backup was made with, normalized (`--schema=app`,
    /// `--no-owner`); absent for an unfiltered dump. A filtered backup is its own
    /// retention group and never stands in for an unfiltered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_dump_options: Option<Vec<String>>,
    /// Set while the backup is being deleted: the entry no longer counts as a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting: Option<bool>,
    /// A directory-format backup's files with their sizes and SHA-256; its `size` is their
    /// total and its `sha256` that of this list ([`manifest::digest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<manifest::ManifestFile>>,
    /// The pg_dump --jobs a directory-format backup was made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<u32>,
    /// Fields pgbackup does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The catalog's `encryption` field: age, to these public keys or with a passphrase.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Encryption {
    /// `age`.
    pub method: String,
    /// The recipients' public keys (`age1…`, `ssh-ed25519 …`); empty for a passphrase.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Encrypted with a passphrase (age's scrypt mode).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passphrase: bool,
}

impl Entry {
    pub fn is_pinned(&self) -> bool {
        self.pinned == Some(true)
    }

    /// The pg_dump filter options the backup was made with; empty when unfiltered.
    pub fn pg_dump_options(&self) -> &[String] {
        self.pg_dump_options.as_deref().unwrap_or_default()
    }

    /// Made with pg_dump filter options: not the whole database.
    pub fn is_filtered(&self) -> bool {
        !self.pg_dump_options().is_empty()
    }

    /// The type as `list` shows it: `full (filtered)` for a filtered backup.
    pub fn kind_shown(&self) -> String {
        match self.is_filtered() {
            true => format!("{} (filtered)", self.kind),
            false => self.kind.to_string(),
        }
    }

    pub fn is_deleting(&self) -> bool {
        self.deleting == Some(true)
    }

    /// The plan of the run this backup is part of, when it is part of one and the plan reads.
    pub fn run_plan(&self) -> Option<&RunPlan> {
        self.run_plan.as_ref().and_then(|kept| kept.get().ok())
    }

    /// The database properties recorded at backup time; an error when they do not read.
    pub fn properties(&self) -> Result<Option<&DatabaseProperties>> {
        self.database_properties
            .as_ref()
            .map(|kept| {
                kept.get()
                    .map_err(|problem| anyhow!("unexpected database properties: {problem}"))
            })
            .transpose()
    }
}

/// The whole catalog. The old module wrote a bare array of entries; pgbackup writes an
/// object with `version` and `backups` and reads both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub backups: Vec<Entry>,
    /// Entries that do not read as backups, kept as written (after the others on rewrite).
    pub damaged: Vec<Damaged>,
    /// IDs written as JSON numbers, written back as the same numbers.
    pub numeric_ids: BTreeSet<String>,
    /// Top-level fields pgbackup does not know, kept as they were.
    pub extra: Map<String, Value>,
}

#[derive(Serialize)]
struct OnDisk<'a> {
    version: u32,
    backups: Vec<Box<RawValue>>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// The top level of pgbackup's format, entries left unread.
#[derive(Deserialize)]
struct Top {
    #[serde(default)]
    backups: Vec<Box<RawValue>>,
}

/// A catalog's entries (unread) and its unknown top-level fields.
type TopLevel = (Vec<Box<RawValue>>, Map<String, Value>);

/// The top level's entries (unread) and unknown fields, read without building the whole
/// tree; `None` when the text is anything but a well-formed array or `backups` object.
fn top_level(text: &str) -> Option<TopLevel> {
    #[derive(Deserialize)]
    struct Fields {
        #[serde(default, rename = "backups")]
        _backups: Option<serde::de::IgnoredAny>,
        #[serde(default, rename = "version")]
        _version: Option<serde::de::IgnoredAny>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }
    match text.trim_start().as_bytes().first()? {
        b'[' => Some((serde_json::from_str(text).ok()?, Map::new())),
        b'{' => {
            let top: Top = serde_json::from_str(text).ok()?;
            let fields: Fields = serde_json::from_str(text).ok()?;
            Some((top.backups, fields.extra))
        }
        _ => None,
    }
}

/// As [`top_level`], through the whole tree, for the error a broken catalog deserves.
fn slow_top_level(text: &str) -> Result<TopLevel> {
    let value: Value = serde_json::from_str(text)?;
    Ok(match value {
        Value::Array(_) => (
            serde_json::from_str::<Vec<Box<RawValue>>>(text)?,
            Map::new(),
        ),
        Value::Object(mut map) => {
            let top: Top = serde_json::from_str(text).context("in \"backups\"")?;
            map.remove("backups");
            map.remove("version");
            (top.backups, map)
        }
        _ => bail!("expected a JSON array or object"),
    })
}

impl Catalog {
    /// Loads the catalog; a missing file is an empty catalog, one that does not parse is an
    /// error that leaves the file alone. Damaged entries are reported and kept.
    pub fn load(store: &dyn Store) -> Result<Catalog> {
        let path = store.describe(FILE_NAME);
        let bytes = match store.read_small(FILE_NAME) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Catalog::default()),
            Err(err) => {
                return Err(err).with_context(|| format!("could not read catalog {path}"));
            }
        };
        let catalog = std::str::from_utf8(&bytes)
            .context("it is not valid UTF-8")
            .and_then(Catalog::parse)
            .with_context(|| {
                format!(
                    "catalog {path} is corrupt and was left untouched; \
                     `pgbackup verify --rebuild-catalog` rebuilds it from the backup files \
                     and keeps the broken one aside"
                )
            })?;
        for damaged in &catalog.damaged {
            tracing::warn!(
                "catalog {path}: {} cannot be read ({}); it is kept as written and not counted \
                 as a backup",
                damaged.label(),
                damaged.problem
            );
        }
        Ok(catalog)
    }

    pub fn parse(text: &str) -> Result<Catalog> {
        if text.trim().is_empty() {
            bail!("the file is empty");
        }
        let (raw_entries, extra) = match top_level(text) {
            Some(read) => read,
            None => slow_top_level(text)?,
        };
        let mut catalog = Catalog {
            extra,
            ..Catalog::default()
        };
        for (index, raw_entry) in raw_entries.iter().enumerate() {
            match raw::read(raw_entry, index + 1) {
                Ok((entry, numeric)) => {
                    if numeric {
                        catalog.numeric_ids.insert(entry.id.clone());
                    }
                    catalog.backups.push(entry);
                }
                Err(damaged) => catalog.damaged.push(damaged),
            }
        }
        Ok(catalog)
    }

    pub fn to_json(&self) -> String {
        let backups = self
            .backups
            .iter()
            .map(|e| raw::write(e, self.numeric_ids.contains(&e.id)))
            .chain(self.damaged.iter().map(|d| raw::verbatim(&d.raw)))
            .collect();
        let on_disk = OnDisk {
            version: VERSION,
            backups,
            extra: &self.extra,
        };
        let mut text = serde_json::to_string_pretty(&on_disk).expect("catalog serializes");
        text.push('\n');
        text
    }

    /// Replaces the file atomically. Callers hold the write lock.
    pub fn save(&self, store: &dyn Store) -> Result<()> {
        store
            .replace(FILE_NAME, self.to_json().as_bytes())
            .with_context(|| format!("could not save catalog {}", store.describe(FILE_NAME)))
    }

    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.backups.iter().find(|e| e.id == id)
    }

    pub fn find_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.backups.iter_mut().find(|e| e.id == id)
    }

    /// Every entry with this exact ID (several only in a hand-edited or merged catalog).
    pub fn find_all(&self, id: &str) -> Vec<&Entry> {
        self.backups.iter().filter(|e| e.id == id).collect()
    }

    /// The one entry with this ID and file name.
    pub fn find_file_mut(&mut self, id: &str, filename: &str) -> Option<&mut Entry> {
        self.backups
            .iter_mut()
            .find(|e| e.id == id && e.filename == filename)
    }

    /// Drops the one entry with this ID and file name; others sharing the ID stay.
    pub fn remove_file_entry(&mut self, id: &str, filename: &str) {
        if let Some(index) = self
            .backups
            .iter()
            .position(|e| e.id == id && e.filename == filename)
        {
            self.backups.remove(index);
        }
    }

    /// File names of damaged entries, which no backup may take and no scan may adopt.
    pub fn damaged_files(&self) -> impl Iterator<Item = &str> {
        self.damaged.iter().filter_map(|d| d.filename.as_deref())
    }
}

mod raw;
pub use raw::Damaged;

#[cfg(test)]
mod tests;
