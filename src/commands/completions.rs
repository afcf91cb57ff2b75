//! `pgbackup completions SHELL`: a completion script on stdout.

use std::io::{self, Write};

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::exit;

pub fn run(shell: Shell, json: bool) -> Result<u8> {
    if json {
        return Err(exit::usage(
            "completions prints a shell script; --json has no meaning here",
        ));
    }
    // Generated in memory: clap_complete panics on a failed write, and a closed stdout
    // (`pgbackup completions bash | head`) is not an error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pgbackup", &mut script);
    io::stdout()
        .lock()
        .write_all(&script)
        .map_err(exit::stdout_error)?;
    Ok(0)
}
