//! The command-line surface: clap definitions only, shared by the binary, man pages and tests.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::completion::backup_ids;
use crate::model::naming::{Compression, Format, Kind};

use crate::policy::keep::Keep;

/// Make, catalog, verify, restore and prune logical backups of PostgreSQL databases.
#[derive(Debug, Parser)]
#[command(
    name = "pgbackup",
    version,
    propagate_version = true,
    max_term_width = 100,
    disable_help_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts, listed under their own heading after the command's own.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Folder holding backups/, logs/ and backup_schedule.json [default: /var/lib/pgbackup]
    #[arg(long, global = true, env = "PGBACKUP_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Repository holding the backups: a folder, or s3://BUCKET/PREFIX (credentials and endpoint from the AWS_* variables) [default: "repository" of backup_schedule.json, else DIR/backups of --home]
    #[arg(long, global = true, env = "PGBACKUP_REPO", value_name = "URL")]
    pub repo: Option<String>,
    /// Database to connect to: a name, a conninfo string or a postgresql:// URI (a password typed here is visible to other local users, as for pg_dump: prefer ~/.pgpass, PGPASSFILE or a service file)
    #[arg(long, short = 'd', global = true, value_name = "NAME|CONNINFO|URI")]
    pub dbname: Option<String>,
    /// Database server host or socket folder (as PGHOST)
    #[arg(long, short = 'h', global = true, value_name = "HOST")]
    pub host: Option<String>,
    /// Database server port (as PGPORT)
    #[arg(long, short = 'p', global = true, value_name = "PORT")]
    pub port: Option<String>,
    /// Database user name (as PGUSER)
    #[arg(long, short = 'U', global = true, value_name = "USER")]
    pub username: Option<String>,
    /// age identity file that decrypts encrypted backups (like age -i; repeatable; an age-keygen key or an SSH private key)
    #[arg(
        long = "identity",
        global = true,
        env = "PGBACKUP_IDENTITY_FILE",
        value_name = "FILE"
    )]
    pub identities: Vec<PathBuf>,
    /// File whose first line is the passphrase of age's scrypt mode: create encrypts with it, reading decrypts with it
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Show more log output on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Show only warnings and errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print one JSON value on stdout instead of text (shapes in the README; not for completions)
    #[arg(long, global = true)]
    pub json: bool,
    /// Answer yes to confirmations (required when there is no terminal)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Print help (-h is --host, as in pg_dump and psql)
    #[arg(long, global = true, action = ArgAction::Help)]
    pub help: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dump one database, or the whole server (--all-databases, --globals), into new backups
    Create(CreateArgs),
    /// List backups, newest first
    List(ListArgs),
    /// Show everything known about one backup
    View(ViewArgs),
    /// Restore a backup into a new database, then swap it in
    Restore(RestoreArgs),
    /// Delete backups (their files and catalog entries)
    Delete(DeleteArgs),
    /// Apply the retention policy
    Prune(PruneArgs),
    /// Report database, backup, repository and schedule health (monitoring exit codes)
    Status(StatusArgs),
    /// Run the scheduled backup if it is due (what the systemd timer runs)
    RunScheduled(RunScheduledArgs),
    /// Check the integrity of backups
    Verify(VerifyArgs),
    /// Copy backups to another repository (a folder or s3://BUCKET/PREFIX), checked against the catalog
    Copy(CopyArgs),
    /// Read or change backup_schedule.json
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Notifications configured in backup_schedule.json ("notify")
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Protect a backup from prune and delete
    Pin(IdArg),
    /// Remove the protection set by pin
    Unpin(IdArg),
    /// Print the shell registration of dynamic completion (subcommands, flags, backup IDs)
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Backup type
    #[arg(long = "type", value_enum, default_value = "full")]
    pub kind: Kind,
    /// Free text stored with the backup (at most 1000 characters)
    #[arg(long, short = 'm', default_value = "")]
    pub description: String,
    /// Store the dump uncompressed (same as --compression none)
    #[arg(long, conflicts_with = "compression")]
    pub no_compress: bool,
    /// Compression of the backup file [default: gzip for plain and directory (pg_dump's own, per file), none for custom]
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
    /// Compression level: gzip 1-9 (default 1: ISA-L's igzip in a build with the isal feature, else zlib-rs; 2-9 zlib-rs), zstd 1-19 (default 1); a custom archive without --compression: pg_dump's own gzip level 0-9
    #[arg(long, value_name = "N")]
    pub level: Option<u32>,
    /// pg_dump output format
    #[arg(long, value_enum, default_value = "plain")]
    pub format: Format,
    /// pg_dump --jobs: tables dumped in parallel over N connections (--format directory only) [default: 2, or 1 on a single core]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: Option<u32>,
    /// Encrypt with age to this public key (age1…, ssh-ed25519 …, ssh-rsa …; repeatable, like age -r)
    #[arg(long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,
    /// Encrypt with age to every public key in this file, one a line (repeatable, like age -R)
    #[arg(long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Tell no webhook and send no email about this backup ("notify" of backup_schedule.json); hooks still run
    #[arg(long)]
    pub no_notify: bool,
    /// Back up, in one run, every database that accepts connections (templates excluded) and the globals
    #[arg(long)]
    pub all_databases: bool,
    /// With --all-databases: leave out the databases this pattern matches (pg_dumpall's patterns: * and ?, letters folded to lower case unless "double-quoted"; repeatable)
    #[arg(long, value_name = "PATTERN", requires = "all_databases")]
    pub exclude_database: Vec<String>,
    /// Back up only the server's globals (roles, memberships, role settings, tablespaces) with pg_dumpall --globals-only: always plain SQL, compressed as --compression says, also with --format custom
    #[arg(long, conflicts_with = "all_databases")]
    pub globals: bool,
    /// Dump the globals without role passwords (where pg_authid is not readable this happens anyway, with a warning)
    #[arg(long)]
    pub no_role_passwords: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// pg_dump's object filters, passed on as they are; a filtered backup is its own retention group and never `latest`.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "pg_dump filters (README \"Filters\")")]
pub struct FilterArgs {
    /// Dump only the schemas matching PATTERN (pg_dump -n; repeatable)
    #[arg(long = "schema", short = 'n', value_name = "PATTERN")]
    pub schemas: Vec<String>,
    /// Leave out the schemas matching PATTERN (pg_dump -N; repeatable)
    #[arg(long = "exclude-schema", short = 'N', value_name = "PATTERN")]
    pub exclude_schemas: Vec<String>,
    /// Dump only the tables, views and sequences matching PATTERN (pg_dump -t, which is not a short flag here so it is never taken for --type; repeatable)
    #[arg(long = "table", value_name = "PATTERN")]
    pub tables: Vec<String>,
    /// Leave out the tables matching PATTERN (pg_dump -T; repeatable)
    #[arg(long = "exclude-table", short = 'T', value_name = "PATTERN")]
    pub exclude_tables: Vec<String>,
    /// Dump the definition of the tables matching PATTERN but not their rows (pg_dump; repeatable)
    #[arg(long = "exclude-table-data", value_name = "PATTERN")]
    pub exclude_table_data: Vec<String>,
    /// No statements setting ownership (pg_dump -O)
    #[arg(long, short = 'O')]
    pub no_owner: bool,
    /// No GRANT or REVOKE statements (pg_dump -x)
    #[arg(long, short = 'x')]
    pub no_privileges: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only backups of this database
    #[arg(long = "database", value_name = "NAME")]
    pub database: Option<String>,
    /// Only backups of this type
    #[arg(long = "type", value_enum)]
    pub kind: Option<Kind>,
    /// List runs (create --all-databases, --globals, scheduled runs of several databases) instead of backups: parts done of planned, complete or not
    #[arg(long, conflicts_with_all = ["database", "kind"])]
    pub runs: bool,
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Backup ID, an unambiguous prefix of one, or `latest` (the newest complete full backup of the database)
    #[arg(add = backup_ids())]
    pub id: String,
    /// List what the backup holds
    #[arg(long)]
    pub contents: bool,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// Backup ID, an unambiguous prefix of one, or `latest` (the newest complete full backup of the database)
    #[arg(add = backup_ids())]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup ID, an unambiguous prefix of one, or `latest` (the newest complete full backup of the database); with --all-databases: a run ID, a prefix, or `latest` (the newest complete run)
    #[arg(add = backup_ids())]
    pub id: String,
    /// Restore a whole run onto the server: its globals (missing roles and tablespaces), then each database, swapped in
    #[arg(long, conflicts_with_all = ["target", "table", "schema", "no_owner", "kind"])]
    pub all_databases: bool,
    /// With --all-databases: only these databases of the run (comma-separated; the globals are restored too)
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        requires = "all_databases"
    )]
    pub databases: Vec<String>,
    /// Restore into this new database and touch nothing else
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// With --target: swap the restored database in place of an existing NAME
    #[arg(long, requires = "target")]
    pub replace: bool,
    /// Drop the previous database after the swap instead of keeping it
    #[arg(long)]
    pub drop_previous: bool,
    /// Database used for CREATE/ALTER/DROP DATABASE
    #[arg(long, value_name = "NAME", default_value = "postgres")]
    pub maintenance_db: String,
    /// Parallel jobs for the load and ANALYZE: pg_restore --jobs for a custom or directory archive, N psql sessions for a plain backup
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<u32>,
    /// With --jobs on an encrypted backup: stage the decrypted archive in a private folder (0700) inside DIR, removed afterwards (pg_restore --jobs needs a file it can seek in); for a directory-format backup in S3, where its files are downloaded (TMPDIR otherwise)
    #[arg(long, value_name = "DIR", requires = "jobs")]
    pub stage_dir: Option<PathBuf>,
    /// Restore only this table (NAME or SCHEMA.NAME) with its keys, indexes, sequences, triggers, policies and grants (custom format; repeatable)
    #[arg(long, value_name = "TABLE")]
    pub table: Vec<String>,
    /// Restore only this schema (custom format; repeatable)
    #[arg(long, value_name = "SCHEMA")]
    pub schema: Vec<String>,
    /// Backup type: which one `latest` picks (default full); `schema` is required to restore a schema-only backup over a database that holds data
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<Kind>,
    /// Restore no ownership and no grants, as pg_restore --no-owner --no-privileges: everything belongs to the connecting role (for a server that lacks the backup's roles)
    #[arg(long)]
    pub no_owner: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Backup IDs (or unambiguous prefixes, or `latest`: the newest complete full backup of the database)
    #[arg(required = true, add = backup_ids())]
    pub ids: Vec<String>,
    /// Show what would be deleted and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub keep: Keep,
    /// Show what would be kept and removed, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Critical when the newest backup is older than this (s, min, h, d, w, mo = 30d: 26h, 8d) [default: from the schedule: hourly 2h, daily 26h, weekly 8d, monthly 32d]
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,
    /// Warning when the newest backup is older than this (e.g. 25h)
    #[arg(long, value_name = "DURATION")]
    pub warn_age: Option<String>,
    /// Warning when free space on the backups filesystem is below this (K, M, G, T are powers of 1024: 5G, 500M)
    #[arg(long, value_name = "SIZE")]
    pub min_free: Option<String>,
    /// Print Prometheus text exposition format (instead of a report or JSON)
    #[arg(long)]
    pub prometheus: bool,
}

#[derive(Debug, Args)]
pub struct RunScheduledArgs {
    /// Run now even when not due or disabled
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Backup IDs, prefixes or `latest` (the newest complete full backup of the database) [default: all]
    #[arg(add = backup_ids())]
    pub ids: Vec<String>,
    /// Also restore each backup into a scratch database, check it, and drop it
    #[arg(long)]
    pub restore_test: bool,
    /// Database used for CREATE/DROP DATABASE of the scratch databases (with --restore-test)
    #[arg(long, value_name = "NAME", default_value = "postgres")]
    pub maintenance_db: String,
    /// Re-create catalog entries from the files in backups/ (keeps a broken catalog aside)
    #[arg(long, conflicts_with_all = ["ids", "restore_test"])]
    pub rebuild_catalog: bool,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Backup IDs (or unambiguous prefixes, or `latest`: the newest complete full backup of the database)
    #[arg(required = true, add = backup_ids())]
    pub ids: Vec<String>,
    /// Repository to copy into: a folder, or s3://BUCKET/PREFIX (credentials and endpoint from the AWS_* variables)
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test notification through every configured channel (each webhook, the ping URL, email), whatever its "on", and report each result; exit 1 if one failed
    Test,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Show the schedule, retention and last run
    Show,
    /// Change the schedule (validated, written atomically)
    Set(Box<ScheduleSetArgs>),
}

#[derive(Debug, Args)]
pub struct ScheduleSetArgs {
    /// hourly, daily, weekly or monthly
    #[arg(long)]
    pub frequency: Option<String>,
    /// Time of day HH:MM (minute of the hour for hourly)
    #[arg(long, value_name = "HH:MM")]
    pub time: Option<String>,
    /// Day of the week for weekly schedules
    #[arg(long)]
    pub weekday: Option<String>,
    /// Day of the month for monthly schedules (31 = last day)
    #[arg(long, value_name = "N")]
    pub day_of_month: Option<u32>,
    /// IANA time zone for times and retention buckets (e.g. Europe/Berlin)
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Backup type made by scheduled runs
    #[arg(long = "type", value_enum)]
    pub kind: Option<Kind>,
    /// Compression used by scheduled runs
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
    /// Enable scheduled runs
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable scheduled runs
    #[arg(long)]
    pub disable: bool,
    #[command(flatten)]
    pub keep: Keep,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
