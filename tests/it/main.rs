//! Behaviour tests: the real pgbackup binary against a real, throwaway PostgreSQL.

mod support;

mod create;
mod faults;
mod catalog;
mod delete;
