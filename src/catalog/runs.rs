//! Backups grouped by the run that made them, and whether each run is complete: every part
//! its plan names (each database, the globals) is recorded.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;

use crate::catalog::Entry;
use crate::exit;
use crate::model::naming::Kind;
use crate::model::run::RunPlan;

/// One part of a run: a database's backup, or the server's globals.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Globals,
    Database(String),
}

impl Part {
    /// Whether `entry` is this part's backup.
    pub fn is(&self, entry: &Entry) -> bool {
        match self {
            Part::Globals => entry.kind == Kind::Globals,
            Part::Database(name) => {
                entry.database == *name && entry.kind.known().is_some_and(Kind::is_database)
            }
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Globals => f.write_str("the globals"),
            Part::Database(name) => write!(f, "database {name:?}"),
        }
    }
}

/// The parts a plan names: the globals first, then the databases in the plan's order.
pub fn planned_parts(plan: &RunPlan) -> Vec<Part> {
    let globals = plan.globals.then_some(Part::Globals);
    globals
        .into_iter()
        .chain(plan.databases.iter().cloned().map(Part::Database))
        .collect()
}

/// The backups of one run.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub id: String,
    /// The plan its parts record (the first that reads); `None` when none does.
    pub plan: Option<RunPlan>,
    /// Its backups, in the order given.
    pub parts: Vec<&'a Entry>,
}

impl<'a> Run<'a> {
    /// The planned parts that have no backup here.
    pub fn missing(&self) -> Vec<Part> {
        let Some(plan) = &self.plan else {
            return Vec::new();
        };
        planned_parts(plan)
            .into_iter()
            .filter(|part| !self.parts.iter().any(|e| part.is(e)))
            .collect()
    }

    /// Complete: its plan is known and every planned part has its backup.
    pub fn is_complete(&self) -> bool {
        self.plan.is_some() && self.missing().is_empty()
    }

    /// How many parts were planned (those present when the plan is unknown).
    pub fn planned(&self) -> usize {
        self.plan.as_ref().map_or(self.parts.len(), RunPlan::parts)
    }

    /// The backup of one part, when the run has it.
    pub fn part(&self, part: &Part) -> Option<&'a Entry> {
        self.parts.iter().copied().find(|e| part.is(e))
    }

    pub fn globals(&self) -> Option<&'a Entry> {
        self.part(&Part::Globals)
    }

    /// The database backups, in the plan's order (others after, as given).
    pub fn databases(&self) -> Vec<&'a Entry> {
        let mut databases: Vec<&'a Entry> = Vec::new();
        if let Some(plan) = &self.plan {
            for name in &plan.databases {
                databases.extend(self.part(&Part::Database(name.clone())));
            }
        }
        for entry in &self.parts {
            let listed = databases.iter().any(|d| std::ptr::eq(*d, *entry));
            if entry.kind.known().is_some_and(Kind::is_database) && !listed {
                databases.push(entry);
            }
        }
        databases
    }

    /// When the run started: its earliest part's `created_at`, else its `date`.
    pub fn started(&self) -> Option<&'a str> {
        self.parts
            .iter()
            .map(|e| e.created_at.as_deref().unwrap_or(e.date.as_str()))
            .filter(|started| !started.is_empty())
            .min()
    }

    /// The size of its files.
    pub fn size(&self) -> u64 {
        self.parts.iter().map(|e| e.size).sum()
    }
}

/// The entries that belong to a run, grouped by run, newest run first (run IDs start with
/// their time stamp).
pub fn group<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Vec<Run<'a>> {
    let mut runs: BTreeMap<&'a str, Vec<&'a Entry>> = BTreeMap::new();
    for entry in entries {
        if let Some(run) = entry.run.as_deref().filter(|r| !r.is_empty()) {
            runs.entry(run).or_default().push(entry);
        }
    }
    runs.into_iter()
        .rev()
        .map(|(id, parts)| Run {
            id: id.to_string(),
            plan: parts.iter().find_map(|e| e.run_plan()).cloned(),
            parts,
        })
        .collect()
}

/// One run by full ID, unambiguous prefix, or `latest` (the newest complete run whose
/// parts are unfiltered: a filtered run does not hold the whole server).
pub fn resolve<'r, 'a>(runs: &'r [Run<'a>], selector: &str) -> Result<&'r Run<'a>> {
    if selector == "latest" {
        let whole = |run: &&Run| run.is_complete() && !run.parts.iter().any(|e| e.is_filtered());
        return runs.iter().find(whole).ok_or_else(|| {
            exit::usage(match runs.is_empty() {
                true => "there is no run in the catalog (`create --all-databases` makes one)"
                    .to_string(),
                false if runs.iter().any(|r| r.parts.iter().any(|e| e.is_filtered())) => {
                    "there is no complete run of whole databases (runs made with pg_dump \
                     filters are never `latest`: name one by its ID; see `pgbackup list --runs`)"
                        .to_string()
                }
                false => "there is no complete run (see `pgbackup list --runs`)".to_string(),
            })
        });
    }
    if let Some(run) = runs.iter().find(|run| run.id == selector) {
        return Ok(run);
    }
    let matches: Vec<&Run> = runs.iter().filter(|r| r.id.starts_with(selector)).collect();
    match matches.as_slice() {
        [] => Err(exit::usage(format!(
            "no run with ID {selector:?} (see `pgbackup list --runs`)"
        ))),
        [one] => Ok(one),
        many => {
            let ids: Vec<&str> = many.iter().take(8).map(|r| r.id.as_str()).collect();
            Err(exit::usage(format!(
                "run ID prefix {selector:?} is ambiguous: it matches {} runs ({})",
                many.len(),
                ids.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Part, group, resolve};
    use crate::catalog::Entry;

    fn entry(id: &str, kind: &str, database: &str, run: Option<&str>) -> Entry {
        let mut value = json!({
            "id": id,
            "filename": format!("backup_{kind}_{id}.sql.gz"),
            "type": kind,
            "database": database,
            "size": 10,
            "created_at": format!("2025-04-08T16:00:{:02}+00:00", id.len()),
        });
        if let Some(run) = run {
            value["run"] = json!(run);
            value["run_plan"] = json!({"databases": ["app", "my \"odd\" db"], "globals": true});
        }
        serde_json::from_value(value).unwrap()
    }

    const RUN: &str = "20250408_160000-abc123";
    const OLDER: &str = "20250407_160000-000fff";

    #[test]
    fn a_run_is_complete_when_every_planned_part_is_recorded() {
        let entries = [
            entry("20250408_160000", "globals", "", Some(RUN)),
            entry("20250408_160000_2", "full", "app", Some(RUN)),
            entry("20250408_160001", "full", "my \"odd\" db", Some(RUN)),
            entry("20250408_150000", "full", "app", None),
        ];
        let runs = group(&entries);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.id, RUN);
        assert!(run.is_complete());
        assert_eq!((run.parts.len(), run.planned()), (3, 3));
        assert_eq!(run.size(), 30);
        assert_eq!(run.globals().unwrap().id, "20250408_160000");
        let databases: Vec<&str> = run.databases().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(databases, ["20250408_160000_2", "20250408_160001"]);
        assert_eq!(run.started(), Some("2025-04-08T16:00:15+00:00"));
    }

    #[test]
    fn a_missing_part_makes_the_run_incomplete_and_is_named() {
        let entries = [
            entry("20250408_160000", "globals", "", Some(RUN)),
            entry("20250408_160000_2", "full", "app", Some(RUN)),
            entry("20250407_160000", "globals", "", Some(OLDER)),
        ];
        let runs = group(&entries);
        assert_eq!(
            runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            [RUN, OLDER],
            "newest first"
        );
        assert!(!runs[0].is_complete());
        assert_eq!(
            runs[0].missing(),
            [Part::Database("my \"odd\" db".to_string())]
        );
        assert_eq!(runs[0].planned(), 3);
        assert_eq!(
            runs[1].missing(),
            [
                Part::Database("app".to_string()),
                Part::Database("my \"odd\" db".to_string())
            ]
        );
        assert_eq!(
            Part::Database("my \"odd\" db".to_string()).to_string(),
            "database \"my \\\"odd\\\" db\""
        );
    }

    #[test]
    fn a_schema_backup_of_a_database_is_not_its_globals_and_the_reverse() {
        let entries = [
            entry("20250408_160000", "full", "globals", Some(RUN)),
            entry("20250408_160000_2", "globals", "app", Some(RUN)),
        ];
        let runs = group(&entries);
        assert_eq!(
            runs[0].missing(),
            [
                Part::Database("app".to_string()),
                Part::Database("my \"odd\" db".to_string())
            ]
        );
        assert_eq!(runs[0].globals().unwrap().database, "app");
        assert!(runs[0].databases().iter().all(|e| e.database == "globals"));
    }

    #[test]
    fn without_a_readable_plan_a_run_is_not_complete() {
        let mut part = entry("20250408_160000", "full", "app", Some(RUN));
        part.run_plan = None;
        let runs = group([&part]);
        assert!(!runs[0].is_complete());
        assert_eq!(runs[0].planned(), 1);
    }

    #[test]
    fn runs_are_found_by_id_prefix_or_latest_complete() {
        let entries = [
            entry("20250408_160000", "globals", "", Some(RUN)),
            entry("20250407_160000", "globals", "", Some(OLDER)),
            entry("20250407_160000_2", "full", "app", Some(OLDER)),
            entry("20250407_160001", "full", "my \"odd\" db", Some(OLDER)),
        ];
        let runs = group(&entries);
        assert_eq!(resolve(&runs, "latest").unwrap().id, OLDER);
        assert_eq!(resolve(&runs, RUN).unwrap().id, RUN);
        assert_eq!(resolve(&runs, "20250408").unwrap().id, RUN);
        let err = resolve(&runs, "2025040").unwrap_err();
        assert!(format!("{err}").contains("ambiguous"), "{err}");
        assert!(resolve(&runs, "2024").is_err());
        assert!(resolve(&[], "latest").is_err());
    }
}
