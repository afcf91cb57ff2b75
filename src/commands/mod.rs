//! One file per subcommand; `run` dispatches. Commands gather inputs, call the domain
//! code, and print.

mod confirm;
mod create;
mod delete;
mod list;
mod pin;
mod present;
mod progress;
mod restore;
mod select;
mod verify;
mod view;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the parsed command line; the value is the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let mut config = Config::resolve(&cli.global)?;
    match cli.command {
        Command::Create(args) => create::run(&mut config, &args),
        Command::List(args) => list::run(&config, &args),
        Command::View(args) => view::run(&config, &args),
        Command::Delete(args) => delete::run(&config, &args),
        Command::Pin(args) => pin::run(&config, &args.id, true),
        Command::Unpin(args) => pin::run(&config, &args.id, false),
        Command::Restore(args) => restore::run(&config, &args),
        Command::Prune(_) => not_yet("prune"),
        Command::Status(_) => not_yet("status"),
        Command::RunScheduled(_) => not_yet("run-scheduled"),
        Command::Verify(args) => verify::run(&config, &args),
        Command::Schedule(_) => not_yet("schedule"),
    }
}

fn not_yet(name: &str) -> Result<u8> {
    anyhow::bail!("`pgbackup {name}` is not implemented yet")
}
