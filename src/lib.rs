//! pgbackup: make, catalog, verify, restore and prune logical backups of PostgreSQL databases.

pub mod backup;
pub mod catalog;
pub mod cli;
pub mod codec;
pub mod colour;
pub mod command_line;
pub mod commands;
pub mod completion;
pub mod config;
pub mod exit;
pub mod fault;
pub mod interrupt;
pub mod logging;
pub mod manpages;
pub mod model;
pub mod notify;
pub mod parse_failure;
pub mod pg;
pub mod policy;
pub mod state;
pub mod status;
pub mod store;

pub use commands::run;
