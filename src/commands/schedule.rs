//! `pgbackup schedule show|set`: read or change backup_schedule.json.

use anyhow::Result;
use chrono::Utc;
use serde_json::{Value, json};

use crate::backup::restore::recovery;
use crate::cli::{ScheduleCommand, ScheduleSetArgs};
use crate::commands::{confirm, present};
use crate::config::Config;
use crate::exit;
use crate::notify;
use crate::policy::schedule::{self, RETRY_DELAYS_MINUTES, Schedule};
use crate::state::audit;
use crate::state::schedule_file::{self, Stored};

pub fn run(config: &Config, command: &ScheduleCommand) -> Result<u8> {
    match command {
        ScheduleCommand::Show => show(config),
        ScheduleCommand::Set(args) => set(config, args),
    }
}

fn show(config: &Config) -> Result<u8> {
    let schedule = schedule_file::load(&config.schedule_path)?;
    if config.json {
        return present::print_json(&with_computed_next_run(&schedule)?).map(|()| 0);
    }
    let zone = schedule.zone();
    let when = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
        t.map(|t| {
            zone.wall_clock(t.to_utc())
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        })
        .unwrap_or_else(|| "never".to_string())
    };
    let next = match schedule::next_run(&schedule, Utc::now()) {
        None => "none (disabled)".to_string(),
        Some(next) => {
            let retry = schedule
                .failed_attempts
                .map(|n| {
                    format!(
                        " (retry {} of {} after a failed run)",
                        n,
                        RETRY_DELAYS_MINUTES.len()
                    )
                })
                .unwrap_or_default();
            format!("{}{retry}", when(Some(zone.wall_clock(next))))
        }
    };
    let file_json: Value = serde_json::from_str(&schedule.to_json())?;
    let mut table = present::table(&["Setting", "Value"]);
    let rows = [
        ("file", config.schedule_path.display().to_string()),
        ("enabled", schedule.enabled.to_string()),
        (
            "frequency",
            file_json["frequency"].as_str().unwrap_or("").to_string(),
        ),
        ("time", file_json["time"].as_str().unwrap_or("").to_string()),
        (
            "weekday",
            file_json
                .get("weekday")
                .and_then(Value::as_str)
                .unwrap_or("monday")
                .to_string(),
        ),
        (
            "day of month",
            schedule.day_of_month.unwrap_or(1).to_string(),
        ),
        (
            "time zone",
            file_json
                .get("timezone")
                .and_then(Value::as_str)
                .unwrap_or("system")
                .to_string(),
        ),
        (
            "type",
            file_json
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("full")
                .to_string(),
        ),
        (
            "compression",
            file_json
                .get("compression")
                .and_then(Value::as_str)
                .unwrap_or("gzip")
                .to_string(),
        ),
        (
            "databases",
            schedule.databases.as_ref().map_or_else(
                || "the connection's database".to_string(),
                ToString::to_string,
            ),
        ),
        (
            "exclude databases",
            match schedule.exclude_databases.as_slice() {
                [] => "none".to_string(),
                patterns => patterns.join(", "),
            },
        ),
        ("globals", schedule.globals.unwrap_or(false).to_string()),
        (
            "pg_dump options",
            match schedule.pg_dump_options.as_slice() {
                [] => "none (whole databases)".to_string(),
                _ => schedule.filters().to_string(),
            },
        ),
        ("retention", file_json["retention"].to_string()),
        (
            "repository",
            schedule
                .repository
                .clone()
                .unwrap_or_else(|| "default (backups/ of the home)".to_string()),
        ),
        (
            "copies",
            file_json
                .get("copies")
                .map_or_else(|| "none".to_string(), Value::to_string),
        ),
        (
            "pending copies",
            file_json
                .get("pending_copies")
                .map_or_else(|| "none".to_string(), Value::to_string),
        ),
        ("notify", notify::describe(&schedule.notify)),
        ("hooks", notify::describe_hooks(&schedule.hooks)),
        ("last run", when(schedule.last_run)),
        (
            "last result",
            schedule
                .last_result
                .as_ref()
                .map(|r| serde_json::to_string(r).unwrap_or_default())
                .unwrap_or_default(),
        ),
        ("next run", next),
    ];
    for (key, value) in rows {
        table.add_row(vec![key.to_string(), value]);
    }
    let problem = notify::configuration_problem(&schedule.notify, config.sendmail.as_deref());
    if let Some(problem) = &problem {
        table.add_row(vec!["notify error".to_string(), problem.clone()]);
    }
    present::print_line(&table.to_string())?;
    if let Some(problem) = problem {
        tracing::error!("{problem}");
    }
    Ok(0)
}

fn set(config: &Config, args: &ScheduleSetArgs) -> Result<u8> {
    let outcome = (|| {
        let _lock = recovery::lock_schedule(config)?;
        let path = &config.schedule_path;
        let (current, damage) = match schedule_file::read(path)? {
            Stored::Missing => (Schedule::default(), None),
            Stored::Valid(schedule) => (*schedule, None),
            Stored::Damaged { text, reason } => {
                let (salvaged, dropped) = schedule::salvage(&text);
                (salvaged, Some((reason, dropped)))
            }
        };
        let mut value: Value = serde_json::from_str(&current.to_json())?;
        let timing_changed = apply(&mut value, args);
        let mut updated =
            schedule::parse(&value.to_string()).map_err(|e| exit::usage(e.to_string()))?;
        let now = Utc::now();
        if let Some((reason, dropped)) = &damage {
            tracing::warn!("{}", schedule_file::damaged(path, reason));
            let question = format!(
                "Rewrite {} with these settings, keeping what can be read ({} take the defaults)? \
                 The damaged file is kept beside it. [y/N]",
                path.display(),
                dropped.join(", ")
            );
            confirm::confirm(config, &question, "y")?;
            let aside = schedule_file::keep_aside(path, now)?;
            tracing::warn!("kept the damaged schedule as {}", aside.display());
        }
        if timing_changed || damage.is_some() {
            let next = schedule::next_slot_after(&updated, now);
            updated.next_run = Some(updated.zone().wall_clock(next));
            updated.failed_attempts = None;
        }
        schedule_file::save(path, &updated)?;
        Ok(updated)
    })();
    audit::record_outcome(config, &outcome, |_| String::new());
    let updated: Schedule = outcome?;
    if config.json {
        // The same value as `schedule show --json`: the file as saved.
        return present::print_json(&with_computed_next_run(&updated)?).map(|()| 0);
    }
    present::print_line(&format!(
        "schedule saved; next run {}",
        updated
            .next_run
            .map(|t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string())
            .unwrap_or_else(|| "not planned".to_string())
    ))?;
    Ok(0)
}

/// The file's fields as stored, plus `computed_next_run`: the next run that `schedule
/// show`, `status` and `run-scheduled` act on (RFC 3339; null when disabled), which the
/// stored `next_run` may not hold yet (the shipped file has `null`).
fn with_computed_next_run(schedule: &Schedule) -> Result<Value> {
    let mut value: Value = serde_json::from_str(&schedule.to_json())?;
    if let Some(notify) = value.get_mut("notify") {
        notify::redact(notify);
    }
    let next = schedule::next_run(schedule, Utc::now())
        .map(|t| schedule.zone().wall_clock(t).to_rfc3339());
    value["computed_next_run"] = json!(next);
    Ok(value)
}

/// Writes the flags into the file's JSON form; true when anything that decides the
/// next run changed.
fn apply(value: &mut Value, args: &ScheduleSetArgs) -> bool {
    let mut timing = false;
    let mut put = |key: &str, new: Option<Value>, decides_timing: bool| {
        if let Some(new) = new {
            timing |= decides_timing && value.get(key) != Some(&new);
            value[key] = new;
        }
    };
    put("frequency", args.frequency.clone().map(Value::from), true);
    put("time", args.time.clone().map(Value::from), true);
    put("weekday", args.weekday.clone().map(Value::from), true);
    put("day_of_month", args.day_of_month.map(Value::from), true);
    put("timezone", args.timezone.clone().map(Value::from), true);
    put("type", args.kind.map(|k| json!(k)), false);
    put("compression", args.compression.map(|c| json!(c)), false);
    if args.enable || args.disable {
        put("enabled", Some(Value::from(args.enable)), true);
    }
    if let Ok(Value::Object(keep)) = serde_json::to_value(&args.keep) {
        for (key, keep) in keep {
            value["retention"][key] = keep;
        }
    }
    timing
}
