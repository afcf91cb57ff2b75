use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Env, stdout};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn create_records_a_complete_backup() {
    let env = Env::new();
    let entry = env.create(&["--description", "first"]);
    assert_eq!(entry["database"], "app");
    assert_eq!(entry["type"], "full");
    assert_eq!(entry["description"], "first");
    assert_eq!(entry["compressed"], true);
    assert_eq!(entry["compression"], "gzip");
    assert_eq!(entry["format"], "plain");
    assert_eq!(entry["trigger"], "manual");
    let name = entry["filename"].as_str().unwrap();
    assert_eq!(
        name,
        format!("backup_full_{}.sql.gz", entry["id"].as_str().unwrap())
    );
    assert_eq!(
        env.files(),
        vec![name.to_string(), "backup_metadata.json".to_string()]
    );

    let bytes = fs::read(env.backups_dir().join(name)).unwrap();
    assert_eq!(entry["size"], bytes.len() as u64);
    assert_eq!(entry["sha256"], sha256_hex(&bytes));
    let sql = gunzip(&bytes);
    assert_eq!(entry["raw_size"], sql.len() as u64);
    assert!(sql.contains("item 1000"), "the data is in the dump");
    let tail = &sql[sql.len().saturating_sub(200)..];
    assert!(tail.contains("PostgreSQL database dump complete"), "{tail}");

    let props = &entry["database_properties"];
    assert_eq!(props["owner"], "postgres");
    assert_eq!(props["encoding"], "UTF8");
    assert!(
        entry["server_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric)
    );
    assert!(
        entry["pg_dump_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric)
    );
    assert_eq!(entry["port"], env.cluster.port);
    assert!(chrono::DateTime::parse_from_rfc3339(entry["created_at"].as_str().unwrap()).is_ok());

    assert_eq!(
        env.entries(),
        vec![entry.clone()],
        "the catalog holds exactly what create printed"
    );
    assert_eq!(mode(&env.backups_dir().join(name)), 0o600);
    assert_eq!(mode(&env.catalog_path()), 0o600);
    assert_eq!(mode(&env.backups_dir()), 0o700);
    assert_eq!(mode(&env.home()), 0o700);

    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    let line = log.lines().last().unwrap();
    assert!(
        line.contains("command=\"create")
            && line.contains("result=ok")
            && line.contains(entry["id"].as_str().unwrap()),
        "{line}"
    );
}

#[test]
fn schema_backups_hold_no_data() {
    let env = Env::new();
    let entry = env.create(&["--type", "schema", "--no-compress"]);
    let name = entry["filename"].as_str().unwrap();
    assert!(
        name.starts_with("backup_schema_") && name.ends_with(".sql"),
        "{name}"
    );
    assert_eq!(entry["compressed"], false);
    let sql = fs::read_to_string(env.backups_dir().join(name)).unwrap();
    assert!(sql.contains("CREATE TABLE public.items"));
    assert!(!sql.contains("item 1000"));
    assert_eq!(entry["raw_size"], entry["size"]);
}

/// The dump without pg_dump's `\restrict` lines, whose key differs on every run.
fn without_restrict_keys(sql: &str) -> String {
    sql.lines()
        .filter(|line| !line.starts_with("\\restrict ") && !line.starts_with("\\unrestrict "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn both_gzip_encoders_write_what_gzip_reads() {
    let env = Env::new();
    // Level 1 (the default) is ISA-L's igzip; levels 2 to 9 are zlib-rs's.
    let mut decoded = Vec::new();
    for args in [&[][..], &["--level", "6"][..]] {
        let entry = env.create(args);
        let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
        let output = Command::new("gzip").arg("-dc").arg(&path).output().unwrap();
        assert!(output.status.success(), "gzip -dc failed for {args:?}");
        assert_eq!(entry["raw_size"], output.stdout.len() as u64);
        decoded.push(without_restrict_keys(&stdout(&output)));
    }
    assert!(decoded[0].contains("item 1000"));
    assert_eq!(decoded[0], decoded[1], "both encoders hold the same dump");
}

#[test]
fn zstd_backups_decode_with_the_zstd_tool() {
    let env = Env::new();
    let entry = env.create(&["--compression", "zstd"]);
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    assert!(path.to_str().unwrap().ends_with(".sql.zst"));
    let output = Command::new("zstd").arg("-dc").arg(&path).output().unwrap();
    assert!(output.status.success());
    assert_eq!(entry["raw_size"], output.stdout.len() as u64);
    assert!(stdout(&output).contains("item 1000"));
}

#[test]
fn custom_format_backups_are_pg_restore_archives() {
    let env = Env::new();
    let entry = env.create(&["--format", "custom"]);
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    assert!(path.to_str().unwrap().ends_with(".dump"));
    assert_eq!(entry["compression"], "none");
    let output = Command::new("pg_restore")
        .arg("--list")
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(stdout(&output).contains("TABLE DATA public items"));
}

#[test]
fn backups_in_the_same_second_get_distinct_ids() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("pgbackup");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let output = Command::new("faketime")
            .args(["-f", "2025-04-08 16:00:00"])
            .arg(&bin)
            .args(["create", "--json"])
            .envs(env.vars())
            .output()
            .expect("faketime is installed by the test script");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let entry: Value = serde_json::from_slice(&output.stdout).unwrap();
        ids.push(entry["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        ids,
        ["20250408_160000", "20250408_160000_2", "20250408_160000_3"]
    );
    assert_eq!(
        env.files().len(),
        4,
        "three backups and the catalog: {:?}",
        env.files()
    );
}

#[test]
fn leftover_partial_files_are_swept() {
    let env = Env::new();
    fs::create_dir_all(env.backups_dir()).unwrap();
    let leftover = env
        .backups_dir()
        .join(".backup_full_20250101_000000.sql.gz.partial");
    fs::write(&leftover, b"half a dump").unwrap();
    env.create(&[]);
    assert!(!leftover.exists());
}

#[test]
fn unknown_catalog_fields_survive_a_create() {
    let env = Env::new();
    fs::create_dir_all(env.backups_dir()).unwrap();
    let old = serde_json::json!({"backups": [], "site": "eu-1"});
    fs::write(env.catalog_path(), old.to_string()).unwrap();
    env.create(&[]);
    let catalog: Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    assert_eq!(catalog["site"], "eu-1");
    assert_eq!(catalog["version"], 1);
    assert_eq!(catalog["backups"].as_array().unwrap().len(), 1);
}
