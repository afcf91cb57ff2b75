//! `prune`: every `--keep-*` flag reaches the policy, counts take 0 and -1, and a
//! scheduled run prunes only the group of the backup it made.

use std::fs;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Env, stderr};

/// Full backups of `app` spread so that each rule keeps a different set: two in one hour,
/// three on one day, two in one ISO week, two in one month, three years.
const SPREAD: [&str; 11] = [
    "20250312_110000",
    "20250312_103000",
    "20250312_100000",
    "20250312_030000",
    "20250310_030000",
    "20250301_030000",
    "20250120_030000",
    "20250101_030000",
    "20240601_030000",
    "20240115_030000",
    "20230615_030000",
];

/// Writes a catalog in the old module's form with one backup file per `(id, type, database)`.
fn write_catalog(env: &Env, backups: &[(&str, &str, &str)]) {
    fs::create_dir_all(env.backups_dir()).unwrap();
    let entries: Vec<Value> = backups
        .iter()
        .map(|&(id, kind, database)| {
            let filename = format!("backup_{kind}_{id}.sql");
            fs::write(env.backups_dir().join(&filename), "-- dump\n").unwrap();
            let date = format!(
                "{}-{}-{}T{}:{}:{}",
                &id[0..4],
                &id[4..6],
                &id[6..8],
                &id[9..11],
                &id[11..13],
                &id[13..15]
            );
            json!({"id": id, "filename": filename, "path": env.backups_dir().join(&filename),
                "type": kind, "compressed": false, "size": 8, "date": date, "description": "",
                "database": database})
        })
        .collect();
    fs::write(
        env.catalog_path(),
        serde_json::to_string_pretty(&entries).unwrap(),
    )
    .unwrap();
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

#[test]
fn each_keep_flag_selects_its_own_backups() {
    let env = Env::new();
    let spread: Vec<(&str, &str, &str)> = SPREAD.iter().map(|id| (*id, "full", "app")).collect();
    write_catalog(&env, &spread);
    let cases: [(&[&str], &[&str], &str); 9] = [
        (
            &["--keep-last", "2"],
            &["20250312_110000", "20250312_103000"],
            "last",
        ),
        (
            &["--keep-hourly", "3"],
            &["20250312_110000", "20250312_103000", "20250312_030000"],
            "hourly",
        ),
        (
            &["--keep-daily", "2"],
            &["20250312_110000", "20250310_030000"],
            "daily",
        ),
        (
            &["--keep-weekly", "2"],
            &["20250312_110000", "20250301_030000"],
            "weekly",
        ),
        (
            &["--keep-monthly", "2"],
            &["20250312_110000", "20250120_030000"],
            "monthly",
        ),
        (
            &["--keep-yearly", "2"],
            &["20250312_110000", "20240601_030000"],
            "yearly",
        ),
        (
            &["--keep-within", "3d"],
            &[
                "20250312_110000",
                "20250312_103000",
                "20250312_100000",
                "20250312_030000",
                "20250310_030000",
            ],
            "within 3d",
        ),
        (
            &["--keep-yearly", "-1"],
            &["20250312_110000", "20240601_030000", "20230615_030000"],
            "yearly",
        ),
        (
            &["--keep-last", "1", "--keep-monthly", "0"],
            &["20250312_110000"],
            "last",
        ),
    ];
    for (flags, expected, reason) in cases {
        let mut args = vec!["prune", "--json", "--dry-run"];
        args.extend_from_slice(flags);
        let output = env.cmd().env("TZ", "UTC").args(&args).output().unwrap();
        assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
        let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(ids(&plan["keep"]), expected, "{flags:?}");
        assert_eq!(
            ids(&plan["keep"]).len() + ids(&plan["remove"]).len(),
            SPREAD.len(),
            "{flags:?}"
        );
        let oldest_kept = &plan["keep"][expected.len() - 1];
        assert_eq!(oldest_kept["reasons"], json!([reason]), "{flags:?}");
    }
    assert_eq!(
        env.entries().len(),
        SPREAD.len(),
        "a dry run removed entries"
    );
}

#[test]
fn a_scheduled_run_prunes_only_the_database_and_type_it_backed_up() {
    let env = Env::new();
    let mut backups: Vec<(&str, &str, &str)> =
        SPREAD[..4].iter().map(|id| (*id, "full", "app")).collect();
    backups.extend([
        ("20250310_120000", "schema", "app"),
        ("20250312_120000", "schema", "app"),
        ("20250301_040000", "full", "other"),
        ("20250302_040000", "full", "other"),
    ]);
    write_catalog(&env, &backups);
    fs::write(
        env.home().join("backup_schedule.json"),
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
            "retention": {"last": 1}, "last_run": null, "next_run": null})
        .to_string(),
    )
    .unwrap();
    let output = Command::new("faketime")
        .args(["-f", "2025-03-20 03:00:00"])
        .arg(assert_cmd::cargo::cargo_bin("pgbackup"))
        .args(["run-scheduled", "--force"])
        .envs(env.vars())
        .env("TZ", "UTC")
        .output()
        .expect("faketime is installed by the test script");
    assert!(output.status.success(), "{}", stderr(&output));
    let mut remaining: Vec<String> = env
        .entries()
        .iter()
        .map(|e| format!("{} {} {}", e["database"], e["type"], e["id"]))
        .collect();
    remaining.sort();
    assert_eq!(
        remaining,
        [
            r#""app" "full" "20250320_030000""#,
            r#""app" "schema" "20250310_120000""#,
            r#""app" "schema" "20250312_120000""#,
            r#""other" "full" "20250301_040000""#,
            r#""other" "full" "20250302_040000""#,
        ]
    );
}

#[test]
fn a_count_below_minus_one_is_refused_even_beside_a_valid_rule() {
    let env = Env::new();
    write_catalog(
        &env,
        &[(SPREAD[0], "full", "app"), (SPREAD[1], "full", "app")],
    );
    for (flag, value) in [("--keep-hourly", "-2"), ("--keep-weekly", "-5")] {
        let output = env.run(&["prune", "--keep-last", "1", flag, value]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let expected = format!("{} {value}: use a count", &flag[2..]);
        assert!(
            stderr(&output).contains(&expected),
            "{flag} {value}: {}",
            stderr(&output)
        );
    }
    assert_eq!(env.entries().len(), 2);
}
