//! `pgbackup copy ID... --to URL` between a local folder and S3 (a real s3s-fs) both ways:
//! the copy is listed, verified and restored from the other repository, copying again
//! uploads nothing, and a file changed after its backup is refused with nothing left in
//! the destination.

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, stderr, stdout};

const PREFIX: &str = "offsite/app";

/// pgbackup with the S3 server's variables.
fn run(env: &Env, server: &S3Server, args: &[&str]) -> Output {
    env.cmd().envs(server.vars()).args(args).output().unwrap()
}

/// pgbackup with its repository in the bucket.
fn run_s3(env: &Env, server: &S3Server, args: &[&str]) -> Output {
    let url = server.url(PREFIX);
    let mut all = vec!["--repo", url.as_str()];
    all.extend_from_slice(args);
    run(env, server, &all)
}

fn json(output: &Output) -> Value {
    assert_success(output);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

/// The bucket's objects under the prefix, other than the catalog.
fn objects_besides_catalog(server: &S3Server) -> Vec<String> {
    (server.files().into_iter())
        .filter(|o| o != &format!("{PREFIX}/backup_metadata.json"))
        .collect()
}

/// Multipart uploads s3s-fs holds that were neither completed nor aborted (it keeps them
/// beside the buckets).
fn unfinished_uploads(server: &S3Server) -> Vec<String> {
    let data = server.bucket_dir().parent().unwrap().to_path_buf();
    (fs::read_dir(data).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload"))
        .collect()
}

fn audit_log(home: &Path) -> String {
    fs::read_to_string(home.join("logs/pgbackup.log")).unwrap_or_default()
}

#[test]
fn a_local_backup_copied_to_s3_is_listed_verified_and_restored_from_there_once() {
    let env = Env::new();
    let server = S3Server::start();
    let entry = env.create(&["--description", "to the cloud"]);
    let (id, file) = (
        entry["id"].as_str().unwrap(),
        entry["filename"].as_str().unwrap(),
    );

    let copied = run(
        &env,
        &server,
        &["copy", "latest", "--to", &server.url(PREFIX)],
    );
    assert_success(&copied);
    assert_eq!(
        stdout(&copied).trim(),
        format!("copied backup {id} to {}", server.url(PREFIX)),
    );
    let object = server.bucket_dir().join(PREFIX).join(file);
    assert_eq!(
        fs::read(&object).unwrap(),
        fs::read(env.backups_dir().join(file)).unwrap()
    );
    assert!(
        server
            .files()
            .contains(&format!("{PREFIX}/{file}.meta.json")),
        "{:?}",
        server.files()
    );

    let listed = json(&run_s3(&env, &server, &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["state"], "ok", "{listed}");
    assert_eq!(listed[0]["description"], "to the cloud");
    let verified = json(&run_s3(&env, &server, &["verify", "--json"]));
    assert_eq!(verified[0]["result"], "ok", "{verified}");
    let restored = run_s3(
        &env,
        &server,
        &["restore", id, "--target", "fromcloud", "--yes"],
    );
    assert_success(&restored);
    assert_eq!(env.cluster.dump("fromcloud"), env.cluster.dump("app"));

    // Again: already there, nothing uploaded (the object is the same file, untouched).
    let before = fs::metadata(&object).unwrap().modified().unwrap();
    let again = run(
        &env,
        &server,
        &["copy", id, "--to", &server.url(PREFIX), "--json"],
    );
    let report = json(&again);
    assert_eq!(report["to"], server.url(PREFIX));
    assert_eq!(report["backups"][0]["id"], id);
    assert_eq!(report["backups"][0]["outcome"], "already_there", "{report}");
    assert_eq!(report["backups"][0]["sha256"], entry["sha256"]);
    assert_eq!(fs::metadata(&object).unwrap().modified().unwrap(), before);
    let text = run(&env, &server, &["copy", id, "--to", &server.url(PREFIX)]);
    assert_success(&text);
    assert!(stdout(&text).contains("already in"), "{}", stdout(&text));
    assert_eq!(
        json(&run_s3(&env, &server, &["list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let log = audit_log(&env.home());
    assert!(log.contains(&format!("copied={id}")), "{log}");
    assert!(log.contains(&format!("already_there={id}")), "{log}");
    for shown in [
        stdout(&copied),
        stderr(&copied),
        stdout(&again),
        stderr(&again),
        log,
    ] {
        assert!(
            !shown.contains(&server.secret_key),
            "the secret leaked: {shown}"
        );
    }
}

#[test]
fn a_backup_in_s3_copied_to_a_new_hosts_folder_is_restored_there() {
    let env = Env::new();
    let server = S3Server::start();
    let made = json(&run_s3(
        &env,
        &server,
        &["create", "--json", "--format", "custom"],
    ));
    let id = made["id"].as_str().unwrap();

    // The new host: an empty home of its own, the bucket its only source.
    let new_host = tempfile::tempdir().unwrap();
    let home = new_host.path().join("home");
    let home_arg = home.display().to_string();
    let folder = home.join("backups").display().to_string();
    let copied = run_s3(
        &env,
        &server,
        &[
            "--home", &home_arg, "copy", "latest", "--to", &folder, "--json",
        ],
    );
    let report = json(&copied);
    assert_eq!(report["backups"][0]["outcome"], "copied", "{report}");
    assert!(
        home.join("backups")
            .join(made["filename"].as_str().unwrap())
            .is_file()
    );

    let listed = json(&run(
        &env,
        &server,
        &["--home", &home_arg, "list", "--json"],
    ));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["state"], "ok", "{listed}");
    let restored = run(
        &env,
        &server,
        &[
            "--home", &home_arg, "restore", "latest", "--target", "newhost", "--yes",
        ],
    );
    assert_success(&restored);
    assert_eq!(env.cluster.dump("newhost"), env.cluster.dump("app"));
    assert!(!audit_log(&home).contains(&server.secret_key));
}

#[test]
fn a_backup_changed_after_it_was_recorded_is_not_copied() {
    let env = Env::new();
    let server = S3Server::start();
    // More than one 16 MiB part: the refused copy is a multipart upload, aborted.
    env.cluster.psql(
        "app",
        "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g + 1)::text) AS t
         FROM generate_series(1, 300000) g",
    );
    let entry = env.create(&["--no-compress"]);
    assert!(entry["size"].as_u64().unwrap() > 16 << 20, "{entry}");
    let id = entry["id"].as_str().unwrap();
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    // Same size, one byte changed: only the SHA-256 tells.
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    fs::write(&path, &bytes).unwrap();

    let output = run(&env, &server, &["copy", id, "--to", &server.url(PREFIX)]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains(id), "{message}");
    assert!(
        message.contains(entry["sha256"].as_str().unwrap()),
        "{message}"
    );
    assert!(message.contains("SHA-256"), "{message}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));

    let listed = json(&run_s3(&env, &server, &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    assert_eq!(objects_besides_catalog(&server), Vec::<String>::new());
    let log = audit_log(&env.home());
    assert!(log.contains("result=failed"), "{log}");
    assert!(!log.contains(&server.secret_key), "{log}");
}

#[test]
fn folder_to_folder_copies_and_bad_selections_are_refused() {
    let env = Env::new();
    let server = S3Server::start();
    let entry = env.create(&[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let to = elsewhere.path().join("repo").display().to_string();

    let unknown = env.run(&["copy", "19990101_000000", "--to", &to]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no backup with ID"),
        "{}",
        stderr(&unknown)
    );
    assert!(!elsewhere.path().join("repo/backup_metadata.json").exists());

    let folder = env.backups_dir().display().to_string();
    for same in [
        folder.clone(),
        format!("{folder}/"),
        format!("{folder}/../backups"),
    ] {
        let output = env.run(&["copy", "latest", "--to", &same]);
        assert_eq!(output.status.code(), Some(2), "{same}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("is the repository"),
            "{}",
            stderr(&output)
        );
    }
    let output = run_s3(
        &env,
        &server,
        &["copy", "latest", "--to", &server.url(&format!("{PREFIX}/"))],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));

    let copied = env.run(&["copy", "latest", entry["id"].as_str().unwrap(), "--to", &to]);
    assert_success(&copied);
    assert_eq!(stdout(&copied).lines().count(), 1, "{}", stdout(&copied));
    let listed = json(&env.run(&["--repo", &to, "list", "--json"]));
    assert_eq!(listed[0]["id"], entry["id"], "{listed}");
    assert_eq!(listed[0]["state"], "ok", "{listed}");
    let verified = json(&env.run(&["--repo", &to, "verify", "--json"]));
    assert_eq!(verified[0]["result"], "ok", "{verified}");
}

#[test]
fn a_copy_killed_before_or_after_its_commit_is_finished_by_the_next_one() {
    let env = Env::new();
    let server = S3Server::start();
    env.cluster.psql(
        "app",
        "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g + 1)::text) AS t
         FROM generate_series(1, 300000) g",
    );
    let entry = env.create(&["--no-compress"]);
    let (id, file) = (
        entry["id"].as_str().unwrap(),
        entry["filename"].as_str().unwrap(),
    );
    let url = server.url(PREFIX);
    let copy = |fault: Option<&str>| {
        let mut cmd = env.cmd();
        cmd.envs(server.vars())
            .args(["copy", id, "--to", &url, "--json"]);
        if let Some(point) = fault {
            cmd.env("PGBACKUP_FAULT", point);
        }
        cmd.output().unwrap()
    };

    // Killed with the upload complete but not committed: a leftover, never a backup.
    let killed = copy(Some("copy:before-commit"));
    assert_eq!(killed.status.code(), None, "{}", stderr(&killed));
    let left = objects_besides_catalog(&server);
    assert!(
        left.iter().any(|o| o.contains(".pgbackup-uploads")),
        "{left:?}"
    );
    assert!(!left.contains(&format!("{PREFIX}/{file}")), "{left:?}");
    assert!(
        json(&run_s3(&env, &server, &["list", "--json"]))
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(!unfinished_uploads(&server).is_empty());
    let report = json(&copy(None));
    assert_eq!(report["backups"][0]["outcome"], "copied", "{report}");
    assert_eq!(unfinished_uploads(&server), Vec::<String>::new());
    let left = objects_besides_catalog(&server);
    assert!(
        !left.iter().any(|o| o.contains(".pgbackup-uploads")),
        "{left:?}"
    );

    // Killed with the object committed but not recorded: the next copy records it.
    let second = tempfile::tempdir().unwrap();
    let folder = second.path().join("repo").display().to_string();
    assert_success(&run_s3(&env, &server, &["copy", id, "--to", &folder]));
    let fresh = S3Server::start();
    let to = fresh.url(PREFIX);
    let mut cmd = env.cmd();
    cmd.envs(fresh.vars())
        .env("PGBACKUP_FAULT", "copy:after-commit");
    let killed = cmd
        .args(["--repo", &folder, "copy", id, "--to", &to])
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), None, "{}", stderr(&killed));
    assert!(
        fresh.files().contains(&format!("{PREFIX}/{file}")),
        "{:?}",
        fresh.files()
    );
    let mut cmd = env.cmd();
    let again = cmd
        .envs(fresh.vars())
        .args(["--repo", &folder, "copy", id, "--to", &to, "--json"]);
    let report = json(&again.output().unwrap());
    assert_eq!(report["backups"][0]["outcome"], "already_there", "{report}");
    let mut cmd = env.cmd();
    let listed = cmd
        .envs(fresh.vars())
        .args(["--repo", &to, "list", "--json"]);
    let listed = json(&listed.output().unwrap());
    assert_eq!(listed[0]["id"], id, "{listed}");
    assert_eq!(listed[0]["state"], "ok", "{listed}");
}
