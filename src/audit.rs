//! The audit trail: one line per operation in logs/pgbackup.log (time, user, command, result).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};

use crate::config::Config;
use crate::fsutil;

/// Appends `result` (e.g. `ok id=20250408_160000` or `failed: ...`) for this invocation.
pub fn record(config: &Config, result: &str) -> Result<()> {
    fsutil::ensure_private_dir(&config.logs_dir)?;
    let path = config.logs_dir.join("pgbackup.log");
    let now = config
        .zone
        .wall_clock(Utc::now())
        .to_rfc3339_opts(SecondsFormat::Secs, false);
    let result = result.replace(['\n', '\r'], " ");
    let line = format!(
        "{now} user={} pid={} command=\"{}\" result={result}\n",
        config.user,
        std::process::id(),
        config.command_line.replace('"', "'")
    );
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .with_context(|| format!("could not append to {}", path.display()))
}

/// Records the outcome of a command, keeping the command's own error if both fail.
pub fn record_outcome<T>(config: &Config, outcome: &Result<T>, ok: impl FnOnce(&T) -> String) {
    let text = match outcome {
        Ok(value) => format!("ok {}", ok(value)),
        Err(err) => format!("failed: {err:#}"),
    };
    if let Err(err) = record(config, text.trim_end()) {
        tracing::warn!("{err:#}");
    }
}
