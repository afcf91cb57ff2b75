//! Flags, environment and backup_schedule.json resolved once into the `Config` every
//! command works from. Commands never read the environment themselves.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::catalog;
use crate::cli::GlobalArgs;
use crate::conn::{self, Conn};
use crate::schedule_file::{self, Stored};
use crate::zone::Zone;

pub const DEFAULT_HOME: &str = "/var/lib/pgbackup";
pub const SCHEDULE_FILE: &str = "backup_schedule.json";

/// PostgreSQL's client programs, found on PATH unless `PGBACKUP_PG_BINDIR` names a folder.
#[derive(Debug, Clone)]
pub struct PgPrograms {
    pub pg_dump: OsString,
    pub psql: OsString,
    pub pg_restore: OsString,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub home: PathBuf,
    pub backups_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub catalog_path: PathBuf,
    pub schedule_path: PathBuf,
    pub conn: Conn,
    /// `PGCONNECT_TIMEOUT` as the user set it, if they did.
    pub connect_timeout: Option<String>,
    /// The database the connection names, when it can be known without connecting.
    pub database_hint: Option<String>,
    pub zone: Zone,
    /// Why backup_schedule.json could not be read, when it is damaged: `zone` is then the
    /// system's, and the commands that need the schedule refuse.
    pub schedule_damage: Option<String>,
    /// Both stdin and stderr are terminals: confirmations and prompts are possible.
    pub interactive: bool,
    pub assume_yes: bool,
    /// stderr is a terminal and -q was not given: long work shows its progress.
    pub progress: bool,
    pub json: bool,
    pub user: String,
    /// This invocation's arguments, for the lock file and the audit log.
    pub command_line: String,
    pub programs: PgPrograms,
}

impl Config {
    pub fn resolve(global: &GlobalArgs) -> Result<Config> {
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        let home = global
            .home
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_HOME));
        let home = if home.is_absolute() {
            home
        } else {
            std::env::current_dir()
                .context("could not read the current folder")?
                .join(home)
        };
        let backups_dir = home.join("backups");
        let pgdatabase = env("PGDATABASE");
        let conn = Conn::resolve(
            global.dbname.as_deref(),
            pgdatabase.is_some(),
            env("DATABASE_URL").as_deref(),
        );
        let database_hint = match (&global.dbname, &pgdatabase, env("DATABASE_URL")) {
            (Some(flag), _, _) => conn::database_name(flag),
            (None, Some(name), _) => Some(name.clone()),
            (None, None, Some(url)) => conn::database_name(&url),
            (None, None, None) => None,
        };
        let schedule_path = home.join(SCHEDULE_FILE);
        let (zone, schedule_damage) = configured_zone(&schedule_path);
        let bindir = env("PGBACKUP_PG_BINDIR").map(PathBuf::from);
        let program = |name: &str| match &bindir {
            Some(dir) => dir.join(name).into_os_string(),
            None => OsString::from(name),
        };
        Ok(Config {
            catalog_path: catalog::path_in(&backups_dir),
            logs_dir: home.join("logs"),
            schedule_path,
            backups_dir,
            home,
            conn,
            connect_timeout: env("PGCONNECT_TIMEOUT"),
            database_hint,
            zone,
            schedule_damage,
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            assume_yes: global.yes,
            progress: std::io::stderr().is_terminal() && !global.quiet,
            json: global.json,
            user: env("USER")
                .or_else(|| env("LOGNAME"))
                .unwrap_or_else(current_uid_name),
            command_line: redacted_command_line(std::env::args().skip(1)),
            programs: PgPrograms {
                pg_dump: program("pg_dump"),
                psql: program("psql"),
                pg_restore: program("pg_restore"),
            },
        })
    }
}

impl Config {
    /// Says, for a command that does not need the schedule, that a damaged one made it
    /// fall back to the system zone for `what`.
    pub fn warn_if_schedule_damaged(&self, what: &str) {
        if let Some(damage) = &self.schedule_damage {
            tracing::warn!("{damage}; {what} use the system time zone meanwhile");
        }
    }
}

/// The schedule file's `timezone`, else the system zone; a file that cannot be read gives
/// the system zone and the reason, so that only the commands needing the schedule refuse.
fn configured_zone(schedule_path: &std::path::Path) -> (Zone, Option<String>) {
    match schedule_file::read(schedule_path) {
        Ok(Stored::Valid(schedule)) => (schedule.zone(), None),
        Ok(Stored::Missing) => (Zone::Local, None),
        Ok(Stored::Damaged { reason, .. }) => (
            Zone::Local,
            Some(schedule_file::damaged(schedule_path, &reason).to_string()),
        ),
        Err(err) => (Zone::Local, Some(format!("{err:#}"))),
    }
}

/// The arguments as typed, with any password in a `--dbname` value taken out.
fn redacted_command_line(args: impl Iterator<Item = String>) -> String {
    let mut words = Vec::new();
    let mut redact_next = false;
    for arg in args {
        let word = if redact_next {
            conn::split_password(&arg).0
        } else if let Some(value) = arg.strip_prefix("--dbname=") {
            format!("--dbname={}", conn::split_password(value).0)
        } else if let Some(value) = arg
            .strip_prefix("-d")
            .filter(|v| !v.is_empty() && !arg.starts_with("--"))
        {
            format!("-d{}", conn::split_password(value).0)
        } else {
            arg.clone()
        };
        redact_next = arg == "--dbname" || arg == "-d";
        words.push(crate::process::shell_quote(&word));
    }
    words.join(" ")
}

fn current_uid_name() -> String {
    // SAFETY: getuid(2) has no preconditions.
    format!("uid {}", unsafe { libc::getuid() })
}

#[cfg(test)]
mod tests {
    use super::redacted_command_line;

    #[test]
    fn passwords_never_reach_the_command_line_record() {
        let args = [
            "create",
            "--dbname",
            "postgresql://u:pw1@h/db",
            "--dbname=password=pw2 dbname=x",
            "-dpostgres://u:pw3@h/x",
        ];
        let line = redacted_command_line(args.iter().map(|s| s.to_string()));
        for secret in ["pw1", "pw2", "pw3"] {
            assert!(!line.contains(secret), "{line}");
        }
        assert!(line.contains("postgresql://u@h/db"), "{line}");
    }
}
