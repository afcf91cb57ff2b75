//! The workflows over backups: making, verifying and restoring them.

pub mod integrity;
pub mod restore;
pub mod restore_test;
pub mod verification;
