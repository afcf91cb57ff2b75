//! Directory-format backups (pg_dump -Fd --jobs): exact round trips with pg_restore
//! --jobs, the manifest that verify checks file by file, nothing left by a failed dump,
//! delete and prune removing the folder.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Env, assert_success, fixture, id, stderr, stdout};

fn folder(env: &Env, entry: &Value) -> PathBuf {
    env.backups_dir().join(entry["filename"].as_str().unwrap())
}

/// A data file of the folder (not toc.dat).
fn data_file(env: &Env, entry: &Value) -> PathBuf {
    let mut names: Vec<PathBuf> = fs::read_dir(folder(env, entry))
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "toc.dat")
        .collect();
    names.sort();
    names.pop().expect("the folder holds data files")
}

fn verify(env: &Env, entry: &Value) -> (bool, String) {
    let output = env.run(&["verify", "--json", id(entry)]);
    let text = stdout(&output);
    (
        output.status.success(),
        format!("{text}{}", stderr(&output)),
    )
}

#[test]
fn a_directory_backup_round_trips_the_broad_database_with_two_jobs() {
    let env = Env::new();
    env.cluster.psql_file("app", &fixture("broad.sql"));
    let entry = env.create(&["--format", "directory", "--jobs", "2"]);
    let dump_at_backup = env.cluster.dump("app");
    let name = entry["filename"].as_str().unwrap();
    assert!(
        name.starts_with("backup_full_") && name.ends_with(".dir"),
        "{name}"
    );
    assert!(folder(&env, &entry).join("toc.dat").is_file());
    assert_eq!(entry["format"], "directory");
    assert_eq!(entry["compression"], "gzip");
    assert_eq!(entry["jobs"], 2);
    let files = entry["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["name"] == "toc.dat"), "{files:?}");
    let total: u64 = files.iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert_eq!(entry["size"].as_u64().unwrap(), total);
    assert!(
        env.files().iter().all(|n| !n.ends_with(".partial")),
        "{:?}",
        env.files()
    );

    env.cluster.psql(
        "app",
        "DROP TABLE sales.audit_log CASCADE; UPDATE sales.customers SET total = 1",
    );
    let output = env.run(&["restore", id(&entry), "--jobs", "2", "--yes"]);
    assert_success(&output);
    assert!(
        env.cluster.dump("app") == dump_at_backup,
        "the restored database differs from the backup"
    );

    let output = env.run(&["view", id(&entry)]);
    assert_success(&output);
    let shown = stdout(&output);
    assert!(shown.contains("directory"), "{shown}");
    let count = format!("{} (each with its size", files.len());
    assert!(shown.contains(&count), "{shown}");
    assert!(env.run(&["list"]).status.success());
    let (ok, text) = verify(&env, &entry);
    assert!(ok, "{text}");
    let output = env.run(&["verify", "--restore-test", "--json", id(&entry)]);
    assert_success(&output);
    let tested: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(tested[0]["restore_tested"], true, "{tested}");
    assert_success(&env.run(&["status"]));

    fs::remove_file(env.catalog_path()).unwrap();
    let output = env.run(&["verify", "--rebuild-catalog"]);
    assert_success(&output);
    let rebuilt = env.entries();
    assert_eq!(rebuilt.len(), 1, "{}", stderr(&output));
    assert_eq!(rebuilt[0]["files"], entry["files"]);
    let (ok, text) = verify(&env, &entry);
    assert!(ok, "{text}");
}

#[test]
fn verify_names_the_changed_the_missing_and_the_extra_file() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g",
    );
    let entry = env.create(&["--format", "directory", "--compression", "none"]);
    let (ok, text) = verify(&env, &entry);
    assert!(ok, "{text}");

    let data = data_file(&env, &entry);
    let data_name = data.file_name().unwrap().to_string_lossy().into_owned();
    let mut bytes = fs::read(&data).unwrap();
    bytes[0] ^= 1;
    fs::write(&data, &bytes).unwrap();
    let (ok, text) = verify(&env, &entry);
    assert!(
        !ok && text.contains(&data_name) && text.contains("SHA-256"),
        "{text}"
    );
    let output = env.run(&["restore", id(&entry), "--target", "copy", "--yes"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("nothing was touched"),
        "{}",
        stderr(&output)
    );
    assert!(!env.cluster.databases().contains(&"copy".to_string()));
    bytes[0] ^= 1;
    fs::write(&data, &bytes).unwrap();

    let extra = folder(&env, &entry).join("9999.dat");
    fs::write(&extra, b"x").unwrap();
    let (ok, text) = verify(&env, &entry);
    assert!(
        !ok && text.contains("9999.dat") && text.contains("not part"),
        "{text}"
    );
    fs::remove_file(&extra).unwrap();

    fs::remove_file(&data).unwrap();
    let (ok, text) = verify(&env, &entry);
    assert!(
        !ok && text.contains(&data_name) && text.contains("missing"),
        "{text}"
    );
}

#[test]
fn a_failed_pg_dump_leaves_no_folder_and_no_entry() {
    let env = Env::new();
    env.shim_pg_dump(
        "for a in \"$@\"; do case \"$a\" in --file=*) d=\"${a#--file=}\";; esac; done\n\
         echo partial > \"$d/toc.dat\"\necho 'pg_dump: error: connection lost' >&2\nexit 1",
    );
    let leftover = env
        .backups_dir()
        .join(".backup_full_20200101_000000.dir.partial");
    fs::create_dir_all(&leftover).unwrap();
    fs::write(leftover.join("toc.dat"), b"left by a killed run").unwrap();
    let output = env.run(&["create", "--format", "directory"]);
    assert!(!output.status.success());
    assert!(!leftover.exists(), "the leftover partial folder is swept");
    assert!(
        stderr(&output).contains("connection lost"),
        "{}",
        stderr(&output)
    );
    assert!(env.entries().is_empty());
    assert_eq!(env.files(), Vec::<String>::new());
}

#[test]
fn delete_and_prune_remove_the_folder() {
    let env = Env::new();
    let first = env.create(&["--format", "directory"]);
    let second = env.create(&["--format", "directory", "--jobs", "1"]);
    assert!(folder(&env, &first).is_dir() && folder(&env, &second).is_dir());
    let output = env.run(&["prune", "--keep-last", "1", "--yes"]);
    assert_success(&output);
    assert!(!folder(&env, &first).exists(), "{}", stdout(&output));
    assert_eq!(env.entries().len(), 1);
    let output = env.run(&["delete", "--yes", id(&second)]);
    assert_success(&output);
    assert!(!folder(&env, &second).exists());
    assert!(env.entries().is_empty());
    assert!(
        env.files().iter().all(|n| !n.contains(".dir")),
        "{:?}",
        env.files()
    );
}

#[test]
fn jobs_needs_the_directory_format_and_encryption_is_refused() {
    let env = Env::new();
    let output = env.run(&["create", "--jobs", "2"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--format directory"),
        "{}",
        stderr(&output)
    );
    let output = env.run(&[
        "create",
        "--format",
        "directory",
        "--recipient",
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot be encrypted"),
        "{}",
        stderr(&output)
    );
    assert!(env.entries().is_empty());
}

#[test]
fn a_directory_dump_on_a_terminal_shows_the_bytes_written() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g",
    );
    let real = crate::support::real_pg_dump();
    env.shim_pg_dump(&format!("{real} \"$@\" || exit $?\nsleep 1.5"));
    let (code, screen) = env.run_on_terminal("create --format directory", &[], "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("KiB read ("),
        "the bar shows the bytes in the folder: {screen:?}"
    );
    assert!(screen.contains("created backup "), "{screen:?}");
}
