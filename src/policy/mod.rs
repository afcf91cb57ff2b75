//! Pure decisions over backups and time: which backups retention keeps, when a scheduled
//! backup is due.

pub mod keep;
pub mod prune;
pub mod retention;
pub mod schedule;
