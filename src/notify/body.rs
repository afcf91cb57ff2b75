//! The JSON body every webhook receives: one stable, documented shape (README, "Hooks and
//! notifications").

use serde::Serialize;

/// What a backup run ended with, as webhooks, email and hooks are told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `ok` or `failed`.
    pub status: Status,
    /// `create`, `run-scheduled` or `notify test`.
    pub command: String,
    /// The machine pgbackup ran on.
    pub host: String,
    pub database: Option<String>,
    pub backup_id: Option<String>,
    /// The backup's file name in its repository.
    pub file: Option<String>,
    /// The backup's size in bytes (of all of them, when the run made several).
    pub size: Option<u64>,
    pub duration_ms: u64,
    /// Why the run failed; null when it succeeded.
    pub error: Option<String>,
    /// The repository's location (a folder or s3://BUCKET/PREFIX).
    pub repository: String,
    /// RFC 3339 with offset.
    pub started_at: String,
    pub finished_at: String,
    pub tool_version: String,
    /// Every backup the run made: one, or one per database and the globals.
    pub backup_ids: Vec<String>,
    /// The run ID the backups share, for `--all-databases` and scheduled whole-server runs.
    pub run: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

impl Event {
    pub fn succeeded(&self) -> bool {
        self.status == Status::Ok
    }

    /// One line for people: `backup 20250408_030000 of app on db1 ok (1.2 MiB)`.
    pub fn summary(&self) -> String {
        let what = match (&self.backup_id, &self.database) {
            (Some(id), Some(db)) => format!("backup {id} of {db}"),
            (None, Some(db)) => format!("backup of {db}"),
            (Some(id), None) => format!("backup {id}"),
            (None, None) => "backup".to_string(),
        };
        match &self.error {
            None => format!("pgbackup {}: {what} on {} ok", self.command, self.host),
            Some(_) => format!("pgbackup {}: {what} on {} failed", self.command, self.host),
        }
    }

    /// The plain-text report: the summary, then one `key: value` line per known field.
    pub fn text(&self) -> String {
        let mut lines = vec![self.summary(), String::new()];
        let status = match self.status {
            Status::Ok => "ok",
            Status::Failed => "failed",
        };
        let fields: [(&str, Option<String>); 12] = [
            ("status", Some(status.to_string())),
            ("command", Some(self.command.clone())),
            ("host", Some(self.host.clone())),
            ("database", self.database.clone()),
            ("backup_id", self.backup_id.clone()),
            ("file", self.file.clone()),
            ("size", self.size.map(|s| s.to_string())),
            ("duration_ms", Some(self.duration_ms.to_string())),
            ("repository", Some(self.repository.clone())),
            ("started_at", Some(self.started_at.clone())),
            ("finished_at", Some(self.finished_at.clone())),
            ("tool_version", Some(self.tool_version.clone())),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                lines.push(format!("{key}: {value}"));
            }
        }
        if let Some(error) = &self.error {
            lines.push(format!("error: {error}"));
        }
        lines.push(String::new());
        lines.join("\n")
    }
}
