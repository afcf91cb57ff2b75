//! The whole server in one run: `create --all-databases`, `--exclude-database`,
//! `--globals`, role passwords, a failing database, and `list --runs`.

use std::fs;
use std::io::Read;

use serde_json::Value;

use crate::support::{Env, assert_success, real_pg_dump, stderr, stdout};

const ODD: &str = "My \"odd\" db";

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Roles with passwords and memberships, and databases `shop` (owned by a login role) and
/// `My "odd" db` beside `app` and `postgres`.
fn server() -> Env {
    let env = Env::new();
    let c = &env.cluster;
    c.psql(
        "postgres",
        "CREATE ROLE staff NOLOGIN; \
         CREATE ROLE alice LOGIN PASSWORD 'alice-secret' IN ROLE staff; \
         ALTER ROLE alice SET work_mem = '8MB';",
    );
    c.psql("postgres", "CREATE DATABASE shop OWNER alice");
    c.psql("postgres", "CREATE DATABASE \"My \"\"odd\"\" db\"");
    c.psql(
        ODD,
        "CREATE TABLE odd_things (v text); INSERT INTO odd_things VALUES ('odd value 42');",
    );
    env
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", stdout(output), stderr(output)))
}

fn run_ids(env: &Env) -> Vec<String> {
    env.entries()
        .iter()
        .map(|e| e["run"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn all_databases_backs_up_each_database_and_the_globals_in_one_run() {
    let env = server();
    let output = env.run(&["create", "--all-databases", "--json"]);
    assert_success(&output);
    let outcome = json_of(&output);
    let run = outcome["run"].as_str().unwrap().to_string();
    assert_eq!(outcome["complete"], true);
    assert_eq!(
        outcome["plan"],
        serde_json::json!({"databases": [ODD, "app", "postgres", "shop"], "globals": true}),
        "every database that accepts connections, templates excluded"
    );
    let entries = env.entries();
    assert_eq!(entries.len(), 5, "{entries:#?}");
    assert!(run_ids(&env).iter().all(|r| *r == run), "{entries:#?}");
    assert!(entries.iter().all(|e| e["run_plan"] == outcome["plan"]));
    let mut databases: Vec<&str> = entries
        .iter()
        .filter(|e| e["type"] == "full")
        .map(|e| e["database"].as_str().unwrap())
        .collect();
    databases.sort();
    assert_eq!(databases, [ODD, "app", "postgres", "shop"]);

    let globals: Vec<&Value> = entries.iter().filter(|e| e["type"] == "globals").collect();
    let [globals] = globals.as_slice() else {
        panic!("one globals backup: {entries:#?}")
    };
    assert_eq!(globals["database"], "");
    assert_eq!(globals["no_role_passwords"], false);
    let name = globals["filename"].as_str().unwrap();
    assert_eq!(
        name,
        format!("backup_globals_{}.sql.gz", globals["id"].as_str().unwrap())
    );
    let sql = gunzip(&fs::read(env.backups_dir().join(name)).unwrap());
    for expected in [
        "CREATE ROLE alice;",
        "CREATE ROLE staff;",
        "SCRAM-SHA-256$",
        "GRANT staff TO alice",
        "ALTER ROLE alice SET work_mem TO '8MB';",
        "PostgreSQL database cluster dump complete",
    ] {
        assert!(sql.contains(expected), "{expected:?} in:\n{sql}");
    }
    assert!(!sql.contains("CREATE DATABASE"), "globals only:\n{sql}");

    let odd = entries.iter().find(|e| e["database"] == ODD).unwrap();
    let name = odd["filename"].as_str().unwrap();
    assert!(name.starts_with("backup_full_") && name.ends_with(".sql.gz"));
    let dump = gunzip(&fs::read(env.backups_dir().join(name)).unwrap());
    assert!(
        dump.contains("odd value 42"),
        "the quoted database's own data"
    );

    let runs = json_of(&env.run(&["list", "--runs", "--json"]));
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs:#}");
    assert_eq!(runs[0]["run"], run.as_str());
    assert_eq!(
        (runs[0]["done"].as_u64(), runs[0]["planned"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(runs[0]["complete"], true);
    let table = env.run(&["list", "--runs"]);
    assert_success(&table);
    assert!(stdout(&table).contains(&run) && stdout(&table).contains("5/5"));

    let verify = env.run(&["verify"]);
    assert_success(&verify);
    // Onto the server it came from: every role is there already, and kept as it is.
    let restore = env.run(&["restore", globals["id"].as_str().unwrap(), "--yes"]);
    assert_success(&restore);
    assert!(
        stdout(&restore).contains("created roles: none; kept existing roles:"),
        "{}",
        stdout(&restore)
    );
}

#[test]
fn excluded_databases_follow_pg_dumpall_patterns() {
    let env = server();
    let output = env.run(&[
        "create",
        "--all-databases",
        "--json",
        "--exclude-database",
        "APP",
        "--exclude-database",
        "*odd*",
    ]);
    assert_success(&output);
    let outcome = json_of(&output);
    assert_eq!(
        outcome["plan"]["databases"],
        serde_json::json!(["postgres", "shop"])
    );
    assert_eq!(env.entries().len(), 3);
    let quoted = env.run(&[
        "create",
        "--all-databases",
        "--json",
        "--exclude-database",
        "\"My \"\"odd\"\" db\"",
        "--exclude-database",
        "p?stgres",
        "--exclude-database",
        "\"APP\"",
    ]);
    assert_success(&quoted);
    assert_eq!(
        json_of(&quoted)["plan"]["databases"],
        serde_json::json!(["app", "shop"]),
        "a quoted pattern keeps its case"
    );
}

#[test]
fn globals_alone_are_plain_sql_even_with_custom_format() {
    let env = server();
    let output = env.run(&["create", "--globals", "--format", "custom", "--json"]);
    assert_success(&output);
    let outcome = json_of(&output);
    assert_eq!(
        outcome["plan"],
        serde_json::json!({"databases": [], "globals": true})
    );
    let entries = env.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["type"], "globals");
    assert_eq!(entries[0]["format"], "plain");
    let name = entries[0]["filename"].as_str().unwrap();
    assert!(name.ends_with(".sql.gz"), "{name}");

    let output = env.run(&[
        "create",
        "--globals",
        "--no-role-passwords",
        "--compression",
        "none",
        "--json",
    ]);
    assert_success(&output);
    let entry = &json_of(&output)["backups"][0];
    assert_eq!(entry["no_role_passwords"], true);
    let name = entry["filename"].as_str().unwrap();
    assert!(
        name.ends_with(".sql") && name.starts_with("backup_globals_"),
        "{name}"
    );
    let sql = fs::read_to_string(env.backups_dir().join(name)).unwrap();
    assert!(sql.contains("CREATE ROLE alice;"), "{sql}");
    assert!(!sql.contains("SCRAM-SHA-256"), "{sql}");
    let listed = json_of(&env.run(&["list", "--type", "globals", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[test]
fn without_pg_authid_the_globals_fall_back_to_no_role_passwords() {
    let env = server();
    env.cluster.psql("postgres", "CREATE ROLE operator LOGIN");
    let output = env
        .cmd()
        .env("PGUSER", "operator")
        .args(["create", "--globals", "--json"])
        .output()
        .unwrap();
    assert_success(&output);
    assert!(
        stderr(&output).contains("pg_authid is not readable"),
        "{}",
        stderr(&output)
    );
    let entry = &json_of(&output)["backups"][0];
    assert_eq!(entry["no_role_passwords"], true);
    let sql =
        gunzip(&fs::read(env.backups_dir().join(entry["filename"].as_str().unwrap())).unwrap());
    assert!(
        sql.contains("CREATE ROLE alice;") && !sql.contains("SCRAM-SHA-256"),
        "{sql}"
    );
}

#[test]
fn a_database_that_fails_leaves_an_incomplete_run_with_the_others_recorded() {
    let env = server();
    env.shim_pg_dump(&format!(
        "case \"$*\" in *--dbname=shop*) echo 'pg_dump: error: simulated failure' >&2; exit 1;; esac\n\
         exec {} \"$@\"",
        real_pg_dump()
    ));
    let output = env.run(&["create", "--all-databases"]);
    assert!(!output.status.success());
    let text = stderr(&output);
    let error: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{text}");
    assert!(
        error[0].contains("is incomplete: 4 of 5 backups recorded")
            && error[0].contains("shop")
            && error[0].contains("simulated failure"),
        "{}",
        error[0]
    );
    let entries = env.entries();
    assert_eq!(entries.len(), 4);
    assert!(entries.iter().all(|e| e["database"] != "shop"));
    let run = entries[0]["run"].as_str().unwrap();
    assert!(run_ids(&env).iter().all(|r| r == run));
    assert!(
        stdout(&output).contains("INCOMPLETE"),
        "{}",
        stdout(&output)
    );
    assert!(!env.files().iter().any(|f| f.ends_with(".partial")));
    let log = fs::read_to_string(env.home().join("logs/pgbackup.log")).unwrap();
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("failed") && last.contains(&format!("recorded run={run}")),
        "the audit log says the run failed and what it recorded: {last}"
    );

    let runs = json_of(&env.run(&["list", "--runs", "--json"]));
    assert_eq!(runs[0]["complete"], false);
    assert_eq!(runs[0]["missing"], serde_json::json!(["shop"]));
    assert_eq!(
        (runs[0]["done"].as_u64(), runs[0]["planned"].as_u64()),
        (Some(4), Some(5))
    );
    assert!(stdout(&env.run(&["list", "--runs"])).contains("incomplete"));
}

fn write_schedule(env: &Env, schedule: Value) {
    fs::create_dir_all(env.home()).unwrap();
    fs::write(
        env.home().join("backup_schedule.json"),
        schedule.to_string(),
    )
    .unwrap();
}

/// (database, type) of every cataloged backup, sorted, with the run it belongs to.
fn groups(env: &Env) -> Vec<(String, String, String)> {
    let mut groups: Vec<(String, String, String)> = env
        .entries()
        .iter()
        .map(|e| {
            (
                e["database"].as_str().unwrap().to_string(),
                e["type"].as_str().unwrap().to_string(),
                e["run"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    groups.sort();
    groups
}

#[test]
fn scheduled_runs_back_up_every_database_and_prune_only_the_groups_that_succeeded() {
    let env = server();
    let copies = env.home().join("copies");
    write_schedule(
        &env,
        serde_json::json!({
            "enabled": true, "frequency": "daily", "time": "03:00",
            "retention": {"last": 1},
            "databases": "all", "exclude_databases": ["postgres"], "globals": true,
            "copies": [{"repository": copies.display().to_string()}]
        }),
    );
    let show = env.run(&["schedule", "show"]);
    assert_success(&show);
    for expected in [
        "databases",
        "all",
        "exclude databases",
        "postgres",
        "globals",
    ] {
        assert!(stdout(&show).contains(expected), "{}", stdout(&show));
    }
    let first = env.run(&["run-scheduled", "--force", "--json"]);
    assert_success(&first);
    let report = json_of(&first);
    assert_eq!(report["backups"].as_array().unwrap().len(), 4, "{report:#}");
    let first_run = report["run"].as_str().unwrap().to_string();
    let second = env.run(&["run-scheduled", "--force", "--json"]);
    assert_success(&second);
    let second_run = json_of(&second)["run"].as_str().unwrap().to_string();
    let names = |run: &str| -> Vec<(String, String, String)> {
        let mut expected: Vec<(String, String, String)> = [
            ("", "globals"),
            (ODD, "full"),
            ("app", "full"),
            ("shop", "full"),
        ]
        .iter()
        .map(|(d, t)| (d.to_string(), t.to_string(), run.to_string()))
        .collect();
        expected.sort();
        expected
    };
    assert_ne!(first_run, second_run);
    assert_eq!(
        groups(&env),
        names(&second_run),
        "retention per (database, type)"
    );
    let mut copied: Vec<String> = fs::read_dir(&copies)
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            n.starts_with("backup_") && !n.ends_with(".meta.json") && n != "backup_metadata.json"
        })
        .collect();
    copied.sort();
    let mut made: Vec<String> = env
        .entries()
        .iter()
        .map(|e| e["filename"].as_str().unwrap().to_string())
        .collect();
    made.sort();
    assert_eq!(
        copied, made,
        "every part copied (and the copy repository's own retention applied)"
    );

    // A second backup of shop outside the run: retention would remove one of the two.
    assert_success(&env.run(&["--dbname", "shop", "create"]));
    env.shim_pg_dump(&format!(
        "case \"$*\" in *--dbname=shop*) echo 'pg_dump: error: simulated failure' >&2; exit 1;; esac\n\
         exec {} \"$@\"",
        real_pg_dump()
    ));
    let third = env.run(&["run-scheduled", "--force"]);
    assert!(!third.status.success(), "a failed part fails the run");
    assert!(stderr(&third).contains("shop"), "{}", stderr(&third));
    let after = groups(&env);
    let shop: Vec<&(String, String, String)> = after.iter().filter(|g| g.0 == "shop").collect();
    assert_eq!(shop.len(), 2, "the failed group is not pruned: {after:?}");
    assert!(shop.iter().any(|g| g.2 == second_run), "{after:?}");
    assert_eq!(
        after.len(),
        5,
        "the other groups are pruned to the newest: {after:?}"
    );
    assert!(
        after
            .iter()
            .filter(|g| g.0 != "shop")
            .all(|g| g.2 != second_run)
    );
}

#[test]
fn status_covers_every_database_the_schedule_backs_up_and_the_globals() {
    let env = server();
    write_schedule(
        &env,
        serde_json::json!({
            "enabled": true, "frequency": "daily", "time": "03:00",
            "retention": {"daily": 7},
            "databases": "all", "exclude_databases": ["postgres"], "globals": true
        }),
    );
    assert_success(&env.run(&["run-scheduled", "--force"]));
    let status = env.run(&["status", "--json"]);
    let report = json_of(&status);
    assert_eq!(status.status.code(), Some(0), "{report:#}");
    assert_eq!(
        report["backups"]["checked"]["databases"],
        serde_json::json!([ODD, "app", "shop"])
    );
    assert_eq!(report["backups"]["checked"]["globals"], true);
    assert_eq!(report["schedule"]["databases"], "all");
    assert_eq!(report["schedule"]["globals"], true);
    let table = stdout(&env.run(&["status"]));
    assert!(
        table.contains("(server)") && table.contains("globals"),
        "{table}"
    );
    assert!(table.contains("shop") && table.contains(ODD), "{table}");

    let shop = env
        .entries()
        .into_iter()
        .find(|e| e["database"] == "shop")
        .unwrap();
    assert_success(&env.run(&["delete", shop["id"].as_str().unwrap(), "--yes"]));
    let status = env.run(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(2), "{}", stdout(&status));
    assert!(
        stdout(&status).contains("there is no complete full backup of database shop"),
        "{}",
        stdout(&status)
    );
    let metrics = stdout(&env.run(&["status", "--prometheus"]));
    assert!(
        metrics.contains("pgbackup_scheduled_backup_present{database=\"shop\",type=\"full\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pgbackup_scheduled_backup_present{database=\"\",type=\"globals\"} 1"),
        "{metrics}"
    );
    let table = stdout(&env.run(&["status"]));
    assert!(
        table.contains("no complete backup (the schedule backs it up)"),
        "{table}"
    );
}

#[test]
fn a_uri_connection_reaches_every_database_and_the_globals() {
    let env = server();
    let uri = format!(
        "postgresql://postgres@/app?host={}&port={}&application_name=pgbackup%20test",
        env.cluster.socket_dir().display(),
        env.cluster.port
    );
    let output = env
        .cmd()
        .env_remove("PGHOST")
        .env_remove("PGPORT")
        .env_remove("PGDATABASE")
        .args(["--dbname", &uri, "create", "--all-databases", "--json"])
        .args(["--exclude-database", "postgres", "--compression", "zstd"])
        .output()
        .unwrap();
    assert_success(&output);
    let outcome = json_of(&output);
    assert_eq!(outcome["complete"], true, "{outcome:#}");
    let mut databases: Vec<&str> = outcome["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["database"].as_str().unwrap())
        .collect();
    databases.sort();
    assert_eq!(databases, ["", ODD, "app", "shop"]);
    let globals = &outcome["backups"][0];
    assert_eq!(globals["type"], "globals");
    assert!(globals["filename"].as_str().unwrap().ends_with(".sql.zst"));
    let table = stdout(&env.run(&["list"]));
    assert!(table.contains("(server)"), "{table}");
}

#[test]
fn whole_server_flags_that_do_not_go_together_are_usage_errors() {
    let env = Env::new();
    for args in [
        &["create", "--no-role-passwords"][..],
        &["create", "--exclude-database", "x"],
        &["create", "--globals", "--all-databases"],
        &["create", "--all-databases", "--type", "globals"],
        &["list", "--runs", "--type", "full"],
    ] {
        let output = env.run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(env.entries().is_empty());
}

#[test]
fn a_whole_server_run_goes_to_s3_encrypted_with_age() {
    let env = server();
    let s3 = crate::support::s3::S3Server::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = crate::support::age_keygen(keys.path(), "key.txt");
    let run = |args: &[&str]| {
        env.cmd()
            .envs(s3.vars())
            .args(["--repo", &s3.url("server")])
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[
        "create",
        "--all-databases",
        "--json",
        "--recipient",
        &public,
    ]);
    assert_success(&output);
    let outcome = json_of(&output);
    assert_eq!(outcome["complete"], true);
    let objects = s3.files();
    let globals: Vec<&String> = objects
        .iter()
        .filter(|f| f.starts_with("server/backup_globals_") && f.ends_with(".sql.gz.age"))
        .collect();
    assert_eq!(globals.len(), 1, "{objects:?}");
    let sealed = fs::read(s3.bucket_dir().join(globals[0])).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&sealed).contains("alice"));
    let verify = run(&["--identity", key.to_str().unwrap(), "verify"]);
    assert_success(&verify);
    let runs = json_of(&run(&["list", "--runs", "--json"]));
    assert_eq!(runs[0]["complete"], true);
    assert_eq!(runs[0]["done"], 5);
}

#[test]
fn without_a_database_named_the_run_starts_from_postgres_as_pg_dumpall_does() {
    let env = server();
    env.cluster
        .psql("postgres", "CREATE ROLE admin SUPERUSER LOGIN");
    let output = env
        .cmd()
        .env("PGUSER", "admin")
        .env_remove("PGDATABASE")
        .args(["create", "--all-databases", "--json"])
        .output()
        .unwrap();
    assert_success(&output);
    let outcome = json_of(&output);
    assert_eq!(outcome["complete"], true);
    assert_eq!(outcome["backups"].as_array().unwrap().len(), 5);
}
