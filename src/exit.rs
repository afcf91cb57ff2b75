//! Exit codes, decided in one place.
//!
//! 0 success; 1 failure; 2 usage error or refused (no confirmation);
//! 75 another pgbackup operation holds the lock (EX_TEMPFAIL);
//! 128+N interrupted by signal N. `status` returns 0-3 itself (monitoring convention), and
//! its usage errors are 3 (UNKNOWN): a check that cannot run has no state.

use std::io;

use thiserror::Error;

pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
/// The monitoring-plugin UNKNOWN state, the exit code of a `status` that cannot run.
pub const UNKNOWN: u8 = 3;
pub const TEMPFAIL: u8 = 75;

/// Failures a caller must tell apart, because they map to their own exit codes.
#[derive(Debug, Error)]
pub enum Refusal {
    /// The operator did not confirm, or a confirmation was needed without a terminal.
    #[error("{0}")]
    NotConfirmed(String),
    /// The request itself is wrong (bad value, unknown ID, ...).
    #[error("{0}")]
    Usage(String),
    /// A `status` command line that cannot be run (a bad flag value, flags that clash).
    #[error("{0}")]
    StatusUsage(String),
    /// Another process holds backups/.lock.
    #[error(
        "another pgbackup operation is running (pid {pid}: {command}); try again when it has finished"
    )]
    LockHeld { pid: String, command: String },
    /// SIGINT/SIGTERM/SIGHUP arrived; the work was undone.
    #[error("interrupted by signal {0}; nothing was recorded")]
    Interrupted(i32),
}

/// The process exit code for an error returned by a command.
pub fn code_for(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<Refusal>() {
        Some(Refusal::NotConfirmed(_)) | Some(Refusal::Usage(_)) => USAGE,
        Some(Refusal::StatusUsage(_)) => UNKNOWN,
        Some(Refusal::LockHeld { .. }) => TEMPFAIL,
        Some(Refusal::Interrupted(sig)) => 128u8.saturating_add(*sig as u8),
        None => FAILURE,
    }
}

/// Writing to a closed stdout (`pgbackup list | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Shorthand for a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Refusal::Usage(message.into()).into()
}
