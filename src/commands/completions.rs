//! `pgbackup completions SHELL`: a completion script on stdout.

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

pub fn run(shell: Shell) -> Result<u8> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "pgbackup",
        &mut std::io::stdout(),
    );
    Ok(0)
}
