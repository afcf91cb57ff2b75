//! `pgbackup completions SHELL`: the shell's registration for pgbackup's dynamic completion
//! (flags, subcommands and backup IDs) on stdout.

use std::io::{self, Write};

use anyhow::Result;
use clap_complete::Shell;
use clap_complete::env::Shells;

use crate::exit;

pub fn run(shell: Shell, json: bool) -> Result<u8> {
    if json {
        return Err(exit::usage(
            "completions prints a shell script; --json has no meaning here",
        ));
    }
    // The shell calls `COMPLETE=SHELL pgbackup -- WORDS...` (pgbackup on PATH) at each
    // completion, so that backup IDs complete from the catalog as well as flags. Written in
    // memory first: a closed stdout (`pgbackup completions bash | head`) is not an error.
    let mut script = Vec::new();
    let name = shell.to_string();
    let shells = Shells::builtins();
    let registration = shells
        .completer(&name)
        .ok_or_else(|| exit::usage(format!("no completion for the shell {name}")))?;
    registration
        .write_registration("COMPLETE", "pgbackup", "pgbackup", "pgbackup", &mut script)
        .map_err(exit::stdout_error)?;
    io::stdout()
        .lock()
        .write_all(&script)
        .map_err(exit::stdout_error)?;
    Ok(0)
}
