//! The stages a backup's bytes go through on their way to the repository and back.

pub mod decode;
