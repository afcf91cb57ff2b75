//! pg_dump's habits on pgbackup's command line: -h/-p/-U connect, and nothing that is not
//! a backup exits 0.

use crate::support::{Env, stderr, stdout};

#[test]
fn libpq_host_port_and_username_options_connect_every_command() {
    let env = Env::new();
    let socket = env.cluster.socket_dir().display().to_string();
    let port = env.cluster.port.to_string();
    let output = env
        .cmd()
        .env_remove("PGHOST")
        .env_remove("PGPORT")
        .env_remove("PGUSER")
        .args([
            "create", "--json", "-h", &socket, "-p", &port, "-U", "postgres",
        ])
        .args(["-d", "app"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let entry: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(entry["database"], "app");
    assert_eq!(entry["port"], env.cluster.port);

    let output = env
        .cmd()
        .env("PGHOST", "/nonexistent")
        .env_remove("PGUSER")
        .args(["--host", &socket, "--port", &port, "--username", "postgres"])
        .args(["restore", "latest", "--target", "copy", "--yes"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        env.cluster.psql("copy", "SELECT count(*) FROM items"),
        "1000"
    );
}

#[test]
fn a_command_line_that_is_not_understood_exits_2() {
    let env = Env::new();
    for args in [
        &["create", "-t", "schema"][..],
        &["list", "-t", "full"],
        &["create", "--no-such-flag"],
        &[],
        &["schedule"],
        &["create", "-h"],
    ] {
        let output = env.run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    assert!(env.entries().is_empty(), "nothing was backed up");
    for args in [
        &["--help"][..],
        &["create", "--help"],
        &["--version"],
        &["help", "restore"],
    ] {
        let output = env.run(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stdout(&output).is_empty(), "{args:?}");
    }
    let help = stdout(&env.run(&["create", "--help"]));
    assert!(
        help.contains("-h, --host")
            && help.contains("-p, --port")
            && help.contains("-U, --username"),
        "{help}"
    );
}
