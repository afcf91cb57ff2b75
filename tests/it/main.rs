//! Behaviour tests: the real pgbackup binary against a real, throwaway PostgreSQL.

mod support;

mod catalog;
mod connection;
mod create;
mod delete;
mod faults;
mod packaging;
mod prune;
mod prune_flags;
mod restore;
mod scheduled;
mod status;
mod verify;
