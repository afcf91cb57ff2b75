//! When the next scheduled run happens, whether it is due or overdue, and what a run
//! records: the one computation behind `schedule show`, `status` (and its Prometheus
//! metrics) and `run-scheduled`. Pure: the clock is passed in.

use chrono::{DateTime, DurationRound, SubsecRound, TimeDelta, Utc};

use super::{LastResult, RunStatus, Schedule, next_slot_after};

/// How long after its failed attempt each retry of a slot comes; then the schedule waits
/// for its next slot. A retry never goes past the next slot.
pub const RETRY_DELAYS_MINUTES: [i64; 3] = [15, 30, 60];

/// The timer's heartbeat (`OnCalendar=*:0/15`): retries are placed on its grid.
const HEARTBEAT_MINUTES: i64 = 15;

/// A heartbeat starts up to a minute late (`RandomizedDelaySec=60`), so a retry goes to
/// the first heartbeat at least its delay, less this slack, after the failed attempt.
const HEARTBEAT_SLACK_MINUTES: i64 = 2;

/// How late a run may be before it is overdue: two heartbeats.
pub const OVERDUE_SLACK_MINUTES: i64 = 30;

/// Whether `run-scheduled` should make a backup now, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Disabled,
    NotYet { next: DateTime<Utc> },
    Due { slot: DateTime<Utc> },
}

/// The next run: the recorded `next_run`; else the first slot after `last_run`; else
/// (never ran, nothing planned, as in the shipped file) the first slot after `now`.
/// `None` when disabled.
pub fn next_run(schedule: &Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !schedule.enabled {
        return None;
    }
    Some(match (schedule.next_run, schedule.last_run) {
        (Some(next), _) => next.to_utc(),
        (None, Some(last)) => next_slot_after(schedule, last.to_utc()),
        (None, None) => next_slot_after(schedule, now),
    })
}

/// Due once the clock reaches [`next_run`]; after downtime that is once, for the oldest
/// missed slot.
pub fn due(schedule: &Schedule, now: DateTime<Utc>) -> Due {
    match next_run(schedule, now) {
        None => Due::Disabled,
        Some(slot) if now >= slot => Due::Due { slot },
        Some(next) => Due::NotYet { next },
    }
}

/// Enabled, and the next run is more than [`OVERDUE_SLACK_MINUTES`] late.
pub fn overdue(schedule: &Schedule, now: DateTime<Utc>) -> bool {
    next_run(schedule, now)
        .is_some_and(|next| now > next + TimeDelta::minutes(OVERDUE_SLACK_MINUTES))
}

/// Records the first run's slot when nothing is planned yet, so that it stays put as
/// the clock moves on; true when it did.
pub fn plan_first_run(schedule: &mut Schedule, now: DateTime<Utc>) -> bool {
    if schedule.next_run.is_some() || schedule.last_run.is_some() {
        return false;
    }
    let Some(next) = next_run(schedule, now) else {
        return false;
    };
    schedule.next_run = Some(schedule.zone().wall_clock(next));
    true
}

/// Records a run that started at `started`. After success the next run is the first slot
/// after it (missed slots are not replayed); after a failed backup it is a retry (see
/// [`RETRY_DELAYS_MINUTES`]) unless the retries are used up or the next slot comes first.
pub fn after_run(schedule: &mut Schedule, started: DateTime<Utc>, result: LastResult) {
    let zone = schedule.zone();
    let slot = next_slot_after(schedule, started);
    // A run that made its backup but failed afterwards (retention) is not retried: a
    // retry would only make another backup.
    let failures = match (result.status, &result.backup_id) {
        (RunStatus::Failed, None) => schedule.failed_attempts.unwrap_or(0) + 1,
        _ => 0,
    };
    let next = match retry_at(started, failures) {
        Some(retry) if retry < slot => {
            schedule.failed_attempts = Some(failures);
            retry
        }
        _ => {
            schedule.failed_attempts = None;
            slot
        }
    };
    // To the second, as the old module's format holds it.
    schedule.last_run = Some(zone.wall_clock(started.trunc_subsecs(0)));
    schedule.next_run = Some(zone.wall_clock(next));
    schedule.last_result = Some(result);
}

/// The `failures`-th retry: its delay after `started`, up to the heartbeat grid (every
/// zone's offset is a whole number of quarter hours, so the UTC grid is the timer's).
fn retry_at(started: DateTime<Utc>, failures: u32) -> Option<DateTime<Utc>> {
    let delay = *RETRY_DELAYS_MINUTES.get(usize::try_from(failures).ok()?.checked_sub(1)?)?;
    let earliest = started + TimeDelta::minutes(delay - HEARTBEAT_SLACK_MINUTES);
    let grid = TimeDelta::minutes(HEARTBEAT_MINUTES);
    let heartbeat = earliest.duration_trunc(grid).ok()?;
    Some(if heartbeat == earliest {
        heartbeat
    } else {
        heartbeat + grid
    })
}

#[cfg(test)]
#[path = "run_state_tests.rs"]
mod tests;
