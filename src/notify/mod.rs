//! Telling people about backups: hooks before and after each backup, then webhooks, the
//! dead-man's-switch ping and email with the outcome. A channel that fails is a warning
//! (logged and added to the audit line), never a failed backup; a failing pre hook
//! aborts the backup, a failing post hook fails the command.

pub mod body;
pub mod email;
pub mod hooks;
pub mod http;
pub mod ping;
pub mod shown;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::catalog::Entry;
use crate::config::Config;
use crate::policy::schedule::{
    DEFAULT_HOOK_TIMEOUT_SECONDS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, Hooks, Notify,
};
pub use shown::{describe, describe_hooks, redact};

use body::{Event, Status};
use hooks::HookEnv;
use http::Delivery;
use ping::Signal;

/// One backup run's notifications, from its start to its outcome.
pub struct Run {
    command: String,
    notify: Notify,
    hooks: Hooks,
    /// Whether the dead-man's-switch ping is used (scheduled runs only).
    ping: bool,
    sendmail: Option<PathBuf>,
    host: String,
    repository: String,
    database: Option<String>,
    started_at: DateTime<Utc>,
    clock: Instant,
    /// What failed so far, for the audit line.
    warnings: Vec<String>,
}

impl Run {
    /// Starts a run of `command`: sends the start ping when `ping` and a ping URL is set.
    pub fn start(
        config: &Config,
        command: &str,
        notify: &Notify,
        hooks: &Hooks,
        ping: bool,
    ) -> Run {
        let mut run = Run {
            command: command.to_string(),
            notify: notify.clone(),
            hooks: hooks.clone(),
            ping,
            sendmail: config.sendmail.clone(),
            host: host_name(),
            repository: config.store.location(),
            database: config.database_hint.clone(),
            started_at: Utc::now(),
            clock: Instant::now(),
            warnings: Vec::new(),
        };
        if let (true, Some(url)) = (ping, notify.ping_url.clone()) {
            let sent = ping::send(&url, Signal::Start, "", run.delivery());
            run.note(sent);
        }
        run
    }

    /// Runs the pre hook, if any; an error means the backup must not be made.
    pub fn pre_hook(&self) -> anyhow::Result<()> {
        let env = HookEnv {
            status: "start".to_string(),
            database: self.database.clone().unwrap_or_default(),
            repository: self.repository.clone(),
            ..HookEnv::default()
        };
        hooks::run("pre", &self.hooks.pre, &env, self.hook_timeout())
            .map_err(|why| anyhow::anyhow!("{why}; the backup was not made"))
    }

    /// Runs the post hook, if any, with the backup's outcome.
    pub fn post_hook(
        &self,
        made: &[Entry],
        file: Option<&Path>,
        error: Option<&anyhow::Error>,
    ) -> anyhow::Result<()> {
        let entry = sole(made);
        let env = HookEnv {
            status: if error.is_none() { "ok" } else { "failed" }.to_string(),
            backup_id: ids(made).join(" "),
            file: file
                .map(|f| f.display().to_string())
                .or_else(|| entry.map(|e| e.filename.clone()))
                .unwrap_or_default(),
            database: entry
                .map(|e| e.database.clone())
                .or_else(|| self.database.clone().filter(|_| made.len() <= 1))
                .unwrap_or_default(),
            error: error.map(|e| format!("{e:#}")).unwrap_or_default(),
            repository: self.repository.clone(),
        };
        hooks::run("post", &self.hooks.post, &env, self.hook_timeout())
            .map_err(|why| anyhow::anyhow!("{why}"))
    }

    /// Tells every channel whose `on` covers the outcome; returns what failed, for the
    /// audit line (each failure is logged as a warning already).
    pub fn finish(mut self, made: &[Entry], error: Option<&anyhow::Error>) -> Vec<String> {
        let event = self.event(made, error);
        self.deliver(&event, false);
        self.warnings
    }

    /// The event for this outcome. A run that made several backups (`--all-databases`)
    /// lists them all in `backup_ids`; `database`, `backup_id` and `file` then stay null
    /// and `size` is their total.
    pub fn event(&self, made: &[Entry], error: Option<&anyhow::Error>) -> Event {
        let entry = sole(made);
        let finished_at = Utc::now();
        Event {
            status: if error.is_none() {
                Status::Ok
            } else {
                Status::Failed
            },
            command: self.command.clone(),
            host: self.host.clone(),
            database: entry
                .map(|e| e.database.clone())
                .or_else(|| self.database.clone().filter(|_| made.len() <= 1)),
            backup_id: entry.map(|e| e.id.clone()),
            file: entry.map(|e| e.filename.clone()),
            size: (!made.is_empty()).then(|| made.iter().map(|e| e.size).sum()),
            backup_ids: ids(made).into_iter().map(String::from).collect(),
            run: made.iter().find_map(|e| e.run.clone()),
            duration_ms: self.clock.elapsed().as_millis() as u64,
            error: error.map(|e| format!("{e:#}")),
            repository: self.repository.clone(),
            started_at: rfc3339(self.started_at),
            finished_at: rfc3339(finished_at),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Sends `event` through the channels; `every` ignores their `on` (for `notify test`).
    /// Returns each channel's result.
    pub fn deliver(&mut self, event: &Event, every: bool) -> Vec<Result<String, String>> {
        let succeeded = event.succeeded();
        let delivery = self.delivery();
        let mut results = Vec::new();
        for hook in &self.notify.webhooks {
            if every || hook.on.covers(succeeded) {
                results.push(webhook::send(hook, event, delivery));
            }
        }
        if let (true, Some(url)) = (self.ping || every, &self.notify.ping_url) {
            let (signal, text) = match &event.error {
                None => (Signal::Success, event.summary()),
                Some(error) => (Signal::Fail, format!("{}\n{error}\n", event.summary())),
            };
            results.push(ping::send(url, signal, &text, delivery));
        }
        if let Some(email) =
            (self.notify.email.as_ref()).filter(|e| every || e.on.covers(succeeded))
        {
            results.push(email::send(
                self.sendmail.as_deref(),
                email,
                event,
                delivery.timeout,
            ));
        }
        for result in &results {
            self.note(result.clone());
        }
        results
    }

    fn note(&mut self, result: Result<String, String>) {
        match result {
            Ok(done) => tracing::debug!("{done}"),
            Err(why) => {
                tracing::warn!("{why}");
                self.warnings.push(why);
            }
        }
    }

    fn delivery(&self) -> Delivery {
        Delivery {
            timeout: Duration::from_secs(
                self.notify
                    .timeout_seconds
                    .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
            ),
            retries: self.notify.retries.unwrap_or(DEFAULT_RETRIES),
        }
    }

    fn hook_timeout(&self) -> Duration {
        Duration::from_secs(
            self.hooks
                .timeout_seconds
                .unwrap_or(DEFAULT_HOOK_TIMEOUT_SECONDS),
        )
    }
}

/// The command's outcome once the post hook ran: a failed hook fails the command, the
/// backup staying recorded.
pub fn after_post_hook<T>(
    outcome: anyhow::Result<T>,
    posted: anyhow::Result<()>,
    made: &[Entry],
) -> anyhow::Result<T> {
    match (outcome, posted, made) {
        (outcome, Ok(()), _) => outcome,
        (Ok(_), Err(hook), []) => Err(hook),
        (Ok(_), Err(hook), [entry]) => Err(anyhow::anyhow!(
            "backup {} was made and recorded, but {hook:#}",
            entry.id
        )),
        (Ok(_), Err(hook), made) => Err(anyhow::anyhow!(
            "backups {} were made and recorded, but {hook:#}",
            ids(made).join(", ")
        )),
        (Err(err), Err(hook), _) => Err(anyhow::anyhow!("{err:#}; and {hook:#}")),
    }
}

/// The one backup a run made, when it made exactly one.
fn sole(made: &[Entry]) -> Option<&Entry> {
    match made {
        [entry] => Some(entry),
        _ => None,
    }
}

fn ids(made: &[Entry]) -> Vec<&str> {
    made.iter().map(|e| e.id.as_str()).collect()
}

/// `text` with the channel failures appended, for the audit line.
pub fn with_warnings(text: String, warnings: &[String]) -> String {
    if warnings.is_empty() {
        return text;
    }
    format!("{text}; warning: {}", warnings.join("; "))
}

/// The problem with the configuration that `status` and `schedule show` report: email is
/// configured but cannot be sent.
pub fn configuration_problem(notify: &Notify, sendmail: Option<&Path>) -> Option<String> {
    (notify.email.is_some() && sendmail.is_none()).then(email::missing_sendmail)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// This machine's name (uname's nodename).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
