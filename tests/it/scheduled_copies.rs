//! `repository` and `copies` in backup_schedule.json against a real database and a real
//! S3 server (s3s-fs): scheduled backups copied off site, each repository pruned with its
//! own retention, failed copies kept pending and made at the next heartbeat.

use std::process::Output;

use serde_json::{Value, json};

use crate::scheduled::{run_at, schedule, write_schedule};
use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, stderr, stdout};

/// A schedule whose next slot is far away: only `--force` backs up.
fn not_due(extra: Value) -> Value {
    let mut file = json!({"enabled": true, "frequency": "daily", "time": "03:00",
                          "retention": {"last": 3}, "next_run": "2099-01-01T03:00:00+00:00"});
    for (key, value) in extra.as_object().unwrap() {
        file[key] = value.clone();
    }
    file
}

fn run(env: &Env, server: &S3Server, args: &[&str]) -> Output {
    env.cmd().envs(server.vars()).args(args).output().unwrap()
}

/// The IDs `list --json` shows in `repository`, newest first.
fn ids_in(env: &Env, server: &S3Server, repository: &str) -> Vec<String> {
    let listed = run(env, server, &["list", "--json", "--repo", repository]);
    assert_success(&listed);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

fn local_ids(env: &Env) -> Vec<String> {
    let mut ids: Vec<String> = env
        .entries()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.reverse();
    ids
}

#[test]
fn each_backup_is_copied_and_each_repository_keeps_its_own_retention() {
    let env = Env::new();
    let server = S3Server::start();
    let folder = tempfile::tempdir().unwrap();
    let usb = folder.path().join("usb");
    let s3 = server.url("off-site");
    write_schedule(
        &env,
        not_due(json!({"copies": [
            {"repository": s3, "retention": {"last": 1}},
            {"repository": usb.display().to_string()}
        ]})),
    );
    for _ in 0..4 {
        let output = run(&env, &server, &["run-scheduled", "--force"]);
        assert_success(&output);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let local = local_ids(&env);
    assert_eq!(local.len(), 3, "local keeps its last 3: {local:?}");
    assert_eq!(
        ids_in(&env, &server, &s3),
        local[..1],
        "S3 keeps its last 1, the newest"
    );
    assert_eq!(
        ids_in(&env, &server, &usb.display().to_string()),
        local,
        "a copy without retention keeps what the schedule's retention keeps"
    );
    let verified = run(&env, &server, &["verify", "--json", "--repo", &s3]);
    assert_success(&verified);
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "ok");
    assert!(state.get("pending_copies").is_none(), "{state}");
}

#[test]
fn a_failed_copy_fails_the_run_stays_pending_and_the_next_heartbeat_makes_it() {
    let env = Env::new();
    let mut server = S3Server::start();
    let s3 = server.url("off-site");
    write_schedule(
        &env,
        not_due(json!({"copies": [{"repository": s3, "retention": {"last": 1}}]})),
    );
    server.kill();
    let failed = run(&env, &server, &["run-scheduled", "--force"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let message = stderr(&failed);
    let id = local_ids(&env).pop().expect("the local backup is kept");
    assert!(
        message.contains(&format!("backup {id} is kept in"))
            && message.contains(&format!("copying it to {s3} failed")),
        "{message}"
    );
    assert!(!message.contains(&server.secret_key), "{message}");
    let listed = env.run(&["list", "--json"]);
    assert_success(&listed);
    assert!(stdout(&listed).contains(&id), "{}", stdout(&listed));
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "ok", "{state}");
    assert_eq!(state["last_result"]["backup_id"], id.as_str());
    assert_eq!(state["pending_copies"][0]["repository"], s3.as_str());
    assert_eq!(state["pending_copies"][0]["backup_id"], id.as_str());
    assert!(state["pending_copies"][0]["error"].is_string(), "{state}");
    assert!(!state.to_string().contains(&server.secret_key), "{state}");
    let log = std::fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    assert!(
        log.lines().last().unwrap().contains("result=failed"),
        "{log}"
    );

    // Still down: the heartbeat (nothing due) fails again and keeps it pending.
    let still = run(&env, &server, &["run-scheduled"]);
    assert_eq!(still.status.code(), Some(1), "{}", stderr(&still));
    assert!(stderr(&still).contains(&s3), "{}", stderr(&still));
    assert_eq!(
        schedule(&env)["pending_copies"][0]["backup_id"],
        id.as_str()
    );

    server.restart();
    let heartbeat = run(&env, &server, &["run-scheduled"]);
    assert_success(&heartbeat);
    assert_eq!(
        local_ids(&env),
        std::slice::from_ref(&id),
        "no backup was due"
    );
    assert_eq!(ids_in(&env, &server, &s3), [id]);
    let state = schedule(&env);
    assert!(state.get("pending_copies").is_none(), "{state}");
    let shown = env.run(&["schedule", "show", "--json"]);
    assert!(
        !stdout(&shown).contains("pending_copies"),
        "{}",
        stdout(&shown)
    );
}

#[test]
fn the_schedule_repository_is_used_without_repo() {
    let env = Env::new();
    let server = S3Server::start();
    let s3 = server.url("primary");
    write_schedule(&env, not_due(json!({"repository": s3})));
    let created = run(&env, &server, &["create", "--json"]);
    assert_success(&created);
    let entry: Value = serde_json::from_slice(&created.stdout).unwrap();
    let file = entry["filename"].as_str().unwrap();
    assert!(
        server.files().contains(&format!("primary/{file}")),
        "{:?}",
        server.files()
    );
    assert!(env.files().is_empty(), "{:?}", env.files());
    let listed = run(&env, &server, &["list", "--json"]);
    assert_success(&listed);
    assert!(stdout(&listed).contains(file), "{}", stdout(&listed));
    let elsewhere = env.home().join("backups").display().to_string();
    let overridden = run(&env, &server, &["list", "--json", "--repo", &elsewhere]);
    assert_success(&overridden);
    assert!(!stdout(&overridden).contains(file), "--repo wins");
    let by_env = env
        .cmd()
        .envs(server.vars())
        .env("PGBACKUP_REPO", &elsewhere)
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert_success(&by_env);
    assert!(!stdout(&by_env).contains(file), "PGBACKUP_REPO wins");
}

#[test]
fn damaged_repositories_and_copies_are_reported_clearly() {
    let env = Env::new();
    let server = S3Server::start();
    let s3 = server.url("off-site");

    write_schedule(
        &env,
        not_due(json!({"copies": [{"repository": "ftp://host/x"}]})),
    );
    let refused = run(&env, &server, &["run-scheduled", "--force"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("invalid \"copies[0].repository\"")
            && stderr(&refused).contains("neither"),
        "{}",
        stderr(&refused)
    );
    assert!(env.entries().is_empty(), "nothing is backed up");
    let status = run(&env, &server, &["status"]);
    assert_eq!(status.status.code(), Some(2), "{}", stdout(&status));

    write_schedule(
        &env,
        not_due(json!({"repository": s3, "copies": [{"repository": format!("{s3}/")}]})),
    );
    let same = run(&env, &server, &["run-scheduled", "--force"]);
    assert_eq!(same.status.code(), Some(1), "{}", stderr(&same));
    assert!(
        stderr(&same).contains("is the primary repository"),
        "{}",
        stderr(&same)
    );

    // The primary named by --repo instead: refused at the copy, the backup still made.
    write_schedule(&env, not_due(json!({"copies": [{"repository": s3}]})));
    let via_flag = run(&env, &server, &["run-scheduled", "--force", "--repo", &s3]);
    assert_eq!(via_flag.status.code(), Some(1), "{}", stderr(&via_flag));
    assert!(
        stderr(&via_flag).contains("is the primary repository"),
        "{}",
        stderr(&via_flag)
    );

    write_schedule(&env, not_due(json!({"repository": "relative/folder"})));
    let list = run(&env, &server, &["list"]);
    assert_eq!(list.status.code(), Some(2), "{}", stderr(&list));
    assert!(
        stderr(&list).contains("invalid \"repository\"") && stderr(&list).contains("--repo"),
        "{}",
        stderr(&list)
    );
    let named = run(&env, &server, &["list", "--repo", &s3]);
    assert_success(&named);
}

#[test]
fn a_repository_whose_copy_failed_is_not_pruned() {
    let env = Env::new();
    let folder = tempfile::tempdir().unwrap();
    let usb = folder.path().join("usb").display().to_string();
    let with_copy = |retention: Value| {
        let mut copy = json!({"repository": usb});
        if !retention.is_null() {
            copy["retention"] = retention;
        }
        not_due(json!({"copies": [copy]}))
    };
    write_schedule(&env, with_copy(Value::Null));
    for when in ["2025-04-06 03:00:00", "2025-04-07 03:00:00"] {
        assert_success(&run_at(&env, when, &["run-scheduled", "--force"]));
    }
    let copied = ["20250407_030000", "20250406_030000"];
    let listed = |env: &Env| {
        let output = env.run(&["list", "--json", "--repo", &usb]);
        assert_success(&output);
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(&env), copied);

    // The next copy cannot be made (something else holds its name); the copy repository's
    // own retention would now keep only one.
    let mut state = schedule(&env);
    state["copies"][0]["retention"] = json!({"last": 1});
    write_schedule(&env, state);
    std::fs::create_dir(format!("{usb}/backup_full_20250408_030000.sql.gz")).unwrap();
    let failed = run_at(&env, "2025-04-08 03:00:00", &["run-scheduled", "--force"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(stderr(&failed).contains(&usb), "{}", stderr(&failed));
    assert_eq!(
        listed(&env),
        copied,
        "nothing was pruned after the failed copy"
    );
    assert_eq!(local_ids(&env).len(), 3);
}
