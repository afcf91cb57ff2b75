//! Behaviour tests: the real pgbackup binary against a real, throwaway PostgreSQL.

mod support;

mod all_databases;
mod catalog;
mod connection;
mod copy;
mod create;
mod damaged;
mod delete;
mod encryption;
mod faults;
mod foreign_objects;
mod honest;
mod interrupted;
mod json;
mod ordering;
mod output;
mod packaging;
mod prune;
mod prune_flags;
mod restore;
mod s3_faults;
mod s3_rebuild;
mod s3_repo;
mod s3_restore;
mod s3_status;
mod s3_store;
mod schedule_state;
mod scheduled;
mod scheduled_copies;
mod secrets;
mod selective;
mod status;
mod usage;
mod verify;
mod whole_server;
