//! The systemd units and install.sh, checked with the real tools.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{stderr, stdout};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The units as installed (plain and templated), pointing at the binary under test.
fn installed_units() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    for name in ["pgbackup", "pgbackup@"] {
        let service = fs::read_to_string(repo().join(format!("systemd/{name}.service"))).unwrap();
        let service = service.replace(
            "ExecStart=/usr/local/bin/pgbackup ",
            &format!("ExecStart={} ", bin.display()),
        );
        fs::write(dir.path().join(format!("{name}.service")), service).unwrap();
        fs::copy(
            repo().join(format!("systemd/{name}.timer")),
            dir.path().join(format!("{name}.timer")),
        )
        .unwrap();
    }
    dir
}

fn verify(units: &[&str]) {
    let dir = installed_units();
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output).trim(), "", "systemd-analyze warned");
}

/// `systemd-analyze security --offline=yes` of a unit in the installed folder.
fn exposure(unit: &str) -> f64 {
    let dir = installed_units();
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", &format!("./{unit}")])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = stdout(&output) + &stderr(&output);
    text.split(&format!("Overall exposure level for {unit}: "))
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"))
}

#[test]
fn the_units_verify_without_any_warning() {
    verify(&["./pgbackup.service", "./pgbackup.timer"]);
}

#[test]
fn the_service_is_hardened() {
    let score = exposure("pgbackup.service");
    assert!(score <= 2.0, "exposure {score} is above 2.0");
}

#[test]
fn the_templated_units_verify_for_an_instance_without_any_warning() {
    verify(&[
        "./pgbackup@.service",
        "./pgbackup@.timer",
        "./pgbackup@billing.service",
        "./pgbackup@billing.timer",
    ]);
}

#[test]
fn the_templated_service_is_hardened() {
    let score = exposure("pgbackup@billing.service");
    assert!(score <= 2.0, "exposure {score} is above 2.0");
}

/// The templated service is the plain one but for what the instance name selects, so the
/// two cannot drift apart (hardening, ordering, priorities).
#[test]
fn the_instance_name_selects_the_environment_file_and_the_home() {
    let read = |name: &str| fs::read_to_string(repo().join("systemd").join(name)).unwrap();
    let settings = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("Description="))
            .map(str::to_string)
            .collect()
    };
    let plain = settings(&read("pgbackup.service"));
    let templated = settings(&read("pgbackup@.service"));
    let differences: Vec<(&String, &String)> = plain
        .iter()
        .zip(&templated)
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(plain.len(), templated.len());
    assert_eq!(
        differences
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>(),
        [
            "EnvironmentFile=/etc/pgbackup/%i.env",
            "Environment=PGBACKUP_HOME=/var/lib/pgbackup/%i",
            "StateDirectory=pgbackup/%i",
        ]
    );
    assert_eq!(
        settings(&read("pgbackup.timer")),
        settings(&read("pgbackup@.timer")),
        "the templated timer is the plain heartbeat"
    );
}

#[test]
fn the_timer_is_a_persistent_fifteen_minute_heartbeat() {
    let timer = fs::read_to_string(repo().join("systemd/pgbackup.timer")).unwrap();
    assert!(timer.lines().any(|l| l.trim() == "Persistent=true"));
    let on_calendar: Vec<&str> = timer
        .lines()
        .filter_map(|l| l.trim().strip_prefix("OnCalendar="))
        .collect();
    assert_eq!(on_calendar.len(), 1, "one OnCalendar= in the timer");
    let output = Command::new("systemd-analyze")
        .args(["calendar", "--iterations=6", on_calendar[0]])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    // "    Next elapse: Wed 2026-12-02 05:45:00 UTC", "       Iter. #2: Wed ...".
    let elapses: Vec<chrono::NaiveDateTime> = stdout(&output)
        .lines()
        .filter_map(|l| {
            l.split_once("Next elapse: ")
                .or(l.split_once(": ").filter(|(k, _)| k.contains("Iter.")))
        })
        .map(|(_, when)| {
            let words: Vec<&str> = when.split_whitespace().collect();
            let text = format!("{} {}", words[1], words[2]);
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").unwrap()
        })
        .collect();
    assert_eq!(elapses.len(), 6, "{}", stdout(&output));
    // run-scheduled places its retries on this quarter-hour grid.
    for pair in elapses.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            chrono::TimeDelta::minutes(15),
            "{elapses:?}"
        );
    }
    for elapse in &elapses {
        assert_eq!(chrono::Timelike::minute(elapse) % 15, 0, "{elapse}");
        assert_eq!(chrono::Timelike::second(elapse), 0, "{elapse}");
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn install(destdir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(repo().join("install.sh"))
        .arg("--destdir")
        .arg(destdir)
        .arg("--binary")
        .arg(assert_cmd::cargo::cargo_bin("pgbackup"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn install_sh_stages_everything_into_destdir_idempotently() {
    let stage = tempfile::tempdir().unwrap();
    let root = stage.path();
    let first = install(root, &["--no-enable"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(mode(&root.join("usr/local/bin/pgbackup")), 0o755);
    assert!(
        root.join("usr/local/share/man/man1/pgbackup-create.1")
            .exists()
    );
    assert!(
        root.join("usr/local/share/bash-completion/completions/pgbackup")
            .exists()
    );
    let service = fs::read_to_string(root.join("etc/systemd/system/pgbackup.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/local/bin/pgbackup run-scheduled"));
    assert!(root.join("etc/systemd/system/pgbackup.timer").exists());
    let templated = fs::read_to_string(root.join("etc/systemd/system/pgbackup@.service")).unwrap();
    assert!(templated.contains("ExecStart=/usr/local/bin/pgbackup run-scheduled"));
    assert!(root.join("etc/systemd/system/pgbackup@.timer").exists());
    assert_eq!(mode(&root.join("etc/pgbackup/pgbackup.env")), 0o600);
    assert_eq!(mode(&root.join("var/lib/pgbackup")), 0o700);
    assert_eq!(
        mode(&root.join("var/lib/pgbackup/backup_schedule.json")),
        0o600
    );

    let env_file = root.join("etc/pgbackup/pgbackup.env");
    fs::write(&env_file, "PGDATABASE=mine\n").unwrap();
    let second = install(root, &["--no-enable"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        fs::read_to_string(&env_file).unwrap(),
        "PGDATABASE=mine\n",
        "the env file was overwritten"
    );

    let removed = install(root, &["--uninstall"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(!root.join("usr/local/bin/pgbackup").exists());
    assert!(!root.join("etc/systemd/system/pgbackup.service").exists());
    assert!(!root.join("etc/systemd/system/pgbackup@.service").exists());
    assert!(!root.join("etc/systemd/system/pgbackup@.timer").exists());
    assert!(
        root.join("var/lib/pgbackup/backup_schedule.json").exists(),
        "backups and state are kept"
    );
    assert!(env_file.exists());
}

#[test]
fn install_sh_sets_up_each_instance_once() {
    let stage = tempfile::tempdir().unwrap();
    let root = stage.path();
    let args = ["--no-enable", "--instance", "billing", "--instance", "crm"];
    let first = install(root, &args);
    assert!(first.status.success(), "{}", stderr(&first));
    for name in ["billing", "crm"] {
        let env_file = root.join(format!("etc/pgbackup/{name}.env"));
        assert_eq!(mode(&env_file), 0o600);
        let text = fs::read_to_string(&env_file).unwrap();
        assert!(
            text.contains(&format!("PGPASSFILE=/var/lib/pgbackup/{name}/.pgpass")),
            "{text}"
        );
        let home = root.join(format!("var/lib/pgbackup/{name}"));
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&home.join("backups")), 0o700);
        assert_eq!(mode(&home.join("backup_schedule.json")), 0o600);
    }
    let env_file = root.join("etc/pgbackup/billing.env");
    fs::write(&env_file, "PGHOST=billing-db\n").unwrap();
    let second = install(root, &args);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        fs::read_to_string(&env_file).unwrap(),
        "PGHOST=billing-db\n"
    );
    let text = stdout(&second);
    assert!(text.contains("pgbackup@billing.timer"), "{text}");

    let hostile = install(root, &["--no-enable", "--instance", "../etc"]);
    assert_eq!(hostile.status.code(), Some(2), "{}", stderr(&hostile));
    assert!(!root.join("var/lib/etc").exists());
}

#[test]
fn install_sh_honours_a_packaging_prefix() {
    let stage = tempfile::tempdir().unwrap();
    let output = install(stage.path(), &["--prefix", "/usr", "--no-enable"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let service =
        fs::read_to_string(stage.path().join("usr/lib/systemd/system/pgbackup.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/bin/pgbackup run-scheduled"));
    assert!(
        stage
            .path()
            .join("usr/lib/sysusers.d/pgbackup.conf")
            .exists()
    );
    let said = format!("installed pgbackup into {}/usr\n", stage.path().display());
    assert!(stdout(&output).ends_with(&said), "{}", stdout(&output));
}

#[test]
fn install_sh_puts_the_sysusers_entry_where_systemd_reads_it_for_any_prefix() {
    let stage = tempfile::tempdir().unwrap();
    let output = install(stage.path(), &["--prefix", "/opt/pgbackup", "--no-enable"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stage.path().join("opt/pgbackup/bin/pgbackup").exists());
    assert!(stage.path().join("etc/sysusers.d/pgbackup.conf").exists());
    assert!(!stage.path().join("opt/pgbackup/lib/sysusers.d").exists());
}

#[test]
fn check_sh_and_install_sh_help_print_only_their_usage_lines() {
    for (script, first) in [
        ("check.sh", "./check.sh [--home DIR]"),
        ("install.sh", "./install.sh [--prefix DIR]"),
    ] {
        let output = Command::new(repo().join(script))
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let text = stdout(&output);
        assert!(text.starts_with(&format!("  {first}")), "{script}: {text}");
        assert!(
            text.lines()
                .all(|line| line.trim_start().starts_with(&format!("./{script}"))
                    || line.starts_with("    ")),
            "{script}: {text}"
        );
    }
}

#[test]
fn check_sh_reports_status_and_says_when_systemd_is_absent() {
    let env = crate::support::Env::new();
    let bin_dir = assert_cmd::cargo::cargo_bin("pgbackup")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let check_with = |env: &crate::support::Env, extra: &[&str]| {
        Command::new(repo().join("check.sh"))
            .args(extra)
            .arg("--home")
            .arg(env.home())
            .envs(env.vars())
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let check = |env: &crate::support::Env| check_with(env, &[]);
    let empty = check(&env);
    assert_eq!(
        empty.status.code(),
        Some(2),
        "no backups is critical: {}",
        stdout(&empty)
    );
    env.create(&[]);
    let healthy = check(&env);
    let text = stdout(&healthy);
    assert_eq!(healthy.status.code(), Some(0), "{text}{}", stderr(&healthy));
    if !Path::new("/run/systemd/system").exists() {
        assert!(text.contains("systemd is not running here"), "{text}");
    }
    let instance = check_with(&env, &["--instance", "billing"]);
    assert_eq!(instance.status.code(), Some(0), "{}", stderr(&instance));
    assert!(
        stdout(&instance).contains("backups"),
        "{}",
        stdout(&instance)
    );
}
