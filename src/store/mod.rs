//! Where backups are kept: the repository holding backup files and their metadata.

pub mod files;
pub mod fsutil;
