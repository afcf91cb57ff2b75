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
    let restore = env.run(&["restore", globals["id"].as_str().unwrap(), "--yes"]);
    assert_eq!(restore.status.code(), Some(2), "{}", stderr(&restore));
    assert!(stderr(&restore).contains("restore --all-databases"));
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

    let runs = json_of(&env.run(&["list", "--runs", "--json"]));
    assert_eq!(runs[0]["complete"], false);
    assert_eq!(runs[0]["missing"], serde_json::json!(["shop"]));
    assert_eq!(
        (runs[0]["done"].as_u64(), runs[0]["planned"].as_u64()),
        (Some(4), Some(5))
    );
    assert!(stdout(&env.run(&["list", "--runs"])).contains("incomplete"));
}
