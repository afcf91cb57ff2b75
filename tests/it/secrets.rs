//! Passwords typed in a connection string reach no child's command line, no log line, no
//! lock file and no JSON; the audit log cannot be forged with a line break.

use std::fs;

use crate::support::{Env, stderr, stdout};

/// A password with a raw `?`, which libpq keeps in a URI's password.
const PASSWORD: &str = "Q?s3cr3t-p4ss";
const SECRET: &str = "s3cr3t-p4ss";

fn secured_env() -> Env {
    let env = Env::new();
    env.cluster.require_password("secure", PASSWORD);
    env
}

fn uri(env: &Env, database: &str) -> String {
    format!(
        "postgresql://secure:{PASSWORD}@/{database}?host={}&port={}",
        env.cluster.socket_dir().display(),
        env.cluster.port
    )
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "the password leaked into {what}:\n{text}"
    );
}

#[test]
fn children_get_the_password_from_the_environment_never_from_their_command_line() {
    let env = secured_env();
    let record = env.record_children();
    let uri = uri(&env, "app");
    let create = env
        .cmd()
        .args(["create", "--format", "custom", "-yd", &uri])
        .output()
        .unwrap();
    assert!(create.status.success(), "{}", stderr(&create));
    let restore = env
        .cmd()
        .args([
            "restore", "latest", "--target", "copy", "--yes", "-vd", &uri,
        ])
        .output()
        .unwrap();
    assert!(restore.status.success(), "{}", stderr(&restore));
    assert_eq!(
        env.cluster.psql("copy", "SELECT count(*) FROM items"),
        "1000"
    );

    let children = fs::read_to_string(&record).unwrap();
    let runs: Vec<(&str, &str)> = children
        .lines()
        .map(|l| l.split_once("| env: ").expect("argv: ARGS | env: NAMES"))
        .collect();
    for program in ["pg_dump", "pg_restore", "psql"] {
        assert!(
            runs.iter().any(|(argv, _)| argv.contains(program)),
            "{program} never ran:\n{children}"
        );
    }
    assert_no_secret("a child's command line or environment names", &children);
    for (argv, names) in runs {
        if argv.contains("--dbname=") {
            assert!(
                names.split(' ').any(|name| name == "PGPASSWORD"),
                "every child that connects gets PGPASSWORD: {argv}"
            );
        }
    }
    assert_no_secret("the -v output", &stderr(&restore));
}

#[test]
fn clustered_short_flags_do_not_leak_into_the_audit_log_the_lock_file_or_status() {
    let env = secured_env();
    let uri = uri(&env, "app");
    let output = env.cmd().args(["create", "-qd", &uri]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let attached = format!("-qd{uri}");
    let output = env.cmd().args(["create", &attached]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(env.entries().len(), 2);

    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert_no_secret("the audit log", &log);
    assert!(
        log.lines()
            .all(|l| l.contains("user=secure") && l.contains("dbname=app")),
        "the log keeps the rest of the target:\n{log}"
    );
    let lock = fs::read_to_string(env.backups_dir().join(".lock")).unwrap();
    assert_no_secret("the lock file", &lock);
    assert!(lock.contains("create"), "{lock}");

    let status = env
        .cmd()
        .args(["status", "--json", "-d", &uri])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["database"]["reachable"], true, "{report}");
    assert_no_secret("status --json", &stdout(&status));
    assert_no_secret("status's stderr", &stderr(&status));
}

#[test]
fn a_line_break_in_a_description_or_a_database_name_cannot_forge_an_audit_line() {
    let env = Env::new();
    let forged = "2030-01-01T00:00:00+00:00 user=root pid=1 command=\"delete all\" result=ok";
    let description = format!("nightly\n{forged}");
    let output = env
        .cmd()
        .args(["create", "-m", &description])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let database = format!("dbname='nosuch\r\n{forged}'");
    let output = env
        .cmd()
        .args(["create", "-d", &database])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "one line per operation:\n{log}");
    assert!(lines[0].contains("result=ok"), "{log}");
    assert!(lines[1].contains("result=failed"), "{log}");
    assert!(
        !log.contains(|c: char| c.is_control() && c != '\n'),
        "no control characters:\n{log}"
    );
    assert!(lines[0].contains("nightly\\\\n2030"), "{log}");
}

#[test]
fn without_user_or_logname_the_audit_log_names_the_user_from_the_password_file() {
    let env = Env::new();
    // A home that exists (a first run that fails removes the home it made, log and all).
    fs::create_dir_all(env.home()).unwrap();
    let output = env
        .cmd()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .args(["create", "-d", "host=/nonexistent dbname=nosuch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8(me.stdout).unwrap();
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(log.contains(&format!(" user={} ", me.trim())), "{log}");
}
