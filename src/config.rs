//! Flags, environment and backup_schedule.json resolved once into the `Config` every
//! command works from. Commands never read the environment themselves.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use age::secrecy::SecretString;
use anyhow::{Context, Result};

use crate::cli::GlobalArgs;
use crate::codec::Identities;
use crate::codec::keys;
use crate::command_line;
use crate::model::zone::Zone;
use crate::pg::conn::{Conn, ServerOptions};
use crate::policy::schedule::Document;
use crate::state::schedule_file::{self, Stored};
use crate::store::s3::S3Store;
use crate::store::{LazyStore, LocalStore, Store};

pub const DEFAULT_HOME: &str = "/var/lib/pgbackup";
pub const SCHEDULE_FILE: &str = "backup_schedule.json";

/// PostgreSQL's client programs, found on PATH unless `PGBACKUP_PG_BINDIR` names a folder.
#[derive(Debug, Clone)]
pub struct PgPrograms {
    pub pg_dump: OsString,
    pub psql: OsString,
    pub pg_restore: OsString,
    pub pg_dumpall: OsString,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub home: PathBuf,
    /// The repository: backup files, their metadata files, the catalog. An S3 repository
    /// is contacted only when first used.
    pub store: Arc<dyn Store>,
    /// The repository was named (`--repo`, `PGBACKUP_REPO` or the schedule's
    /// `repository`) rather than the home's `backups/` folder by default.
    pub repository_named: bool,
    pub logs_dir: PathBuf,
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
    /// What decrypts encrypted backups: `--identity` files, the `--passphrase-file`'s.
    pub identities: Identities,
    /// The `--passphrase-file`'s passphrase, which `create` encrypts with.
    pub passphrase: Option<SecretString>,
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
        let pgdatabase = env("PGDATABASE");
        let conn = Conn::resolve(
            global.dbname.as_deref(),
            pgdatabase.is_some(),
            env("DATABASE_URL").as_deref(),
            ServerOptions {
                host: global.host.as_deref(),
                port: global.port.as_deref(),
                user: global.username.as_deref(),
            },
        )?;
        let database_hint = conn.database().map(str::to_string).or(pgdatabase);
        let schedule_path = home.join(SCHEDULE_FILE);
        let from_schedule = from_schedule(&schedule_path);
        let (zone, schedule_damage) = (from_schedule.zone, from_schedule.damage);
        let bindir = env("PGBACKUP_PG_BINDIR").map(PathBuf::from);
        let program = |name: &str| match &bindir {
            Some(dir) => dir.join(name).into_os_string(),
            None => OsString::from(name),
        };
        let passphrase = (global.passphrase_file.as_deref())
            .map(keys::read_passphrase)
            .transpose()?;
        let identities = Identities::read(&global.identities, passphrase.as_ref())?;
        let primary = primary_url(global.repo.as_deref(), from_schedule.repository)?;
        Ok(Config {
            identities,
            passphrase,
            repository_named: primary.as_deref().is_some_and(|url| !url.is_empty()),
            store: lazy_repository(primary.as_deref(), &home.join("backups"))?,
            logs_dir: home.join("logs"),
            schedule_path,
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
            command_line: command_line::recorded(&std::env::args_os().collect::<Vec<_>>()),
            programs: PgPrograms {
                pg_dump: program("pg_dump"),
                psql: program("psql"),
                pg_restore: program("pg_restore"),
                pg_dumpall: program("pg_dumpall"),
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

/// What the schedule file decides for every command.
struct FromSchedule {
    zone: Zone,
    /// Why the file could not be read, when it is damaged.
    damage: Option<String>,
    /// The file's `repository`; an error when that field itself is damaged.
    repository: Result<Option<String>>,
}

/// The schedule file's `timezone`, else the system zone, and its `repository`. A file that
/// cannot be read gives the system zone and the reason, so that only the commands needing
/// the schedule refuse; a damaged `repository` is refused by every command without
/// `--repo`.
fn from_schedule(schedule_path: &Path) -> FromSchedule {
    let unread = |damage| FromSchedule {
        zone: Zone::Local,
        damage: Some(damage),
        repository: Ok(None),
    };
    match schedule_file::read(schedule_path) {
        Ok(Stored::Valid(schedule)) => FromSchedule {
            zone: schedule.zone(),
            damage: None,
            repository: Ok(schedule.repository),
        },
        Ok(Stored::Missing) => FromSchedule {
            zone: Zone::Local,
            damage: None,
            repository: Ok(None),
        },
        Ok(Stored::Damaged { text, reason }) => FromSchedule {
            repository: schedule_repository(schedule_path, &text),
            ..unread(schedule_file::damaged(schedule_path, &reason).to_string())
        },
        Err(err) => unread(format!("{err:#}")),
    }
}

/// The `repository` of a damaged schedule file, as far as it reads.
fn schedule_repository(schedule_path: &Path, text: &str) -> Result<Option<String>> {
    let Ok(document) = Document::parse(text) else {
        return Ok(None);
    };
    document.repository.read.map_err(|why| {
        let damaged = schedule_file::damaged(
            schedule_path,
            &format!("invalid \"repository\" in backup_schedule.json: {why}"),
        );
        crate::exit::usage(format!("{damaged:#}; or name the repository with --repo"))
    })
}

/// `--repo` (or `PGBACKUP_REPO`), else the schedule file's `repository`.
fn primary_url(flag: Option<&str>, schedule: Result<Option<String>>) -> Result<Option<String>> {
    match flag {
        Some(url) if !url.is_empty() => Ok(Some(url.to_string())),
        _ => schedule,
    }
}

/// The user's name from /etc/passwd when neither USER nor LOGNAME is set (cron, CI), else
/// `uid-N`.
fn current_uid_name() -> String {
    // SAFETY: getuid(2) has no preconditions.
    let uid = unsafe { libc::getuid() }.to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("uid-{uid}"))
}

/// Opens a repository the schedule file names: `s3://BUCKET/PREFIX` or an absolute folder.
pub fn open_repository(url: &str) -> Result<Arc<dyn Store>> {
    repository(Some(url), Path::new("/"))
}

/// The repository as [`repository`] gives it, except that an S3 one is only opened (and
/// its server contacted) when first used: commands that never touch backups work while
/// the bucket cannot be reached, and the others fail at their first use with the reason.
fn lazy_repository(url: Option<&str>, default_folder: &Path) -> Result<Arc<dyn Store>> {
    match url {
        Some(url) if url.starts_with("s3://") => {
            let location = crate::store::s3::location_of(url)?;
            let url = url.to_string();
            Ok(Arc::new(LazyStore::new(location, move || {
                Ok(Arc::new(S3Store::open(&url)?) as Arc<dyn Store>)
            })))
        }
        _ => repository(url, default_folder),
    }
}

/// The repository `--repo` (or `PGBACKUP_REPO`) names: `s3://BUCKET/PREFIX`, or a folder;
/// without one, the home's `backups/` folder.
pub fn repository(url: Option<&str>, default_folder: &Path) -> Result<Arc<dyn Store>> {
    match url {
        None | Some("") => Ok(Arc::new(LocalStore::new(default_folder))),
        Some(url) if url.starts_with("s3://") => Ok(Arc::new(S3Store::open(url)?)),
        Some(url) if url.contains("://") => Err(crate::exit::usage(format!(
            "repository {url:?} is neither a folder nor an s3://BUCKET/PREFIX URL"
        ))),
        Some(folder) => {
            let folder = Path::new(folder);
            let folder = if folder.is_absolute() {
                folder.to_path_buf()
            } else {
                std::env::current_dir()
                    .context("could not read the current folder")?
                    .join(folder)
            };
            Ok(Arc::new(LocalStore::new(&folder)))
        }
    }
}
