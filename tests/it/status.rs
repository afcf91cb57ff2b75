//! `pgbackup status` against a real database: states and exit codes, what it reports, its
//! Prometheus output, and that it stays fast and read-only.

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::support::{Env, stderr, stdout};

/// Runs `status --json ARGS`; the exit code and the parsed report.
fn status_json(env: &Env, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["status", "--json"];
    all.extend_from_slice(args);
    let output = env.run(&all);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json printed invalid JSON ({e}): {}\n{}",
            stdout(&output),
            stderr(&output)
        )
    });
    (output.status.code().unwrap(), report)
}

fn messages(report: &Value) -> String {
    report["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}: {}", r["state"], r["message"]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_schedule(env: &Env, schedule: Value) {
    fs::create_dir_all(env.home()).unwrap();
    fs::write(
        env.home().join("backup_schedule.json"),
        serde_json::to_string_pretty(&schedule).unwrap(),
    )
    .unwrap();
}

fn hours_from_now(hours: i64) -> String {
    (Utc::now() + chrono::Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A daily schedule whose last run succeeded and whose next run is ahead.
fn good_schedule(env: &Env) {
    write_schedule(
        env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
               "last_run": hours_from_now(-1), "next_run": hours_from_now(23),
               "last_result": {"status": "ok", "backup_id": "x", "duration_ms": 1500}}),
    );
}

/// Rewrites the catalog through `change`.
fn edit_catalog(env: &Env, change: impl FnOnce(&mut Vec<Value>)) {
    let mut catalog: Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    change(catalog["backups"].as_array_mut().unwrap());
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
}

#[test]
fn a_healthy_setup_is_ok_and_status_changes_nothing() {
    let env = Env::new();
    let entry = env.create(&[]);
    good_schedule(&env);
    let catalog_before = fs::read(env.catalog_path()).unwrap();
    let files_before = env.files();
    let log = || fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    let log_before = log();

    let (code, report) = status_json(&env, &[]);
    assert_eq!(code, 0, "{}", messages(&report));
    assert_eq!(report["state"], "ok");
    assert_eq!(report["reasons"], json!([]));
    let db = &report["database"];
    assert_eq!(db["reachable"], true);
    assert_eq!(db["name"], "app");
    assert_eq!(db["in_recovery"], false);
    assert!(db["size_bytes"].as_u64().unwrap() > 1_000_000, "{db}");
    assert!(db["connections"].as_u64().unwrap() >= 1);
    assert!(db["max_connections"].as_u64().unwrap() >= 1);
    assert!(db["uptime_seconds"].as_i64().unwrap() >= 0);
    assert_eq!(db["largest_tables"][0]["name"], "items");
    assert_eq!(
        db["server_version"].as_str().unwrap(),
        entry["server_version"].as_str().unwrap()
    );
    let backups = &report["backups"];
    assert_eq!(backups["count"], 1);
    assert_eq!(
        backups["checked"],
        json!({"database": "app", "type": "full"})
    );
    let group = &backups["groups"][0];
    assert_eq!(
        (group["database"].as_str(), group["type"].as_str()),
        (Some("app"), Some("full"))
    );
    assert_eq!(group["newest"]["id"], entry["id"]);
    assert_eq!(group["newest"]["size_bytes"], entry["size"]);
    assert!(group["newest"]["age_seconds"].as_i64().unwrap() < 600);
    assert!(backups["filesystem"]["free_bytes"].as_u64().unwrap() > 0);
    assert_eq!(report["schedule"]["enabled"], true);
    assert_eq!(report["schedule"]["overdue"], false);
    assert_eq!(report["schedule"]["last_result"]["status"], "ok");
    assert_eq!(report["thresholds"]["max_age_seconds"], 26 * 3600);

    let output = env.run(&["status"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "status    OK",
        "database  app: PostgreSQL",
        "backups   ",
        "schedule  daily at 03:00",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    assert!(!text.contains('\x1b'), "no colours without a terminal");

    assert_eq!(fs::read(env.catalog_path()).unwrap(), catalog_before);
    assert_eq!(env.files(), files_before);
    assert_eq!(log(), log_before, "status writes no audit line");
}

#[test]
fn a_stale_newest_backup_is_critical_or_a_warning() {
    let env = Env::new();
    let entry = env.create(&[]);
    edit_catalog(&env, |backups| {
        backups[0]["created_at"] = json!(hours_from_now(-30));
    });
    let (code, report) = status_json(&env, &["--max-age", "1d"]);
    assert_eq!(code, 2, "{}", messages(&report));
    assert_eq!(report["state"], "critical");
    let text = messages(&report);
    assert!(
        text.contains(&format!(
            "newest full backup of app ({})",
            entry["id"].as_str().unwrap()
        )) && text.contains("is 1d 6h old (limit 1d)"),
        "{text}"
    );
    let (code, report) = status_json(&env, &["--max-age", "2d", "--warn-age", "26h"]);
    assert_eq!(code, 1, "{}", messages(&report));
    assert_eq!(report["state"], "warning");
    let (code, _) = status_json(&env, &["--max-age", "2d"]);
    assert_eq!(code, 0);
}

#[test]
fn a_database_that_is_down_is_critical_with_valid_json() {
    let env = Env::new();
    env.create(&[]);
    env.cluster.stop();
    let started = Instant::now();
    let (code, report) = status_json(&env, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "status took {:?}",
        started.elapsed()
    );
    assert_eq!(code, 2);
    assert_eq!(report["state"], "critical");
    assert_eq!(report["database"]["reachable"], false);
    assert_eq!(report["database"]["name"], "app");
    let error = report["database"]["error"].as_str().unwrap();
    assert!(
        error.contains("No such file or directory") || error.contains("Connection refused"),
        "{error}"
    );
    assert!(
        messages(&report).contains("database app is unreachable"),
        "{}",
        messages(&report)
    );
    assert_eq!(report["backups"]["count"], 1, "backups are still reported");
}

#[test]
fn no_backups_at_all_is_critical() {
    let env = Env::new();
    let (code, report) = status_json(&env, &[]);
    assert_eq!(code, 2);
    assert!(
        messages(&report).contains("there is no complete full backup of database app"),
        "{}",
        messages(&report)
    );
    assert!(
        !env.home().exists(),
        "status creates nothing, not even the home"
    );
}

#[test]
fn a_failed_last_run_is_critical_and_an_overdue_one_a_warning() {
    let env = Env::new();
    env.create(&[]);
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
               "last_run": "2025-04-08T03:00:01.123456", "next_run": hours_from_now(20),
               "last_result": {"status": "failed", "error": "pg_dump: error: connection lost",
                               "duration_ms": 800}}),
    );
    let (code, report) = status_json(&env, &[]);
    assert_eq!(code, 2, "{}", messages(&report));
    assert!(
        messages(&report).contains("failed: pg_dump: error: connection lost"),
        "{}",
        messages(&report)
    );
    assert_eq!(report["schedule"]["last_result"]["status"], "failed");
    let output = env.run(&["status"]);
    assert!(
        stdout(&output).contains("last run 2025-04-08 03:00: failed: pg_dump: error"),
        "{}",
        stdout(&output)
    );

    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00", "next_run": hours_from_now(-2)}),
    );
    let (code, report) = status_json(&env, &[]);
    assert_eq!(code, 1, "{}", messages(&report));
    assert_eq!(report["schedule"]["overdue"], true);
    assert!(
        messages(&report).contains("overdue"),
        "{}",
        messages(&report)
    );
}

#[test]
fn missing_untracked_and_partial_files_are_reported() {
    let env = Env::new();
    let first = env.create(&[]);
    let second = env.create(&["--type", "schema"]);
    good_schedule(&env);
    fs::remove_file(env.backups_dir().join(second["filename"].as_str().unwrap())).unwrap();
    let partial = ".backup_full_20250101_000000.sql.gz.partial";
    fs::write(env.backups_dir().join(partial), "half a dump").unwrap();
    let untracked = "backup_full_20240101_000000.sql.gz";
    fs::copy(
        env.backups_dir().join(first["filename"].as_str().unwrap()),
        env.backups_dir().join(untracked),
    )
    .unwrap();

    let (code, report) = status_json(&env, &[]);
    assert_eq!(code, 1, "{}", messages(&report));
    let backups = &report["backups"];
    assert_eq!(backups["missing"][0]["id"], second["id"]);
    assert_eq!(backups["partials"], json!([partial]));
    assert_eq!(backups["untracked"], json!([untracked]));
    assert_eq!(backups["count"], 1, "only the complete backup counts");
    let text = messages(&report);
    assert!(
        text.contains("1 catalog entry has no file") && text.contains("leftover partial"),
        "{text}"
    );

    // While a writer holds the lock, its partial file is work in progress, not a leftover.
    fs::write(
        env.backups_dir().join(".lock"),
        format!("{}\ncreate\n", std::process::id()),
    )
    .unwrap();
    let (_, report) = status_json(&env, &[]);
    assert_eq!(report["backups"]["running"]["pid"], std::process::id());
    assert!(
        !messages(&report).contains("partial"),
        "{}",
        messages(&report)
    );
}

#[test]
fn a_damaged_schedule_or_catalog_is_reported_with_valid_json() {
    let env = Env::new();
    fs::create_dir_all(env.home()).unwrap();
    fs::write(env.home().join("backup_schedule.json"), "{ not json").unwrap();
    let (code, report) = status_json(&env, &[]);
    assert_eq!(
        code, 2,
        "a damaged schedule stops scheduled backups: critical"
    );
    assert_eq!(report["state"], "critical");
    assert!(messages(&report).contains("backup_schedule.json is not valid JSON"));
    assert!(messages(&report).contains("scheduled backups do not run"));
    assert!(report["schedule"]["error"].is_string(), "{report}");
    assert_eq!(report["schedule"]["next_run"], Value::Null);
    let output = env.run(&["status", "--prometheus"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("pgbackup_status_state 2"));

    fs::write(env.home().join("backup_schedule.json"), "{}").unwrap();
    fs::create_dir_all(env.backups_dir()).unwrap();
    fs::write(env.catalog_path(), "[{broken").unwrap();
    let (code, report) = status_json(&env, &[]);
    assert_eq!(code, 2, "a corrupt catalog stops every backup: critical");
    assert_eq!(report["backups"], Value::Null);
    assert!(
        messages(&report).contains("is corrupt"),
        "{}",
        messages(&report)
    );
}

#[test]
fn colours_only_on_a_terminal() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    let output = Command::new("script")
        .args(["-qec", &format!("{} status", bin.display()), "/dev/null"])
        .envs(env.vars())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let screen = stdout(&output);
    assert!(screen.contains("\x1b[1;31mCRITICAL\x1b[0m"), "{screen:?}");
    let piped = env.run(&["status"]);
    assert!(
        stdout(&piped).contains("status    CRITICAL\n"),
        "{}",
        stdout(&piped)
    );
}

#[test]
fn a_closed_pipe_keeps_the_exit_code_and_prints_no_error() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    for flag in ["--json", "--prometheus", "-q"] {
        let output = Command::new("bash")
            .args([
                "-c",
                "\"$0\" status \"$1\" | true; echo \"${PIPESTATUS[0]}\"",
            ])
            .arg(&bin)
            .arg(flag)
            .envs(env.vars())
            .output()
            .unwrap();
        assert_eq!(stdout(&output).trim(), "2", "{flag}: {}", stderr(&output));
        assert_eq!(stderr(&output), "", "{flag}");
    }
}

#[test]
fn bad_thresholds_are_usage_errors() {
    let env = Env::new();
    for args in [["--max-age", "26"], ["--min-free", "lots"]] {
        let output = env.run(&["status", args[0], args[1]]);
        assert_eq!(output.status.code(), Some(3), "UNKNOWN, not CRITICAL");
        assert!(stderr(&output).contains(args[0]), "{}", stderr(&output));
        assert!(stdout(&output).is_empty());
    }
}

/// One sample of the text exposition format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    !name.contains(':') && is_metric_name(name)
}

/// Parses the Prometheus text format strictly enough to catch what a scraper would refuse:
/// HELP and TYPE once per family and before its samples, valid names, escaped label values.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(is_metric_name(name), "{line}");
            assert!(!helped.contains(&name.to_string()), "HELP twice: {line}");
            helped.push(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter", "untyped"].contains(&kind), "{line}");
            assert!(
                typed.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line {line:?}"
        );
        let name_end = line.find(['{', ' ']).unwrap();
        let name = &line[..name_end];
        assert!(is_metric_name(name), "bad metric name in {line}");
        assert!(
            typed.contains_key(name) && helped.contains(&name.to_string()),
            "{name} has no TYPE/HELP"
        );
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            loop {
                let (start, _) = *chars.peek().unwrap();
                let eq = inner[start..].find('=').unwrap() + start;
                let label = &inner[start..eq];
                assert!(is_label_name(label), "bad label name {label:?} in {line}");
                while chars.peek().unwrap().0 <= eq {
                    chars.next();
                }
                assert_eq!(chars.next().unwrap().1, '"', "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap().1 {
                        '\\' => match chars.next().unwrap().1 {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            other => panic!("bad escape \\{other} in {line}"),
                        },
                        '"' => break,
                        '\n' => panic!("raw line feed in {line}"),
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(label.to_string(), value).is_none(), "{line}");
                match chars.next().unwrap() {
                    (_, ',') => continue,
                    (end, '}') => {
                        rest = &inner[end + 1..];
                        break;
                    }
                    (_, other) => panic!("unexpected {other:?} in {line}"),
                }
            }
        }
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no value in {line}"));
        assert!(
            !value.contains(' '),
            "timestamps are not allowed in textfiles: {line}"
        );
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn sample<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> &'a Sample {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {samples:#?}"))
}

#[test]
fn prometheus_output_parses_with_the_expected_names_labels_and_values() {
    let env = Env::new();
    let entry = env.create(&[]);
    good_schedule(&env);
    let weird = "we\"ird\\db\nname";
    let weird_file = "backup_full_20250101_000000.sql.gz";
    fs::copy(
        env.backups_dir().join(entry["filename"].as_str().unwrap()),
        env.backups_dir().join(weird_file),
    )
    .unwrap();
    edit_catalog(&env, |backups| {
        let mut other = backups[0].clone();
        other["id"] = json!("20250101_000000");
        other["filename"] = json!(weird_file);
        other["path"] = json!(env.backups_dir().join(weird_file));
        other["database"] = json!(weird);
        backups.push(other);
    });

    let output = env.run(&["status", "--prometheus"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    let samples = parse_exposition(&text);
    let app = [("database", "app"), ("type", "full")];
    assert_eq!(sample(&samples, "pgbackup_status_state", &[]).value, 0.0);
    assert_eq!(
        sample(&samples, "pgbackup_database_up", &[("database", "app")]).value,
        1.0
    );
    assert_eq!(sample(&samples, "pgbackup_backups", &app).value, 1.0);
    let size = entry["size"].as_f64().unwrap();
    assert_eq!(sample(&samples, "pgbackup_backups_bytes", &app).value, size);
    assert_eq!(
        sample(&samples, "pgbackup_newest_backup_size_bytes", &app).value,
        size
    );
    let made = chrono::DateTime::parse_from_rfc3339(entry["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        sample(&samples, "pgbackup_newest_backup_timestamp_seconds", &app).value,
        made.timestamp_millis() as f64 / 1000.0
    );
    let age = sample(&samples, "pgbackup_newest_backup_age_seconds", &app).value;
    assert!((0.0..600.0).contains(&age), "{age}");
    let took = sample(&samples, "pgbackup_newest_backup_duration_seconds", &app).value;
    assert_eq!(took, entry["duration_ms"].as_f64().unwrap() / 1000.0);
    let weird_labels = [("database", weird), ("type", "full")];
    assert_eq!(
        sample(&samples, "pgbackup_backups", &weird_labels).value,
        1.0
    );
    assert_eq!(
        sample(&samples, "pgbackup_schedule_last_run_success", &[]).value,
        1.0
    );
    assert_eq!(
        sample(&samples, "pgbackup_schedule_last_run_duration_seconds", &[]).value,
        1.5
    );
    assert_eq!(
        sample(&samples, "pgbackup_schedule_enabled", &[]).value,
        1.0
    );
    assert_eq!(
        sample(&samples, "pgbackup_schedule_overdue", &[]).value,
        0.0
    );
    assert!(
        sample(
            &samples,
            "pgbackup_schedule_last_run_timestamp_seconds",
            &[]
        )
        .value
            > 1.7e9
    );
    assert!(sample(&samples, "pgbackup_filesystem_free_bytes", &[]).value > 0.0);
    assert_eq!(sample(&samples, "pgbackup_partial_files", &[]).value, 0.0);
    assert!(samples.iter().all(|s| s.name.starts_with("pgbackup_")));

    // promtool, when installed, checks the same text with Prometheus's own parser and linter.
    if let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let checked = child.wait_with_output().unwrap();
        assert!(
            checked.status.success(),
            "promtool: {}{}",
            stdout(&checked),
            stderr(&checked)
        );
    }

    env.cluster.stop();
    let output = env.run(&["status", "--prometheus"]);
    assert_eq!(output.status.code(), Some(2));
    let samples = parse_exposition(&stdout(&output));
    assert_eq!(
        sample(&samples, "pgbackup_database_up", &[("database", "app")]).value,
        0.0
    );
    assert_eq!(sample(&samples, "pgbackup_status_state", &[]).value, 2.0);
}

#[test]
fn status_stays_fast_with_two_thousand_catalog_entries() {
    let env = Env::new();
    let entry = env.create(&[]);
    good_schedule(&env);
    let start = Utc::now() - chrono::Duration::days(1);
    edit_catalog(&env, |backups| {
        for n in 0..2000 {
            let made = start - chrono::Duration::hours(n);
            let id = made.format("%Y%m%d_%H%M%S").to_string();
            let filename = format!("backup_full_{id}.sql.gz");
            fs::write(env.backups_dir().join(&filename), b"x").unwrap();
            let mut copy = entry.clone();
            copy["id"] = json!(id);
            copy["filename"] = json!(filename);
            copy["path"] = json!(env.backups_dir().join(&filename));
            copy["created_at"] = json!(made.to_rfc3339_opts(SecondsFormat::Secs, false));
            copy["size"] = json!(1);
            backups.push(copy);
        }
    });
    let started = Instant::now();
    let (code, report) = status_json(&env, &[]);
    let took = started.elapsed();
    println!("status with 2001 catalog entries took {took:?}");
    assert_eq!(code, 0, "{}", messages(&report));
    assert_eq!(report["backups"]["count"], 2001);
    assert!(took < Duration::from_secs(5), "status took {took:?}");
}
