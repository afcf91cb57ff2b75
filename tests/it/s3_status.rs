//! `status` with more than one repository, against a real database and a real S3 server
//! (s3s-fs): each repository with its count, size and newest backup, in the report, the
//! JSON and the Prometheus metrics; a bucket that cannot be reached is CRITICAL with the
//! reason, and the commands that never touch backups still work while it is down.

use std::process::Output;

use serde_json::{Value, json};

use crate::scheduled::write_schedule;
use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, stderr, stdout};

/// A schedule whose next slot is far away, with `extra` fields.
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

/// `status --json ARGS`: the exit code and the report.
fn status(env: &Env, server: &S3Server, args: &[&str]) -> (i32, Value) {
    let output = run(env, server, &[&["status", "--json"], args].concat());
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json printed invalid JSON ({e}): {}\n{}",
            stdout(&output),
            stderr(&output)
        )
    });
    assert!(
        !stdout(&output).contains(&server.secret_key)
            && !stderr(&output).contains(&server.secret_key),
        "the secret is shown"
    );
    (output.status.code().unwrap(), report)
}

fn reasons(report: &Value) -> String {
    report["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}: {}", r["state"], r["message"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Two local backups, the first also copied to `s3`: the copy made by a scheduled run.
fn two_local_one_copied(env: &Env, server: &S3Server, s3: &str) -> (Vec<Value>, u64) {
    write_schedule(env, not_due(json!({"copies": [{"repository": s3}]})));
    assert_success(&run(env, server, &["run-scheduled", "--force"]));
    let copied = env.entries();
    assert_eq!(copied.len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = env.create(&[]);
    let mut entries = env.entries();
    entries.sort_by_key(|e| e["id"].as_str().unwrap().to_string());
    assert_eq!(entries[1]["id"], second["id"]);
    let size = |e: &Value| e["size"].as_u64().unwrap();
    (entries.clone(), size(&entries[0]))
}

#[test]
fn each_repository_is_reported_with_its_own_backups() {
    let env = Env::new();
    let server = S3Server::start();
    let s3 = server.url("off-site");
    let (entries, copied_size) = two_local_one_copied(&env, &server, &s3);
    let local_bytes: u64 = entries.iter().map(|e| e["size"].as_u64().unwrap()).sum();

    let (code, report) = status(&env, &server, &[]);
    assert_eq!(code, 0, "{}", reasons(&report));
    let repositories = report["repositories"].as_array().unwrap();
    assert_eq!(repositories.len(), 2, "{report}");
    let (local, copy) = (&repositories[0], &repositories[1]);
    assert_eq!(
        local["repository"],
        env.backups_dir().display().to_string().as_str()
    );
    assert_eq!(local["role"], "primary");
    assert_eq!(local["reachable"], true);
    assert_eq!(local["count"], 2);
    assert_eq!(local["total_bytes"], local_bytes);
    assert_eq!(local["groups"][0]["newest"]["id"], entries[1]["id"]);
    assert_eq!(copy["repository"], "s3://pgbackup-test/off-site");
    assert_eq!(copy["role"], "copy");
    assert_eq!(copy["reachable"], true);
    assert_eq!(copy["error"], Value::Null);
    assert_eq!(copy["count"], 1);
    assert_eq!(copy["total_bytes"], copied_size);
    assert_eq!(copy["pending_copies"], json!([]));
    let group = &copy["groups"][0];
    assert_eq!(
        (group["database"].as_str(), group["type"].as_str()),
        (Some("app"), Some("full"))
    );
    assert_eq!(group["newest"]["id"], entries[0]["id"]);
    assert_eq!(group["newest"]["size_bytes"], copied_size);
    assert!(
        group["newest"]["age_seconds"].as_i64().unwrap() < 600,
        "{group}"
    );
    assert_eq!(
        report["backups"]["count"], 2,
        "the backups section stays the primary's"
    );

    let shown = run(&env, &server, &["status"]);
    assert_eq!(shown.status.code(), Some(0), "{}", stdout(&shown));
    let text = stdout(&shown);
    for line in [
        format!(
            "repos     {} (primary): 2 complete, ",
            env.backups_dir().display()
        ),
        "          s3://pgbackup-test/off-site (copy): 1 complete, ".to_string(),
        format!(
            "            app full: newest {} ",
            entries[0]["id"].as_str().unwrap()
        ),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&line)),
            "{line:?} not in\n{text}"
        );
    }

    let metrics = run(&env, &server, &["status", "--prometheus"]);
    assert_eq!(metrics.status.code(), Some(0));
    let text = stdout(&metrics);
    let local = env.backups_dir().display().to_string();
    for line in [
        "pgbackup_repository_up{repository=\"s3://pgbackup-test/off-site\"} 1".to_string(),
        "pgbackup_repository_backups{repository=\"s3://pgbackup-test/off-site\"} 1".to_string(),
        format!("pgbackup_repository_backups_bytes{{repository=\"s3://pgbackup-test/off-site\"}} {copied_size}"),
        "pgbackup_repository_pending_copies{repository=\"s3://pgbackup-test/off-site\"} 0".to_string(),
        "pgbackup_backups{repository=\"s3://pgbackup-test/off-site\",database=\"app\",type=\"full\"} 1".to_string(),
        format!("pgbackup_backups{{repository=\"{local}\",database=\"app\",type=\"full\"}} 2"),
        format!("pgbackup_repository_up{{repository=\"{local}\"}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }
    assert!(!text.contains(&server.access_key) && !text.contains(&server.secret_key));
}

#[test]
fn an_unreachable_copy_repository_is_critical_and_its_pending_copies_a_warning() {
    let env = Env::new();
    let mut server = S3Server::start();
    let s3 = server.url("off-site");
    write_schedule(&env, not_due(json!({"copies": [{"repository": s3}]})));
    server.kill();
    let failed = run(&env, &server, &["run-scheduled", "--force"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let id = env.entries()[0]["id"].as_str().unwrap().to_string();

    let (code, report) = status(&env, &server, &[]);
    assert_eq!(code, 2, "{}", reasons(&report));
    assert_eq!(report["state"], "critical");
    let first = report["reasons"][0]["message"].as_str().unwrap();
    assert!(
        first
            .starts_with("repository s3://pgbackup-test/off-site is unreachable: could not reach ")
            && first.ends_with("; 1 backup waits to be copied to it")
            && !first.contains('\n'),
        "{}",
        reasons(&report)
    );
    let copy = &report["repositories"][1];
    assert_eq!(copy["reachable"], false);
    assert_eq!(copy["count"], Value::Null);
    assert!(
        copy["error"]
            .as_str()
            .unwrap()
            .starts_with("could not reach"),
        "{copy}"
    );
    assert_eq!(copy["pending_copies"][0]["backup_id"], id.as_str());
    assert_eq!(
        report["repositories"][0]["count"], 1,
        "the local backup still counts"
    );
    let metrics = run(&env, &server, &["status", "--prometheus"]);
    assert_eq!(metrics.status.code(), Some(2));
    let text = stdout(&metrics);
    for line in [
        "pgbackup_status_state 2",
        "pgbackup_repository_up{repository=\"s3://pgbackup-test/off-site\"} 0",
        "pgbackup_repository_pending_copies{repository=\"s3://pgbackup-test/off-site\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }
    let shown = stdout(&run(&env, &server, &["status"]));
    assert!(
        shown.contains("s3://pgbackup-test/off-site (copy): unreachable: could not reach"),
        "{shown}"
    );

    // Back up: reachable again, and the copy still waiting is a warning until the next run.
    server.restart();
    let (code, report) = status(&env, &server, &[]);
    assert_eq!(code, 1, "{}", reasons(&report));
    assert_eq!(
        report["reasons"].as_array().unwrap().len(),
        1,
        "{}",
        reasons(&report)
    );
    let warning = report["reasons"][0]["message"].as_str().unwrap();
    assert!(
        warning.starts_with(
            "1 backup waits to be copied to s3://pgbackup-test/off-site (last error: "
        ) && warning.ends_with(&format!("the next run-scheduled retries: {id}")),
        "{warning}"
    );
    assert_success(&run(&env, &server, &["run-scheduled"]));
    let (code, report) = status(&env, &server, &[]);
    assert_eq!(code, 0, "{}", reasons(&report));
    assert_eq!(report["repositories"][1]["count"], 1);
}

#[test]
fn wrong_credentials_and_a_missing_bucket_are_critical_with_the_reason() {
    let env = Env::new();
    let server = S3Server::start();
    env.create(&[]);
    write_schedule(
        &env,
        not_due(json!({"copies": [{"repository": "s3://no-such-bucket/x"}]})),
    );
    let (code, report) = status(&env, &server, &[]);
    assert_eq!(code, 2, "{}", reasons(&report));
    assert!(
        reasons(&report).contains(
            "repository s3://no-such-bucket/x is unreachable: bucket no-such-bucket does not exist"
        ),
        "{}",
        reasons(&report)
    );

    let s3 = server.url("off-site");
    write_schedule(&env, not_due(json!({"copies": [{"repository": s3}]})));
    let output = env
        .cmd()
        .envs(server.vars())
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        reasons(&report).contains("repository s3://pgbackup-test/off-site is unreachable: ")
            && reasons(&report).contains("refused the credentials"),
        "{}",
        reasons(&report)
    );
    assert!(
        !stdout(&output).contains("not-the-secret"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_s3_primary_is_reported_and_schedule_commands_work_while_it_is_down() {
    let env = Env::new();
    let mut server = S3Server::start();
    let s3 = server.url("primary");
    let created = run(&env, &server, &["create", "--json", "--repo", &s3]);
    assert_success(&created);
    let entry: Value = serde_json::from_slice(&created.stdout).unwrap();

    // `status --repo`: the one repository, and no unknown free space for a bucket.
    let (code, report) = status(&env, &server, &["--repo", &s3]);
    assert_eq!(code, 0, "{}", reasons(&report));
    let repositories = report["repositories"].as_array().unwrap();
    assert_eq!(repositories.len(), 1, "{report}");
    assert_eq!(repositories[0]["repository"], "s3://pgbackup-test/primary");
    assert_eq!(repositories[0]["count"], 1);
    assert_eq!(repositories[0]["total_bytes"], entry["size"]);
    assert_eq!(repositories[0]["groups"][0]["newest"]["id"], entry["id"]);
    assert_eq!(report["backups"]["filesystem"], Value::Null);

    write_schedule(&env, not_due(json!({"repository": s3})));
    server.kill();
    let (code, report) = status(&env, &server, &[]);
    assert_eq!(code, 2, "{}", reasons(&report));
    assert!(
        report["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("repository s3://pgbackup-test/primary is unreachable: could not reach"),
        "{}",
        reasons(&report)
    );
    assert_eq!(report["backups"], Value::Null);
    assert_eq!(report["repositories"][0]["reachable"], false);

    let shown = run(&env, &server, &["schedule", "show", "--json"]);
    assert_success(&shown);
    assert!(
        stdout(&shown).contains("s3://pgbackup-test/primary"),
        "{}",
        stdout(&shown)
    );
    let set = run(
        &env,
        &server,
        &["schedule", "set", "--time", "04:00", "--yes"],
    );
    assert_success(&set);
    assert_eq!(crate::scheduled::schedule(&env)["time"], "04:00");

    // A command that needs the backups fails at its first use, in one clear line.
    let listed = run(&env, &server, &["list"]);
    assert_eq!(listed.status.code(), Some(1), "{}", stderr(&listed));
    let message = stderr(&listed);
    assert!(
        message.contains("cannot open s3://pgbackup-test/primary: could not reach"),
        "{message}"
    );
    assert!(!message.contains(&server.secret_key), "{message}");
}
