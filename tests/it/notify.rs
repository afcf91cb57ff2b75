//! Hooks and notifications against a real HTTP server on loopback: webhooks get the
//! documented JSON, the ping follows healthchecks.io's start → success/fail, a failing or
//! hung endpoint never fails the backup, hooks see the outcome, and no secret leaks.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::scheduled::{schedule, write_schedule};
use crate::support::http::{Recorder, Reply};
use crate::support::{Env, assert_success, stderr, stdout};

const TOKEN: &str = "S3CRET-T0KEN-4711";
const HOOK_PATH: &str = "/hook/secret-path-0815";

fn daily(notify: Value) -> Value {
    json!({"enabled": true, "frequency": "daily", "time": "03:00",
           "retention": {"daily": 7}, "next_run": "2099-01-01 03:00:00",
           "notify": notify})
}

/// Everything pgbackup wrote that may be read by others: logs/ (the audit log).
fn logs(env: &Env) -> String {
    fs::read_dir(env.home().join("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|f| fs::read_to_string(f.path()).unwrap_or_default())
        .collect()
}

fn audit(env: &Env) -> String {
    fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap_or_default()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [TOKEN, HOOK_PATH, "secret-path", "/ping/uuid"] {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

/// A script writing its PGBACKUP_* variables to `out`, then exiting with `code`.
fn env_hook(dir: &Path, name: &str, out: &Path, code: i32) -> Vec<String> {
    let path = dir.join(name);
    fs::write(
        &path,
        format!(
            "#!/bin/sh\nenv | grep '^PGBACKUP_' > '{}'\necho \"hook {name} says\" >&2\nexit {code}\n",
            out.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    vec![
        path.display().to_string(),
        "--arg-with-S3CRET-T0KEN-4711".to_string(),
    ]
}

fn vars(path: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn create_posts_the_documented_json_on_success_and_on_failure() {
    let env = Env::new();
    let server = Recorder::start(&[]);
    write_schedule(
        &env,
        daily(
            json!({"webhooks": [{"url": server.url(HOOK_PATH), "on": "always",
                                   "headers": {"Authorization": format!("Bearer {TOKEN}")}}]}),
        ),
    );
    let made = env.run(&["create"]);
    assert_success(&made);
    let entry = &env.entries()[0];
    let posts = server.to(HOOK_PATH);
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0];
    assert_eq!(post.method, "POST");
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = post.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "status",
            "command",
            "host",
            "database",
            "backup_id",
            "file",
            "size",
            "duration_ms",
            "error",
            "repository",
            "started_at",
            "finished_at",
            "tool_version",
            "backup_ids",
            "run"
        ]
    );
    assert_eq!(body["status"], "ok");
    assert_eq!(body["command"], "create");
    assert_eq!(body["database"], "app");
    assert_eq!(body["backup_id"], entry["id"]);
    assert_eq!(body["file"], entry["filename"]);
    assert_eq!(body["size"], entry["size"]);
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["backup_ids"], json!([entry["id"]]));
    assert_eq!(body["run"], Value::Null);
    assert_eq!(body["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(body["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(
        body["repository"]
            .as_str()
            .unwrap()
            .ends_with("home/backups"),
        "{body}"
    );
    for key in ["started_at", "finished_at"] {
        let text = body[key].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{key}: {e}"));
    }

    assert_success(&env.run(&["create", "--no-notify"]));
    assert_eq!(server.to(HOOK_PATH).len(), 1, "--no-notify tells no one");

    env.cluster.stop();
    let failed = env.run(&["create"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let posts = server.to(HOOK_PATH);
    assert_eq!(posts.len(), 2);
    let body = posts[1].json();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["backup_id"], Value::Null);
    assert_eq!(body["database"], "app");
    let error = body["error"].as_str().unwrap();
    assert!(
        !error.is_empty() && stderr(&failed).contains(&format!("error: {error}")),
        "{body}\n{}",
        stderr(&failed)
    );
    assert_no_secret("stderr", &stderr(&made));
    assert_no_secret("stderr", &stderr(&failed));
    assert_no_secret("the logs", &logs(&env));
}

#[test]
fn run_scheduled_pings_start_then_success_or_fail_and_posts_failures() {
    let env = Env::new();
    let server = Recorder::start(&[]);
    write_schedule(
        &env,
        daily(json!({"ping_url": server.url("/ping/uuid"),
                     "webhooks": [{"url": server.url(HOOK_PATH), "on": "failure"}]})),
    );
    assert_success(&env.run(&["run-scheduled", "--force"]));
    let pings: Vec<String> = server.to("/ping").into_iter().map(|r| r.path).collect();
    assert_eq!(pings, ["/ping/uuid/start", "/ping/uuid"]);
    assert!(server.to(HOOK_PATH).is_empty(), "on failure only");

    env.cluster.stop();
    let failed = env.run(&["run-scheduled", "--force"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let pings = server.to("/ping");
    let paths: Vec<&str> = pings.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/ping/uuid/start",
            "/ping/uuid",
            "/ping/uuid/start",
            "/ping/uuid/fail"
        ]
    );
    let recorded = schedule(&env)["last_result"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pings[3].text().contains(&recorded), "{}", pings[3].text());
    let posts = server.to(HOOK_PATH);
    assert_eq!(posts.len(), 1);
    let body = posts[0].json();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["command"], "run-scheduled");
    assert_eq!(body["error"], json!(recorded));
    assert_no_secret("stderr", &stderr(&failed));
    assert_no_secret("the logs", &logs(&env));
}

#[test]
fn a_webhook_that_fails_or_hangs_does_not_fail_the_backup() {
    let env = Env::new();
    let server = Recorder::start(&[
        ("/broken", Reply::Status(500)),
        ("/hung", Reply::Hang(Duration::from_secs(30))),
    ]);
    write_schedule(
        &env,
        daily(json!({"timeout_seconds": 1, "retries": 1, "webhooks": [
            {"url": server.url("/broken/secret-path-0815")},
            {"url": server.url("/hung/secret-path-0815")},
            {"url": server.url("/fine")}]})),
    );
    let clock = Instant::now();
    let made = env.run(&["create"]);
    let took = clock.elapsed();
    assert_success(&made);
    assert_eq!(env.entries().len(), 1);
    assert!(took < Duration::from_secs(15), "create took {took:?}");
    assert_eq!(server.to("/broken").len(), 2, "one retry");
    assert_eq!(server.to("/hung").len(), 2, "one retry");
    assert_eq!(server.to("/fine").len(), 1);
    let log = stderr(&made);
    assert!(
        log.contains("webhook to 127.0.0.1 failed: HTTP 500 (2 attempts)"),
        "{log}"
    );
    assert!(
        log.contains("webhook to 127.0.0.1 failed: timed out"),
        "{log}"
    );
    let audit = audit(&env);
    assert!(
        audit.contains("result=ok id=") && audit.contains("warning: webhook to 127.0.0.1 failed"),
        "{audit}"
    );
    assert_no_secret("stderr", &log);
    assert_no_secret("the logs", &audit);
}

#[test]
fn hooks_get_the_outcome_in_their_environment() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let (pre_out, post_out) = (dir.path().join("pre.env"), dir.path().join("post.env"));
    let mut file = daily(Value::Null);
    file["hooks"] = json!({"pre": env_hook(dir.path(), "pre.sh", &pre_out, 0),
                           "post": env_hook(dir.path(), "post.sh", &post_out, 0)});
    write_schedule(&env, file);
    let made = env.run(&["create", "--json"]);
    assert_success(&made);
    let entry: Value = serde_json::from_slice(&made.stdout).expect("hook output stays off stdout");
    let pre = vars(&pre_out);
    assert_eq!(pre["PGBACKUP_STATUS"], "start");
    assert_eq!(pre["PGBACKUP_DATABASE"], "app");
    assert_eq!(pre["PGBACKUP_BACKUP_ID"], "");
    let post = vars(&post_out);
    assert_eq!(post["PGBACKUP_STATUS"], "ok");
    assert_eq!(post["PGBACKUP_BACKUP_ID"], entry["id"].as_str().unwrap());
    assert_eq!(post["PGBACKUP_DATABASE"], "app");
    assert_eq!(post["PGBACKUP_ERROR"], "");
    assert_eq!(
        PathBuf::from(&post["PGBACKUP_FILE"]),
        env.backups_dir().join(entry["filename"].as_str().unwrap())
    );
    assert!(post["PGBACKUP_REPOSITORY"].ends_with("home/backups"));

    env.cluster.stop();
    let failed = env.run(&["create"]);
    assert_eq!(failed.status.code(), Some(1));
    let post = vars(&post_out);
    assert_eq!(post["PGBACKUP_STATUS"], "failed");
    assert_eq!(post["PGBACKUP_BACKUP_ID"], "");
    assert!(!post["PGBACKUP_ERROR"].is_empty());
    assert_no_secret("stderr", &stderr(&failed));
    assert_no_secret("the logs", &logs(&env));
}

#[test]
fn a_failing_pre_hook_prevents_the_backup_and_is_a_failed_run() {
    let env = Env::new();
    let server = Recorder::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut file = daily(json!({"ping_url": server.url("/ping/uuid"),
                                "webhooks": [{"url": server.url(HOOK_PATH), "on": "failure"}]}));
    file["hooks"] = json!({"pre": env_hook(dir.path(), "pre.sh", &dir.path().join("pre"), 3)});
    write_schedule(&env, file);
    let run = env.run(&["run-scheduled", "--force"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(env.entries().is_empty());
    let state = schedule(&env);
    assert_eq!(state["last_result"]["status"], "failed");
    let error = state["last_result"]["error"].as_str().unwrap();
    assert!(
        error.contains("the pre hook pre.sh exited with code 3: hook pre.sh says")
            && error.contains("the backup was not made"),
        "{error}"
    );
    assert_eq!(server.to(HOOK_PATH)[0].json()["status"], "failed");
    let paths: Vec<String> = server.to("/ping").into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/ping/uuid/start", "/ping/uuid/fail"]);
    assert!(
        audit(&env).contains("result=failed: the pre hook pre.sh"),
        "{}",
        audit(&env)
    );
    assert_no_secret("stderr", &stderr(&run));
    assert_no_secret("the logs", &logs(&env));
    assert_no_secret("the schedule", &state["last_result"].to_string());
}

#[test]
fn a_failing_post_hook_fails_the_command_and_the_backup_stays() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let mut file = daily(Value::Null);
    file["hooks"] = json!({"post": env_hook(dir.path(), "post.sh", &dir.path().join("post"), 4)});
    write_schedule(&env, file);
    let made = env.run(&["create"]);
    assert_eq!(made.status.code(), Some(1));
    let entries = env.entries();
    assert_eq!(entries.len(), 1, "the backup stays recorded");
    let id = entries[0]["id"].as_str().unwrap();
    let log = stderr(&made);
    assert!(
        log.contains(&format!(
            "backup {id} was made and recorded, but the post hook post.sh exited with code 4"
        )),
        "{log}"
    );
    assert!(
        audit(&env).contains("result=failed: backup"),
        "{}",
        audit(&env)
    );
}

/// A fake sendmail first on PATH that writes its arguments and its input to `out`.
fn fake_sendmail(env: &Env, out: &Path) {
    env.shim(
        "sendmail",
        &format!(
            "#!/bin/sh\necho \"args: $*\" > '{0}'\ncat >> '{0}'\n",
            out.display()
        ),
    );
}

#[test]
fn email_goes_through_sendmail_on_failure() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail.txt");
    fake_sendmail(&env, &mail);
    write_schedule(
        &env,
        daily(json!({"email": {"to": ["ops@example.com", "dba@example.com"]}})),
    );
    assert_success(&env.run(&["create"]));
    assert!(!mail.exists(), "email is sent on failure only by default");
    env.cluster.stop();
    let failed = env.run(&["create"]);
    assert_eq!(failed.status.code(), Some(1));
    let message = fs::read_to_string(&mail).unwrap();
    assert!(message.starts_with("args: -t -i\n"), "{message}");
    assert!(
        message.contains("\nTo: ops@example.com, dba@example.com\n"),
        "{message}"
    );
    assert!(
        message.contains("\nSubject: pgbackup create: backup of app on "),
        "{message}"
    );
    assert!(message.contains(" failed\n"), "{message}");
    assert!(
        message.contains("\nstatus: failed\n") && message.contains("\nerror: "),
        "{message}"
    );
}

#[test]
fn status_and_schedule_show_say_when_email_has_no_sendmail() {
    let env = Env::new();
    if Path::new("/usr/sbin/sendmail").exists() || Path::new("/usr/lib/sendmail").exists() {
        eprintln!("skipped: this machine has a sendmail");
        return;
    }
    write_schedule(&env, daily(json!({"email": {"to": ["ops@example.com"]}})));
    let status = env.run(&["status"]);
    assert!(
        stdout(&status).contains("no sendmail was found"),
        "{}{}",
        stdout(&status),
        stderr(&status)
    );
    assert_ne!(status.status.code(), Some(0));
    let show = env.run(&["schedule", "show"]);
    assert!(
        stdout(&show).contains("no sendmail was found"),
        "{}",
        stdout(&show)
    );
    assert!(
        stderr(&show).contains("no sendmail was found"),
        "{}",
        stderr(&show)
    );
    let dir = tempfile::tempdir().unwrap();
    fake_sendmail(&env, &dir.path().join("mail"));
    let show = env.run(&["schedule", "show"]);
    assert!(!stdout(&show).contains("no sendmail"), "{}", stdout(&show));
    assert!(
        stdout(&show).contains("email to ops@example.com on failure"),
        "{}",
        stdout(&show)
    );
}

#[test]
fn notify_test_reports_each_channel() {
    let env = Env::new();
    let server = Recorder::start(&[("/broken", Reply::Status(500))]);
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail.txt");
    fake_sendmail(&env, &mail);
    let mut notify = json!({"retries": 0, "ping_url": server.url("/ping/uuid"),
        "email": {"to": ["ops@example.com"]},
        "webhooks": [{"url": server.url(HOOK_PATH), "on": "failure",
                      "headers": {"X-Token": TOKEN}}]});
    write_schedule(&env, daily(notify.clone()));
    let sent = env.run(&["notify", "test"]);
    assert_success(&sent);
    let out = stdout(&sent);
    assert!(out.contains("ok: webhook to 127.0.0.1: HTTP 200"), "{out}");
    assert!(
        out.contains("ok: success ping to 127.0.0.1: HTTP 200"),
        "{out}"
    );
    assert!(
        out.contains("ok: email to 1 recipient(s) handed to sendmail"),
        "{out}"
    );
    let body = server.to(HOOK_PATH)[0].json();
    assert_eq!(body["command"], "notify test");
    assert_eq!(server.to(HOOK_PATH)[0].header("x-token"), Some(TOKEN));
    assert_eq!(server.to("/ping").len(), 1);
    assert!(
        fs::read_to_string(&mail)
            .unwrap()
            .contains("To: ops@example.com")
    );

    notify["webhooks"][0]["url"] = json!(server.url("/broken/secret-path-0815"));
    write_schedule(&env, daily(notify));
    let sent = env.run(&["notify", "test", "--json"]);
    assert_eq!(sent.status.code(), Some(1));
    let results: Value = serde_json::from_slice(&sent.stdout).unwrap();
    assert_eq!(
        results[0],
        json!({"ok": false, "result": "webhook to 127.0.0.1 failed: HTTP 500"})
    );
    assert_eq!(results[1]["ok"], true);
    assert!(stderr(&sent).contains("error: 1 of 3 notification channel(s) failed"));
    assert_no_secret("stdout", &stdout(&sent));
    assert_no_secret("stderr", &stderr(&sent));

    write_schedule(&env, daily(Value::Null));
    let none = env.run(&["notify", "test"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("no notification channel is configured"));
}

#[test]
fn a_bad_notify_section_is_refused_without_quoting_it() {
    let env = Env::new();
    write_schedule(
        &env,
        daily(json!({"webhooks": [{"url": format!("ftp://example.com{HOOK_PATH}")}]})),
    );
    let run = env.run(&["run-scheduled", "--force"]);
    assert_ne!(run.status.code(), Some(0));
    let log = stderr(&run);
    assert!(
        log.contains("invalid \"notify\" in backup_schedule.json: webhooks[0].url is not an http:// or https:// URL"),
        "{log}"
    );
    assert_no_secret("stderr", &log);
    let show = env.run(&["schedule", "show", "--json"]);
    assert_no_secret(
        "schedule show",
        &format!("{}{}", stdout(&show), stderr(&show)),
    );
}

#[test]
fn schedule_show_names_hosts_only() {
    let env = Env::new();
    write_schedule(
        &env,
        daily(json!({"ping_url": "https://hc-ping.example/ping/uuid",
                     "webhooks": [{"url": format!("https://hooks.example{HOOK_PATH}"),
                                   "headers": {"Authorization": TOKEN}}]})),
    );
    let show = env.run(&["schedule", "show"]);
    assert_success(&show);
    let out = stdout(&show);
    assert!(out.contains("webhook to hooks.example on always"), "{out}");
    assert!(out.contains("ping to hc-ping.example"), "{out}");
    assert_no_secret("schedule show", &out);
    let json = env.run(&["schedule", "show", "--json"]);
    assert_success(&json);
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        value["notify"]["webhooks"][0]["url"],
        "https://hooks.example/…"
    );
    assert_no_secret("schedule show --json", &stdout(&json));
}

#[test]
fn a_hung_hook_is_killed_at_its_timeout() {
    let env = Env::new();
    let mut file = daily(Value::Null);
    file["hooks"] = json!({"pre": ["sleep", "30"], "timeout_seconds": 1});
    write_schedule(&env, file);
    let clock = Instant::now();
    let made = env.run(&["create"]);
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(made.status.code(), Some(1));
    assert!(
        stderr(&made).contains("the pre hook sleep timed out after 1 s and was killed"),
        "{}",
        stderr(&made)
    );
    assert!(env.entries().is_empty());
}

#[test]
fn schedule_set_keeps_notify_and_hooks() {
    let env = Env::new();
    let notify = json!({"webhooks": [{"url": format!("https://hooks.example{HOOK_PATH}"),
                                      "on": "failure", "headers": {"X-Token": TOKEN}}],
                        "ping_url": "https://hc-ping.example/ping/uuid",
                        "email": {"to": ["ops@example.com"], "on": "always"},
                        "timeout_seconds": 5, "retries": 1});
    let hooks = json!({"pre": ["/bin/true"], "post": ["/bin/echo", "done"], "timeout_seconds": 60});
    let mut file = daily(notify.clone());
    file["hooks"] = hooks.clone();
    write_schedule(&env, file);
    let set = env.run(&["schedule", "set", "--time", "04:00"]);
    assert_success(&set);
    let written = schedule(&env);
    assert_eq!(written["time"], "04:00");
    assert_eq!(written["notify"], notify);
    assert_eq!(written["hooks"], hooks);
    assert_no_secret(
        "schedule set",
        &format!("{}{}{}", stdout(&set), stderr(&set), logs(&env)),
    );
}

#[test]
fn a_whole_server_run_is_told_once_with_every_backup_it_made() {
    let env = Env::new();
    let server = Recorder::start(&[]);
    write_schedule(
        &env,
        daily(json!({"webhooks": [{"url": server.url(HOOK_PATH), "on": "always"}]})),
    );
    env.cluster.psql("postgres", "CREATE DATABASE second");
    let made = env.run(&["create", "--all-databases"]);
    assert_success(&made);
    let entries = env.entries();
    assert!(entries.len() >= 3, "{entries:?}");
    let posts = server.to(HOOK_PATH);
    assert_eq!(posts.len(), 1, "one run, one notification: {posts:?}");
    let body = posts[0].json();
    assert_eq!(body["status"], "ok");
    let mut told: Vec<String> = (body["backup_ids"].as_array().unwrap().iter())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut recorded: Vec<String> = (entries.iter())
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    told.sort();
    recorded.sort();
    assert_eq!(told, recorded);
    assert_eq!(body["run"], entries[0]["run"]);
    assert_eq!(body["backup_id"], Value::Null);
    assert_eq!(body["database"], Value::Null);
    let total: u64 = entries.iter().map(|e| e["size"].as_u64().unwrap()).sum();
    assert_eq!(body["size"], total);
}
