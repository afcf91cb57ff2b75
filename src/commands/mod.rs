//! One file per subcommand; `run` dispatches. Commands gather inputs, call one workflow
//! of the domain (`backup`, `catalog`, `policy`, `status`), and print. Commands never
//! import each other; `present`, `confirm`, `progress`, `listed` and `schema_only` are not
//! commands but presentation helpers they share.

mod completions;
mod confirm;
mod copy;
mod create;
mod create_all;
mod delete;
mod list;
mod list_runs;
mod listed;
mod pin;
mod present;
mod progress;
mod prune;
mod restore;
mod restore_all;
mod run_scheduled;
mod schedule;
mod schema_only;
mod status;
mod verify;
mod view;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the parsed command line; the value is the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let config = Config::resolve(&cli.global);
    if let Command::Status(args) = &cli.command {
        // status reports even a configuration it cannot resolve, as state unknown.
        return status::run(config, cli.global.json, args);
    }
    let mut config = config?;
    match cli.command {
        Command::Create(args) => create::run(&mut config, &args),
        Command::List(args) => list::run(&config, &args),
        Command::View(args) => view::run(&config, &args),
        Command::Delete(args) => delete::run(&config, &args),
        Command::Pin(args) => pin::run(&config, &args.id, true),
        Command::Unpin(args) => pin::run(&config, &args.id, false),
        Command::Completions(args) => completions::run(args.shell, config.json),
        Command::Restore(args) if args.all_databases => restore_all::run(&config, &args),
        Command::Restore(args) => restore::run(&config, &args),
        Command::Prune(args) => prune::run(&config, &args),
        Command::Status(_) => unreachable!("status is dispatched above"),
        Command::RunScheduled(args) => run_scheduled::run(&mut config, &args),
        Command::Verify(args) => verify::run(&config, &args),
        Command::Copy(args) => copy::run(&config, &args),
        Command::Schedule(command) => schedule::run(&config, &command),
    }
}
