//! Restore from S3 streams the object into psql or pg_restore; only `restore --jobs N` of a
//! custom archive stages a seekable local copy, in a private folder of TMPDIR that is
//! removed afterwards, after checking that it fits.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, real_program, stderr, stdout};

const PREFIX: &str = "prod/app";

fn run(env: &Env, server: &S3Server, tmpdir: &Path, args: &[&str]) -> std::process::Output {
    env.cmd()
        .envs(server.vars())
        .env("TMPDIR", tmpdir)
        .arg("--repo")
        .arg(server.url(PREFIX))
        .args(args)
        .output()
        .unwrap()
}

fn create(env: &Env, server: &S3Server, args: &[&str]) -> String {
    let mut all = vec!["create", "--json"];
    all.extend_from_slice(args);
    let output = env
        .cmd()
        .envs(server.vars())
        .arg("--repo")
        .arg(server.url(PREFIX))
        .args(&all)
        .output()
        .unwrap();
    assert_success(&output);
    let entry: Value = serde_json::from_slice(&output.stdout).unwrap();
    entry["id"].as_str().unwrap().to_string()
}

/// Everything below `dir`.
fn contents(dir: &Path) -> Vec<String> {
    let output = Command::new("find")
        .arg(dir)
        .arg("-mindepth")
        .arg("1")
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Shims for psql and pg_restore that record, on every run, whether it had `--jobs` and
/// which file it was given (the archive), with the mode of that file's folder, and what
/// `watched` holds at that moment.
fn record_loads(env: &Env, watched: &Path) -> std::path::PathBuf {
    let record = watched.with_extension("record");
    for name in ["psql", "pg_restore"] {
        env.shim(
            name,
            &format!(
                "#!/bin/sh\nfor a; do if [ -f \"$a\" ]; then last=$a; fi; done\n\
                 case \"$*\" in *--jobs=*) printf 'jobs %s %s\\n' \"$(stat -c %a \"$(dirname \"$last\")\")\" \"$last\" >> '{record}';; esac\n\
                 printf '{name} sees: %s\\n' \"$(find '{watched}' -mindepth 1 | tr '\\n' ' ')\" >> '{record}'\n\
                 exec {real} \"$@\"\n",
                record = record.display(),
                watched = watched.display(),
                real = real_program(name),
            ),
        );
    }
    record
}

#[test]
fn a_restore_from_s3_streams_and_writes_no_local_copy() {
    let env = Env::new();
    let server = S3Server::start();
    let plain = create(&env, &server, &[]);
    let custom = create(&env, &server, &["--format", "custom"]);
    let stage = tempfile::tempdir().unwrap();
    let record = record_loads(&env, stage.path());

    for (id, target) in [(&plain, "from_plain"), (&custom, "from_custom")] {
        let output = run(
            &env,
            &server,
            stage.path(),
            &["restore", id, "--target", target, "--yes"],
        );
        assert_success(&output);
        assert_eq!(env.cluster.dump(target), env.cluster.dump("app"));
    }
    let seen = fs::read_to_string(&record).unwrap();
    assert!(
        seen.contains("psql sees") && seen.contains("pg_restore sees"),
        "{seen}"
    );
    for line in seen.lines() {
        assert!(line.ends_with("sees: "), "a local copy was written: {seen}");
    }
    assert_eq!(contents(stage.path()), Vec::<String>::new());
}

#[test]
fn restore_jobs_from_s3_stages_a_private_copy_and_removes_it() {
    let env = Env::new();
    let server = S3Server::start();
    let custom = create(&env, &server, &["--format", "custom"]);
    let stage = tempfile::tempdir().unwrap();
    let record = record_loads(&env, stage.path());

    let output = run(
        &env,
        &server,
        stage.path(),
        &[
            "restore", &custom, "--target", "copy", "--jobs", "2", "--yes",
        ],
    );
    assert_success(&output);
    assert_eq!(env.cluster.dump("copy"), env.cluster.dump("app"));

    let seen = fs::read_to_string(&record).unwrap();
    let jobs: Vec<&str> = seen.lines().filter(|l| l.starts_with("jobs ")).collect();
    assert_eq!(jobs.len(), 1, "{seen}");
    let (mode, archive) = jobs[0]["jobs ".len()..].split_once(' ').unwrap();
    assert_eq!(mode, "700", "the staging folder is private: {seen}");
    let archive = Path::new(archive);
    assert_eq!(
        archive.parent().unwrap().parent().unwrap(),
        stage.path(),
        "staged in its own folder of TMPDIR: {seen}"
    );
    assert_eq!(
        contents(stage.path()),
        Vec::<String>::new(),
        "the staging folder is removed"
    );
}

#[test]
fn restore_jobs_refuses_when_the_staging_copy_does_not_fit() {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small filesystem needs root");
        return;
    }
    let env = Env::new();
    env.cluster.psql(
        "app",
        "INSERT INTO items (name) SELECT md5(g::text) FROM generate_series(1, 20000) g",
    );
    let server = S3Server::start();
    let custom = create(&env, &server, &["--format", "custom"]);
    let stage = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(stage.path())
        .status()
        .unwrap();
    assert!(mounted.success());
    let output = run(
        &env,
        &server,
        stage.path(),
        &[
            "restore", &custom, "--target", "copy", "--jobs", "2", "--yes",
        ],
    );
    let left = contents(stage.path());
    let _ = Command::new("umount").arg(stage.path()).status();

    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let message = stderr(&output);
    let errors: Vec<&str> = message
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{message}");
    assert!(
        errors[0].contains("restore --jobs needs a local copy")
            && errors[0].contains("has only")
            && errors[0].contains("TMPDIR"),
        "{message}"
    );
    assert_eq!(left, Vec::<String>::new(), "nothing was written");
    assert!(
        !env.cluster
            .databases()
            .iter()
            .any(|d| d.starts_with("copy"))
    );
}
