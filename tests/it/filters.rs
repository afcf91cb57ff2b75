//! pg_dump filters on `create` and in the schedule: what the restored backup holds, what
//! the catalog records, and that a filtered backup never stands in for a whole one.

use serde_json::{Value, json};

use crate::scheduled::write_schedule;
use crate::support::{Env, assert_success, stderr, stdout};

fn with_fixture() -> Env {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE audit_log (id int PRIMARY KEY, what text);
         INSERT INTO audit_log SELECT g, 'did ' || g FROM generate_series(1, 50) g;
         CREATE TABLE events (id int, at text);
         INSERT INTO events SELECT g, 'now' FROM generate_series(1, 7) g;
         CREATE SCHEMA extra;
         CREATE TABLE extra.notes (id int, body text);
         INSERT INTO extra.notes VALUES (1, 'a'), (2, 'b');
         GRANT SELECT ON items TO PUBLIC;",
    );
    env
}

fn id(entry: &Value) -> &str {
    entry["id"].as_str().unwrap()
}

/// The restored database's tables (schema.name) with their row counts.
fn tables(env: &Env, db: &str) -> Vec<(String, i64)> {
    let list = env.cluster.psql(
        db,
        "SELECT schemaname || '.' || relname FROM pg_stat_user_tables ORDER BY 1",
    );
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|table| {
            let count = env
                .cluster
                .psql(db, &format!("SELECT count(*) FROM {table}"));
            (table.to_string(), count.trim().parse().unwrap())
        })
        .collect()
}

fn restore_into(env: &Env, entry: &Value, target: &str) {
    assert_success(&env.run(&["restore", id(entry), "--target", target, "--yes"]));
}

fn owned(rows: &[(&str, i64)]) -> Vec<(String, i64)> {
    rows.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[test]
fn restored_filtered_backups_hold_exactly_what_was_asked() {
    let env = with_fixture();
    let without_log = env.create(&["-T", "public.audit_log"]);
    restore_into(&env, &without_log, "no_log");
    assert_eq!(
        tables(&env, "no_log"),
        owned(&[
            ("extra.notes", 2),
            ("public.events", 7),
            ("public.items", 1000)
        ])
    );

    let no_log_rows = env.create(&["--exclude-table-data", "public.audit_log"]);
    restore_into(&env, &no_log_rows, "no_log_rows");
    assert_eq!(
        tables(&env, "no_log_rows"),
        owned(&[
            ("extra.notes", 2),
            ("public.audit_log", 0),
            ("public.events", 7),
            ("public.items", 1000)
        ])
    );
    // The definition is kept: its primary key too.
    let key = env.cluster.psql(
        "no_log_rows",
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.audit_log'::regclass",
    );
    assert_eq!(key.trim(), "1");

    let only_extra = env.create(&["-n", "extra"]);
    restore_into(&env, &only_extra, "only_extra");
    assert_eq!(tables(&env, "only_extra"), owned(&[("extra.notes", 2)]));
}

#[test]
fn a_backup_of_schema_public_named_by_a_pattern_restores_it_as_dumped() {
    let env = with_fixture();
    env.cluster
        .psql("app", "COMMENT ON SCHEMA public IS 'the shared one';");
    // pg_dump writes CREATE SCHEMA public for a pattern that selects it, which a new
    // database (with its own public) would refuse.
    for pattern in ["public", "PUB*"] {
        let entry = env.create(&["-n", pattern, "-N", "extra"]);
        let target = format!("public_{}", pattern.len());
        restore_into(&env, &entry, &target);
        assert_eq!(
            tables(&env, &target),
            owned(&[
                ("public.audit_log", 50),
                ("public.events", 7),
                ("public.items", 1000)
            ])
        );
        let comment = env.cluster.psql(
            &target,
            "SELECT obj_description('public'::regnamespace, 'pg_namespace')",
        );
        assert_eq!(comment.trim(), "the shared one");
    }
    // A pattern that leaves public out keeps the new database's own.
    let entry = env.create(&["-n", "ext*"]);
    restore_into(&env, &entry, "no_public");
    let schemas = env.cluster.psql(
        "no_public",
        "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace \
         WHERE nspname IN ('public', 'extra')",
    );
    assert_eq!(schemas.trim(), "extra,public");
}

#[test]
fn owner_and_privilege_options_leave_those_statements_out_and_are_recorded_and_shown() {
    let env = with_fixture();
    let entry = env.create(&["-O", "--no-privileges", "--exclude-table=public.events"]);
    let options = json!([
        "--exclude-table=public.events",
        "--no-owner",
        "--no-privileges"
    ]);
    assert_eq!(entry["pg_dump_options"], options);
    let catalog = env.entries();
    assert_eq!(catalog[0]["pg_dump_options"], options);

    let file = env.backups_dir().join(entry["filename"].as_str().unwrap());
    let mut sql = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap()),
        &mut sql,
    )
    .unwrap();
    assert!(
        sql.contains("CREATE TABLE public.items"),
        "a dump of the database"
    );
    for statement in ["OWNER TO", "GRANT ", "REVOKE "] {
        assert!(!sql.contains(statement), "{statement} in a -O -x dump");
    }
    let whole = env.create(&[]);
    let whole_sql = env.cluster.dump("app");
    assert!(whole_sql.contains("GRANT SELECT ON TABLE public.items TO PUBLIC"));
    assert!(whole.get("pg_dump_options").is_none(), "{whole}");

    let list = env.run(&["list"]);
    assert_success(&list);
    let line = (stdout(&list).lines())
        .find(|l| l.contains(&format!("{} ", id(&entry))))
        .unwrap()
        .to_string();
    assert!(line.contains("full (filtered)"), "{line}");
    let json_list: Value = serde_json::from_slice(&env.run(&["list", "--json"]).stdout).unwrap();
    let listed = (json_list.as_array().unwrap().iter())
        .find(|e| e["id"] == entry["id"])
        .unwrap();
    assert_eq!(listed["pg_dump_options"], options);
    let view = env.run(&["view", id(&entry)]);
    assert!(
        stdout(&view).contains("--exclude-table=public.events, --no-owner, --no-privileges"),
        "{}",
        stdout(&view)
    );

    // A -O -x dump restores like any other (the role check finds nothing to trip on).
    restore_into(&env, &entry, "restored_plain");
    assert_eq!(
        tables(&env, "restored_plain"),
        owned(&[
            ("extra.notes", 2),
            ("public.audit_log", 50),
            ("public.items", 1000)
        ])
    );
}

#[test]
fn latest_status_and_retention_ignore_filtered_backups() {
    let env = with_fixture();
    let older_full = env.create(&[]);
    let full = env.create(&[]);
    let filtered = env.create(&["-T", "public.audit_log"]);
    let filtered_newer = env.create(&["-T", "public.audit_log"]);
    let other_filter = env.create(&["-n", "extra"]);

    let view: Value = serde_json::from_slice(&env.run(&["view", "latest", "--json"]).stdout)
        .unwrap_or_else(|_| panic!("view latest failed"));
    assert_eq!(
        view["id"], full["id"],
        "latest is the newest unfiltered backup"
    );

    let output = env.run(&["status", "--json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let groups = report["backups"]["groups"].as_array().unwrap();
    let whole = (groups.iter())
        .find(|g| g["type"] == "full" && g.get("pg_dump_options").is_none())
        .unwrap();
    assert_eq!(whole["newest"]["id"], full["id"], "{report}");
    assert_eq!(whole["count"], 2);
    assert_eq!(groups.len(), 3, "one group per filter: {groups:?}");

    let output = (env.cmd().env("TZ", "UTC"))
        .args(["prune", "--json", "--keep-last", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids = |list: &Value| -> Vec<String> {
        let mut ids: Vec<String> = (list.as_array().unwrap().iter())
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut kept = vec![
        id(&full).to_string(),
        id(&filtered_newer).to_string(),
        id(&other_filter).to_string(),
    ];
    kept.sort();
    assert_eq!(ids(&plan["keep"]), kept);
    let mut removed = vec![id(&older_full).to_string(), id(&filtered).to_string()];
    removed.sort();
    assert_eq!(ids(&plan["remove"]), removed);
}

#[test]
fn a_schedule_with_pg_dump_options_makes_filtered_backups_and_a_bad_one_is_refused() {
    let env = with_fixture();
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
               "pg_dump_options": ["--exclude-table=public.audit_log", "-N", "extra"]}),
    );
    let show = env.run(&["schedule", "show"]);
    assert_success(&show);
    assert!(
        stdout(&show).contains("--exclude-schema=extra --exclude-table=public.audit_log"),
        "{}",
        stdout(&show)
    );
    assert_success(&env.run(&["run-scheduled", "--force"]));
    let entries = env.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["pg_dump_options"],
        json!(["--exclude-schema=extra", "--exclude-table=public.audit_log"])
    );
    let entry = entries[0].clone();
    restore_into(&env, &entry, "scheduled_copy");
    assert_eq!(
        tables(&env, "scheduled_copy"),
        owned(&[("public.events", 7), ("public.items", 1000)])
    );
    // status checks the schedule's filtered group: fresh, so no complaint about it.
    let report: Value = serde_json::from_slice(&env.run(&["status", "--json"]).stdout).unwrap();
    let text = report["reasons"].to_string();
    assert!(!text.contains("no complete full backup"), "{text}");

    let file = env.home().join("backup_schedule.json");
    write_schedule(
        &env,
        json!({"enabled": true, "frequency": "daily", "time": "03:00",
               "pg_dump_options": ["--clean", "-n", "public"]}),
    );
    let before = std::fs::read_to_string(&file).unwrap();
    let refused = env.run(&["run-scheduled", "--force"]);
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(err.contains("pg_dump_options"), "{err}");
    assert!(
        err.contains("\"--clean\" is not one of the pg_dump options"),
        "{err}"
    );
    assert!(
        err.contains("--exclude-table-data"),
        "names the allowed options: {err}"
    );
    assert_eq!(env.entries().len(), 1, "no backup was made");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "the file is kept"
    );
}

#[test]
fn a_whole_server_run_filters_each_database_and_never_the_globals() {
    let env = with_fixture();
    env.cluster.psql("postgres", "CREATE DATABASE shop");
    env.cluster.psql(
        "shop",
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1);",
    );
    let output = env.run(&["create", "--all-databases", "-T", "public.audit_log"]);
    assert_success(&output);
    let entries = env.entries();
    for entry in &entries {
        match entry["type"].as_str().unwrap() {
            "globals" => assert!(entry.get("pg_dump_options").is_none(), "{entry}"),
            _ => assert_eq!(
                entry["pg_dump_options"],
                json!(["--exclude-table=public.audit_log"]),
                "{entry}"
            ),
        }
    }
    let app = (entries.iter()).find(|e| e["database"] == "app").unwrap();
    restore_into(&env, app, "app_copy");
    assert!(
        !tables(&env, "app_copy")
            .iter()
            .any(|(t, _)| t == "public.audit_log")
    );
    // A filtered run is never the `latest` run.
    let refused = env.run(&["restore", "--all-databases", "latest", "--yes"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("no complete run of whole databases"),
        "{}",
        stderr(&refused)
    );
    let globals = env.run(&["create", "--globals", "-O"]);
    assert_eq!(globals.status.code(), Some(2), "{}", stderr(&globals));
    assert!(
        stderr(&globals).contains("not to the globals"),
        "{}",
        stderr(&globals)
    );
}
