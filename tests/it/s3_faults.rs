//! Faults with the repository in S3 (a real s3s-fs, real PostgreSQL): the server killed
//! mid-upload, pgbackup killed mid-upload, an object changed or cut short behind pgbackup's
//! back, wrong credentials, a missing bucket, and someone else's objects under the prefix.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, real_pg_dump, stderr, stdout};

const PREFIX: &str = "prod/app";
const UPLOADS: &str = "prod/app/.pgbackup-uploads/";

fn run(env: &Env, server: &S3Server, args: &[&str]) -> Output {
    env.cmd()
        .envs(server.vars())
        .arg("--repo")
        .arg(server.url(PREFIX))
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

fn listed(env: &Env, server: &S3Server) -> Vec<Value> {
    let output = run(env, server, &["list", "--json"]);
    assert_success(&output);
    json(&output).as_array().unwrap().clone()
}

/// The one line of `stderr` that is not progress (INFO): the error, and no warning beside it.
fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("INFO "))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

/// A pg_dump that writes incompressible bytes slowly: 8 MiB a second for half a minute,
/// so that the upload is still going when the test strikes.
fn slow_dump(env: &Env) {
    env.shim_pg_dump(
        "for i in $(seq 1 30); do head -c 8388608 /dev/urandom || exit 1; sleep 1; done",
    );
}

fn real_dump(env: &Env) {
    env.shim_pg_dump(&format!("exec {} \"$@\"", real_pg_dump()));
}

/// `create --repo s3://…` in the background.
fn spawn_create(env: &Env, server: &S3Server) -> Child {
    env.command()
        .envs(server.vars())
        .arg("--repo")
        .arg(server.url(PREFIX))
        .arg("create")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a multipart upload is under way (its record is in the bucket).
fn wait_for_upload(server: &S3Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.files().iter().any(|f| f.starts_with(UPLOADS)) {
        assert!(
            Instant::now() < deadline,
            "no upload started: {:?}",
            server.files()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn backup_objects(server: &S3Server) -> Vec<String> {
    server
        .files()
        .into_iter()
        .filter(|f| f.starts_with("prod/app/backup_"))
        .collect()
}

/// After an upload that never finished: nothing listed, nothing under a backup name, and
/// the upload's record left for the next writer.
fn assert_unfinished_upload_left(env: &Env, server: &S3Server) {
    assert_eq!(listed(env, server), Vec::<Value>::new());
    assert_eq!(backup_objects(server), Vec::<String>::new());
    assert!(
        server.files().iter().any(|f| f.starts_with(UPLOADS)),
        "the upload record is kept for the sweep: {:?}",
        server.files()
    );
    assert!(
        !server.open_uploads().is_empty(),
        "the upload is still open"
    );
}

/// The next writer aborts the unfinished upload and removes its record, and its own
/// backup is the only one.
fn assert_next_writer_sweeps(env: &Env, server: &S3Server) {
    real_dump(env);
    let created = run(env, server, &["create", "--json"]);
    assert_success(&created);
    let leftovers: Vec<String> = server
        .files()
        .into_iter()
        .filter(|f| f.contains(".pgbackup-uploads"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new(), "upload records are swept");
    assert_eq!(
        server.open_uploads(),
        Vec::<String>::new(),
        "the unfinished multipart upload is aborted"
    );
    let entries = listed(env, server);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["id"], json(&created)["id"]);
}

#[test]
fn a_server_killed_mid_upload_leaves_no_backup_and_the_next_writer_sweeps() {
    let env = Env::new();
    let mut server = S3Server::start();
    slow_dump(&env);
    let child = spawn_create(&env, &server);
    wait_for_upload(&server);
    server.kill();
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "pgbackup took {:?} to give up",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    let line = one_error_line(&message);
    assert!(
        line.contains("could not reach") && line.contains("nothing was recorded"),
        "{message}"
    );
    assert_eq!(line.matches("could not reach").count(), 1, "{message}");
    assert!(!message.contains(&server.secret_key), "{message}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));

    server.restart();
    assert_unfinished_upload_left(&env, &server);
    assert_next_writer_sweeps(&env, &server);
}

#[test]
fn pgbackup_killed_mid_upload_leaves_no_backup_and_the_next_writer_sweeps() {
    let env = Env::new();
    let server = S3Server::start();
    slow_dump(&env);
    let mut child = spawn_create(&env, &server);
    wait_for_upload(&server);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    assert_unfinished_upload_left(&env, &server);
    assert_next_writer_sweeps(&env, &server);
}

/// The database `app` as the test left it before the refused restore.
fn mark_database(env: &Env) {
    env.cluster
        .psql("app", "INSERT INTO items (id, name) VALUES (5000, 'after')");
}

fn assert_database_untouched(env: &Env) {
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1001"
    );
    let scratch: Vec<String> = env
        .cluster
        .databases()
        .into_iter()
        .filter(|d| d.contains("_restoring_") || d.contains("_pre_restore_"))
        .collect();
    assert_eq!(scratch, Vec::<String>::new());
}

/// Verify and restore of a backup whose object was damaged: both refuse, naming `what`.
fn assert_refused(env: &Env, server: &S3Server, id: &str, what: &str) {
    let verified = run(env, server, &["verify", id]);
    assert_ne!(verified.status.code(), Some(0), "{}", stdout(&verified));
    let said = format!("{}{}", stdout(&verified), stderr(&verified));
    assert!(said.contains(what), "verify names {what:?}: {said}");

    for extra in [&[][..], &["--target", "copy"]] {
        let mut args = vec!["restore", id, "--yes"];
        args.extend_from_slice(extra);
        let restored = run(env, server, &args);
        assert_eq!(restored.status.code(), Some(1), "{}", stdout(&restored));
        let message = stderr(&restored);
        assert!(message.contains(what), "restore names {what:?}: {message}");
        assert!(!env.cluster.databases().contains(&"copy".to_string()));
        assert_database_untouched(env);
    }
}

#[test]
fn a_tampered_or_truncated_object_is_refused_by_verify_and_restore() {
    let env = Env::new();
    let server = S3Server::start();
    let tampered = json(&run(&env, &server, &["create", "--json"]));
    let truncated = json(&run(&env, &server, &["create", "--json"]));
    mark_database(&env);

    let path = |entry: &Value| {
        server
            .bucket_dir()
            .join(PREFIX)
            .join(entry["filename"].as_str().unwrap())
    };
    let mut bytes = fs::read(path(&tampered)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(path(&tampered), &bytes).unwrap();
    let bytes = fs::read(path(&truncated)).unwrap();
    fs::write(path(&truncated), &bytes[..bytes.len() / 2]).unwrap();

    assert_refused(&env, &server, tampered["id"].as_str().unwrap(), "SHA-256");
    assert_refused(
        &env,
        &server,
        truncated["id"].as_str().unwrap(),
        &format!("the file has {} bytes", bytes.len() / 2),
    );
}

/// One line on stderr, exit 1, and none of `secrets` anywhere in the output or the log.
fn assert_one_clear_error(env: &Env, output: &Output, says: &str, secrets: &[&str]) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    let message = stderr(output);
    assert!(one_error_line(&message).contains(says), "{message}");
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap_or_default();
    for secret in secrets {
        assert!(!message.contains(secret), "{message}");
        assert!(!stdout(output).contains(secret), "{}", stdout(output));
        assert!(!log.contains(secret), "the log holds a secret");
    }
}

#[test]
fn a_wrong_secret_or_a_missing_bucket_is_one_clear_error_without_the_secret() {
    let env = Env::new();
    let server = S3Server::start();
    let wrong = format!("{}0", &server.secret_key[1..]);
    for command in [&["create"][..], &["list"]] {
        let output = env
            .cmd()
            .envs(server.vars())
            .env("AWS_SECRET_ACCESS_KEY", &wrong)
            .args(["--repo", &server.url(PREFIX)])
            .args(command)
            .output()
            .unwrap();
        assert_one_clear_error(
            &env,
            &output,
            "refused the credentials",
            &[&wrong, &server.secret_key],
        );
    }

    for command in [&["create"][..], &["list"]] {
        let output = env
            .cmd()
            .envs(server.vars())
            .args(["--repo", "s3://no-such-bucket/prod"])
            .args(command)
            .output()
            .unwrap();
        assert_one_clear_error(
            &env,
            &output,
            "bucket no-such-bucket does not exist",
            &[&server.secret_key],
        );
    }
    assert_eq!(server.files(), Vec::<String>::new(), "nothing was written");
}

#[test]
fn someone_elses_objects_under_the_prefix_are_never_touched() {
    let env = Env::new();
    let server = S3Server::start();
    let foreign = [
        "prod/app/README.txt",
        "prod/app/backup_notes.txt",
        "prod/app/other/backup_full_20250101_000000.sql.gz",
        "prod/app/.pgbackup-uploads-old",
        "prod/application/backup_full_20250101_000000.sql.gz",
        "prod/app.bak",
        "prod/backup_metadata.json",
    ];
    for name in foreign {
        let path = server.bucket_dir().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("not pgbackup's: {name}")).unwrap();
    }
    let untouched = || {
        for name in foreign {
            let text = fs::read_to_string(server.bucket_dir().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(text, format!("not pgbackup's: {name}"));
        }
    };

    let first = json(&run(&env, &server, &["create", "--json"]));
    for _ in 0..2 {
        assert_success(&run(&env, &server, &["create"]));
    }
    untouched();
    assert_success(&run(&env, &server, &["prune", "--keep-last", "2", "--yes"]));
    assert!(
        !server
            .files()
            .iter()
            .any(|f| f.ends_with(first["filename"].as_str().unwrap()))
    );
    untouched();
    assert_success(&run(&env, &server, &["delete", "latest", "--yes"]));
    untouched();
    fs::remove_file(
        server
            .bucket_dir()
            .join(PREFIX)
            .join("backup_metadata.json"),
    )
    .unwrap();
    let rebuilt = run(&env, &server, &["verify", "--rebuild-catalog"]);
    assert_success(&rebuilt);
    untouched();
    assert_eq!(listed(&env, &server).len(), 1);
    // A writer's sweep of unfinished uploads.
    assert_success(&run(&env, &server, &["create"]));
    untouched();
    assert_eq!(listed(&env, &server).len(), 2);
}
