//! Restoring a globals backup (`pg_dumpall --globals-only`) onto a server: the roles it lacks
//! are created with their attributes, settings, comments and memberships, in one
//! transaction; the roles it has are left exactly as they are (their statements are left
//! out, not run and ignored); tablespaces are created when their location exists, which is
//! checked before anything changes.
//!
//! A membership (`GRANT r TO m`) or parameter grant belongs to its member (grantee): it is
//! applied when this restore creates that role, and left out when the role existed. `CREATE
//! TABLESPACE` cannot run in a transaction, so each runs on its own after the roles (which
//! own them), followed by its grants and comment.

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

use crate::pg::roles::{Token, grantees_of, tokens};
use crate::pg::server::Server;
use crate::pg::sql::literal;
use crate::pg::statements;

/// A tablespace the backup creates.
#[derive(Debug, Clone, PartialEq)]
pub struct Tablespace {
    pub name: String,
    pub location: String,
    /// `CREATE TABLESPACE`, run on its own.
    pub create: String,
    /// Its `ALTER`, `GRANT`, `COMMENT` statements.
    pub then: Vec<String>,
}

/// What applying a globals backup does, decided before anything changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GlobalsPlan {
    /// `SET` statements the script starts with.
    pub settings: Vec<String>,
    /// The statements for roles, run in one transaction.
    pub roles: Vec<String>,
    pub created_roles: Vec<String>,
    pub kept_roles: Vec<String>,
    pub tablespaces: Vec<Tablespace>,
    pub kept_tablespaces: Vec<String>,
}

/// What a globals restore did, as `restore --json` reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GlobalsApplied {
    pub created_roles: Vec<String>,
    pub kept_roles: Vec<String>,
    pub created_tablespaces: Vec<String>,
    pub kept_tablespaces: Vec<String>,
}

/// What a statement of the globals is about.
#[derive(Debug, PartialEq)]
enum Subject {
    Setting,
    /// `CREATE ROLE r`.
    CreateRole(String),
    /// `ALTER ROLE r …`, `COMMENT ON ROLE r`, `SECURITY LABEL … ON ROLE r`.
    Role(String),
    /// Memberships and grants on parameters: the members (grantees).
    Grant(Vec<String>),
    CreateTablespace(String, String),
    Tablespace(String),
}

fn word(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Token::Word {
            text,
            quoted: false,
        }) => Some(text),
        _ => None,
    }
}

fn name(tokens: &[Token], i: usize) -> Option<String> {
    match tokens.get(i) {
        Some(Token::Word { text, .. }) => Some(text.clone()),
        _ => None,
    }
}

/// The name after `ON ROLE` / `ON TABLESPACE` in a COMMENT or SECURITY LABEL.
fn object_after_on(tokens: &[Token]) -> Option<(String, String)> {
    let at = (0..tokens.len()).find(|&i| word(tokens, i) == Some("on"))?;
    Some((word(tokens, at + 1)?.to_string(), name(tokens, at + 2)?))
}

fn subject(statement: &str) -> Result<Subject> {
    let t = tokens(statement);
    let unexpected = || anyhow!("unexpected statement in the globals backup: {statement}");
    let first = word(&t, 0).unwrap_or("");
    let second = word(&t, 1).unwrap_or("");
    Ok(match (first, second) {
        ("set", _) => Subject::Setting,
        ("create", "role") => Subject::CreateRole(name(&t, 2).ok_or_else(unexpected)?),
        ("alter", "role") => Subject::Role(name(&t, 2).ok_or_else(unexpected)?),
        ("create", "tablespace") => {
            let location = t
                .iter()
                .position(
                    |x| matches!(x, Token::Word { text, quoted: false } if text == "location"),
                )
                .and_then(|i| match t.get(i + 1) {
                    Some(Token::Literal(path)) => Some(path.clone()),
                    _ => None,
                })
                .ok_or_else(unexpected)?;
            Subject::CreateTablespace(name(&t, 2).ok_or_else(unexpected)?, location)
        }
        ("alter", "tablespace") => Subject::Tablespace(name(&t, 2).ok_or_else(unexpected)?),
        ("comment" | "security", _) => match object_after_on(&t) {
            Some((kind, object)) if kind == "role" => Subject::Role(object),
            Some((kind, object)) if kind == "tablespace" => Subject::Tablespace(object),
            _ => return Err(unexpected()),
        },
        ("grant" | "revoke", _) => {
            let on = t
                .iter()
                .position(|x| matches!(x, Token::Word { text, quoted: false } if text == "on"));
            match on.and_then(|i| word(&t, i + 1)) {
                Some("tablespace") => {
                    Subject::Tablespace(name(&t, on.unwrap() + 2).ok_or_else(unexpected)?)
                }
                Some("parameter") | None => Subject::Grant(grantees_of(statement)),
                Some(_) => return Err(unexpected()),
            }
        }
        _ => return Err(unexpected()),
    })
}

/// Decides what to run from the text of a globals backup and what the server has.
pub fn plan(
    script: &str,
    existing_roles: &BTreeSet<String>,
    existing_tablespaces: &BTreeSet<String>,
) -> Result<GlobalsPlan> {
    let mut plan = GlobalsPlan::default();
    let mut deferred_grants = Vec::new();
    for statement in statements::split(script) {
        match subject(&statement)? {
            Subject::Setting => plan.settings.push(statement),
            Subject::CreateRole(role) => {
                if existing_roles.contains(&role) {
                    plan.kept_roles.push(role);
                } else {
                    plan.created_roles.push(role);
                    plan.roles.push(statement);
                }
            }
            Subject::Role(role) => {
                if !existing_roles.contains(&role) {
                    plan.roles.push(statement);
                }
            }
            Subject::Grant(roles) => deferred_grants.push((roles, statement)),
            Subject::CreateTablespace(name, location) => {
                if existing_tablespaces.contains(&name) {
                    plan.kept_tablespaces.push(name);
                } else {
                    plan.tablespaces.push(Tablespace {
                        name,
                        location,
                        create: statement,
                        then: Vec::new(),
                    });
                }
            }
            Subject::Tablespace(name) => {
                if let Some(tablespace) = plan.tablespaces.iter_mut().find(|t| t.name == name) {
                    tablespace.then.push(statement);
                } else if !existing_tablespaces.contains(&name) {
                    bail!("the globals backup changes tablespace {name:?} before creating it");
                }
            }
        }
    }
    let created: BTreeSet<&String> = plan.created_roles.iter().collect();
    for (roles, statement) in deferred_grants {
        if roles.iter().any(|r| created.contains(r)) {
            plan.roles.push(statement);
        }
    }
    Ok(plan)
}

/// The server's tablespaces.
pub fn existing_tablespaces(server: &Server) -> Result<BTreeSet<String>> {
    let value =
        server.query_json("SELECT coalesce(json_agg(spcname), '[]') FROM pg_tablespace;")?;
    serde_json::from_value(value).context("psql returned unexpected tablespace names")
}

/// Refuses, before any change, when a tablespace's location is not a folder on the server,
/// or is already in use by a tablespace of this PostgreSQL version (another cluster's).
pub fn check_locations(server: &Server, plan: &GlobalsPlan) -> Result<()> {
    let mut missing = Vec::new();
    let mut in_use = Vec::new();
    for tablespace in plan.tablespaces.iter().filter(|t| !t.location.is_empty()) {
        let location = literal(&tablespace.location);
        let value = server
            .query_json(&format!(
                "SELECT json_build_array(\
                   coalesce((SELECT isdir FROM pg_stat_file({location}, true)), false), \
                   (SELECT count(*) FROM pg_ls_dir({location}, true, false) f \
                    WHERE f LIKE 'PG\\_' || (current_setting('server_version_num')::int / 10000) \
                    || '\\_%'));"
            ))
            .with_context(|| {
                format!(
                    "could not check the location of tablespace {:?} (reading the server's \
                     files needs a superuser or pg_read_server_files)",
                    tablespace.name
                )
            })?;
        let described = format!("{:?} in {}", tablespace.name, tablespace.location);
        match (value[0].as_bool(), value[1].as_u64()) {
            (Some(true), Some(0)) => {}
            (Some(true), _) => in_use.push(described),
            _ => missing.push(described),
        }
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "these tablespaces need folders that do not exist on the server: {} (create each, \
             empty, owned by the operating-system user that runs PostgreSQL)",
            missing.join(", ")
        ));
    }
    if !in_use.is_empty() {
        problems.push(format!(
            "these tablespace folders are already in use by a tablespace: {}",
            in_use.join(", ")
        ));
    }
    if !problems.is_empty() {
        bail!(
            "cannot restore the globals: {}; nothing was changed",
            problems.join("; ")
        );
    }
    Ok(())
}

/// Runs the plan: the roles in one transaction, then each tablespace.
pub fn apply(server: &Server, plan: &GlobalsPlan) -> Result<GlobalsApplied> {
    let settings = plan.settings.join("\n");
    if !plan.roles.is_empty() {
        let script = format!("{settings}\nBEGIN;\n{}\nCOMMIT;\n", plan.roles.join("\n"));
        server
            .execute(&script)
            .context("could not create the roles (none was created)")?;
    }
    let mut applied = GlobalsApplied {
        created_roles: plan.created_roles.clone(),
        kept_roles: plan.kept_roles.clone(),
        created_tablespaces: Vec::new(),
        kept_tablespaces: plan.kept_tablespaces.clone(),
    };
    for tablespace in &plan.tablespaces {
        let created = server
            .execute(&format!("{settings}\n{}", tablespace.create))
            .and_then(|_| match tablespace.then.is_empty() {
                true => Ok(String::new()),
                false => server.execute(&format!(
                    "{settings}\nBEGIN;\n{}\nCOMMIT;\n",
                    tablespace.then.join("\n")
                )),
            });
        if let Err(err) = created {
            let done = match applied.created_tablespaces.is_empty() {
                true => String::new(),
                false => format!(
                    ", and tablespaces {}",
                    applied.created_tablespaces.join(", ")
                ),
            };
            return Err(err.context(format!(
                "could not create tablespace {:?}; the roles were restored{done}",
                tablespace.name
            )));
        }
        applied.created_tablespaces.push(tablespace.name.clone());
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::plan;

    const GLOBALS: &str = "--\n-- PostgreSQL database cluster dump\n--\n\n\
        \\restrict abc\n\nSET default_transaction_read_only = off;\n\n\
        SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n\
        CREATE ROLE \"Bob x\";\n\
        ALTER ROLE \"Bob x\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;\n\
        CREATE ROLE alice;\n\
        ALTER ROLE alice WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:x=';\n\
        CREATE ROLE grp;\nALTER ROLE grp WITH NOLOGIN;\n\
        CREATE ROLE postgres;\nALTER ROLE postgres WITH SUPERUSER LOGIN;\n\
        COMMENT ON ROLE alice IS 'the; admin';\n\
        ALTER ROLE alice SET work_mem TO '8MB';\n\
        ALTER ROLE postgres SET work_mem TO '1MB';\n\
        GRANT grp TO \"Bob x\" WITH ADMIN OPTION GRANTED BY alice;\n\
        GRANT grp TO alice GRANTED BY postgres;\n\
        GRANT pg_read_all_data TO postgres GRANTED BY postgres;\n\
        GRANT SET ON PARAMETER work_mem TO alice;\n\
        CREATE TABLESPACE ts1 OWNER alice LOCATION '/srv/ts1';\n\
        GRANT ALL ON TABLESPACE ts1 TO grp;\n\
        CREATE TABLESPACE old OWNER postgres LOCATION '/srv/old';\n\
        COMMENT ON TABLESPACE old IS 'kept';\n\n\\unrestrict abc\n";

    #[test]
    fn existing_roles_and_tablespaces_are_left_out_and_listed() {
        let roles: BTreeSet<String> = ["postgres".to_string(), "alice".to_string()].into();
        let tablespaces: BTreeSet<String> = ["old".to_string()].into();
        let plan = plan(GLOBALS, &roles, &tablespaces).unwrap();
        assert_eq!(plan.created_roles, ["Bob x", "grp"]);
        assert_eq!(plan.kept_roles, ["alice", "postgres"]);
        assert_eq!(
            plan.roles,
            [
                "CREATE ROLE \"Bob x\";",
                "ALTER ROLE \"Bob x\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;",
                "CREATE ROLE grp;",
                "ALTER ROLE grp WITH NOLOGIN;",
                "GRANT grp TO \"Bob x\" WITH ADMIN OPTION GRANTED BY alice;",
            ]
        );
        assert_eq!(plan.settings.len(), 3);
        assert_eq!(plan.tablespaces.len(), 1);
        assert_eq!(plan.tablespaces[0].name, "ts1");
        assert_eq!(plan.tablespaces[0].location, "/srv/ts1");
        assert_eq!(
            plan.tablespaces[0].then,
            ["GRANT ALL ON TABLESPACE ts1 TO grp;"]
        );
        assert_eq!(plan.kept_tablespaces, ["old"]);
    }

    #[test]
    fn on_an_empty_server_everything_is_created() {
        let plan = plan(GLOBALS, &BTreeSet::new(), &BTreeSet::new()).unwrap();
        assert_eq!(plan.created_roles, ["Bob x", "alice", "grp", "postgres"]);
        assert!(plan.kept_roles.is_empty());
        assert_eq!(plan.roles.len(), 15);
    }

    #[test]
    fn anything_else_is_refused() {
        let err = plan("DROP ROLE alice;\n", &BTreeSet::new(), &BTreeSet::new()).unwrap_err();
        assert!(
            format!("{err:#}").contains("unexpected statement"),
            "{err:#}"
        );
    }
}
