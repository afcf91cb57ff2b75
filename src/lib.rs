//! pgbackup: make, catalog, verify, restore and prune logical backups of PostgreSQL databases.

pub mod audit;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod conn;
pub mod dump;
pub mod exit;
pub mod files;
pub mod fsutil;
pub mod interrupt;
pub mod lock;
pub mod logging;
pub mod manpages;
pub mod naming;
pub mod postgres;
pub mod process;
pub mod prune;
pub mod removal;
pub mod retention;
pub mod schedule;
pub mod schedule_file;
pub mod status;
pub mod units;
pub mod zone;

pub use commands::run;
