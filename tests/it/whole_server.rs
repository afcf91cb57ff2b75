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
