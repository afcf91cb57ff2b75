//! The workflows over backups: making, verifying and restoring them.

pub mod copy;
pub mod copy_folder;
pub mod create;
pub mod directory;
pub mod estimate;
pub mod folder_download;
pub mod globals;
pub mod integrity;
pub mod restore;
pub mod restore_test;
pub mod scheduled;
pub mod scheduled_copies;
pub mod server_run;
pub mod verification;
pub mod verify;
