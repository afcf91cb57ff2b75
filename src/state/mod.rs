//! Host-local state in $PGBACKUP_HOME: the schedule file, the audit log, the writer lock.

pub mod audit;
pub mod lock;
pub mod schedule_file;
