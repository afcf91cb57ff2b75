//! Connections follow libpq conventions; passwords never leak.

use std::fs;

use crate::support::{Env, stderr};

const SECRET: &str = "s3cr3t-p4ss";

fn secured_env() -> Env {
    let env = Env::new();
    env.cluster.require_password("secure", SECRET);
    env
}

#[test]
fn without_a_password_and_without_a_terminal_the_error_says_what_to_set() {
    let env = secured_env();
    let output = env
        .cmd()
        .env("PGUSER", "secure")
        .arg("create")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("asks for a password and none is configured") && err.contains("PGPASSWORD"),
        "{err}"
    );
    assert!(env.entries().is_empty());
}

#[test]
fn a_password_in_a_uri_is_used_but_never_shown_or_stored() {
    let env = secured_env();
    let uri = format!(
        "postgresql://secure:{SECRET}@/app?host={}&port={}",
        env.cluster.socket_dir().display(),
        env.cluster.port
    );
    let output = env
        .cmd()
        .args(["-vv", "create", "--json", "--dbname", &uri])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("running"),
        "debug output lists the commands run"
    );
    let entry: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(entry["database"], "app");
    for (what, text) in [
        ("stderr", stderr(&output)),
        (
            "stdout",
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
        ("catalog", fs::read_to_string(env.catalog_path()).unwrap()),
        (
            "audit log",
            fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap(),
        ),
    ] {
        assert!(
            !text.contains(SECRET),
            "the password leaked into the {what}:\n{text}"
        );
    }
}

#[test]
fn a_password_in_the_environment_passes_through() {
    let env = secured_env();
    let output = env
        .cmd()
        .env("PGUSER", "secure")
        .env("PGPASSWORD", SECRET)
        .args(["create"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(env.entries().len(), 1);
}

#[test]
fn on_a_terminal_the_password_is_asked_for_without_echo() {
    let env = secured_env();
    let (code, screen) = env.run_on_terminal("create", &[("PGUSER", "secure")], SECRET);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Password:"), "{screen}");
    assert!(
        !screen.contains(SECRET),
        "the password was echoed: {screen}"
    );
    assert_eq!(env.entries().len(), 1);
}

#[test]
fn a_conninfo_string_selects_the_database() {
    let env = Env::new();
    env.cluster.psql("postgres", "CREATE DATABASE \"other db\"");
    let output = env
        .cmd()
        .args(["create", "--json", "--dbname", "dbname='other db'"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let entry: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(entry["database"], "other db");
}

#[test]
fn a_first_run_without_a_server_says_how_to_point_at_one_and_leaves_nothing_behind() {
    let env = Env::new();
    env.create(&[]);
    env.cluster.stop();
    let fresh = env.home().with_file_name("first-run");
    let output = env.run(&["--home", fresh.to_str().unwrap(), "create"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for hint in [
        "could not connect",
        "--dbname",
        "postgresql:// URI",
        "PGHOST",
        "PGSERVICE",
    ] {
        assert!(lines[0].contains(hint), "{hint}: {err}");
    }
    assert!(!fresh.exists(), "the first run left its home behind");

    // A home that holds backups is never removed by a failing run.
    assert_eq!(env.run(&["create"]).status.code(), Some(1));
    assert_eq!(env.entries().len(), 1);
    assert!(env.home().join("logs/pgbackup.log").exists());
}
