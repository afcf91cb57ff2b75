//! The roles a backup needs on the server it is restored to, checked before anything is
//! created: owners, grantees, the roles of policies and user mappings, read from the dump's
//! statements (a custom archive's through `pg_restore --schema-only`), and the owner, grants
//! and role settings of the database itself.
//!
//! `--no-owner` restores as `pg_restore --no-owner --no-privileges` does: no ownership and no
//! grants, so everything belongs to the connecting role and only the roles of policies and
//! user mappings are still needed.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::process::Stdio;

use crate::backup::directory;
use anyhow::{Context, Result, anyhow};

use crate::backup::integrity::BackupFile;
use crate::codec::decode::StreamFailure;
use crate::interrupt::Interrupt;
use crate::model::naming::Format;
use crate::pg::feed;
use crate::pg::process::Tool;
use crate::pg::properties::DatabaseProperties;
use crate::pg::roles::{self, Use};
use crate::pg::server::Server;
use crate::pg::statements::Statements;

/// Roles by name, with the ways the backup uses them.
pub type Needed = BTreeMap<String, BTreeSet<Use>>;

/// Whether `--no-owner` leaves a statement out: ownership (`ALTER … OWNER TO`, `SET SESSION
/// AUTHORIZATION`) and privileges (`GRANT`, `REVOKE`, `ALTER DEFAULT PRIVILEGES`).
pub fn is_ownership_or_privilege(statement: &str) -> bool {
    let tokens = roles::tokens(statement);
    let word = |i: usize, k: &str| matches!(tokens.get(i), Some(roles::Token::Word { text, quoted: false }) if text == k);
    (word(0, "alter") && word(1, "default"))
        || word(0, "grant")
        || word(0, "revoke")
        || (word(0, "set") && word(1, "session") && word(2, "authorization"))
        || (word(0, "alter")
            && roles::referenced(statement)
                .iter()
                .any(|(_, how)| *how == Use::Owner))
}

/// Adds the roles `statement` names to `needed`.
pub fn note_statement(needed: &mut Needed, statement: &str) {
    for (role, how) in roles::referenced(statement) {
        needed.entry(role).or_default().insert(how);
    }
}

/// The roles the dump's statements name.
pub fn read(file: &BackupFile, pg_restore: &Tool, interrupt: &Interrupt) -> Result<Needed> {
    let mut needed = Needed::new();
    let mut note = |statement: &str| {
        note_statement(&mut needed, statement);
        false
    };
    match file.format {
        Format::Directory => {
            let tool = pg_restore.clone().args(["--schema-only", "--file=-"]);
            let mut scanner = Statements::new(io::sink(), &mut note);
            directory::pg_restore_into(file, tool, &mut scanner, interrupt)
                .context("could not list the roles the backup needs")?;
            scanner.finish()?;
        }
        Format::Plain => {
            let mut scanner = Statements::new(io::sink(), &mut note);
            file.stream(&file.chain, &mut scanner, &mut |_| {})
                .map_err(|failure| match failure {
                    StreamFailure::Read(e) | StreamFailure::Write(e) => {
                        anyhow!("could not read or decode {}: {e}", file.describe())
                    }
                })?;
            scanner.finish()?;
        }
        Format::Custom => {
            let (mut reader, writer) = io::pipe().context("could not create a pipe")?;
            let tool = pg_restore.clone().args(["--schema-only", "--file=-"]);
            let fed = std::thread::scope(|scope| {
                let scanning = scope.spawn(move || -> io::Result<()> {
                    let mut scanner = Statements::new(io::sink(), &mut note);
                    io::copy(&mut reader, &mut scanner)?;
                    scanner.finish().map(drop)
                });
                let fed = feed::feed(
                    &tool,
                    Stdio::from(writer),
                    file.source(),
                    interrupt,
                    &mut |_| {},
                );
                scanning
                    .join()
                    .expect("the scanner does not panic")
                    .map(|()| fed)
            })?;
            match fed {
                Ok(_) | Err(feed::FeedFailure::StoppedEarly(_)) => {}
                Err(failure) => {
                    return Err(failure
                        .into_error()
                        .context("could not list the roles the backup needs"));
                }
            }
        }
    }
    Ok(needed)
}

/// The roles the database itself needs: its owner, its grantees, the roles of its settings.
pub fn of_database(properties: &DatabaseProperties) -> Needed {
    let mut needed = Needed::new();
    needed
        .entry(properties.owner.clone())
        .or_default()
        .insert(Use::Owner);
    for item in properties.acl.iter().flatten() {
        // `grantee=privileges/grantor`; an empty grantee is PUBLIC.
        if let Some((grantee, rest)) = item.split_once('=') {
            let grantor = rest.rsplit_once('/').map(|(_, g)| g).unwrap_or("");
            for role in [grantee, grantor] {
                let role = unquote_acl(role);
                if !role.is_empty() {
                    needed.entry(role).or_default().insert(Use::Privileges);
                }
            }
        }
    }
    for setting in &properties.settings {
        if let Some(role) = &setting.role {
            needed
                .entry(role.clone())
                .or_default()
                .insert(Use::Settings);
        }
    }
    needed
}

/// aclitem names are double-quoted when they need it.
fn unquote_acl(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_string(),
    }
}

/// The names of the roles on the server.
pub fn existing(server: &Server) -> Result<BTreeSet<String>> {
    let value = server.query_json("SELECT coalesce(json_agg(rolname), '[]') FROM pg_roles;")?;
    serde_json::from_value(value).context("psql returned unexpected role names")
}

/// What the roles of `needed` that are not in `existing` would be used for, by role; with
/// `no_owner`, owners and grantees are not needed.
pub fn missing(needed: &Needed, existing: &BTreeSet<String>, no_owner: bool) -> Needed {
    needed
        .iter()
        .filter(|(role, _)| !existing.contains(*role))
        .map(|(role, uses)| {
            let uses: BTreeSet<Use> = uses
                .iter()
                .copied()
                .filter(|how| !no_owner || *how == Use::Other)
                .collect();
            (role.clone(), uses)
        })
        .filter(|(_, uses)| !uses.is_empty())
        .collect()
}

/// The error for a restore that would fail on missing roles: names them, says what they
/// are for, and what to do.
pub fn missing_error(missing: &Needed, backup_id: &str, no_owner: bool) -> anyhow::Error {
    let listed: Vec<String> = missing
        .iter()
        .map(|(role, uses)| {
            let what: Vec<&str> = uses
                .iter()
                .map(|how| match how {
                    Use::Owner => "owns objects",
                    Use::Privileges => "has or grants privileges",
                    Use::Settings => "has settings in the database",
                    Use::Other => "a policy or user mapping names it",
                })
                .collect();
            format!("{role:?} ({})", what.join(", "))
        })
        .collect();
    let instead = if no_owner {
        "create them first (--no-owner does not help with policies and user mappings), or \
         restore the globals of the server the backup came from"
    } else {
        "restore the globals of the server the backup came from first (pgbackup restore \
         GLOBALS_ID, or restore --all-databases RUN), create the roles, or restore with \
         --no-owner to give everything to the connecting role (no ownership, no grants)"
    };
    anyhow!(
        "backup {backup_id} needs roles this server does not have: {}; nothing was changed. \
         To restore it: {instead}",
        listed.join(", ")
    )
}

/// With `--no-owner`: the database belongs to the connecting role, keeps no grants, and
/// keeps only the settings of roles the server has.
pub fn without_owner(
    properties: &DatabaseProperties,
    role: &str,
    existing: &BTreeSet<String>,
) -> DatabaseProperties {
    let mut owned = properties.clone();
    owned.owner = role.to_string();
    owned.acl = None;
    owned
        .settings
        .retain(|s| s.role.as_ref().is_none_or(|r| existing.contains(r)));
    owned
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Needed, is_ownership_or_privilege, missing};
    use crate::pg::roles::Use;

    #[test]
    fn no_owner_leaves_out_ownership_and_privileges_only() {
        for dropped in [
            "ALTER TABLE public.t OWNER TO app;",
            "ALTER SCHEMA s OWNER TO \"Big\";",
            "GRANT SELECT ON TABLE public.t TO bob;",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
            "ALTER DEFAULT PRIVILEGES FOR ROLE app GRANT SELECT ON TABLES TO bob;",
            "SET SESSION AUTHORIZATION app;",
        ] {
            assert!(is_ownership_or_privilege(dropped), "{dropped}");
        }
        for kept in [
            "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);",
            "ALTER TABLE public.t ALTER COLUMN id SET DEFAULT nextval('s');",
            "CREATE POLICY p ON public.t TO bob USING (true);",
            "COMMENT ON TABLE public.t IS 'GRANT x TO y';",
            "SET search_path = public;",
        ] {
            assert!(!is_ownership_or_privilege(kept), "{kept}");
        }
    }

    #[test]
    fn only_absent_roles_are_missing_and_no_owner_needs_only_policy_roles() {
        let mut needed = Needed::new();
        needed.entry("app".into()).or_default().insert(Use::Owner);
        needed
            .entry("bob".into())
            .or_default()
            .insert(Use::Privileges);
        needed.entry("bob".into()).or_default().insert(Use::Other);
        needed
            .entry("postgres".into())
            .or_default()
            .insert(Use::Owner);
        let existing: BTreeSet<String> = ["postgres".to_string()].into();
        let all = missing(&needed, &existing, false);
        assert_eq!(all.keys().collect::<Vec<_>>(), ["app", "bob"]);
        let no_owner = missing(&needed, &existing, true);
        assert_eq!(no_owner.keys().collect::<Vec<_>>(), ["bob"]);
        assert_eq!(no_owner["bob"], [Use::Other].into());
    }
}
