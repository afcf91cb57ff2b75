//! pgbackup with its repository in S3 (`--repo s3://BUCKET/PREFIX`, a real s3s-fs):
//! create streams the backup into the bucket, and list, verify, restore and delete work on
//! it there, with nothing written to the local backups folder and no secret in the log.

use std::fs;

use serde_json::Value;

use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, stderr, stdout};

fn run(env: &Env, server: &S3Server, args: &[&str]) -> std::process::Output {
    env.cmd()
        .envs(server.vars())
        .arg("--repo")
        .arg(server.url("prod/app"))
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

#[test]
fn a_backup_made_into_s3_is_listed_verified_restored_and_deleted_there() {
    let env = Env::new();
    let server = S3Server::start();

    let created = run(
        &env,
        &server,
        &["create", "--json", "--description", "off site"],
    );
    assert_success(&created);
    let entry = json(&created);
    let file = entry["filename"].as_str().unwrap().to_string();
    let objects = server.files();
    for name in [
        &file,
        &format!("{file}.meta.json"),
        &"backup_metadata.json".to_string(),
    ] {
        assert!(
            objects.iter().any(|o| o == &format!("prod/app/{name}")),
            "{name} is not in the bucket: {objects:?}"
        );
    }
    assert!(
        env.files().is_empty(),
        "nothing goes to the local folder: {:?}",
        env.files()
    );

    let listed = json(&run(&env, &server, &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["state"], "ok", "{listed}");
    assert_eq!(listed[0]["description"], "off site");

    let verified = run(&env, &server, &["verify", "--json"]);
    assert_success(&verified);
    assert_eq!(json(&verified)[0]["result"], "ok");

    let restored = run(
        &env,
        &server,
        &["restore", "latest", "--target", "copy", "--yes"],
    );
    assert_success(&restored);
    assert_eq!(env.cluster.dump("copy"), env.cluster.dump("app"));

    let deleted = run(
        &env,
        &server,
        &["delete", entry["id"].as_str().unwrap(), "--yes"],
    );
    assert_success(&deleted);
    let left: Vec<String> = server
        .files()
        .into_iter()
        .filter(|o| o.starts_with("prod/app/backup_full"))
        .collect();
    assert!(
        left.is_empty(),
        "the backup is gone from the bucket: {left:?}"
    );

    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(
        !log.contains(&server.secret_key),
        "the audit log holds the secret"
    );
}

#[test]
fn a_repository_that_cannot_be_reached_is_one_clear_error() {
    let env = Env::new();
    let mut server = S3Server::start();
    server.kill();
    let output = run(&env, &server, &["create"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("could not reach"), "{message}");
    assert!(!message.contains(&server.secret_key), "{message}");
    assert!(env.entries().is_empty());
}
