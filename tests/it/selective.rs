//! `restore --table` and `--schema`: the selected tables come back exactly as they were in
//! the backup, with everything that hangs off them, in one transaction; a selection that
//! cannot be restored without breaking other objects, or that matches nothing, is refused.

use std::process::Output;

use crate::support::{Env, assert_success, stderr, stdout};

fn assert_refused(output: &Output, reason: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
    assert!(stderr(output).contains(reason), "{}", stderr(output));
}

/// A custom-format backup of `app` after `sql` ran; returns its id.
fn backup_after(env: &Env, sql: &str) -> String {
    env.cluster.psql("app", sql);
    env.create(&["--format", "custom"])["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const TAGS: &str = "
    CREATE TABLE tags (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        item int REFERENCES items (id), label text UNIQUE CHECK (label <> ''), n serial);
    CREATE INDEX tags_lower ON tags (lower(label));
    COMMENT ON TABLE tags IS 'labels'; COMMENT ON COLUMN tags.label IS 'the label';
    GRANT SELECT ON tags TO PUBLIC;
    CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    CREATE TRIGGER tags_keep BEFORE INSERT ON tags FOR EACH ROW EXECUTE FUNCTION keep();
    ALTER TABLE tags ENABLE ROW LEVEL SECURITY; CREATE POLICY everyone ON tags USING (true);
    SET client_min_messages = error;
    CREATE PUBLICATION pub_tags FOR TABLE tags;
    INSERT INTO tags (item, label) SELECT g, 'l' || g FROM generate_series(1, 50) g;
    CREATE TABLE other (x int); INSERT INTO other VALUES (1);";

#[test]
fn a_table_comes_back_with_its_keys_indexes_sequences_triggers_policies_and_grants() {
    let env = Env::new();
    let id = backup_after(&env, TAGS);
    let tags_at_backup = env.cluster.dump_with("app", &["-t", "tags"]);
    env.cluster.psql(
        "app",
        "DELETE FROM tags WHERE id > 10; INSERT INTO tags (item, label) VALUES (1, 'new');
         ALTER TABLE tags ADD COLUMN extra int, DROP CONSTRAINT tags_label_key;
         DROP INDEX tags_lower; DROP POLICY everyone ON tags; DROP TRIGGER tags_keep ON tags;
         COMMENT ON TABLE tags IS 'changed'; REVOKE SELECT ON tags FROM PUBLIC;
         INSERT INTO other VALUES (2);",
    );

    let output = env.run(&["restore", &id, "--table", "tags", "--yes"]);
    assert_success(&output);
    assert_eq!(
        env.cluster.dump_with("app", &["-t", "tags"]),
        tags_at_backup,
        "rows, columns, defaults, identity and serial values, constraints, indexes, triggers, \
         policies, grants, comments and publication membership are the backup's"
    );
    assert_eq!(
        env.cluster.psql(
            "app",
            "INSERT INTO tags (item, label) VALUES (2, 'next') RETURNING id, n"
        ),
        "51|51",
        "the sequences continue where they were"
    );
    assert_eq!(env.cluster.psql("app", "SELECT count(*) FROM other"), "2");
    assert_eq!(
        env.cluster.psql(
            "app",
            "SELECT string_agg(pubname, ',') FROM pg_publication_tables WHERE tablename = 'tags'"
        ),
        "pub_tags"
    );
    assert!(
        stdout(&output).contains("restored backup"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_table_others_depend_on_is_refused_with_the_reason_and_nothing_changes() {
    let env = Env::new();
    let id = backup_after(&env, TAGS);
    env.cluster.psql(
        "app",
        "DELETE FROM tags WHERE id > 5; CREATE VIEW v AS SELECT label FROM tags;",
    );
    let before = env.cluster.dump("app");

    // Other tables' foreign keys reference items; a view reads tags.
    let refused = env.run(&["restore", &id, "--table", "items", "--yes"]);
    assert_refused(&refused, "constraint tags_item_fkey on table public.tags");
    assert!(
        stderr(&refused).contains("Nothing was changed"),
        "{}",
        stderr(&refused)
    );
    let refused = env.run(&["restore", &id, "--table", "tags", "--yes"]);
    assert_refused(&refused, "(view public.v)");
    assert_eq!(env.cluster.dump("app"), before, "nothing changed");

    // Together, the referencing table comes back with its foreign key.
    env.cluster.psql("app", "DROP VIEW v");
    let output = env.run(&[
        "restore", &id, "--table", "items", "--table", "tags", "--yes",
    ]);
    assert_success(&output);
    assert_eq!(env.cluster.psql("app", "SELECT count(*) FROM tags"), "50");
    assert_eq!(
        env.cluster.psql(
            "app",
            "SELECT count(*) FROM pg_constraint WHERE conname = 'tags_item_fkey'"
        ),
        "1"
    );

    // A new database lacks the referenced table: refused, and no database is left behind.
    let refused = env.run(&[
        "restore", &id, "--table", "tags", "--target", "scratch", "--yes",
    ]);
    assert_refused(
        &refused,
        "public.tags has a foreign key \"tags_item_fkey\" to public.items, which",
    );
    assert!(
        !env.cluster
            .databases()
            .iter()
            .any(|d| d.starts_with("scratch"))
    );
    let output = env.run(&[
        "restore", &id, "--table", "tags", "--table", "items", "--target", "scratch", "--yes",
    ]);
    assert_success(&output);
    assert_eq!(
        env.cluster.psql("scratch", "SELECT count(*) FROM tags"),
        "50"
    );
}

const PARTITIONED: &str = "
    CREATE TABLE m (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
    CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM (0) TO (10);
    CREATE TABLE m_2 PARTITION OF m FOR VALUES FROM (10) TO (20);
    CREATE INDEX m_id ON m (id);
    INSERT INTO m SELECT g, g % 20 FROM generate_series(1, 100) g;";

#[test]
fn a_partition_comes_back_attached_to_its_parent() {
    let env = Env::new();
    let id = backup_after(&env, PARTITIONED);
    let at_backup = env.cluster.dump("app");
    env.cluster.psql("app", "DELETE FROM m_1 WHERE id > 50");

    let output = env.run(&["restore", &id, "--table", "public.m_1", "--yes"]);
    assert_success(&output);
    assert_eq!(env.cluster.dump("app"), at_backup);
    assert_eq!(env.cluster.psql("app", "SELECT count(*) FROM m"), "100");
    env.cluster.psql("app", "INSERT INTO m VALUES (1000, 5)");

    // The partitioned table comes back with all its partitions.
    env.cluster.psql("app", "DELETE FROM m WHERE id > 10");
    let output = env.run(&["restore", &id, "--table", "m", "--yes"]);
    assert_success(&output);
    assert_eq!(env.cluster.dump("app"), at_backup);

    // A schema with partitioned tables, in place.
    env.cluster
        .psql("app", "DELETE FROM m_2; DELETE FROM items WHERE id > 1");
    let output = env.run(&["restore", &id, "--schema", "public", "--yes"]);
    assert_success(&output);
    assert_eq!(env.cluster.dump("app"), at_backup);

    // Without its parent, a partition cannot be restored attached: refused.
    let refused = env.run(&[
        "restore", &id, "--table", "m_1", "--target", "fresh", "--yes",
    ]);
    assert_refused(&refused, "restore it with its parent (--table public.m)");
    assert!(
        !env.cluster
            .databases()
            .iter()
            .any(|d| d.starts_with("fresh"))
    );
}

#[test]
fn names_may_be_qualified_and_a_selection_that_matches_nothing_is_a_usage_error() {
    let env = Env::new();
    let id = backup_after(
        &env,
        "CREATE SCHEMA s; CREATE TABLE s.items (x int PRIMARY KEY); INSERT INTO s.items VALUES (1);
         CREATE VIEW v AS SELECT 1 AS one;",
    );
    env.cluster.psql(
        "app",
        "INSERT INTO s.items VALUES (2); DELETE FROM items WHERE id > 3",
    );

    assert_refused(
        &env.run(&["restore", &id, "--table", "items", "--yes"]),
        "is ambiguous: the backup has public.items and s.items",
    );
    assert_refused(
        &env.run(&["restore", &id, "--table", "nosuch", "--yes"]),
        "--table \"nosuch\" matches no table in the backup",
    );
    assert_refused(
        &env.run(&["restore", &id, "--table", "nosuch.items", "--yes"]),
        "matches no table in the backup",
    );
    assert_refused(
        &env.run(&["restore", &id, "--table", "v", "--yes"]),
        "public.v is a view",
    );
    assert_refused(
        &env.run(&["restore", &id, "--schema", "nosuch", "--yes"]),
        "--schema \"nosuch\" matches nothing",
    );
    assert_eq!(env.cluster.psql("app", "SELECT count(*) FROM s.items"), "2");

    let output = env.run(&["restore", &id, "--table", "s.items", "--yes"]);
    assert_success(&output);
    assert_eq!(env.cluster.psql("app", "SELECT count(*) FROM s.items"), "1");
    // Into a new database, the table's schema is created first.
    let output = env.run(&[
        "restore", &id, "--table", "s.items", "--target", "fresh", "--yes",
    ]);
    assert_success(&output);
    assert_eq!(
        env.cluster.psql("fresh", "SELECT count(*) FROM s.items"),
        "1"
    );
    assert_eq!(env.cluster.psql("app", "SELECT count(*) FROM items"), "3");
    let output = env.run(&["restore", &id, "--table", "\"public\".\"items\"", "--yes"]);
    assert_success(&output);
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
}

#[test]
fn a_schema_is_created_in_a_new_database_and_kept_in_its_publication() {
    let env = Env::new();
    let id = backup_after(
        &env,
        "CREATE SCHEMA s; COMMENT ON SCHEMA s IS 'sales';
         CREATE TABLE s.orders (id serial PRIMARY KEY, note text); INSERT INTO s.orders (note) VALUES ('a'), ('b');
         SET client_min_messages = error; CREATE PUBLICATION pub_s FOR TABLES IN SCHEMA s;",
    );
    let schema_at_backup = env.cluster.dump_with("app", &["-n", "s"]);

    let output = env.run(&[
        "restore", &id, "--schema", "s", "--target", "fresh", "--yes",
    ]);
    assert_success(&output);
    assert_eq!(
        env.cluster.dump_with("fresh", &["-n", "s"]),
        schema_at_backup
    );
    assert_eq!(
        env.cluster
            .psql("fresh", "SELECT to_regclass('public.items') IS NULL"),
        "t"
    );

    env.cluster.psql(
        "app",
        "DELETE FROM s.orders; INSERT INTO s.orders (note) VALUES ('c')",
    );
    let output = env.run(&["restore", &id, "--schema", "s", "--yes"]);
    assert_success(&output);
    assert_eq!(env.cluster.dump_with("app", &["-n", "s"]), schema_at_backup);
    assert_eq!(
        env.cluster.psql(
            "app",
            "SELECT string_agg(pubname || ':' || tablename, ',') FROM pg_publication_tables"
        ),
        "pub_s:orders"
    );
}

#[test]
fn nothing_is_committed_unless_pg_restore_succeeded() {
    let env = Env::new();
    let id = backup_after(&env, "SELECT 1");
    env.cluster.psql("app", "DELETE FROM items WHERE id > 10");
    let real =
        std::path::PathBuf::from(crate::support::real_pg_dump()).with_file_name("pg_restore");
    // pg_restore writes its whole script, then fails.
    env.shim(
        "pg_restore",
        &format!(
            "#!/bin/sh\ncase \" $* \" in *' --use-list '*) {real} \"$@\"; echo failed >&2; exit 1;; esac\n\
             exec {real} \"$@\"\n",
            real = real.display()
        ),
    );
    let output = env.run(&["restore", &id, "--table", "items", "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("pg_restore"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "10",
        "the transaction was rolled back"
    );
}

#[test]
fn a_table_restores_from_a_custom_archive_pgbackup_compressed() {
    let env = Env::new();
    env.cluster.psql(
        "app",
        "CREATE TABLE zz_big AS SELECT g, md5(g::text) FROM generate_series(1, 100000) g",
    );
    let entry = env.create(&["--format", "custom", "--compression", "zstd"]);
    let id = entry["id"].as_str().unwrap();
    env.cluster.psql("app", "DELETE FROM items WHERE id > 10");
    // items' data comes first in the archive: pg_restore stops reading long before the end.
    let output = env.run(&["restore", id, "--table", "items", "--yes"]);
    assert_success(&output);
    assert_eq!(
        env.cluster.psql("app", "SELECT count(*) FROM items"),
        "1000"
    );
}

/// Every table of a broad database, replaced in place and restored into a new database:
/// each comes back exactly as it was, or is refused with nothing changed.
#[test]
fn every_table_of_a_broad_database_is_restored_exactly_or_refused() {
    let env = Env::new();
    let fixture =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/broad.sql");
    env.cluster.psql_file("app", &fixture);
    let id = backup_after(&env, "SELECT 1");
    let at_backup = env.cluster.dump("app");
    let tables = env.cluster.psql(
        "app",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1",
    );
    let mut replaced = 0;
    for (n, table) in tables.lines().enumerate() {
        let output = env.run(&["restore", &id, "--table", table, "--yes"]);
        match output.status.code() {
            Some(0) => replaced += 1,
            Some(2) => assert!(
                stderr(&output).contains("refusing"),
                "{table}: {}",
                stderr(&output)
            ),
            _ => panic!("{table}: {}", stderr(&output)),
        }
        let now = env.cluster.dump("app");
        if let Some(line) = now.lines().zip(at_backup.lines()).position(|(a, b)| a != b) {
            let around = |text: &str| {
                text.lines()
                    .skip(line.saturating_sub(3))
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "{table} in place changed the database at line {line}:\n{}\n---- at backup:\n{}",
                around(&now),
                around(&at_backup)
            );
        }
        assert_eq!(now.len(), at_backup.len(), "{table} in place");

        let target = format!("t{n}");
        let output = env.run(&[
            "restore", &id, "--table", table, "--target", &target, "--yes",
        ]);
        // What a new database lacks may fail the load (an extension's operator class has
        // no dependency in the archive): a failure, said so, with nothing left behind.
        assert!(
            matches!(output.status.code(), Some(0..=2)),
            "{table} into a new database: {}",
            stderr(&output)
        );
        assert!(
            !env.cluster
                .databases()
                .iter()
                .any(|d| d.starts_with(&format!("{target}_"))),
            "{table}: nothing is left behind"
        );
    }
    assert!(replaced > 0, "some tables were replaced: {tables}");
}
