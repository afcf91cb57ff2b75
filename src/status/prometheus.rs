//! The status report in Prometheus text exposition format (version 0.0.4), for
//! `status --prometheus` and for node_exporter's textfile collector.

use std::fmt::Write as _;
use std::fs::{self, Permissions};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::status::Report;
use crate::status::backups::BackupsReport;
use crate::store::fsutil;

/// One metric family: its samples, each with its labels.
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }
}

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

/// Renders every fact status knows as gauges named `pgbackup_*`.
pub fn render(report: &Report) -> String {
    let mut families = Vec::new();
    let mut state = Family::new(
        "pgbackup_status_state",
        "Overall status: 0 ok, 1 warning, 2 critical, 3 unknown (the exit code of pgbackup status).",
    );
    state.add(Vec::new(), f64::from(report.state.exit_code()));
    families.push(state);
    database_families(report, &mut families);
    backup_families(report, &mut families);
    repository_families(report, &mut families);
    schedule_families(report, &mut families);
    restore_families(report, &mut families);
    let mut text = String::new();
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(text, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(text, "# TYPE {} gauge", family.name);
        for (labels, value) in &family.samples {
            let _ = writeln!(
                text,
                "{}{} {}",
                family.name,
                label_set(labels),
                format_value(*value)
            );
        }
    }
    text
}

fn database_families(report: &Report, families: &mut Vec<Family>) {
    let Some(db) = &report.database else { return };
    let labels = || match &db.name {
        Some(name) => vec![("database", name.clone())],
        None => Vec::new(),
    };
    let mut up = Family::new(
        "pgbackup_database_up",
        "Whether the database answered (1) or not (0).",
    );
    up.add(labels(), flag(db.reachable));
    let mut size = Family::new("pgbackup_database_size_bytes", "Size of the database.");
    if let Some(bytes) = db.size_bytes {
        size.add(labels(), bytes as f64);
    }
    families.extend([up, size]);
}

/// The backups of each surveyed repository: with a `repository` label when the report
/// lists repositories, as they were without one otherwise.
fn surveyed(report: &Report) -> Vec<(Option<&str>, &BackupsReport)> {
    match &report.repositories {
        Some(repositories) => repositories
            .iter()
            .filter_map(|r| Some((Some(r.repository.as_str()), r.survey.as_ref()?)))
            .collect(),
        None => report.backups.iter().map(|b| (None, b)).collect(),
    }
}

/// `repository="…"` first when there is one, then `rest`.
fn with_repository(
    repository: Option<&str>,
    rest: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    let mut labels: Vec<_> = repository
        .map(|r| ("repository", r.to_string()))
        .into_iter()
        .collect();
    labels.extend(rest);
    labels
}

fn backup_families(report: &Report, families: &mut Vec<Family>) {
    let surveyed = surveyed(report);
    if surveyed.is_empty() {
        return;
    }
    let mut count = Family::new(
        "pgbackup_backups",
        "Complete backups (file present) per database and type.",
    );
    let mut bytes = Family::new(
        "pgbackup_backups_bytes",
        "Total size of the complete backups per database and type.",
    );
    let mut stamp = Family::new(
        "pgbackup_newest_backup_timestamp_seconds",
        "When the newest complete backup was made (Unix time): the last success.",
    );
    let mut age = Family::new(
        "pgbackup_newest_backup_age_seconds",
        "Age of the newest complete backup.",
    );
    let mut size = Family::new(
        "pgbackup_newest_backup_size_bytes",
        "Size of the newest complete backup.",
    );
    let mut duration = Family::new(
        "pgbackup_newest_backup_duration_seconds",
        "How long the newest complete backup took to make.",
    );
    let mut missing = Family::new(
        "pgbackup_missing_files",
        "Catalog entries whose backup file is missing.",
    );
    let mut untracked = Family::new(
        "pgbackup_untracked_files",
        "Backup files in the folder that the catalog does not know.",
    );
    let mut partial = Family::new(
        "pgbackup_partial_files",
        "Leftover partial files (not counting those of a running operation).",
    );
    let mut free = Family::new(
        "pgbackup_filesystem_free_bytes",
        "Space left for backups on their filesystem.",
    );
    let mut total = Family::new(
        "pgbackup_filesystem_size_bytes",
        "Size of the filesystem holding the backups.",
    );
    for (repository, backups) in surveyed {
        for group in &backups.groups {
            let labels = || {
                let mut labels = vec![
                    ("database", group.database.clone()),
                    ("type", group.kind.clone()),
                ];
                // A filtered group is a series of its own, told apart by its options.
                if !group.pg_dump_options.is_empty() {
                    labels.push(("pg_dump_options", group.pg_dump_options.join(" ")));
                }
                with_repository(repository, labels)
            };
            count.add(labels(), group.count as f64);
            bytes.add(labels(), group.total_bytes as f64);
            if let Some(made) = group.newest.created_at {
                stamp.add(labels(), made.timestamp_millis() as f64 / 1000.0);
            }
            if let Some(seconds) = group.newest.age_seconds {
                age.add(labels(), seconds as f64);
            }
            size.add(labels(), group.newest.size_bytes as f64);
            if let Some(ms) = group.newest.duration_ms {
                duration.add(labels(), ms as f64 / 1000.0);
            }
        }
        let labels = || with_repository(repository, Vec::new());
        missing.add(labels(), backups.missing.len() as f64);
        untracked.add(labels(), backups.untracked.len() as f64);
        let partials = match backups.running {
            Some(_) => 0,
            None => backups.partials.len(),
        };
        partial.add(labels(), partials as f64);
        if let Some(space) = backups.filesystem {
            free.add(labels(), space.free_bytes as f64);
            total.add(labels(), space.size_bytes as f64);
        }
    }
    families.extend([
        count, bytes, stamp, age, size, duration, missing, untracked, partial, free, total,
    ]);
    if let Some(backups) = &report.backups {
        families.push(scheduled_present(backups));
    }
}

/// Whether each (database, type) the schedule backs up has a complete backup in the
/// primary repository.
fn scheduled_present(backups: &BackupsReport) -> Family {
    let mut present = Family::new(
        "pgbackup_scheduled_backup_present",
        "Whether each (database, type) the schedule backs up has a complete backup (1) or not (0).",
    );
    for (database, kind) in backups.checked.expected() {
        let found = (backups.groups.iter())
            .any(|g| g.database == database && g.kind == kind && backups.checked.covers_group(g));
        present.add(
            vec![("database", database), ("type", kind)],
            if found { 1.0 } else { 0.0 },
        );
    }
    present
}

/// Per repository, when the report lists them: whether it answered, what it holds and
/// the copies waiting to be made to it.
fn repository_families(report: &Report, families: &mut Vec<Family>) {
    let Some(repositories) = &report.repositories else {
        return;
    };
    let mut up = Family::new(
        "pgbackup_repository_up",
        "Whether the repository answered (1) or not (0).",
    );
    let mut count = Family::new(
        "pgbackup_repository_backups",
        "Complete backups in the repository, all databases and types.",
    );
    let mut bytes = Family::new(
        "pgbackup_repository_backups_bytes",
        "Total size of the complete backups in the repository.",
    );
    let mut pending = Family::new(
        "pgbackup_repository_pending_copies",
        "Backups waiting to be copied to the repository (retried by run-scheduled).",
    );
    for repo in repositories {
        let labels = || vec![("repository", repo.repository.clone())];
        up.add(labels(), flag(repo.reachable));
        if let (Some(n), Some(total)) = (repo.count, repo.total_bytes) {
            count.add(labels(), n as f64);
            bytes.add(labels(), total as f64);
        }
        pending.add(labels(), repo.pending_copies.len() as f64);
    }
    families.extend([up, count, bytes, pending]);
}

fn schedule_families(report: &Report, families: &mut Vec<Family>) {
    let Some(schedule) = &report.schedule else {
        return;
    };
    let mut enabled = Family::new(
        "pgbackup_schedule_enabled",
        "Whether scheduled backups are enabled.",
    );
    enabled.add(Vec::new(), flag(schedule.enabled));
    let mut overdue = Family::new(
        "pgbackup_schedule_overdue",
        "Whether the next scheduled run is more than 30 minutes late.",
    );
    overdue.add(Vec::new(), flag(schedule.overdue));
    let mut success = Family::new(
        "pgbackup_schedule_last_run_success",
        "Whether the last scheduled run succeeded (1) or failed (0).",
    );
    let mut duration = Family::new(
        "pgbackup_schedule_last_run_duration_seconds",
        "How long the last scheduled run took.",
    );
    if let Some(result) = &schedule.last_result {
        success.add(Vec::new(), flag(result.succeeded()));
        if let Some(ms) = result.duration_ms {
            duration.add(Vec::new(), ms as f64 / 1000.0);
        }
    }
    let mut last = Family::new(
        "pgbackup_schedule_last_run_timestamp_seconds",
        "When the last scheduled run happened (Unix time).",
    );
    let last_run = schedule
        .last_run
        .or_else(|| schedule.last_result.as_ref()?.finished_at);
    if let Some(t) = last_run {
        last.add(Vec::new(), t.timestamp_millis() as f64 / 1000.0);
    }
    let mut next = Family::new(
        "pgbackup_schedule_next_run_timestamp_seconds",
        "When the next scheduled run is due (Unix time).",
    );
    if let Some(t) = schedule.next_run {
        next.add(Vec::new(), t.timestamp_millis() as f64 / 1000.0);
    }
    families.extend([enabled, overdue, success, last, duration, next]);
}

fn restore_families(report: &Report, families: &mut Vec<Family>) {
    let Some(restores) = &report.restores else {
        return;
    };
    let mut interrupted = Family::new(
        "pgbackup_restore_interrupted",
        "Whether a killed restore waits to be finished or undone (1) or not (0).",
    );
    interrupted.add(Vec::new(), flag(restores.interrupted.is_some()));
    families.push(interrupted);
    let databases = [
        (
            &restores.leftovers,
            "pgbackup_restore_leftover_databases",
            "Databases left over from interrupted or failed restores (*_restoring_*).",
        ),
        (
            &restores.kept,
            "pgbackup_restore_kept_databases",
            "Previous databases kept by restores (*_pre_restore_*), each a whole copy.",
        ),
    ];
    for (found, name, help) in databases {
        let mut family = Family::new(name, help);
        if let Some(found) = found {
            family.add(Vec::new(), found.len() as f64);
        }
        families.push(family);
    }
    let mut bytes = Family::new(
        "pgbackup_restore_kept_bytes",
        "What the previous databases kept by restores hold together.",
    );
    if let Some(total) = restores.kept_bytes {
        bytes.add(Vec::new(), total as f64);
    }
    families.push(bytes);
}

fn label_set(labels: &[(&str, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", escape_label(value)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// Label values escape backslash, double quote and line feed.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// HELP text escapes backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', r"\\").replace('\n', r"\n")
}

fn format_value(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    }
}

/// Replaces `path` atomically with `text`, readable by all (for node_exporter, which runs
/// as another user). The temporary name does not end in `.prom`, so the collector skips it.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut file = fsutil::create_private_file(&tmp)?;
        file.set_permissions(Permissions::from_mode(0o644))
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("could not write {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("could not rename {} to {}", tmp.display(), path.display()))?;
        fsutil::sync_dir(dir)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("could not write metrics file {}", path.display()))
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
