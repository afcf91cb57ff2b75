//! Talking to PostgreSQL: its programs, the connection target, server queries, the dump
//! stream and what a dump holds.

pub mod conn;
pub mod conninfo;
pub mod contents;
pub mod copy_data;
pub mod dump;
pub mod feed;
pub mod listing;
pub mod name_pattern;
pub mod plain_kept;
pub mod plain_plan;
pub mod postgres;
pub mod process;
pub mod properties;
pub mod readahead;
pub mod roles;
pub mod server;
pub mod sql;
pub mod statements;
pub mod toc;
