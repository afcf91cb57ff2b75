//! Man pages, one per subcommand plus pgbackup(1), generated from the clap definitions.

use clap::{ArgAction, Command, CommandFactory};
use clap_mangen::Man;

use crate::cli::Cli;

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Success.
.TP
.B 1
Failure; the error is printed on standard error.
.TP
.B 2
Usage error, unknown or ambiguous backup ID, or refused (no confirmation).
.TP
.B 75
Another pgbackup operation holds the lock on backups/.lock (EX_TEMPFAIL).
.TP
.B 128+N
Interrupted by signal N; the work was undone.
.PP
\fBpgbackup status\fR uses the monitoring-plugin convention instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; a status command line that cannot run (bad flag value, unknown flag, \fB\-\-json\fR with \fB\-\-prometheus\fR) is 3 UNKNOWN.
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
.B PGBACKUP_HOME
The folder \fB\-\-home\fR names when not given.
.TP
.B PGBACKUP_REPO
The repository \fB\-\-repo\fR names when not given.
.TP
.B PGBACKUP_IDENTITY_FILE
An age identity file, as \fB\-\-identity\fR.
.TP
.B PGBACKUP_PG_BINDIR
Folder of PostgreSQL's client programs (pg_dump, pg_restore, psql); default: found on PATH.
.TP
.B PGBACKUP_LOG
A tracing filter directive for the log on standard error (e.g. \fIdebug\fR), overriding \fB\-v\fR and \fB\-q\fR.
.TP
.B PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSFILE, PGSERVICE, PGSERVICEFILE, PGSSLMODE, PGOPTIONS, PGCONNECT_TIMEOUT
libpq's variables, read by pg_dump, pg_restore and psql as usual (the other PG* variables of libpq too); \fB\-\-host\fR, \fB\-\-port\fR, \fB\-\-username\fR and \fB\-\-dbname\fR override them. PGPASSWORD works but is visible to other local users of some systems: prefer a password file.
.TP
.B AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, AWS_VIRTUAL_HOSTED_STYLE_REQUEST
Credentials, region and endpoint of an \fIs3://BUCKET/PREFIX\fR repository (also the web-identity and container credential variables); \fBAWS_ALLOW_HTTP=true\fR allows a plain-http endpoint.
.TP
.B NO_COLOR
When set to a non-empty value, no output is coloured; otherwise colours are used only on a terminal.
"#;

const FILES: &str = r#".SH FILES
.TP
.I $PGBACKUP_HOME
Default /var/lib/pgbackup; \fB\-\-home\fR overrides.
.TP
.I $PGBACKUP_HOME/backup_schedule.json
Schedule, retention and the state of the last scheduled run.
.TP
.I $PGBACKUP_HOME/backups/backup_metadata.json
The catalog of backups.
.TP
.I $PGBACKUP_HOME/backups/backup_{type}_{YYYYMMDD}_{HHMMSS}.sql[.gz|.zst]
Backup files (\fI.dump\fR for custom format).
.TP
.I $PGBACKUP_HOME/backups/<backup file>.meta.json
The backup's catalog entry, beside it, so that \fBverify \-\-rebuild\-catalog\fR restores names, descriptions and pins.
.TP
.I $PGBACKUP_HOME/restore-intent.json
The step a restore is taking; a restore that was killed is finished or undone from it by the next command that takes the lock, and \fBstatus\fR reports it until then.
.TP
.I $PGBACKUP_HOME/backups/.lock
Lock file held by the one operation that may write; it names its holder.
.TP
.I $PGBACKUP_HOME/logs/pgbackup.log
One line per operation: time, user, command (passwords removed), result; control characters in any field are written as backslash escapes.
.TP
.I /etc/pgbackup/pgbackup.env
Environment (PG* variables) for the systemd service; \fI/etc/pgbackup/NAME.env\fR for pgbackup@NAME.service.
.TP
.I /usr/lib/systemd/system/pgbackup.service, pgbackup.timer, pgbackup@.service, pgbackup@.timer
The scheduled backup (\fI/etc/systemd/system\fR when installed under /usr/local).
"#;

/// How pg_dump filters are passed on, recorded and kept (on the pages they concern).
const FILTERS: &str = r#".SH FILTERS
\fBcreate\fR passes \fB\-n\fR/\fB\-\-schema\fR, \fB\-N\fR/\fB\-\-exclude\-schema\fR, \fB\-\-table\fR, \fB\-T\fR/\fB\-\-exclude\-table\fR, \fB\-\-exclude\-table\-data\fR, \fB\-O\fR/\fB\-\-no\-owner\fR and \fB\-x\fR/\fB\-\-no\-privileges\fR to pg_dump, each pattern as its own argument, with pg_dump's meaning (without \fB\-\-strict\-names\fR). \fI"pg_dump_options"\fR in backup_schedule.json takes the same options as an array of arguments; any other is refused (there pg_dump's \fB\-t\fR is accepted too; \fBcreate\fR has no \fB\-t\fR, so that it is never taken for \fB\-\-type\fR).
.PP
The catalog entry records them normalized (\fI"pg_dump_options": ["\-\-schema=app", "\-\-no\-owner"]\fR: one \fB\-\-long=PATTERN\fR per pattern, each option's patterns sorted, duplicates dropped, options in the order above). A filtered backup is listed as \fIfull (filtered)\fR and forms its own retention group, keyed by database, type and that normalized list; \fBlatest\fR, \fBstatus\fR and the retention of unfiltered backups ignore it (\fBstatus\fR checks the schedule's own options when it has some).
.PP
With \fB\-\-all\-databases\fR the same options apply to every database: an exclusion that matches nothing is no error, but an inclusion (\fB\-n\fR, \fB\-t\fR) that matches nothing in a database fails that database's dump (pg_dump's "no matching schemas were found"), and the run is incomplete.
"#;

/// Every page as (file name, roff text); `help` has no page.
pub fn render_all() -> Vec<(String, String)> {
    let mut cli = Cli::command();
    // Building propagates the global options to the subcommands, so their pages list them.
    cli.build();
    let version = cli.get_version().unwrap_or_default().to_string();
    let subcommands: Vec<&Command> = cli
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
        .collect();
    let names: Vec<String> = subcommands
        .iter()
        .map(|sub| format!("pgbackup-{}", sub.get_name()))
        .collect();
    let mut pages = vec![("pgbackup.1".to_string(), render(&cli, "pgbackup", &names))];
    for (sub, name) in subcommands.iter().zip(&names) {
        let page = (*sub)
            .clone()
            .name(name.clone())
            .display_name(name.clone())
            .version(version.clone());
        pages.push((format!("{name}.1"), render(&page, name, &names)));
    }
    pages
}

fn render(command: &Command, page: &str, pages: &[String]) -> String {
    let man = Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out).expect("in memory");
    man.render_name_section(&mut out).expect("in memory");
    let mut text = String::from_utf8(out).expect("clap_mangen writes UTF-8");
    text.push_str(&synopsis(command, page));
    let mut out = Vec::new();
    man.render_description_section(&mut out).expect("in memory");
    man.render_options_section(&mut out).expect("in memory");
    if command.get_after_help().is_some() || command.get_after_long_help().is_some() {
        man.render_extra_section(&mut out).expect("in memory");
    }
    text.push_str(&String::from_utf8(out).expect("clap_mangen writes UTF-8"));
    text.push_str(&commands(command, page));
    if matches!(
        page,
        "pgbackup" | "pgbackup-create" | "pgbackup-prune" | "pgbackup-schedule"
    ) {
        text.push_str(FILTERS);
    }
    text.push_str(EXIT_STATUS);
    text.push_str(ENVIRONMENT);
    text.push_str(FILES);
    text.push_str(&examples(page));
    text.push_str(&see_also(page, pages));
    text
}

/// roff's hyphen escape.
fn roff(text: &str) -> String {
    text.replace('-', "\\-")
}

/// One synopsis line per form: the command's own options with their value placeholders,
/// then `[global options]` (listed under GLOBAL OPTIONS).
fn synopsis(command: &Command, page: &str) -> String {
    let mut text = String::from(".SH SYNOPSIS\n");
    if page == "pgbackup" {
        text.push_str(
            "\\fBpgbackup\\fR [\\fIglobal options\\fR] \\fICOMMAND\\fR [\\fIoptions\\fR]\n.br\n",
        );
        text.push_str("\\fBpgbackup \\-\\-version\\fR | \\fB\\-\\-help\\fR\n");
        return text;
    }
    let words = roff(&page.replacen("pgbackup-", "pgbackup ", 1));
    let forms: Vec<&Command> = if command.has_subcommands() {
        command
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect()
    } else {
        vec![command]
    };
    for form in forms {
        let sub = if std::ptr::eq(form, command) {
            String::new()
        } else {
            format!(" {}", roff(form.get_name()))
        };
        text.push_str(&format!(
            "\\fB{words}{sub}\\fR{} [\\fIglobal options\\fR]\n.br\n",
            options(form)
        ));
    }
    text
}

/// ` [--flag <VALUE>]...` for the command's own options and positionals (not the global ones).
fn options(command: &Command) -> String {
    let mut text = String::new();
    let own = command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set() && !arg.is_global_set())
        .filter(|arg| arg.get_help_heading().is_none());
    for arg in own {
        let values = arg
            .get_value_names()
            .map(|names| names.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        let repeats = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let (open, close) = if arg.is_required_set() {
            ("", "")
        } else {
            ("[", "]")
        };
        let body = match arg.get_long() {
            None if arg.is_positional() => format!("\\fI{}\\fR", roff(&values)),
            None => match arg.get_short() {
                Some(short) => format!("\\fB\\-{short}\\fR"),
                None => continue,
            },
            Some("version") => continue,
            Some(long) if takes_value => {
                format!("\\fB\\-\\-{}\\fR \\fI{}\\fR", roff(long), roff(&values))
            }
            Some(long) => format!("\\fB\\-\\-{}\\fR", roff(long)),
        };
        let more = if repeats { "..." } else { "" };
        text.push_str(&format!(" {open}{body}{close}{more}"));
    }
    text
}

/// COMMANDS: pgbackup(1) points at each command's page; a command with subcommands of its
/// own (schedule) describes them here, as they have no page.
fn commands(command: &Command, page: &str) -> String {
    let subs: Vec<&Command> = command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help" && !sub.is_hide_set())
        .collect();
    if subs.is_empty() {
        return String::new();
    }
    let mut text = String::from(".SH COMMANDS\n");
    for sub in subs {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        let name = if page == "pgbackup" {
            format!("\\fBpgbackup\\-{}\\fR(1)", roff(sub.get_name()))
        } else {
            format!(
                "\\fB{} {}\\fR",
                roff(&page.replacen("pgbackup-", "pgbackup ", 1)),
                roff(sub.get_name())
            )
        };
        text.push_str(&format!(".TP\n{name}\n{}\n", roff(&about)));
        if page != "pgbackup" {
            let own: Vec<String> = sub
                .get_arguments()
                .filter(|arg| !arg.is_global_set() && !arg.is_hide_set())
                .filter_map(|arg| {
                    let long = arg.get_long()?;
                    (long != "version").then(|| {
                        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                        format!(
                            ".RS\n.TP\n\\fB\\-\\-{}\\fR\n{}\n.RE\n",
                            roff(long),
                            roff(&help)
                        )
                    })
                })
                .collect();
            text.push_str(&own.concat());
        }
    }
    text
}

/// (what it does, the command line) for each page.
fn example_lines(page: &str) -> &'static [(&'static str, &'static str)] {
    match page {
        "pgbackup" => &[
            (
                "Back up the database shop of the local server into ~/pgbackup:",
                "pgbackup --home ~/pgbackup create --dbname shop",
            ),
            (
                "List the backups, then restore the newest one in place (a new database, swapped in):",
                "pgbackup --home ~/pgbackup list\npgbackup --home ~/pgbackup restore latest --dbname shop",
            ),
            (
                "Check the backups the way monitoring does:",
                "pgbackup --home ~/pgbackup status",
            ),
        ],
        "pgbackup-create" => &[
            (
                "Back up a database of another server, described by a URI:",
                "pgbackup create --dbname postgresql://backup@db1.example.com/shop",
            ),
            (
                "A custom-format backup, encrypted to an age key:",
                "pgbackup create --dbname shop --format custom --recipient age1...",
            ),
            (
                "Every database and the globals, in one run:",
                "pgbackup create --all-databases",
            ),
        ],
        "pgbackup-restore" => &[
            (
                "Restore the newest full backup of shop, swapping it in place of the database:",
                "pgbackup restore latest --dbname shop",
            ),
            (
                "Restore a backup into a new database and touch nothing else:",
                "pgbackup restore 20250408_160000 --target shop_copy",
            ),
        ],
        "pgbackup-list" => &[(
            "Backups of one database, as JSON:",
            "pgbackup list --database shop --json",
        )],
        "pgbackup-verify" => &[(
            "Verify every backup, restoring each into a scratch database:",
            "pgbackup verify --restore-test",
        )],
        "pgbackup-status" => &[(
            "Alert when the newest backup is older than a day (Nagios-style exit code):",
            "pgbackup status --max-age 26h",
        )],
        "pgbackup-prune" => &[(
            "See what the retention policy would remove:",
            "pgbackup prune --dry-run",
        )],
        "pgbackup-copy" => &[(
            "Copy the newest backup of shop to a bucket:",
            "pgbackup copy latest --dbname shop --to s3://backups/db1",
        )],
        "pgbackup-schedule" => &[(
            "Back up every day at 02:30, Berlin time:",
            "pgbackup schedule set --frequency daily --time 02:30 --timezone Europe/Berlin",
        )],
        "pgbackup-completions" => &[(
            "Complete pgbackup in bash:",
            "pgbackup completions bash > ~/.local/share/bash-completion/completions/pgbackup",
        )],
        _ => &[],
    }
}

fn examples(page: &str) -> String {
    let lines = example_lines(page);
    if lines.is_empty() {
        return String::new();
    }
    let mut text = String::from(".SH EXAMPLES\n");
    for (what, command) in lines {
        text.push_str(&format!(
            ".PP\n{}\n.PP\n.nf\n.RS\n{}\n.RE\n.fi\n",
            roff(what),
            roff(command)
        ));
    }
    text
}

fn see_also(page: &str, pages: &[String]) -> String {
    let mut refs: Vec<String> = if page == "pgbackup" {
        pages
            .iter()
            .map(|p| format!("\\fB{}\\fR(1)", roff(p)))
            .collect()
    } else {
        vec!["\\fBpgbackup\\fR(1)".to_string()]
    };
    for other in ["pg_dump", "pg_dumpall", "pg_restore", "psql", "age"] {
        refs.push(format!("\\fB{}\\fR(1)", roff(other)));
    }
    refs.push("\\fBsystemd.timer\\fR(5)".to_string());
    format!(".SH \"SEE ALSO\"\n{}\n", refs.join(", "))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::render_all;

    /// Fails when man/ is stale; `PGBACKUP_UPDATE_MAN=1 cargo test manpages` rewrites it.
    #[test]
    fn man_pages_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let update = std::env::var_os("PGBACKUP_UPDATE_MAN").is_some();
        let pages = render_all();
        let mut stale = Vec::new();
        for (name, text) in &pages {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                if update {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, text).unwrap();
                } else {
                    stale.push(name.clone());
                }
            }
        }
        let expected: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let extra: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let orphaned: Vec<&String> = extra
            .iter()
            .filter(|n| !expected.contains(&n.as_str()))
            .collect();
        assert!(
            stale.is_empty(),
            "stale man pages {stale:?}: run PGBACKUP_UPDATE_MAN=1 cargo test manpages"
        );
        assert!(
            orphaned.is_empty(),
            "man pages without a command: {orphaned:?}"
        );
    }
}
