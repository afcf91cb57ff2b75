//! Diagnostics on stderr through tracing (the journal under systemd).

use tracing_subscriber::EnvFilter;

/// `-q` shows warnings and errors, the default adds progress notes, `-v` debug, `-vv` trace.
/// `PGBACKUP_LOG` (an EnvFilter directive) overrides. Coloured only on a terminal without
/// `NO_COLOR`.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("PGBACKUP_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("pgbackup={level},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crate::colour::on_stderr())
        .with_target(false)
        .without_time()
        .try_init();
}
