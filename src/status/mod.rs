//! Health of the database, the backups and the schedule, judged into one monitoring state
//! (ok, warning, critical, unknown). Reads only: never takes the lock, never changes anything.

pub mod assess;
pub mod backups;
pub mod database;
pub mod limits;
pub mod prometheus;
pub mod repositories;
pub mod restores;
pub mod schedule_view;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::config::Config;
use crate::status::backups::{BackupsReport, Checked};
use crate::status::database::DatabaseReport;
use crate::status::limits::{Limits, Thresholds};
use crate::status::repositories::{RepositoryReport, Role};
use crate::status::restores::RestoresReport;
use crate::status::schedule_view::ScheduleReport;

/// The monitoring-plugin states. Exit codes: ok 0, warning 1, critical 2, unknown 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub fn exit_code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Warning => "warning",
            State::Critical => "critical",
            State::Unknown => "unknown",
        }
    }

    /// critical > unknown > warning > ok: something that could not be checked may hide a
    /// critical problem, so it outranks a warning.
    fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        }
    }

    /// The overall state of a list of reasons.
    pub fn worst(reasons: &[Reason]) -> State {
        reasons
            .iter()
            .map(|r| r.state)
            .max_by_key(|s| s.severity())
            .unwrap_or(State::Ok)
    }
}

/// One finding that makes the state worse than ok.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub state: State,
    pub message: String,
}

impl Reason {
    pub fn warning(message: impl Into<String>) -> Reason {
        Reason {
            state: State::Warning,
            message: message.into(),
        }
    }

    pub fn critical(message: impl Into<String>) -> Reason {
        Reason {
            state: State::Critical,
            message: message.into(),
        }
    }

    pub fn unknown(message: impl Into<String>) -> Reason {
        Reason {
            state: State::Unknown,
            message: message.into(),
        }
    }
}

/// Everything `status` reports; `status --json` prints it as is. A section is null only
/// when it could not be read at all, and `reasons` then says why.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub state: State,
    /// Worst first.
    pub reasons: Vec<Reason>,
    pub database: Option<DatabaseReport>,
    pub backups: Option<BackupsReport>,
    /// Each repository, when backups are kept elsewhere than the home's folder alone
    /// (`--repo`, the schedule's `repository` or `copies`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<RepositoryReport>>,
    pub schedule: Option<ScheduleReport>,
    /// An interrupted restore, and the databases restores left or kept.
    pub restores: Option<RestoresReport>,
    pub thresholds: Option<Thresholds>,
    #[serde(serialize_with = "rfc3339")]
    pub checked_at: DateTime<FixedOffset>,
}

impl Report {
    fn new(mut reasons: Vec<Reason>, checked_at: DateTime<FixedOffset>) -> Report {
        reasons.sort_by_key(|r| std::cmp::Reverse(r.state.severity()));
        Report {
            state: State::worst(&reasons),
            reasons,
            database: None,
            backups: None,
            repositories: None,
            schedule: None,
            restores: None,
            thresholds: None,
            checked_at,
        }
    }

    /// The report when pgbackup could not even resolve its configuration.
    pub fn unknown(message: impl Into<String>, now: DateTime<Utc>) -> Report {
        Report::new(vec![Reason::unknown(message)], now.fixed_offset())
    }
}

/// Times in reports: RFC 3339 to the second, with the configured zone's offset.
fn rfc3339<S: Serializer>(time: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Secs, false))
}

fn rfc3339_opt<S: Serializer>(
    time: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => rfc3339(time, s),
        None => s.serialize_none(),
    }
}

/// Looks at the schedule, the database and the backups, and judges them at `now`.
pub fn gather(config: &Config, limits: &Limits, now: DateTime<Utc>) -> Report {
    let mut reasons = Vec::new();
    let (schedule, copies, pending) =
        match schedule_view::load(&config.schedule_path, config.zone, now) {
            Ok(view) => {
                // The only problem is a damaged file, which stops scheduled backups.
                reasons.extend(
                    view.problems.into_iter().map(|p| {
                        Reason::critical(format!("{}: {p}", config.schedule_path.display()))
                    }),
                );
                (Some(view.report), view.copies, view.pending_copies)
            }
            Err(err) => {
                reasons.push(Reason::unknown(format!("{err:#}")));
                (None, Vec::new(), Vec::new())
            }
        };
    if let Some(problem) =
        crate::notify::configuration_problem(&config.notify, config.sendmail.as_deref())
    {
        reasons.push(Reason::warning(problem));
    }
    let thresholds = limits.resolve(schedule.as_ref().and_then(|s| s.frequency.as_deref()));
    let database = database::probe(config);
    let checked = Checked {
        database: database.name.clone(),
        kind: schedule
            .as_ref()
            .map_or_else(|| "full".to_string(), |s| s.kind.clone()),
        databases: (schedule.as_ref().and_then(|s| s.databases.as_ref()))
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_default(),
        globals: schedule.as_ref().is_some_and(|s| s.globals),
        all_databases: (schedule.as_ref().and_then(|s| s.databases.as_ref()))
            .is_some_and(|d| d == "all"),
        pg_dump_options: (schedule.as_ref())
            .map(|s| s.pg_dump_options.clone())
            .unwrap_or_default(),
    };
    let lock_path = crate::state::lock::path(&config.home);
    let found = repositories::reach(&*config.store)
        .map(|()| backups::survey(&*config.store, &lock_path, config.zone, now, checked));
    let backups = match &found {
        Ok(Ok(report)) => Some(report.clone()),
        Ok(Err(reason)) => {
            reasons.push(reason.clone());
            None
        }
        Err(_) => None,
    };
    let mut listed = vec![RepositoryReport::new(
        config.store.location(),
        Role::Primary,
        found,
    )];
    let location = config.store.location();
    for url in repositories::copies_to_report(&location, &copies) {
        listed.push(repositories::survey_copy(
            url,
            &pending,
            &lock_path,
            config.zone,
            now,
        ));
    }
    reasons.extend(repositories::assess(&listed));
    let several = config.repository_named || listed.len() > 1;
    reasons.extend(assess::assess(
        &database,
        backups.as_ref(),
        schedule.as_ref(),
        &thresholds,
    ));
    let restores = restores::probe(config, database.reachable);
    reasons.extend(restores::assess(&restores));
    Report {
        database: Some(database),
        backups,
        repositories: several.then_some(listed),
        schedule,
        restores: Some(restores),
        thresholds: Some(thresholds),
        ..Report::new(reasons, config.zone.wall_clock(now))
    }
}

/// The status in Prometheus text format with the default thresholds, for `run-scheduled`
/// to write to `metrics_file` (see [`prometheus::write_file`]).
pub fn metrics_text(config: &Config, now: DateTime<Utc>) -> String {
    prometheus::render(&gather(config, &Limits::default(), now))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::cli::GlobalArgs;
    use crate::config::Config;

    #[test]
    fn metrics_text_reports_an_unreachable_database_and_an_empty_home() {
        let home = tempfile::tempdir().unwrap();
        let global = GlobalArgs {
            home: Some(home.path().join("home")),
            dbname: Some("host=/nonexistent/socket/dir port=1 dbname=app".to_string()),
            verbose: 0,
            quiet: false,
            json: false,
            yes: false,
            ..GlobalArgs::default()
        };
        let config = Config::resolve(&global).unwrap();
        let text = super::metrics_text(&config, Utc::now());
        for line in [
            "pgbackup_status_state 2",
            "pgbackup_database_up{database=\"app\"} 0",
            // No schedule file: the defaults, as run-scheduled and schedule show use them.
            "pgbackup_schedule_enabled 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        assert!(!home.path().join("home").exists(), "status writes nothing");
    }
}
