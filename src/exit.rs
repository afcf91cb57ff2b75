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

/// Our own stdout was closed by its reader (`pgbackup list | head`). Only the functions
/// that print to stdout make this error, so a child program that stops reading its input
/// (EPIPE on its stdin) is still reported as the failure it is.
#[derive(Debug, Error)]
#[error("stdout was closed")]
pub struct StdoutClosed;

/// The error for a failed write to our own stdout: a closed pipe is told apart.
pub fn stdout_error(err: io::Error) -> anyhow::Error {
    match err.kind() {
        io::ErrorKind::BrokenPipe => StdoutClosed.into(),
        _ => anyhow::Error::new(err).context("could not write to stdout"),
    }
}

/// Writing to a closed stdout (`pgbackup list | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<StdoutClosed>())
}

/// Shorthand for a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Refusal::Usage(message.into()).into()
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{is_broken_pipe, stdout_error};

    #[test]
    fn only_a_closed_stdout_is_excused() {
        let stdout = stdout_error(io::ErrorKind::BrokenPipe.into());
        assert!(is_broken_pipe(&stdout.context("printing the list")));
        let child: anyhow::Error = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("pg_restore stopped reading its input before the end");
        assert!(!is_broken_pipe(&child));
        assert!(!is_broken_pipe(&stdout_error(io::ErrorKind::Other.into())));
    }
}
