//! `pgbackup completions SHELL`: a completion script on stdout.

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
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "pgbackup",
        &mut std::io::stdout(),
    );
    Ok(0)
}
