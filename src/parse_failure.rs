//! A command line clap refuses: usage errors exit 2, except for `status`, whose callers are
//! monitoring systems that read 2 as CRITICAL, so its usage errors exit 3 (UNKNOWN).

use clap::CommandFactory;
use clap::error::ErrorKind;

use crate::cli::Cli;
use crate::exit;

/// Prints clap's message and exits with the code for it; help and version still exit 0.
pub fn exit(err: clap::Error, args: &[std::ffi::OsString]) -> ! {
    let code = code_for(err.kind(), args);
    let _ = err.print();
    std::process::exit(code);
}

fn code_for(kind: ErrorKind, args: &[std::ffi::OsString]) -> i32 {
    match kind {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ if is_status(args) => i32::from(exit::UNKNOWN),
        _ => i32::from(exit::USAGE),
    }
}

/// Whether the subcommand clap would have run is `status`, read with the same definitions,
/// forgiving the error that stopped the real parse.
fn is_status(args: &[std::ffi::OsString]) -> bool {
    Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args)
        .is_ok_and(|matches| matches.subcommand_name() == Some("status"))
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::code_for;

    fn code(line: &str) -> i32 {
        let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
        code_for(ErrorKind::UnknownArgument, &args)
    }

    #[test]
    fn status_usage_errors_are_unknown_and_others_usage() {
        assert_eq!(code("pgbackup status --bogus"), 3);
        assert_eq!(code("pgbackup --home /x status --max-age"), 3);
        assert_eq!(code("pgbackup -q status --warn-age 1h extra"), 3);
        assert_eq!(code("pgbackup list --bogus"), 2);
        assert_eq!(code("pgbackup --bogus"), 2);
        assert_eq!(code("pgbackup delete --dry-run"), 2);
        assert_eq!(code("pgbackup restore status"), 2);
        assert_eq!(
            code_for(
                ErrorKind::DisplayHelp,
                &["pgbackup".into(), "status".into()]
            ),
            0
        );
    }
}
