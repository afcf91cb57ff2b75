//! The audit trail: one line per operation in logs/pgbackup.log (time, user, command, result).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};

use crate::config::Config;
use crate::store::fsutil;

/// Appends `result` (e.g. `ok id=20250408_160000` or `failed: ...`) for this invocation.
pub fn record(config: &Config, result: &str) -> Result<()> {
    fsutil::ensure_private_dir(&config.logs_dir)?;
    let path = config.logs_dir.join("pgbackup.log");
    let now = config
        .zone
        .wall_clock(Utc::now())
        .to_rfc3339_opts(SecondsFormat::Secs, false);
    let line = format!(
        "{now} user={} pid={} command=\"{}\" result={}\n",
        escape(&config.user, &[' ', '"']),
        std::process::id(),
        escape(&config.command_line, &['"']),
        escape(result, &[])
    );
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .with_context(|| format!("could not append to {}", path.display()))
}

/// A field as written to the log: control characters (a newline would start a second,
/// genuine-looking line), the backslash and the characters in `special` (which would end
/// the field) become backslash escapes: `\n`, `\r`, `\t`, `\\`, `\"`, `\xNN`, `\u{NNNN}`.
pub fn escape(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' if special.contains(&c) => out.push_str("\\\""),
            c if c.is_ascii_control() || (c == ' ' && special.contains(&c)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || special.contains(&c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Records the outcome of a command, keeping the command's own error if both fail.
pub fn record_outcome<T>(config: &Config, outcome: &Result<T>, ok: impl FnOnce(&T) -> String) {
    record_outcome_noting(config, outcome, ok, &[]);
}

/// [`record_outcome`], with `warnings` (notifications that failed) after the result.
pub fn record_outcome_noting<T>(
    config: &Config,
    outcome: &Result<T>,
    ok: impl FnOnce(&T) -> String,
    warnings: &[String],
) {
    let text = match outcome {
        Ok(value) => format!("ok {}", ok(value)),
        Err(err) => format!("failed: {err:#}"),
    };
    let text = crate::notify::with_warnings(text, warnings);
    if let Err(err) = record(config, text.trim_end()) {
        tracing::warn!("{err:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn a_field_never_holds_a_line_break_or_its_own_end() {
        let forged = "db\n2030-01-01T00:00:00+00:00 user=root pid=1 command=\"delete\" result=ok";
        let field = escape(forged, &['"']);
        assert!(!field.contains(char::is_control), "{field}");
        assert!(!field.replace("\\\"", "").contains('"'), "{field}");
        assert_eq!(
            escape("a\\b\r\t\u{1b}[31m\u{85}", &[]),
            "a\\\\b\\r\\t\\x1b[31m\\u{0085}"
        );
        assert_eq!(escape("some one", &[' ']), "some\\x20one");
        assert_eq!(escape("ok id=1 database=app", &[]), "ok id=1 database=app");
    }
}
