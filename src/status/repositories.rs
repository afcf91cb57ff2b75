//! Each repository status reports when backups are kept in more than the home's folder
//! (`--repo`, the schedule's `repository` or `copies`): reachable or not, its backups,
//! and the copies still waiting to be made to it.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::zone::Zone;
use crate::policy::schedule::{PendingCopy, repository_identity};
use crate::status::Reason;
use crate::status::assess;
use crate::status::backups::{self, BackupsReport, Checked, Group};
use crate::store::{Store, StoreError};

/// What a repository is to the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Where backups are made (`--repo`, the schedule's `repository`, or the home's folder).
    Primary,
    /// One of the schedule's `copies`.
    Copy,
}

/// One repository in `status --json`'s `repositories`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepositoryReport {
    /// The folder or `s3://BUCKET/PREFIX`, never with a credential.
    pub repository: String,
    pub role: Role,
    /// Whether it answered; `error` says why not.
    pub reachable: bool,
    /// Why it could not be reached, or why its catalog could not be read.
    pub error: Option<String>,
    /// Complete backups; null when they could not be counted.
    pub count: Option<usize>,
    pub total_bytes: Option<u64>,
    /// Per (database, type): the count, the size and the newest backup with its age.
    pub groups: Vec<Group>,
    /// The copies to this repository that have not succeeded yet.
    pub pending_copies: Vec<PendingCopy>,
    /// Everything the survey found, for the metrics and the judgement.
    #[serde(skip)]
    pub survey: Option<BackupsReport>,
    /// Why the survey failed, for a copy repository.
    #[serde(skip)]
    pub unread: Option<Reason>,
}

impl RepositoryReport {
    /// A repository from whether it answered and what its survey found.
    /// `found` is why it could not be reached, or what surveying it gave.
    pub fn new(
        repository: String,
        role: Role,
        found: Result<Result<BackupsReport, Reason>, String>,
    ) -> RepositoryReport {
        let (error, survey) = match found {
            Ok(survey) => (None, Some(survey)),
            Err(why) => (Some(why), None),
        };
        let mut report = RepositoryReport {
            repository,
            role,
            reachable: survey.is_some(),
            error,
            count: None,
            total_bytes: None,
            groups: Vec::new(),
            pending_copies: Vec::new(),
            survey: None,
            unread: None,
        };
        if let Some(survey) = survey {
            match survey {
                Ok(survey) => {
                    report.count = Some(survey.count);
                    report.total_bytes = Some(survey.total_bytes);
                    report.groups = survey.groups.clone();
                    report.survey = Some(survey);
                }
                Err(reason) => {
                    report.error = Some(reason.message.clone());
                    report.unread = Some(reason);
                }
            }
        }
        report
    }
}

/// Why `store` cannot be used, in one line that names it once; `Ok` when it answers.
pub fn reach(store: &dyn Store) -> Result<(), String> {
    store
        .reach()
        .map_err(|err| why_unreachable(&store.location(), &err))
}

fn why_unreachable(location: &str, err: &StoreError) -> String {
    let text = format!("{err:#}");
    let text = text
        .strip_prefix(&format!("cannot open {location}: "))
        .unwrap_or(&text);
    text.lines().next().unwrap_or_default().to_string()
}

/// A copy repository: opened (an S3 one is contacted), surveyed, with its pending copies.
pub fn survey_copy(
    url: &str,
    pending: &[PendingCopy],
    lock_path: &Path,
    zone: Zone,
    now: DateTime<Utc>,
) -> RepositoryReport {
    let location = location_of(url);
    let mut report = match crate::config::open_repository(url) {
        // Opening an S3 repository has already checked that it answers.
        Ok(store) => RepositoryReport::new(
            store.location(),
            Role::Copy,
            Ok(backups::survey(
                &*store,
                lock_path,
                zone,
                now,
                Checked::default(),
            )),
        ),
        Err(err) => RepositoryReport::new(
            location.clone(),
            Role::Copy,
            Err(why_unreachable(&location, &StoreError::Other(err))),
        ),
    };
    let key = repository_identity(url);
    report.pending_copies = pending
        .iter()
        .filter(|p| repository_identity(&p.repository) == key)
        .cloned()
        .collect();
    report
}

/// How a copy repository is named before it is opened.
fn location_of(url: &str) -> String {
    match url.starts_with("s3://") {
        true => crate::store::s3::location_of(url).unwrap_or_else(|_| url.to_string()),
        false => url.to_string(),
    }
}

/// The copy repositories to report: each of `copies` once, never the primary again.
pub fn copies_to_report<'a>(primary: &str, copies: &'a [String]) -> Vec<&'a String> {
    let mut seen = vec![repository_identity(primary)];
    copies
        .iter()
        .filter(|url| {
            let key = repository_identity(url);
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .collect()
}

/// What is wrong with the repositories: one that cannot be reached is critical (backups
/// may be lost without anyone knowing); in a copy repository, what its catalog or files
/// show, and the copies waiting to be made, each once per repository. The primary's
/// backups are judged with the thresholds elsewhere.
pub fn assess(repositories: &[RepositoryReport]) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for repo in repositories {
        let url = &repo.repository;
        let waiting = repo.pending_copies.len();
        if !repo.reachable {
            let tail = match waiting {
                0 => String::new(),
                n => format!("; {n} {} to be copied to it", backups_wait(n)),
            };
            reasons.push(Reason::critical(format!(
                "repository {url} is unreachable: {}{tail}",
                repo.error.as_deref().unwrap_or("no reason given")
            )));
            continue;
        }
        if repo.role == Role::Primary {
            continue;
        }
        reasons.extend(repo.unread.iter().cloned());
        if let Some(survey) = &repo.survey {
            reasons.extend(assess::folder_problems(survey).into_iter().map(|r| Reason {
                message: format!("repository {url}: {}", r.message),
                ..r
            }));
        }
        if waiting > 0 {
            let ids: Vec<&str> = repo
                .pending_copies
                .iter()
                .take(5)
                .map(|p| p.backup_id.as_str())
                .collect();
            let more = match waiting.saturating_sub(ids.len()) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            let error = repo
                .pending_copies
                .iter()
                .rev()
                .find_map(|p| p.error.as_deref())
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default();
            reasons.push(Reason::warning(format!(
                "{waiting} {} to be copied to {url}{error}; the next run-scheduled retries: {}{more}",
                backups_wait(waiting),
                ids.join(", ")
            )));
        }
    }
    reasons
}

fn backups_wait(n: usize) -> &'static str {
    if n == 1 {
        "backup waits"
    } else {
        "backups wait"
    }
}

#[cfg(test)]
#[path = "repositories_tests.rs"]
mod tests;
