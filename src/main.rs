//! Entry point: parse the command line, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use pgbackup::cli::Cli;

fn main() -> ExitCode {
    // `COMPLETE=bash pgbackup` prints the shell's registration; the shell then calls back
    // with COMPLETE set to complete flags and backup IDs (see `pgbackup completions`).
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli =
        Cli::try_parse_from(&args).unwrap_or_else(|err| pgbackup::parse_failure::exit(err, &args));
    pgbackup::logging::init(cli.global.verbose, cli.global.quiet);
    match pgbackup::run(cli) {
        Ok(code) => code.into(),
        Err(err) if pgbackup::exit::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            pgbackup::exit::code_for(&err).into()
        }
    }
}
