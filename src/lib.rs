//! pgbackup: make, catalog, verify, restore and prune logical backups of PostgreSQL databases.

pub mod audit;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod conn;
pub mod decode;
pub mod dump;
pub mod exit;
pub mod feed;
pub mod files;
pub mod fsutil;
pub mod integrity;
pub mod interrupt;
pub mod lock;
pub mod logging;
pub mod naming;
pub mod postgres;
pub mod process;
pub mod properties;
pub mod rebuild;
pub mod removal;
pub mod restore;
pub mod server;
pub mod sql;
pub mod swap;
pub mod toc;
pub mod trial;
pub mod zone;

pub use commands::run;
