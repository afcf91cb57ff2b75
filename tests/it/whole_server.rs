//! The whole server: a single database restored onto a server that lacks its roles (a clear
//! error, or `--no-owner`), and globals and every database of a run restored onto a new
//! server, which then dumps the same as the one backed up.

use std::process::Output;

use crate::support::{Cluster, Env, assert_success, stderr, stdout};

/// Roles, memberships, passwords, settings, objects owned by a role other than the
/// superuser, and grants made by a non-owner.
const ROLES_SQL: &str = "
    CREATE ROLE staff NOLOGIN;
    CREATE ROLE readers NOLOGIN;
    CREATE ROLE app_owner LOGIN PASSWORD 'owner-secret' CONNECTION LIMIT 20 IN ROLE staff;
    CREATE ROLE \"Web App\" LOGIN PASSWORD 'web-secret' VALID UNTIL '2099-01-01';
    CREATE ROLE auditor LOGIN CREATEDB;
    GRANT readers TO \"Web App\";
    GRANT staff TO auditor WITH ADMIN OPTION;
    ALTER ROLE app_owner SET work_mem = '16MB';
    ALTER ROLE \"Web App\" SET search_path = app, public;
    COMMENT ON ROLE auditor IS 'reads everything';
";

fn objects_sql(owner: &str) -> String {
    format!(
        "CREATE SCHEMA app AUTHORIZATION {owner};
         SET ROLE {owner};
         CREATE TABLE app.orders (id int PRIMARY KEY, note text);
         INSERT INTO app.orders SELECT g, 'order ' || g FROM generate_series(1, 50) g;
         CREATE VIEW app.recent AS SELECT * FROM app.orders WHERE id > 40;
         GRANT USAGE ON SCHEMA app TO readers;
         GRANT SELECT ON app.orders TO readers WITH GRANT OPTION;
         RESET ROLE;
         SET ROLE readers;
         GRANT SELECT ON app.orders TO \"Web App\";
         RESET ROLE;
         CREATE POLICY mine ON app.orders TO \"Web App\" USING (id > 0);"
    )
}

/// pgbackup against cluster `target` instead of the environment's own.
fn run_on(env: &Env, target: &Cluster, args: &[&str]) -> Output {
    env.cmd().envs(target.env()).args(args).output().unwrap()
}

fn source_with_roles() -> Env {
    let env = Env::new();
    env.cluster.psql("postgres", ROLES_SQL);
    env.cluster.psql("app", &objects_sql("app_owner"));
    env
}

#[test]
fn a_database_restored_onto_a_server_without_its_roles_names_them_and_changes_nothing() {
    let env = source_with_roles();
    let plain = env.create(&[]);
    let custom = env.create(&["--format", "custom"]);
    let target = Cluster::start();
    for entry in [&plain, &custom] {
        let id = entry["id"].as_str().unwrap();
        let output = run_on(&env, &target, &["restore", id, "--yes"]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let err = stderr(&output);
        for role in ["\"app_owner\" (owns objects", "\"readers\"", "\"Web App\""] {
            assert!(err.contains(role), "{role} is not named: {err}");
        }
        assert!(err.contains("--no-owner"), "{err}");
        assert!(err.contains("restore --all-databases"), "{err}");
        assert!(!err.contains("\"staff\""), "staff is not needed: {err}");
        assert!(
            !target.databases().iter().any(|d| d.starts_with("app")),
            "nothing was created: {:?}",
            target.databases()
        );
    }
}

#[test]
fn no_owner_gives_everything_to_the_connecting_role() {
    let env = source_with_roles();
    // A policy names a role, which --no-owner cannot do without: this backup has none.
    env.cluster.psql("app", "DROP POLICY mine ON app.orders");
    let plain = env.create(&[]);
    let custom = env.create(&["--format", "custom"]);
    for entry in [&plain, &custom] {
        let target = Cluster::start();
        let id = entry["id"].as_str().unwrap();
        let output = run_on(&env, &target, &["restore", id, "--yes", "--no-owner"]);
        assert_success(&output);
        let owners = target.psql(
            "app",
            "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class \
             WHERE relnamespace = 'app'::regnamespace",
        );
        assert_eq!(owners.trim(), "postgres");
        let acl = target.psql(
            "app",
            "SELECT coalesce(relacl::text, 'default') FROM pg_class WHERE oid = 'app.orders'::regclass",
        );
        assert_eq!(acl.trim(), "default", "no grants are restored");
        assert_eq!(
            target.psql("app", "SELECT count(*) FROM app.orders").trim(),
            "50"
        );
        let database_owner = target.psql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'",
        );
        assert_eq!(database_owner.trim(), "postgres");
    }
}

#[test]
fn no_owner_still_needs_the_roles_of_policies() {
    let env = source_with_roles();
    let entry = env.create(&[]);
    let target = Cluster::start();
    let id = entry["id"].as_str().unwrap();
    let output = run_on(&env, &target, &["restore", id, "--yes", "--no-owner"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("\"Web App\" (a policy or user mapping names it)"),
        "{err}"
    );
    assert!(!err.contains("app_owner"), "{err}");
}

/// Cluster A of the issue: roles of every kind, three databases (one with a quoted name),
/// objects owned by a role, grants by non-owners, role settings in a database, and a
/// tablespace in the folder returned.
fn whole_server() -> (Env, std::path::PathBuf) {
    let env = source_with_roles();
    let tablespace_dir = env.cluster.server_owned_dir("fast");
    let a = &env.cluster;
    a.psql("postgres", "CREATE DATABASE reports OWNER auditor");
    a.psql(
        "postgres",
        "CREATE DATABASE \"Sales \"\"EU\"\"\" OWNER app_owner",
    );
    a.psql(
        "postgres",
        "ALTER ROLE \"Web App\" IN DATABASE app SET statement_timeout = '30s'",
    );
    a.psql(
        "postgres",
        &format!(
            "CREATE TABLESPACE fast OWNER app_owner LOCATION '{}'",
            tablespace_dir.display()
        ),
    );
    a.psql("postgres", "GRANT CREATE ON TABLESPACE fast TO staff");
    a.psql(
        "reports",
        "SET ROLE auditor; CREATE TABLE daily (day date PRIMARY KEY, total numeric);
         INSERT INTO daily VALUES ('2025-04-08', 12.5); GRANT SELECT ON daily TO readers;",
    );
    a.psql(
        "Sales \"EU\"",
        "SET ROLE app_owner; CREATE TABLE leads (id int, who text);
         INSERT INTO leads VALUES (1, 'ümlaut');",
    );
    (env, tablespace_dir)
}

fn run_id(env: &Env) -> String {
    env.entries()
        .iter()
        .find_map(|e| e["run"].as_str().map(str::to_string))
        .expect("a run in the catalog")
}

#[test]
fn a_run_restored_onto_a_new_server_dumps_the_same_as_the_server_it_came_from() {
    let (env, _dir) = whole_server();
    let created = env.run(&["create", "--all-databases"]);
    assert_success(&created);
    let at_backup = env.cluster.dumpall(&[]);
    // The folder is free again for the new server, which runs on the same machine.
    env.cluster.psql("postgres", "DROP TABLESPACE fast");

    let b = Cluster::start();
    let restored = run_on(
        &env,
        &b,
        &[
            "restore",
            "--all-databases",
            "latest",
            "--yes",
            "--drop-previous",
        ],
    );
    assert_success(&restored);
    let out = stdout(&restored);
    assert!(out.contains("kept existing roles: postgres"), "{out}");
    assert!(
        out.contains("restored database \"Sales \\\"EU\\\"\""),
        "{out}"
    );
    // Both servers run as the same bootstrap superuser `postgres`, which pg_dumpall dumps
    // on both: nothing needs normalising but pg_dumpall's random \restrict lines.
    let on_b = b.dumpall(&[]);
    assert!(
        at_backup.contains("PASSWORD 'SCRAM-SHA-256$"),
        "passwords are dumped"
    );
    let differing: Vec<(&str, &str)> = at_backup
        .lines()
        .zip(on_b.lines())
        .filter(|(a, b)| a != b)
        .take(5)
        .collect();
    assert!(differing.is_empty(), "A and B differ: {differing:#?}");
    assert_eq!(at_backup.lines().count(), on_b.lines().count());
}

#[test]
fn roles_that_exist_are_kept_as_they_are_and_listed() {
    let (env, _dir) = whole_server();
    env.cluster.psql("postgres", "DROP TABLESPACE fast");
    assert_success(&env.run(&["create", "--all-databases"]));
    let b = Cluster::start();
    b.psql("postgres", "CREATE ROLE auditor NOLOGIN CONNECTION LIMIT 3");
    let run = run_id(&env);
    let restored = run_on(
        &env,
        &b,
        &[
            "restore",
            "--all-databases",
            &run,
            "--databases",
            "app",
            "--yes",
        ],
    );
    assert_success(&restored);
    let out = stdout(&restored);
    assert!(
        out.contains("kept existing roles: auditor, postgres"),
        "{out}"
    );
    assert_eq!(
        b.psql(
            "postgres",
            "SELECT rolcanlogin || ' ' || rolconnlimit FROM pg_roles WHERE rolname = 'auditor'"
        )
        .trim(),
        "false 3",
        "the existing role is untouched"
    );
    assert_eq!(
        b.psql(
            "postgres",
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member \
             WHERE r.rolname = 'auditor'"
        )
        .trim(),
        "0",
        "no membership was added to the existing role"
    );
    assert!(b.databases().contains(&"app".to_string()));
    assert!(
        !b.databases().contains(&"reports".to_string()),
        "--databases app only"
    );
    assert_eq!(
        b.psql("app", "SELECT count(*) FROM app.orders").trim(),
        "50"
    );
}

#[test]
fn a_tablespace_whose_folder_is_missing_stops_the_restore_before_any_change() {
    let (env, dir) = whole_server();
    assert_success(&env.run(&["create", "--all-databases"]));
    env.cluster.psql("postgres", "DROP TABLESPACE fast");
    std::fs::remove_dir_all(&dir).unwrap();
    let b = Cluster::start();
    let output = run_on(&env, &b, &["restore", "--all-databases", "latest", "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("\"fast\""), "{err}");
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        b.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'"
        )
        .trim(),
        "0"
    );
}

#[test]
fn an_incomplete_run_is_never_latest_and_named_explicitly_restores_what_it_has() {
    let env = source_with_roles();
    assert_success(&env.run(&["create", "--all-databases"]));
    let run = run_id(&env);
    let app = env
        .entries()
        .into_iter()
        .find(|e| e["database"] == "app" && e["type"] == "full")
        .unwrap();
    assert_success(&env.run(&["delete", app["id"].as_str().unwrap(), "--yes"]));
    let b = Cluster::start();
    let latest = run_on(&env, &b, &["restore", "--all-databases", "latest", "--yes"]);
    assert_eq!(latest.status.code(), Some(2), "{}", stderr(&latest));
    assert!(
        stderr(&latest).contains("no complete run"),
        "{}",
        stderr(&latest)
    );
    let named = run_on(&env, &b, &["restore", "--all-databases", &run, "--yes"]);
    assert_success(&named);
    let err = stderr(&named);
    assert!(
        err.contains("incomplete") && err.contains("\"app\""),
        "{err}"
    );
    assert!(
        b.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'"
        )
        .trim()
            == "1"
    );
}

#[test]
fn a_globals_backup_restores_alone_and_a_database_then_finds_its_roles() {
    let env = source_with_roles();
    assert_success(&env.run(&["create", "--globals"]));
    let globals = env
        .entries()
        .into_iter()
        .find(|e| e["type"] == "globals")
        .unwrap();
    let database = env.create(&[]);
    let b = Cluster::start();
    let id = globals["id"].as_str().unwrap();
    let applied = run_on(&env, &b, &["restore", id, "--yes"]);
    assert_success(&applied);
    assert!(stdout(&applied).contains("kept existing roles: postgres"));
    let again = run_on(&env, &b, &["restore", id, "--yes"]);
    assert_success(&again);
    assert!(
        stdout(&again).contains("created roles: none"),
        "{}",
        stdout(&again)
    );
    let restored = run_on(
        &env,
        &b,
        &["restore", database["id"].as_str().unwrap(), "--yes"],
    );
    assert_success(&restored);
    assert_eq!(env.cluster.dump("app"), b.dump("app"));
}

#[test]
fn a_database_that_fails_is_named_and_the_others_stay_restored() {
    let env = source_with_roles();
    env.cluster.psql("postgres", "CREATE DATABASE reports");
    env.cluster.psql(
        "reports",
        "CREATE TABLE daily (total int); INSERT INTO daily VALUES (1)",
    );
    assert_success(&env.run(&["create", "--all-databases"]));
    // psql fails loading the new "reports" database, and only that one.
    env.shim(
        "psql",
        &format!(
            "#!/bin/sh\ncase \"$*\" in *\"-f -\"*\"--dbname=reports_restoring_\"*)\n  \
             cat >/dev/null; echo 'ERROR:  simulated failure' >&2; exit 3;;\nesac\n\
             exec {} \"$@\"\n",
            crate::support::real_program("psql")
        ),
    );
    let b = Cluster::start();
    let output = run_on(&env, &b, &["restore", "--all-databases", "latest", "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("failed for \"reports\"; the other databases were restored"),
        "{err}"
    );
    assert!(err.contains("simulated failure"), "{err}");
    assert!(stdout(&output).contains("restored database \"app\""));
    let databases = b.databases();
    assert!(databases.contains(&"app".to_string()), "{databases:?}");
    assert!(
        !databases.iter().any(|d| d.starts_with("reports")),
        "the failed database left nothing behind: {databases:?}"
    );
    assert_eq!(
        b.psql("app", "SELECT count(*) FROM app.orders").trim(),
        "50"
    );
}
