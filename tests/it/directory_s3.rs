//! Directory-format backups in S3 (a real s3s-fs): pg_dump -Fd writes into a private
//! temporary folder whose files are uploaded one by one under `backup_….dir/`, the folder
//! listed as one backup once its metadata object exists; restore downloads it once,
//! checked against the manifest, into a private temporary folder that pg_restore --jobs
//! reads; verify names a changed object; delete and prune remove every object; an
//! interrupted create or delete leaves nothing listed and its leftovers are swept.

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, fixture, id, real_program, stderr, stdout};

const PREFIX: &str = "prod/app";

/// pgbackup on the bucket, with `tmp` as its TMPDIR.
fn run(env: &Env, server: &S3Server, tmp: &Path, args: &[&str]) -> Output {
    env.cmd()
        .envs(server.vars())
        .env("TMPDIR", tmp)
        .arg("--repo")
        .arg(server.url(PREFIX))
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

fn tmpdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("pgbackup-tmpdir-")
        .tempdir()
        .unwrap()
}

fn left_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn create(env: &Env, server: &S3Server, tmp: &Path, args: &[&str]) -> Value {
    let mut all = vec!["create", "--json", "--format", "directory"];
    all.extend_from_slice(args);
    let output = run(env, server, tmp, &all);
    assert_success(&output);
    json(&output)
}

/// The objects of the backup folder `name` in the bucket (file names).
fn folder_objects(server: &S3Server, name: &str) -> Vec<String> {
    let inside = format!("{PREFIX}/{name}/");
    server
        .files()
        .into_iter()
        .filter_map(|f| f.strip_prefix(&inside).map(str::to_string))
        .collect()
}

/// Every object under a `backup_….dir/` folder in the bucket.
fn folder_files(server: &S3Server) -> Vec<String> {
    server
        .files()
        .into_iter()
        .filter(|f| f.contains(".dir/"))
        .collect()
}

fn listed(env: &Env, server: &S3Server, tmp: &Path) -> Vec<Value> {
    let output = run(env, server, tmp, &["list", "--json"]);
    assert_success(&output);
    json(&output).as_array().unwrap().clone()
}

#[test]
fn a_directory_backup_in_s3_round_trips_with_two_jobs_and_is_listed_verified_and_rebuilt() {
    let env = Env::new();
    let server = S3Server::start();
    let tmp = tmpdir();
    env.cluster.psql_file("app", &fixture("broad.sql"));
    let entry = create(&env, &server, tmp.path(), &["--jobs", "2"]);
    let dump_at_backup = env.cluster.dump("app");
    let name = entry["filename"].as_str().unwrap();
    assert!(name.ends_with(".dir"), "{name}");
    assert_eq!(entry["jobs"], 2);
    let files = entry["files"].as_array().unwrap();
    let uploaded = folder_objects(&server, name);
    let mut recorded: Vec<String> = files
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    recorded.sort();
    assert_eq!(uploaded, recorded, "every file is one object");
    assert!(uploaded.contains(&"toc.dat".to_string()), "{uploaded:?}");
    let objects = server.files();
    for object in [format!("{name}.meta.json"), "backup_metadata.json".into()] {
        assert!(
            objects.contains(&format!("{PREFIX}/{object}")),
            "{object}: {objects:?}"
        );
    }
    assert!(env.files().is_empty(), "nothing local: {:?}", env.files());
    assert_eq!(left_in(tmp.path()), Vec::<String>::new(), "TMPDIR is clean");

    let listed = listed(&env, &server, tmp.path());
    assert_eq!(listed.len(), 1, "the folder is one backup: {listed:?}");
    assert_eq!(listed[0]["state"], "ok", "{listed:?}");
    let total: u64 = files.iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert_eq!(listed[0]["size"].as_u64(), Some(total), "{listed:?}");
    let viewed = run(&env, &server, tmp.path(), &["view", id(&entry)]);
    assert_success(&viewed);
    assert!(stdout(&viewed).contains("directory"), "{}", stdout(&viewed));
    let verified = run(&env, &server, tmp.path(), &["verify", "--json", id(&entry)]);
    assert_success(&verified);
    assert_eq!(json(&verified)[0]["result"], "ok", "{}", stdout(&verified));
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());

    // pg_restore reads a private local folder under TMPDIR, never the bucket.
    let logs = tmpdir();
    let record = logs.path().join("pg_restore-folders.log");
    let real = real_program("pg_restore");
    env.shim(
        "pg_restore",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do last=\"$a\"; done\n\
             if [ -d \"$last\" ]; then stat -c '%a %n' \"$last\" >> '{}'; fi\n\
             exec {real} \"$@\"\n",
            record.display()
        ),
    );
    env.cluster.psql(
        "app",
        "DROP TABLE sales.audit_log CASCADE; UPDATE sales.customers SET total = 1",
    );
    let restored = run(
        &env,
        &server,
        tmp.path(),
        &["restore", id(&entry), "--jobs", "2", "--yes"],
    );
    assert_success(&restored);
    let downloads = stderr(&restored).matches("downloading ").count();
    assert_eq!(downloads, 1, "downloaded once: {}", stderr(&restored));
    assert!(
        env.cluster.dump("app") == dump_at_backup,
        "the restored database differs from the backup"
    );
    let seen = fs::read_to_string(&record).unwrap();
    let folders: Vec<&str> = seen.lines().collect();
    assert!(!folders.is_empty(), "pg_restore read no folder");
    let first = folders[0].split_once(' ').unwrap().1;
    for line in &folders {
        let (mode, path) = line.split_once(' ').unwrap();
        assert_eq!(mode, "700", "{line}");
        assert!(path.starts_with(&*tmp.path().to_string_lossy()), "{line}");
        assert_eq!(path, first, "downloaded once, read by every pg_restore");
    }
    assert_eq!(
        left_in(tmp.path()),
        Vec::<String>::new(),
        "the copy is removed"
    );
    fs::remove_file(&record).unwrap();

    fs::remove_file(
        server
            .bucket_dir()
            .join(PREFIX)
            .join("backup_metadata.json"),
    )
    .unwrap();
    let rebuilt = run(&env, &server, tmp.path(), &["verify", "--rebuild-catalog"]);
    assert_success(&rebuilt);
    let listed = self::listed(&env, &server, tmp.path());
    assert_eq!(listed.len(), 1, "{}", stderr(&rebuilt));
    assert_eq!(listed[0]["id"], entry["id"]);
    let verified = run(&env, &server, tmp.path(), &["verify", "--json", id(&entry)]);
    assert_success(&verified);
}

#[test]
fn verify_and_restore_name_a_changed_object_and_nothing_is_touched() {
    let env = Env::new();
    let server = S3Server::start();
    let tmp = tmpdir();
    env.cluster.psql(
        "app",
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g",
    );
    let entry = create(&env, &server, tmp.path(), &["--compression", "none"]);
    let name = entry["filename"].as_str().unwrap();
    let data = folder_objects(&server, name)
        .into_iter()
        .filter(|f| f != "toc.dat")
        .max()
        .unwrap();
    let path = server.bucket_dir().join(PREFIX).join(name).join(&data);
    let mut bytes = fs::read(&path).unwrap();
    bytes[0] ^= 1;
    fs::write(&path, &bytes).unwrap();

    let verified = run(&env, &server, tmp.path(), &["verify", "--json", id(&entry)]);
    assert!(!verified.status.success());
    let text = format!("{}{}", stdout(&verified), stderr(&verified));
    assert!(text.contains(&data) && text.contains("SHA-256"), "{text}");
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());

    let restored = run(
        &env,
        &server,
        tmp.path(),
        &[
            "restore",
            id(&entry),
            "--target",
            "copy",
            "--jobs",
            "2",
            "--yes",
        ],
    );
    assert!(!restored.status.success());
    let text = stderr(&restored);
    assert!(
        text.contains("nothing was touched") && text.contains(&data),
        "{text}"
    );
    assert!(!env.cluster.databases().contains(&"copy".to_string()));
    assert_eq!(left_in(tmp.path()), Vec::<String>::new(), "no copy is left");

    fs::remove_file(&path).unwrap();
    let verified = run(&env, &server, tmp.path(), &["verify", "--json", id(&entry)]);
    assert!(!verified.status.success());
    let text = format!("{}{}", stdout(&verified), stderr(&verified));
    assert!(text.contains(&data) && text.contains("missing"), "{text}");
}

#[test]
fn delete_and_prune_remove_every_object_and_an_interrupted_delete_is_finished() {
    let env = Env::new();
    let server = S3Server::start();
    let tmp = tmpdir();
    let first = create(&env, &server, tmp.path(), &[]);
    let second = create(&env, &server, tmp.path(), &["--jobs", "1"]);
    let third = create(&env, &server, tmp.path(), &[]);
    let pruned = run(
        &env,
        &server,
        tmp.path(),
        &["prune", "--keep-last", "2", "--yes"],
    );
    assert_success(&pruned);
    let gone = first["filename"].as_str().unwrap();
    assert_eq!(folder_objects(&server, gone), Vec::<String>::new());
    assert!(
        !server.files().iter().any(|f| f.contains(gone)),
        "{:?}",
        server.files()
    );
    let deleted = run(&env, &server, tmp.path(), &["delete", "--yes", id(&second)]);
    assert_success(&deleted);
    let gone = second["filename"].as_str().unwrap();
    assert!(
        !server.files().iter().any(|f| f.contains(gone)),
        "{:?}",
        server.files()
    );

    // Killed after the metadata object went and before the files did.
    let name = third["filename"].as_str().unwrap().to_string();
    let killed = env
        .cmd()
        .envs(server.vars())
        .env("TMPDIR", tmp.path())
        .env("PGBACKUP_FAULT", "s3-folder-remove")
        .args(["--repo", &server.url(PREFIX), "delete", "--yes", id(&third)])
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(!folder_objects(&server, &name).is_empty(), "killed midway");
    let listed = listed(&env, &server, tmp.path());
    assert!(
        listed
            .iter()
            .all(|e| e["state"] != "ok" && e["state"] != "untracked"),
        "{listed:?}"
    );
    let finished = run(
        &env,
        &server,
        tmp.path(),
        &["prune", "--keep-last", "5", "--yes"],
    );
    assert_success(&finished);
    assert_eq!(folder_files(&server), Vec::<String>::new());
    assert_eq!(self::listed(&env, &server, tmp.path()), Vec::<Value>::new());
}

#[test]
fn a_create_that_fails_or_is_killed_midway_leaves_nothing_visible_and_is_swept() {
    let env = Env::new();
    let server = S3Server::start();
    let tmp = tmpdir();
    env.shim_pg_dump(
        "for a in \"$@\"; do case \"$a\" in --file=*) d=\"${a#--file=}\";; esac; done\n\
         echo partial > \"$d/toc.dat\"\necho 'pg_dump: error: connection lost' >&2\nexit 1",
    );
    let failed = run(
        &env,
        &server,
        tmp.path(),
        &["create", "--format", "directory"],
    );
    assert!(!failed.status.success());
    assert!(
        stderr(&failed).contains("connection lost"),
        "{}",
        stderr(&failed)
    );
    assert_eq!(folder_files(&server), Vec::<String>::new());
    assert_eq!(
        left_in(tmp.path()),
        Vec::<String>::new(),
        "the dump folder is removed"
    );

    // Killed after the first file went up: no metadata object, so nothing is listed.
    let real = real_program("pg_dump");
    env.shim_pg_dump(&format!("exec {real} \"$@\""));
    let killed = env
        .cmd()
        .envs(server.vars())
        .env("TMPDIR", tmp.path())
        .env("PGBACKUP_FAULT", "s3-folder-upload")
        .args([
            "--repo",
            &server.url(PREFIX),
            "create",
            "--format",
            "directory",
        ])
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(!folder_files(&server).is_empty(), "one file was uploaded");
    assert_eq!(listed(&env, &server, tmp.path()), Vec::<Value>::new());
    let status = run(&env, &server, tmp.path(), &["status"]);
    assert!(stdout(&status).contains("leftover"), "{}", stdout(&status));

    let made = create(&env, &server, tmp.path(), &[]);
    let name = made["filename"].as_str().unwrap();
    let inside = format!("{PREFIX}/{name}/");
    let stray: Vec<String> = folder_files(&server)
        .into_iter()
        .filter(|f| !f.starts_with(&inside))
        .collect();
    assert_eq!(
        stray,
        Vec::<String>::new(),
        "the next writer swept the leftovers"
    );
    assert_eq!(listed(&env, &server, tmp.path()).len(), 1);

    // A last backup bigger than TMPDIR has room for: refused before pg_dump starts.
    let catalog = server
        .bucket_dir()
        .join(PREFIX)
        .join("backup_metadata.json");
    let mut recorded: Value = serde_json::from_slice(&fs::read(&catalog).unwrap()).unwrap();
    let entries = match recorded.as_array_mut() {
        Some(entries) => entries,
        None => recorded["backups"].as_array_mut().unwrap(),
    };
    entries[0]["size"] = Value::from(1u64 << 60);
    fs::write(&catalog, serde_json::to_vec(&recorded).unwrap()).unwrap();
    let before = folder_files(&server);
    let refused = run(
        &env,
        &server,
        tmp.path(),
        &["create", "--format", "directory"],
    );
    assert!(!refused.status.success());
    let text = stderr(&refused);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].contains("set TMPDIR"), "{text}");
    assert_eq!(folder_files(&server), before, "nothing was uploaded");
}

#[test]
fn copy_takes_a_directory_backup_to_s3_and_back_checked_against_its_manifest() {
    let env = Env::new();
    let server = S3Server::start();
    let tmp = tmpdir();
    let local = env.create(&["--format", "directory"]);
    let name = local["filename"].as_str().unwrap();
    let copied = env
        .cmd()
        .envs(server.vars())
        .env("TMPDIR", tmp.path())
        .args(["copy", id(&local), "--to", &server.url(PREFIX)])
        .output()
        .unwrap();
    assert_success(&copied);
    let mut recorded: Vec<String> = (local["files"].as_array().unwrap().iter())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    recorded.sort();
    assert_eq!(folder_objects(&server, name), recorded);
    assert_eq!(left_in(tmp.path()), Vec::<String>::new());
    let listed = listed(&env, &server, tmp.path());
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["files"], local["files"], "{listed:?}");
    let verified = run(&env, &server, tmp.path(), &["verify", "--json", id(&local)]);
    assert_success(&verified);

    let back = tmpdir();
    let to = back.path().to_string_lossy().into_owned();
    let returned = run(
        &env,
        &server,
        tmp.path(),
        &["copy", id(&local), "--to", &to],
    );
    assert_success(&returned);
    for file in &recorded {
        let there = fs::read(back.path().join(name).join(file)).unwrap();
        let here = fs::read(env.backups_dir().join(name).join(file)).unwrap();
        assert!(there == here, "{file} differs after the round trip");
    }

    let data = recorded.iter().find(|f| *f != "toc.dat").unwrap();
    let object = server.bucket_dir().join(PREFIX).join(name).join(data);
    let mut bytes = fs::read(&object).unwrap();
    bytes[0] ^= 1;
    fs::write(&object, &bytes).unwrap();
    let other = tmpdir();
    let to = other.path().to_string_lossy().into_owned();
    let refused = run(
        &env,
        &server,
        tmp.path(),
        &["copy", id(&local), "--to", &to],
    );
    assert!(!refused.status.success());
    let text = stderr(&refused);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].contains(data.as_str()), "{text}");
    assert!(!other.path().join(name).exists(), "nothing was written");
}
