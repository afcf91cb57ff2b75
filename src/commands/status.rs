//! `pgbackup status`: database, backups and schedule at a glance, as a short report, JSON
//! or Prometheus metrics; the exit code is the monitoring state (0 ok ... 3 unknown).

use std::io::{self, Write};

use anyhow::Result;
use chrono::{DateTime, FixedOffset, Utc};

use crate::cli::StatusArgs;
use crate::commands::present;
use crate::config::Config;
use crate::exit::{self, Refusal};
use crate::model::units::{format_duration, format_size};
use crate::policy::schedule::RETRY_DELAYS_MINUTES;
use crate::status::backups::BackupsReport;
use crate::status::database::DatabaseReport;
use crate::status::limits::Limits;
use crate::status::repositories::{RepositoryReport, Role};
use crate::status::restores::RestoresReport;
use crate::status::schedule_view::ScheduleReport;
use crate::status::{self, Report, State, prometheus};

/// Never fails once the flags are valid: whatever cannot be read is reported as unknown.
/// A command line that cannot be run is exit 3 (UNKNOWN), as monitoring systems expect.
pub fn run(config: Result<Config>, json: bool, args: &StatusArgs) -> Result<u8> {
    if json && args.prometheus {
        return Err(Refusal::StatusUsage(
            "--json and --prometheus are two different outputs; choose one".to_string(),
        )
        .into());
    }
    let limits = Limits::parse(
        args.max_age.as_deref(),
        args.warn_age.as_deref(),
        args.min_free.as_deref(),
    )
    .map_err(|err| Refusal::StatusUsage(format!("{err:#}")))?;
    let now = Utc::now();
    let report = match config {
        Ok(config) => status::gather(&config, &limits, now),
        Err(err) => Report::unknown(format!("{err:#}"), now),
    };
    let printed = if args.prometheus {
        io::stdout()
            .lock()
            .write_all(prometheus::render(&report).as_bytes())
            .map_err(exit::stdout_error)
    } else if json {
        present::print_json(&report)
    } else {
        present::print_line(&human(&report, Paint(crate::colour::on_stdout())))
    };
    match printed {
        // `status | head` still exits with the state.
        Err(err) if !exit::is_broken_pipe(&err) => Err(err),
        _ => Ok(report.state.exit_code()),
    }
}

/// ANSI colours, only when stdout is a terminal and `NO_COLOR` is not set.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    /// The state in its colour, in capitals for the headline or in lower case.
    fn state(self, state: State, capitals: bool) -> String {
        let code = match state {
            State::Ok => "32",
            State::Warning => "33",
            State::Critical => "31",
            State::Unknown => "35",
        };
        let word = state.as_str();
        if capitals {
            self.colour(code, &word.to_uppercase())
        } else {
            self.colour(code, word)
        }
    }

    fn colour(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Names, messages and paths from the catalog, the server or files, with control
/// characters escaped so that they cannot move the cursor or forge a line.
fn shown(text: &str) -> String {
    present::printable(text)
}

/// Section labels in a column, details indented under them.
const INDENT: &str = "          ";

fn human(report: &Report, paint: Paint) -> String {
    let mut lines = vec![format!("status    {}", paint.state(report.state, true))];
    for reason in &report.reasons {
        lines.push(format!(
            "{INDENT}{}: {}",
            paint.state(reason.state, false),
            shown(&reason.message)
        ));
    }
    if let Some(db) = &report.database {
        lines.push(String::new());
        lines.extend(database_lines(db, paint));
    }
    if let Some(backups) = &report.backups {
        lines.push(String::new());
        lines.extend(backup_lines(backups));
    }
    if let Some(repositories) = &report.repositories {
        lines.push(String::new());
        lines.extend(repository_lines(repositories, paint));
    }
    if let Some(schedule) = &report.schedule {
        lines.push(String::new());
        lines.extend(schedule_lines(schedule, paint));
    }
    if let Some(restores) = report.restores.as_ref().and_then(restore_line) {
        lines.push(String::new());
        lines.push(restores);
    }
    lines.join("\n")
}

/// Interrupted restores, leftovers and kept copies; nothing when there are none.
fn restore_line(restores: &RestoresReport) -> Option<String> {
    let mut facts = Vec::new();
    if let Some(i) = &restores.interrupted {
        facts.push(format!("1 interrupted ({})", shown(&i.database)));
    }
    if let Some(i) = &restores.in_progress {
        facts.push(format!("1 in progress ({})", shown(&i.database)));
    }
    if let Some(leftovers) = restores.leftovers.as_ref().filter(|l| !l.is_empty()) {
        let names: Vec<String> = leftovers.iter().map(|d| shown(&d.name)).collect();
        facts.push(format!(
            "{} left over ({})",
            leftovers.len(),
            names.join(", ")
        ));
    }
    if let Some(kept) = restores.kept.as_ref().filter(|k| !k.is_empty()) {
        facts.push(format!(
            "{} previous database(s) kept, {}",
            kept.len(),
            format_size(restores.kept_bytes.unwrap_or(0))
        ));
    }
    (!facts.is_empty()).then(|| format!("restores  {}", facts.join("; ")))
}

fn when(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn database_lines(db: &DatabaseReport, paint: Paint) -> Vec<String> {
    let name = shown(db.name.as_deref().unwrap_or(&db.connection));
    if !db.reachable {
        return vec![format!(
            "database  {name}: {} (see above)",
            paint.colour("31", "unreachable")
        )];
    }
    let role = match db.in_recovery {
        Some(true) => "standby (in recovery)",
        _ => "primary",
    };
    let mut lines = vec![format!(
        "database  {name}: PostgreSQL {}, {role}",
        db.server_version.as_deref().unwrap_or("?")
    )];
    let mut facts = Vec::new();
    if let Some(bytes) = db.size_bytes {
        facts.push(format!("size {}", format_size(bytes)));
    }
    if let (Some(n), Some(max)) = (db.connections, db.max_connections) {
        facts.push(format!("{n} of {max} connections"));
    }
    if let (Some(up), Some(since)) = (db.uptime_seconds, db.started_at) {
        facts.push(format!(
            "up {} (since {})",
            format_duration(up),
            when(&since)
        ));
    }
    lines.push(format!("{INDENT}{}", facts.join(", ")));
    if !db.largest_tables.is_empty() {
        let tables: Vec<String> = db
            .largest_tables
            .iter()
            .map(|t| {
                let (schema, table) = (shown(&t.schema), shown(&t.name));
                format!("{schema}.{table} {}", format_size(t.bytes))
            })
            .collect();
        lines.push(format!("{INDENT}largest tables: {}", tables.join(", ")));
    }
    lines
}

fn backup_lines(backups: &BackupsReport) -> Vec<String> {
    let space = match backups.filesystem {
        Some(s) => format!(
            "; {} free of {}",
            format_size(s.free_bytes),
            format_size(s.size_bytes)
        ),
        None => String::new(),
    };
    let mut lines = vec![format!(
        "backups   {}: {} complete, {}{space}",
        shown(&backups.folder.display().to_string()),
        backups.count,
        format_size(backups.total_bytes)
    )];
    let width = |f: &dyn Fn(&crate::status::backups::Group) -> usize| {
        backups.groups.iter().map(f).max().unwrap_or(0)
    };
    let db_width = width(&|g| shown(group_name(g)).chars().count());
    let kind_width = width(&|g| shown(&g.kind).chars().count());
    for g in &backups.groups {
        let age = g.newest.age_seconds.map_or_else(
            || "date unknown".to_string(),
            |a| format!("{} ago", format_duration(a)),
        );
        let took = match g.newest.duration_ms {
            Some(ms) if ms < 1000 => format!(", took {ms}ms"),
            Some(ms) => format!(", took {}", format_duration((ms / 1000) as i64)),
            None => String::new(),
        };
        let count = format!(
            "{} {}",
            g.count,
            if g.count == 1 { "backup" } else { "backups" }
        );
        lines.push(format!(
            "{INDENT}{:db_width$}  {:kind_width$}  {count:>12} {:>10}   newest {} {age} ({}{took})",
            shown(group_name(g)),
            shown(&g.kind),
            format_size(g.total_bytes),
            shown(&g.newest.id),
            format_size(g.newest.size_bytes)
        ));
        if let Some(v) = &g.last_verification {
            lines.push(format!(
                "{INDENT}{:db_width$}  {:kind_width$}  last verified {} ({}): {}",
                "",
                "",
                shown(&v.verified_at),
                shown(&v.id),
                shown(&v.result)
            ));
        }
    }
    if backups.groups.is_empty() {
        lines.push(format!("{INDENT}no complete backups"));
    }
    for (database, kind) in backups.checked.expected() {
        if !(backups.groups.iter()).any(|g| g.database == database && g.kind == kind) {
            let name = if database.is_empty() {
                "(server)"
            } else {
                &database
            };
            lines.push(format!(
                "{INDENT}{:db_width$}  {:kind_width$}  no complete backup (the schedule backs it up)",
                shown(name),
                shown(&kind)
            ));
        }
    }
    for m in &backups.missing {
        lines.push(format!(
            "{INDENT}missing file: {} ({})",
            shown(&m.id),
            shown(&m.filename)
        ));
    }
    for u in &backups.unsafe_entries {
        let why = shown(u.reason.as_deref().unwrap_or(""));
        lines.push(format!("{INDENT}unsafe entry: {} ({why})", shown(&u.id)));
    }
    for d in &backups.damaged {
        let why = shown(d.reason.as_deref().unwrap_or(""));
        lines.push(format!("{INDENT}damaged catalog {why}"));
    }
    for d in &backups.deleting {
        lines.push(format!(
            "{INDENT}interrupted delete: {} ({})",
            shown(&d.id),
            shown(&d.filename)
        ));
    }
    for name in &backups.untracked {
        lines.push(format!("{INDENT}untracked: {}", shown(name)));
    }
    let partial_label = match &backups.running {
        Some(w) => {
            lines.push(format!(
                "{INDENT}running: pid {} ({})",
                w.pid,
                shown(&w.command)
            ));
            "in progress"
        }
        None => "leftover partial",
    };
    for name in &backups.partials {
        lines.push(format!("{INDENT}{partial_label}: {}", shown(name)));
    }
    lines
}

/// Each repository on one line, then the newest backup of each database and type in it.
fn repository_lines(repositories: &[RepositoryReport], paint: Paint) -> Vec<String> {
    let mut lines = Vec::new();
    for (n, repo) in repositories.iter().enumerate() {
        let label = if n == 0 { "repos     " } else { INDENT };
        let role = match repo.role {
            Role::Primary => "primary",
            Role::Copy => "copy",
        };
        let name = shown(&repo.repository);
        let pending = match repo.pending_copies.len() {
            0 => String::new(),
            1 => "; 1 copy pending".to_string(),
            n => format!("; {n} copies pending"),
        };
        let facts = match (repo.reachable, repo.count, repo.total_bytes) {
            (false, ..) => format!(
                "{}: {}",
                paint.colour("31", "unreachable"),
                shown(repo.error.as_deref().unwrap_or(""))
            ),
            (true, Some(count), Some(bytes)) => {
                format!("{count} complete, {}", format_size(bytes))
            }
            (true, ..) => format!(
                "reachable, not read: {}",
                shown(repo.error.as_deref().unwrap_or(""))
            ),
        };
        lines.push(format!("{label}{name} ({role}): {facts}{pending}"));
        for g in &repo.groups {
            let age = g.newest.age_seconds.map_or_else(
                || "date unknown".to_string(),
                |a| format!("{} ago", format_duration(a)),
            );
            lines.push(format!(
                "{INDENT}  {} {}: newest {} {age} ({})",
                shown(&g.database),
                shown(&g.kind),
                shown(&g.newest.id),
                format_size(g.newest.size_bytes)
            ));
        }
    }
    lines
}

fn schedule_lines(schedule: &ScheduleReport, paint: Paint) -> Vec<String> {
    if let Some(error) = &schedule.error {
        return vec![format!(
            "schedule  {}: {}",
            paint.colour("31", "damaged"),
            shown(error)
        )];
    }
    let defaults = if schedule.present {
        String::new()
    } else {
        format!(
            " (defaults: {} does not exist)",
            shown(&schedule.file.display().to_string())
        )
    };
    let at = schedule
        .time
        .as_deref()
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let zone = schedule
        .timezone
        .as_deref()
        .map(|z| format!(" {z}"))
        .unwrap_or_default();
    let mut lines = vec![format!(
        "schedule  {}{at}{zone}, {} backups, {}{defaults}",
        schedule.frequency.as_deref().unwrap_or("(no frequency)"),
        schedule.kind,
        if schedule.enabled {
            "enabled"
        } else {
            "disabled"
        }
    )];
    let last = schedule.last_run.as_ref().map_or("never".to_string(), when);
    let result = match &schedule.last_result {
        None => String::new(),
        Some(r) if r.succeeded() => {
            let backup = r
                .backup_id
                .as_deref()
                .map(|id| format!(" (backup {})", shown(id)))
                .unwrap_or_default();
            format!(": ok{backup}")
        }
        Some(r) => format!(
            ": {}: {}",
            paint.colour("31", &shown(&r.status)),
            shown(r.error.as_deref().unwrap_or("no error recorded"))
        ),
    };
    lines.push(format!("{INDENT}last run {last}{result}"));
    let next = schedule
        .next_run
        .as_ref()
        .map_or("not planned".to_string(), when);
    let overdue = if schedule.overdue {
        format!(" ({})", paint.colour("33", "overdue"))
    } else {
        String::new()
    };
    let retry = schedule
        .failed_attempts
        .map(|n| format!(" (retry {n} of {})", RETRY_DELAYS_MINUTES.len()))
        .unwrap_or_default();
    lines.push(format!("{INDENT}next run {next}{retry}{overdue}"));
    lines
}

/// A group's name in the table: its database, or `(server)` for the globals.
fn group_name(group: &crate::status::backups::Group) -> &str {
    match group.database.is_empty() && group.kind == "globals" {
        true => "(server)",
        false => &group.database,
    }
}
