//! Faults injected for real: a failing pg_dump, a kill, a full disk, a missing program, a
//! database that is down. Each leaves no final file, no partial file and no entry.

use std::fs;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Env, real_pg_dump, stderr};

/// The backups folder holds nothing but the lock file (and an untouched catalog).
fn assert_nothing_recorded(env: &Env) {
    let files: Vec<String> = env
        .files()
        .into_iter()
        .filter(|f| f != "backup_metadata.json")
        .collect();
    assert!(files.is_empty(), "left behind: {files:?}");
    assert!(env.entries().is_empty(), "recorded: {:?}", env.entries());
}

#[test]
fn a_pg_dump_that_fails_half_way_leaves_nothing() {
    let env = Env::new();
    // A home that exists (a first run that fails removes the home it made, log and all).
    fs::create_dir_all(env.home()).unwrap();
    env.shim_pg_dump(&format!(
        "{} \"$@\" | head -c 2000\necho 'pg_dump: error: connection lost' >&2\nexit 1",
        real_pg_dump()
    ));
    let output = env.run(&["create"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("pg_dump exited with code 1") && err.contains("connection lost"),
        "{err}"
    );
    assert!(err.contains("nothing was recorded"), "{err}");
    assert_nothing_recorded(&env);
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(log.contains("result=failed"), "{log}");
}

#[test]
fn sigterm_during_create_leaves_nothing() {
    let env = Env::new();
    env.shim_pg_dump("head -c 100000 /dev/zero\nexec sleep 60");
    let child = env
        .command()
        .arg("create")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.files().iter().any(|f| f.ends_with(".partial")) {
        assert!(Instant::now() < deadline, "no partial file appeared");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "pgbackup did not stop pg_dump"
    );
    assert_eq!(output.status.code(), Some(128 + libc::SIGTERM));
    assert!(
        stderr(&output).contains("interrupted by signal 15"),
        "{}",
        stderr(&output)
    );
    assert_nothing_recorded(&env);
}

#[test]
fn a_full_disk_gives_a_clear_error_and_leaves_nothing() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "INSERT INTO items (name) SELECT md5(g::text) FROM generate_series(1, 40000) g",
    );
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let backups = env.backups_dir();
    fs::create_dir_all(&backups).unwrap();
    let mounted = root
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(&backups)
            .status()
            .is_ok_and(|s| s.success());
    let output = if mounted {
        env.run(&["create", "--no-compress"])
    } else {
        // Without the right to mount, a file size limit stands in for the full disk.
        let bin = assert_cmd::cargo::cargo_bin("pgbackup");
        Command::new("sh")
            .args(["-c", "ulimit -f 256; exec \"$0\" create --no-compress"])
            .arg(bin)
            .envs(env.vars())
            .output()
            .unwrap()
    };
    let leftovers = env.files();
    let entries = env.entries();
    if mounted {
        let _ = Command::new("umount").arg(&backups).status();
    }
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let expected = if mounted {
        "No space left on device"
    } else {
        "File too large"
    };
    assert!(err.contains(expected) && err.contains(".partial"), "{err}");
    assert!(
        leftovers.iter().all(|f| f == "backup_metadata.json"),
        "{leftovers:?}"
    );
    assert!(entries.is_empty());
}

#[test]
fn a_missing_pg_dump_is_named() {
    let env = Env::new();
    let bin_dir = tempfile::tempdir().unwrap();
    let psql = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v psql"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::os::unix::fs::symlink(psql.trim(), bin_dir.path().join("psql")).unwrap();
    let output = env
        .command()
        .env("PATH", bin_dir.path())
        .arg("create")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("could not run pg_dump: not found on PATH"),
        "{err}"
    );
    assert_nothing_recorded(&env);
}

#[test]
fn a_database_that_is_down_gives_a_clear_error() {
    let env = Env::new();
    env.cluster.stop();
    let output = env.run(&["create"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("could not connect to database"), "{err}");
    assert!(
        err.contains("No such file or directory") || err.contains("Connection refused"),
        "{err}"
    );
    assert_nothing_recorded(&env);
}

#[test]
fn a_second_writer_gets_exit_75_with_the_holders_pid() {
    let env = Env::new();
    let existing = env.create(&[]);
    let id = existing["id"].as_str().unwrap();
    env.shim_pg_dump("exec sleep 30");
    let mut first = env
        .command()
        .arg("create")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.files().iter().any(|f| f.ends_with(".partial")) {
        assert!(Instant::now() < deadline, "the first create did not start");
        thread::sleep(Duration::from_millis(50));
    }
    for args in [vec!["create"], vec!["delete", "--yes", id], vec!["pin", id]] {
        let output = env.run(&args);
        assert_eq!(
            output.status.code(),
            Some(75),
            "{args:?}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        assert!(
            err.contains(&format!("pid {}", first.id())) && err.contains("create"),
            "{err}"
        );
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    first.wait().unwrap();
    assert_eq!(
        env.entries(),
        vec![existing.clone()],
        "only the first backup is recorded"
    );
    assert_eq!(env.files().len(), 2, "{:?}", env.files());
}
