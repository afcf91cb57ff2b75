//! The server's globals (roles, memberships, role settings, tablespaces) as pg_dumpall
//! `--globals-only` writes them: its command line, and the failure that means pg_authid
//! is not readable (a managed server), after which they are dumped without passwords.

use anyhow::Result;

use crate::config::PgPrograms;
use crate::pg::conn::Conn;
use crate::pg::process::{ProcessError, Tool};

/// `pg_dumpall --globals-only` for the server `conn` reaches (its database is the first one
/// pg_dumpall connects to).
pub fn pg_dumpall_command(programs: &PgPrograms, conn: &Conn, no_role_passwords: bool) -> Tool {
    let mut tool = Tool::new(&programs.pg_dumpall).args(["--globals-only", "--no-password"]);
    if no_role_passwords {
        tool = tool.arg("--no-role-passwords");
    }
    conn.apply_to_dumpall(tool)
}

/// `pg_dumpall --version` without the program name.
pub fn pg_dumpall_version(programs: &PgPrograms) -> Result<String> {
    let output = Tool::new(&programs.pg_dumpall)
        .arg("--version")
        .output("")?;
    let line = output.lines().next().unwrap_or("").trim();
    Ok(line
        .strip_prefix("pg_dumpall (PostgreSQL) ")
        .unwrap_or(line)
        .to_string())
}

/// Whether pg_dumpall failed because the role may not read pg_authid (role passwords).
pub fn is_pg_authid_denied(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let text = match cause.downcast_ref::<ProcessError>() {
            Some(process) => process.stderr.clone(),
            None => cause.to_string(),
        };
        text.contains("permission denied") && text.contains("pg_authid")
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{is_pg_authid_denied, pg_dumpall_command};
    use crate::config::PgPrograms;
    use crate::pg::conn::{Conn, ServerOptions};
    use crate::pg::process::ProcessError;

    fn programs() -> PgPrograms {
        PgPrograms {
            pg_dump: OsString::from("pg_dump"),
            psql: OsString::from("psql"),
            pg_restore: OsString::from("pg_restore"),
            pg_dumpall: OsString::from("/opt/pg/bin/pg_dumpall"),
        }
    }

    #[test]
    fn globals_are_dumped_without_prompting_and_passwords_skipped_when_asked() {
        let conn = Conn::resolve(Some("app"), false, None, ServerOptions::default()).unwrap();
        assert_eq!(
            pg_dumpall_command(&programs(), &conn, false).display(),
            "/opt/pg/bin/pg_dumpall --globals-only --no-password --database=app"
        );
        assert!(
            pg_dumpall_command(&programs(), &conn, true)
                .display()
                .contains(" --no-role-passwords ")
        );
    }

    #[test]
    fn a_denied_pg_authid_is_recognised_and_other_failures_are_not() {
        let failure = |stderr: &str| {
            anyhow::Error::new(ProcessError {
                program: "pg_dumpall".to_string(),
                how: "exited with code 1".to_string(),
                stderr: stderr.to_string(),
            })
            .context("backup of the globals failed")
        };
        assert!(is_pg_authid_denied(&failure(
            "pg_dumpall: error: query failed: ERROR:  permission denied for table pg_authid"
        )));
        assert!(!is_pg_authid_denied(&failure(
            "pg_dumpall: error: connection to server failed"
        )));
    }
}
