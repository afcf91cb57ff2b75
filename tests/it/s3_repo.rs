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

fn ids(env: &Env, server: &S3Server) -> Vec<String> {
    let listed = json(&run(env, server, &["list", "--json"]));
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

fn backup_objects(server: &S3Server) -> Vec<String> {
    let mut found: Vec<String> = server
        .files()
        .into_iter()
        .filter(|o| o.starts_with("prod/app/backup_full") && !o.ends_with(".meta.json"))
        .collect();
    found.sort();
    found
}

#[test]
fn view_pin_restore_test_swap_and_prune_work_on_a_bucket() {
    let env = Env::new();
    let server = S3Server::start();
    let mut made = Vec::new();
    for n in 1..=3 {
        env.cluster
            .psql("app", &format!("CREATE TABLE made_{n} (id int)"));
        let created = run(&env, &server, &["create", "--json"]);
        assert_success(&created);
        made.push(json(&created)["id"].as_str().unwrap().to_string());
    }
    assert_eq!(backup_objects(&server).len(), 3);

    let viewed = run(&env, &server, &["view", &made[0], "--json"]);
    assert_success(&viewed);
    assert_eq!(json(&viewed)["id"], made[0].as_str());
    let contents = run(&env, &server, &["view", &made[0], "--contents"]);
    assert_success(&contents);
    assert!(
        stdout(&contents).contains("made_1"),
        "{}",
        stdout(&contents)
    );
    assert!(
        !stdout(&contents).contains("made_2"),
        "{}",
        stdout(&contents)
    );

    assert_success(&run(&env, &server, &["pin", &made[0]]));
    let tested = run(&env, &server, &["verify", "--restore-test", "--json"]);
    assert_success(&tested);
    let results = json(&tested);
    assert_eq!(results.as_array().unwrap().len(), 3, "{results}");
    for result in results.as_array().unwrap() {
        assert_eq!(result["result"], "ok", "{results}");
    }
    assert!(
        !env.cluster
            .databases()
            .iter()
            .any(|d| !["app", "postgres", "template0", "template1"].contains(&d.as_str())),
        "the restore test leaves no scratch database: {:?}",
        env.cluster.databases()
    );

    // The default restore swaps the newest backup in for the current database.
    env.cluster.psql("app", "CREATE TABLE made_after (id int)");
    let before = env.cluster.dump("app");
    let restored = run(&env, &server, &["restore", &made[1], "--yes"]);
    assert_success(&restored);
    let now = env.cluster.dump("app");
    assert_ne!(now, before);
    assert!(now.contains("made_2") && !now.contains("made_3"), "{now}");
    assert!(!now.contains("made_after"), "{now}");

    // Retention in the bucket: the pinned and the newest stay, the middle one goes.
    let pruned = run(&env, &server, &["prune", "--keep-last", "1"]);
    assert_success(&pruned);
    let mut kept = ids(&env, &server);
    kept.sort();
    assert_eq!(kept, vec![made[0].clone(), made[2].clone()]);
    let objects = backup_objects(&server);
    assert_eq!(objects.len(), 2, "{objects:?}");
    let middle = format!("backup_full_{}.", made[1]);
    assert!(!objects.iter().any(|o| o.contains(&middle)), "{objects:?}");
    assert!(
        !server.files().iter().any(|o| o.contains(&middle)),
        "the pruned backup's metadata object is gone too"
    );

    assert_success(&run(&env, &server, &["unpin", &made[0]]));
    assert_success(&run(&env, &server, &["prune", "--keep-last", "1"]));
    assert_eq!(ids(&env, &server), vec![made[2].clone()]);
}
