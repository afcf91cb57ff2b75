//! Man pages, one per subcommand plus pgbackup(1), generated from the clap definitions.

use clap::{Command, CommandFactory};
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
.SH ENVIRONMENT
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
Environment (PG* variables) for the systemd service.
"#;

/// Every page as (file name, roff text).
pub fn render_all() -> Vec<(String, String)> {
    let cli = Cli::command();
    let mut pages = vec![("pgbackup.1".to_string(), render(cli.clone()))];
    for sub in cli.get_subcommands() {
        let name = format!("pgbackup-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .version(cli.get_version().unwrap_or_default().to_string());
        pages.push((format!("{name}.1"), render(page)));
    }
    pages
}

fn render(command: Command) -> String {
    let mut out = Vec::new();
    Man::new(command)
        .render(&mut out)
        .expect("rendering into memory cannot fail");
    let mut text = String::from_utf8(out).expect("clap_mangen writes UTF-8");
    text.push_str(EXIT_STATUS);
    text.push_str(FILES);
    text
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
