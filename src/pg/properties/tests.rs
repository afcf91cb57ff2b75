use serde_json::json;

use super::{AclItem, DatabaseProperties, parse_aclitem, set_clause, split_guc_list};

fn props() -> DatabaseProperties {
    DatabaseProperties::from_json(&json!({
        "name": "app", "owner": "app owner", "encoding": "UTF8",
        "collate": "C.UTF-8", "ctype": "C.UTF-8", "locale_provider": "libc",
        "icu_locale": null, "icu_rules": null, "connection_limit": 7,
        "allow_connections": true, "is_template": false, "tablespace": "pg_default",
        "acl": ["app owner=CTc/app owner", "alice=c*/app owner", "bob=c/alice"],
        "comment": "it's the app",
        "settings": [
            {"role": null, "settings": ["TimeZone=America/New_York", "search_path=\"$user\", public, \"odd \"\"x\"\"\""]},
            {"role": "alice", "settings": ["work_mem=8MB"]}
        ]
    }))
    .unwrap()
}

#[test]
fn create_keeps_encoding_locale_and_owner() {
    assert_eq!(
        props().create_sql("app_restoring_1"),
        "CREATE DATABASE \"app_restoring_1\" TEMPLATE template0 ENCODING 'UTF8' \
         LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' OWNER \"app owner\";\n"
    );
    let mut icu = props();
    icu.locale_provider = Some("icu".into());
    icu.icu_locale = Some("de-DE".into());
    icu.tablespace = Some("fast".into());
    let sql = icu.create_sql("x");
    assert!(
        sql.contains(" LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' TABLESPACE \"fast\" OWNER"),
        "{sql}"
    );
}

#[test]
fn apply_reproduces_settings_comment_limit_and_acl_in_order() {
    let sql = props().apply_sql("new");
    let expected = [
        "BEGIN;",
        "ALTER DATABASE \"new\" SET \"TimeZone\" TO 'America/New_York';",
        "ALTER DATABASE \"new\" SET \"search_path\" TO '$user', 'public', 'odd \"x\"';",
        "ALTER ROLE \"alice\" IN DATABASE \"new\" SET \"work_mem\" TO '8MB';",
        "COMMENT ON DATABASE \"new\" IS 'it''s the app';",
        "ALTER DATABASE \"new\" CONNECTION LIMIT 7;",
        "REVOKE ALL ON DATABASE \"new\" FROM PUBLIC;",
        "REVOKE ALL ON DATABASE \"new\" FROM \"app owner\";",
        "GRANT CREATE, TEMPORARY, CONNECT ON DATABASE \"new\" TO \"app owner\";",
        "GRANT CONNECT ON DATABASE \"new\" TO \"alice\" WITH GRANT OPTION;",
        "SET ROLE \"alice\";",
        "GRANT CONNECT ON DATABASE \"new\" TO \"bob\";",
        "RESET ROLE;",
        "COMMIT;",
    ];
    assert_eq!(sql.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn default_privileges_need_no_acl_statements() {
    let mut p = props();
    p.acl = None;
    p.settings.clear();
    p.comment = None;
    p.connection_limit = -1;
    assert_eq!(p.apply_sql("x"), "");
    assert_eq!(p.finish_sql("x"), "");
    p.allow_connections = false;
    p.is_template = true;
    assert_eq!(
        p.finish_sql("x"),
        "ALTER DATABASE \"x\" ALLOW_CONNECTIONS false;\nALTER DATABASE \"x\" IS_TEMPLATE true;\n"
    );
}

#[test]
fn old_records_without_optional_fields_load() {
    let p = DatabaseProperties::from_json(&json!({
        "owner": "postgres", "encoding": "UTF8", "collate": "C", "ctype": "C"
    }))
    .unwrap();
    assert_eq!(p.connection_limit, -1);
    assert!(p.allow_connections);
    assert!(p.settings.is_empty());
}

#[test]
fn aclitems_parse_with_quoted_names() {
    assert_eq!(
        parse_aclitem("=Tc/postgres"),
        Some(AclItem {
            grantee: None,
            privileges: vec![('T', false), ('c', false)],
            grantor: "postgres".into()
        })
    );
    assert_eq!(
        parse_aclitem("\"we \"\"ird\"=C*c/\"Ünï\""),
        Some(AclItem {
            grantee: Some("we \"ird".into()),
            privileges: vec![('C', true), ('c', false)],
            grantor: "Ünï".into()
        })
    );
    assert_eq!(parse_aclitem("alice"), None);
    assert_eq!(parse_aclitem("\"open=c/x"), None);
}

#[test]
fn guc_lists_split_like_postgres() {
    assert_eq!(
        split_guc_list("\"$user\", public"),
        Some(vec!["$user".to_string(), "public".to_string()])
    );
    assert_eq!(split_guc_list("\"\""), Some(vec![String::new()]));
    assert_eq!(
        split_guc_list("  A ,\"b,c\""),
        Some(vec!["A".into(), "b,c".into()])
    );
    assert_eq!(split_guc_list(""), Some(vec![]));
    assert_eq!(split_guc_list("a,,b"), None);
    assert_eq!(split_guc_list("\"open"), None);
}

#[test]
fn setting_values_are_literals() {
    assert_eq!(
        set_clause("search_path=\"\"").as_deref(),
        Some("\"search_path\" TO ''")
    );
    assert_eq!(
        set_clause("myapp.note=a=b\\c").as_deref(),
        Some("\"myapp.note\" TO E'a=b\\\\c'")
    );
    assert_eq!(set_clause("garbage"), None);
}
