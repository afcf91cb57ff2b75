//! age encryption against the real `age` tool (Debian's `age` package) in both directions,
//! with restore and verify given the right identity, a wrong one, or none, and damaged files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::scheduled::{run_at, write_schedule};
use crate::support::{Env, age_keygen, assert_success, id, stderr};

fn run_ok(command: &mut Command) -> Output {
    let output = command.output().expect("the program runs");
    assert_success(&output);
    output
}

fn file_of(env: &Env, entry: &Value) -> PathBuf {
    env.backups_dir().join(entry["filename"].as_str().unwrap())
}

/// Runs a shell pipeline with the cluster's connection variables.
fn sh(env: &Env, script: &str) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .envs(env.cluster.env())
        .output()
        .unwrap()
}

/// Every file under `dir`, for checking that a secret reached none of them.
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_text(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&fs::read(&path).unwrap()));
        }
    }
    text
}

fn secret_of(key: &Path) -> String {
    let text = fs::read_to_string(key).unwrap();
    let line = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-"));
    line.unwrap().to_string()
}

/// `verify --json ID ARGS`: its exit code and the backup's problems and warnings, joined.
fn verify(env: &Env, entry: &Value, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["verify", "--json", id(entry)];
    all.extend_from_slice(args);
    let output = env.run(&all);
    let results: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let found = &results[0];
    let notes: Vec<&str> = (found["problems"].as_array().into_iter().flatten())
        .chain(found["warnings"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    (
        output.status.code(),
        format!("{} {}", notes.join("; "), stderr(&output)),
    )
}

/// Points the catalog's size and SHA-256 of `entry` at the file as it is now, as if it had
/// been written so: what is left to catch a change is age's own authentication.
fn rerecord(env: &Env, entry: &Value) {
    let bytes = fs::read(file_of(env, entry)).unwrap();
    let text = fs::read_to_string(env.catalog_path()).unwrap();
    let mut catalog: Value = serde_json::from_str(&text).unwrap();
    for e in catalog["backups"].as_array_mut().unwrap() {
        if e["id"] == entry["id"] {
            e["size"] = json!(bytes.len());
            e["sha256"] = json!(format!("{:x}", Sha256::digest(&bytes)));
        }
    }
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
}

#[test]
fn backups_decrypt_with_the_age_tool_into_streams_psql_and_pg_restore_restore() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let at_backup = env.cluster.dump("app");
    let cases = [
        (
            vec!["--compression", "gzip"],
            ".sql.gz.age",
            "gzip -dc | psql -X -q -v ON_ERROR_STOP=1 -d",
        ),
        (
            vec!["--compression", "zstd"],
            ".sql.zst.age",
            "zstd -dc | psql -X -q -v ON_ERROR_STOP=1 -d",
        ),
        (
            vec!["--format", "custom"],
            ".dump.age",
            "pg_restore --exit-on-error -d",
        ),
    ];
    for (n, (args, suffix, restore)) in cases.into_iter().enumerate() {
        let mut all = args.clone();
        all.extend(["--recipient", &public]);
        let entry = env.create(&all);
        let name = entry["filename"].as_str().unwrap();
        assert!(name.ends_with(suffix), "{name}");
        assert_eq!(
            entry["encryption"],
            json!({"method": "age", "recipients": [public]})
        );
        assert_eq!(
            entry["codecs"].as_array().unwrap().last(),
            Some(&json!("age"))
        );
        let file = file_of(&env, &entry);
        assert!(
            fs::read(&file)
                .unwrap()
                .starts_with(b"age-encryption.org/v1\n")
        );
        let database = format!("by_hand_{n}");
        env.cluster
            .psql("postgres", &format!("CREATE DATABASE {database}"));
        let decrypted = sh(
            &env,
            &format!(
                "set -e; age -d -i '{}' '{}' | {restore} {database}",
                key.display(),
                file.display()
            ),
        );
        assert_success(&decrypted);
        assert_eq!(env.cluster.dump(&database), at_backup, "{args:?}");
    }
    let everything = all_text(&env.home());
    assert!(!everything.contains(&secret_of(&key)));
}

#[test]
fn files_the_age_tool_encrypted_and_ssh_keys_are_read_by_pgbackup() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let ssh_key = keys.path().join("id_ed25519");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "backup", "-f"])
            .arg(&ssh_key),
    );
    let recipients = keys.path().join("recipients.txt");
    let ssh_public = fs::read_to_string(ssh_key.with_extension("pub")).unwrap();
    fs::write(&recipients, format!("# the ops key\n{ssh_public}")).unwrap();
    let entry = env.create(&["--recipients-file", recipients.to_str().unwrap()]);
    let file = file_of(&env, &entry);
    assert_eq!(
        entry["encryption"]["recipients"],
        json!([ssh_public.trim()])
    );
    // pgbackup's file to an SSH key opens with that key, in age and in pgbackup.
    let by_age = sh(
        &env,
        &format!(
            "age -d -i '{}' '{}' | gzip -dc | tail -c 200",
            ssh_key.display(),
            file.display()
        ),
    );
    assert_success(&by_age);
    assert!(String::from_utf8_lossy(&by_age.stdout).contains("PostgreSQL database dump complete"));
    let ssh = ssh_key.to_str().unwrap();
    assert_success(&env.run(&["verify", id(&entry), "--identity", ssh]));
    // The same dump, encrypted by the age tool to an age key, reads back in pgbackup.
    let plain = keys.path().join("plain.sql.gz");
    let decrypted = sh(
        &env,
        &format!(
            "age -d -i '{}' -o '{}' '{}'",
            ssh_key.display(),
            plain.display(),
            file.display()
        ),
    );
    assert_success(&decrypted);
    run_ok(
        Command::new("age")
            .args(["-r", &public, "-o"])
            .arg(&file)
            .arg(&plain),
    );
    rerecord(&env, &entry);
    let key = key.to_str().unwrap();
    let (code, notes) = verify(&env, &entry, &["--identity", key]);
    assert_eq!(code, Some(0), "{notes}");
    assert!(!notes.contains("SHA-256 only"), "{notes}");
    let at_backup = env.cluster.dump("app");
    env.cluster.psql("app", "DELETE FROM items");
    assert_success(&env.run(&[
        "restore",
        id(&entry),
        "--yes",
        "--drop-previous",
        "--identity",
        key,
    ]));
    assert_eq!(env.cluster.dump("app"), at_backup);
}

#[test]
fn the_passphrase_mode_decrypts_with_age_on_a_terminal() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let phrase = "tangerine-otter-cobalt-9";
    let passphrase = keys.path().join("passphrase");
    fs::write(&passphrase, format!("{phrase}\n")).unwrap();
    fs::set_permissions(&passphrase, fs::Permissions::from_mode(0o600)).unwrap();
    let passphrase = passphrase.to_str().unwrap();
    let entry = env.create(&["--passphrase-file", passphrase]);
    assert_eq!(
        entry["encryption"],
        json!({"method": "age", "recipients": [], "passphrase": true})
    );
    assert!(!all_text(&env.home()).contains(phrase));
    let file = file_of(&env, &entry);
    let out = keys.path().join("out.sql.gz");
    let command = format!("age -d -o '{}' '{}'", out.display(), file.display());
    let mut typist = Command::new("sh")
        .args([
            "-c",
            "sleep 2; printf '%s\\n' \"$1\"; sleep 5",
            "sh",
            phrase,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let on_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(typist.stdout.take().unwrap())
        .output()
        .unwrap();
    let _ = typist.kill();
    let _ = typist.wait();
    assert_success(&on_terminal);
    let tail = sh(&env, &format!("gzip -dc '{}' | tail -c 200", out.display()));
    assert!(String::from_utf8_lossy(&tail.stdout).contains("PostgreSQL database dump complete"));
    assert_success(&env.run(&["verify", id(&entry), "--passphrase-file", passphrase]));
    let wrong = keys.path().join("wrong");
    fs::write(&wrong, "not it\n").unwrap();
    fs::set_permissions(&wrong, fs::Permissions::from_mode(0o600)).unwrap();
    let refused = env.run(&[
        "verify",
        id(&entry),
        "--passphrase-file",
        wrong.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
}

#[test]
fn restore_and_verify_need_the_right_identity_and_touch_nothing_without_it() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let (other, _) = age_keygen(keys.path(), "other.txt");
    let entry = env.create(&["--recipient", &public]);
    let (key, other) = (key.to_str().unwrap(), other.to_str().unwrap());

    let (code, notes) = verify(&env, &entry, &[]);
    assert_eq!(code, Some(0), "{notes}");
    assert!(
        notes.contains("checked its size and SHA-256 only"),
        "{notes}"
    );
    let recorded = env.entries().pop().unwrap();
    assert_eq!(
        recorded["verify_detail"],
        "size and SHA-256 only: encrypted, no identity given"
    );
    let (code, notes) = verify(&env, &entry, &["--identity", key]);
    assert_eq!(code, Some(0), "{notes}");
    assert!(!notes.contains("SHA-256 only"), "{notes}");
    let (code, notes) = verify(&env, &entry, &["--identity", other]);
    assert_eq!(code, Some(1), "{notes}");
    assert!(
        notes.contains("none of the identities given can decrypt"),
        "{notes}"
    );

    env.cluster.psql(
        "app",
        "INSERT INTO items (name) VALUES ('after the backup')",
    );
    let before = env.cluster.dump("app");
    let databases = env.cluster.databases();
    let none = env.run(&["restore", id(&entry), "--yes"]);
    assert_eq!(none.status.code(), Some(1));
    let err = stderr(&none);
    assert!(
        err.contains("nothing was touched") && err.contains("--identity FILE"),
        "{err}"
    );
    let wrong = env.run(&["restore", id(&entry), "--yes", "--identity", other]);
    assert_eq!(wrong.status.code(), Some(1));
    let err = stderr(&wrong);
    assert!(
        err.contains("nothing was touched") && err.contains("none of the identities"),
        "{err}"
    );
    assert_eq!(env.cluster.databases(), databases);
    assert_eq!(env.cluster.dump("app"), before);

    fs::set_permissions(key, fs::Permissions::from_mode(0o644)).unwrap();
    let restored = env
        .cmd()
        .args(["restore", id(&entry), "--yes", "--drop-previous"])
        .env("PGBACKUP_IDENTITY_FILE", key)
        .output()
        .unwrap();
    assert_success(&restored);
    assert!(
        stderr(&restored).contains("can be read by other users"),
        "{}",
        stderr(&restored)
    );
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
}

#[test]
fn tampered_and_truncated_ciphertexts_are_refused_before_anything_is_touched() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let key = key.to_str().unwrap();
    // Several age chunks of 64 KiB: a change past the first is only found while loading.
    env.cluster.psql(
        "app",
        "INSERT INTO items (name) SELECT md5(g::text) FROM generate_series(1, 20000) g",
    );
    let entry = env.create(&["--recipient", &public]);
    let file = file_of(&env, &entry);
    let original = fs::read(&file).unwrap();
    let inner = sh(
        &env,
        &format!("age -d -i '{key}' '{}' | wc -c", file.display()),
    );
    let inner: usize = String::from_utf8_lossy(&inner.stdout)
        .trim()
        .parse()
        .unwrap();
    let databases = env.cluster.databases();
    let before = env.cluster.dump("app");

    let mut tampered = original.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    fs::write(&file, &tampered).unwrap();
    let (code, notes) = verify(&env, &entry, &[]);
    assert_eq!(code, Some(1), "{notes}");
    assert!(notes.contains("SHA-256 mismatch"), "{notes}");
    let (code, notes) = verify(&env, &entry, &["--identity", key]);
    assert_eq!(code, Some(1), "{notes}");
    assert!(
        notes.contains("SHA-256 mismatch") && notes.contains("age decryption failed"),
        "{notes}"
    );
    let restore = env.run(&["restore", id(&entry), "--yes", "--identity", key]);
    assert!(
        stderr(&restore).contains("nothing was touched"),
        "{}",
        stderr(&restore)
    );

    // With the catalog pointing at the changed bytes, age's authentication still refuses
    // them (reading the dump for the roles it needs, before any database is created), and
    // the current database is left as it was.
    rerecord(&env, &entry);
    let restore = env.run(&["restore", id(&entry), "--yes", "--identity", key]);
    assert_eq!(restore.status.code(), Some(1));
    assert_eq!(env.cluster.databases(), databases);
    assert!(
        stderr(&restore).contains("age decryption failed")
            && stderr(&restore).contains("nothing was touched"),
        "{}",
        stderr(&restore)
    );

    // Cut at a chunk boundary, where only age's last-chunk flag tells the end is missing.
    let cut = original.len() - (inner % (64 * 1024) + 16);
    fs::write(&file, &original[..cut]).unwrap();
    let (code, notes) = verify(&env, &entry, &[]);
    assert_eq!(code, Some(1), "{notes}");
    assert!(notes.contains("the catalog says"), "{notes}");
    rerecord(&env, &entry);
    let (code, notes) = verify(&env, &entry, &["--identity", key]);
    assert_eq!(code, Some(1), "{notes}");
    assert!(notes.contains("does not decode to its end"), "{notes}");
    let restore = env.run(&["restore", id(&entry), "--yes", "--identity", key]);
    assert_eq!(restore.status.code(), Some(1));
    assert_eq!(env.cluster.databases(), databases);
    assert_eq!(env.cluster.dump("app"), before);
}

#[test]
fn jobs_on_an_encrypted_archive_stage_it_only_in_the_stage_dir_given() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let key = key.to_str().unwrap();
    let entry = env.create(&["--format", "custom", "--recipient", &public]);
    let databases = env.cluster.databases();
    let refused = env.run(&[
        "restore",
        id(&entry),
        "--yes",
        "--jobs",
        "2",
        "--identity",
        key,
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--stage-dir DIR"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(env.cluster.databases(), databases);
    let stage = tempfile::tempdir().unwrap();
    let at_backup = env.cluster.dump("app");
    env.cluster.psql("app", "DELETE FROM items");
    let restored = env.run(&[
        "restore",
        id(&entry),
        "--yes",
        "--drop-previous",
        "--jobs",
        "2",
        "--identity",
        key,
        "--stage-dir",
        stage.path().to_str().unwrap(),
    ]);
    assert_success(&restored);
    assert!(
        stderr(&restored).contains("staging the decrypted archive"),
        "{}",
        stderr(&restored)
    );
    assert_eq!(env.cluster.dump("app"), at_backup);
    assert_eq!(
        fs::read_dir(stage.path()).unwrap().count(),
        0,
        "the stage is removed"
    );
}

#[test]
fn a_scheduled_run_encrypts_to_the_schedule_s_recipients() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let (second, second_public) = age_keygen(keys.path(), "second.txt");
    fs::create_dir_all(env.home()).unwrap();
    fs::write(
        env.home().join("recipients.txt"),
        format!("{second_public}\n"),
    )
    .unwrap();
    let encryption = json!({"recipients": [public], "recipients_file": "recipients.txt"});
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
               "retention": {"daily": 7}, "last_run": null,
               "next_run": "2025-04-08T03:00:00", "encryption": encryption}),
    );
    let due = run_at(&env, "2025-04-08 03:05:00", &["run-scheduled"]);
    assert_success(&due);
    let entry = env.entries().pop().unwrap();
    assert!(entry["filename"].as_str().unwrap().ends_with(".sql.gz.age"));
    assert_eq!(
        entry["encryption"]["recipients"],
        json!([public, second_public])
    );
    for identity in [&key, &second] {
        let opened = sh(
            &env,
            &format!(
                "age -d -i '{}' '{}' | gzip -dc | tail -c 200",
                identity.display(),
                file_of(&env, &entry).display()
            ),
        );
        assert!(String::from_utf8_lossy(&opened.stdout).contains("database dump complete"));
    }
    let schedule = crate::scheduled::schedule(&env);
    assert_eq!(
        schedule["encryption"], encryption,
        "the schedule keeps its encryption"
    );

    let mut broken = schedule.clone();
    broken["encryption"] = json!({"recipients": ["age1nope"]});
    broken["next_run"] = json!("2025-04-09T03:00:00");
    write_schedule(&env, broken);
    let failed = run_at(&env, "2025-04-09 03:05:00", &["run-scheduled"]);
    assert!(!failed.status.success());
    assert!(stderr(&failed).contains("age1nope"), "{}", stderr(&failed));
    assert_eq!(env.entries().len(), 1);
}

#[test]
fn a_backup_whose_age_stream_was_not_finished_is_never_recorded() {
    let env = Env::new();
    let keys = tempfile::tempdir().unwrap();
    let (_, public) = age_keygen(keys.path(), "key.txt");
    let killed = env
        .cmd()
        .args(["create", "--recipient", &public])
        .env("PGBACKUP_FAULT", "create:before-age-finish")
        .output()
        .unwrap();
    assert_eq!(
        killed.status.code(),
        None,
        "killed by SIGKILL: {}",
        stderr(&killed)
    );
    assert!(env.entries().is_empty());
    let finals: Vec<String> = env
        .files()
        .into_iter()
        .filter(|name| name.starts_with("backup_"))
        .collect();
    assert_eq!(
        finals,
        Vec::<String>::new(),
        "only a temporary file may be left"
    );
    let entry = env.create(&["--recipient", &public]);
    assert_eq!(env.entries().len(), 1);
    assert!(entry["filename"].as_str().unwrap().ends_with(".age"));
}

#[test]
fn in_s3_the_object_s_bytes_are_the_encrypted_file() {
    let env = Env::new();
    let server = crate::support::s3::S3Server::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let run = |args: &[&str]| {
        env.cmd()
            .envs(server.vars())
            .arg("--repo")
            .arg(server.url("prod/app"))
            .args(args)
            .output()
            .unwrap()
    };
    let created = run(&["create", "--json", "--recipient", &public]);
    assert_success(&created);
    let entry: Value = serde_json::from_slice(&created.stdout).unwrap();
    let object = server
        .bucket_dir()
        .join("prod/app")
        .join(entry["filename"].as_str().unwrap());
    let bytes = fs::read(&object).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert_eq!(
        format!("{:x}", Sha256::digest(&bytes)),
        entry["sha256"].as_str().unwrap()
    );
    let opened = sh(
        &env,
        &format!(
            "age -d -i '{}' '{}' | gzip -dc | tail -c 200",
            key.display(),
            object.display()
        ),
    );
    assert!(String::from_utf8_lossy(&opened.stdout).contains("database dump complete"));
    let verified = run(&[
        "verify",
        entry["id"].as_str().unwrap(),
        "--identity",
        key.to_str().unwrap(),
    ]);
    assert_success(&verified);
}

#[test]
fn a_copy_to_s3_stays_encrypted_and_decrypts_only_with_the_identity() {
    let env = Env::new();
    let server = crate::support::s3::S3Server::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_keygen(keys.path(), "key.txt");
    let created = run_ok(
        env.command()
            .args(["create", "--json", "--recipient", &public]),
    );
    let entry: Value = serde_json::from_slice(&created.stdout).unwrap();
    let local = fs::read(file_of(&env, &entry)).unwrap();

    let url = server.url("offsite");
    run_ok(
        env.command()
            .envs(server.vars())
            .args(["copy", id(&entry), "--to", &url]),
    );
    let object = server
        .bucket_dir()
        .join("offsite")
        .join(entry["filename"].as_str().unwrap());
    assert!(object.to_str().unwrap().ends_with(".age"));
    assert_eq!(
        fs::read(&object).unwrap(),
        local,
        "the object is the encrypted file"
    );
    let everything = all_text(&server.bucket_dir());
    assert!(
        !everything.contains("item 999") && !everything.contains(&secret_of(&key)),
        "no plaintext and no identity in the bucket"
    );

    let from_s3 = |args: &[&str]| {
        env.cmd()
            .envs(server.vars())
            .args(["--repo", &url])
            .args(args)
            .output()
            .unwrap()
    };
    let refused = from_s3(&["restore", id(&entry), "--yes", "--target", "copied"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--identity"),
        "{}",
        stderr(&refused)
    );
    assert!(!env.cluster.databases().contains(&"copied".to_string()));
    let restored = from_s3(&[
        "restore",
        id(&entry),
        "--yes",
        "--target",
        "copied",
        "--identity",
        key.to_str().unwrap(),
    ]);
    assert_success(&restored);
    assert_eq!(
        env.cluster
            .psql("copied", "SELECT count(*) FROM items")
            .trim(),
        "1000"
    );
}
