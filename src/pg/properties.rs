//! Database-level properties (owner, encoding, locale, settings, ACL, comment) as recorded at
//! backup time, and the SQL that gives them to the database a restore creates.

use std::iter::Peekable;
use std::str::Chars;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pg::sql::{ident, literal};

/// What `postgres::PROPERTIES_JSON` records about a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseProperties {
    #[serde(default)]
    pub name: String,
    pub owner: String,
    pub encoding: String,
    pub collate: String,
    pub ctype: String,
    /// libc, icu or builtin.
    #[serde(default)]
    pub locale_provider: Option<String>,
    #[serde(default)]
    pub icu_locale: Option<String>,
    #[serde(default)]
    pub icu_rules: Option<String>,
    #[serde(default = "no_limit")]
    pub connection_limit: i32,
    #[serde(default = "yes")]
    pub allow_connections: bool,
    #[serde(default)]
    pub is_template: bool,
    #[serde(default)]
    pub tablespace: Option<String>,
    /// aclitems such as `=Tc/postgres`; `None` means the default privileges.
    #[serde(default)]
    pub acl: Option<Vec<String>>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub settings: Vec<RoleSettings>,
}

/// `ALTER DATABASE ... SET` (role `None`) or `ALTER ROLE r IN DATABASE ... SET` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSettings {
    pub role: Option<String>,
    /// `name=value`, as pg_db_role_setting stores them.
    #[serde(default)]
    pub settings: Vec<String>,
}

fn no_limit() -> i32 {
    -1
}

fn yes() -> bool {
    true
}

impl DatabaseProperties {
    pub fn from_json(value: &Value) -> Result<DatabaseProperties> {
        serde_json::from_value(value.clone()).context("unexpected database properties")
    }

    /// `CREATE DATABASE` for a new, empty database with this encoding, locale and owner.
    pub fn create_sql(&self, name: &str) -> String {
        let mut sql = format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}",
            ident(name),
            literal(&self.encoding),
            literal(&self.collate),
            literal(&self.ctype)
        );
        match (self.locale_provider.as_deref(), self.icu_locale.as_deref()) {
            (Some("icu"), Some(locale)) => {
                sql += &format!(" LOCALE_PROVIDER icu ICU_LOCALE {}", literal(locale));
                if let Some(rules) = &self.icu_rules {
                    sql += &format!(" ICU_RULES {}", literal(rules));
                }
            }
            (Some("builtin"), Some(locale)) => {
                sql += &format!(
                    " LOCALE_PROVIDER builtin BUILTIN_LOCALE {}",
                    literal(locale)
                );
            }
            _ => {}
        }
        if let Some(tablespace) = self.tablespace.as_deref().filter(|t| *t != "pg_default") {
            sql += &format!(" TABLESPACE {}", ident(tablespace));
        }
        sql + &format!(" OWNER {};\n", ident(&self.owner))
    }

    /// Settings, comment, connection limit and ACL for database `name`, in one transaction.
    /// Run after the data is loaded, so settings such as `default_transaction_read_only`
    /// cannot get in the way of the load.
    /// Empty when there is nothing to set.
    pub fn apply_sql(&self, name: &str) -> String {
        let db = ident(name);
        let mut sql = String::new();
        for group in &self.settings {
            let target = match &group.role {
                None => format!("DATABASE {db}"),
                Some(role) => format!("ROLE {} IN DATABASE {db}", ident(role)),
            };
            for setting in &group.settings {
                if let Some(set) = set_clause(setting) {
                    sql += &format!("ALTER {target} SET {set};\n");
                }
            }
        }
        if let Some(comment) = &self.comment {
            sql += &format!("COMMENT ON DATABASE {db} IS {};\n", literal(comment));
        }
        if self.connection_limit != -1 {
            sql += &format!(
                "ALTER DATABASE {db} CONNECTION LIMIT {};\n",
                self.connection_limit
            );
        }
        if let Some(acl) = &self.acl {
            sql += &acl_sql(&db, &self.owner, acl);
        }
        match sql.is_empty() {
            true => sql,
            false => format!("BEGIN;\n{sql}COMMIT;\n"),
        }
    }

    /// What must wait until the database has its final name: refusing connections, template.
    pub fn finish_sql(&self, name: &str) -> String {
        let mut sql = String::new();
        if !self.allow_connections {
            sql += &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false;\n", ident(name));
        }
        if self.is_template {
            sql += &format!("ALTER DATABASE {} IS_TEMPLATE true;\n", ident(name));
        }
        sql
    }
}

/// `name TO value` for a stored `name=value`, quoting list settings as pg_dumpall does.
fn set_clause(setting: &str) -> Option<String> {
    let (name, value) = setting.split_once('=')?;
    let value = if is_list_setting(name) {
        match split_guc_list(value) {
            Some(items) if !items.is_empty() => items
                .iter()
                .map(|item| literal(item))
                .collect::<Vec<_>>()
                .join(", "),
            _ => literal(value),
        }
    } else {
        literal(value)
    };
    Some(format!("{} TO {value}", ident(name)))
}

/// Settings marked GUC_LIST_QUOTE, whose stored value is a list of double-quoted names.
fn is_list_setting(name: &str) -> bool {
    [
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
        "unix_socket_directories",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// Splits `"$user", public` into `$user` and `public` (PostgreSQL's SplitGUCList: names
/// may be double-quoted with `""` for a quote, and are not case-folded).
pub fn split_guc_list(text: &str) -> Option<Vec<String>> {
    let mut items = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
    if chars.peek().is_none() {
        return Some(items);
    }
    loop {
        let mut item = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' if chars.next_if_eq(&'"').is_some() => item.push('"'),
                    '"' => break,
                    c => item.push(c),
                }
            }
        } else {
            item.extend(std::iter::from_fn(|| {
                chars.next_if(|c| *c != ',' && !c.is_whitespace())
            }));
            if item.is_empty() {
                return None;
            }
        }
        items.push(item);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some(items),
            Some(',') => while chars.next_if(|c| c.is_whitespace()).is_some() {},
            Some(_) => return None,
        }
    }
}

/// One aclitem: `grantee=privileges/grantor`; an empty grantee is PUBLIC.
#[derive(Debug, Clone, PartialEq)]
pub struct AclItem {
    pub grantee: Option<String>,
    /// Privilege letters (C, T, c) with whether each carries the grant option.
    pub privileges: Vec<(char, bool)>,
    pub grantor: String,
}

/// Parses an aclitem's text form; names may be double-quoted with `""` for a quote.
pub fn parse_aclitem(text: &str) -> Option<AclItem> {
    let mut chars = text.chars().peekable();
    let grantee = read_name(&mut chars, Some('='))?;
    chars.next_if_eq(&'=')?;
    let mut privileges = Vec::new();
    while let Some(letter) = chars.next_if(|c| *c != '/') {
        privileges.push((letter, chars.next_if_eq(&'*').is_some()));
    }
    chars.next_if_eq(&'/')?;
    let grantor = read_name(&mut chars, None)?;
    Some(AclItem {
        grantee: (!grantee.is_empty()).then_some(grantee),
        privileges,
        grantor,
    })
}

/// A role name up to `stop` (or the end), unquoting `"..."` parts.
fn read_name(chars: &mut Peekable<Chars<'_>>, stop: Option<char>) -> Option<String> {
    let mut out = String::new();
    let mut quoted = false;
    while let Some(&c) = chars.peek() {
        if !quoted && Some(c) == stop {
            break;
        }
        chars.next();
        match c {
            '"' if quoted && chars.next_if_eq(&'"').is_some() => out.push('"'),
            '"' => quoted = !quoted,
            c => out.push(c),
        }
    }
    (!quoted).then_some(out)
}

fn privilege_name(letter: char) -> Option<&'static str> {
    match letter {
        'C' => Some("CREATE"),
        'T' => Some("TEMPORARY"),
        'c' => Some("CONNECT"),
        _ => None,
    }
}

/// Turns the default privileges of a new database into exactly `acl`, in its order: revoke
/// the defaults, then grant each item as its grantor (appended in order by PostgreSQL).
fn acl_sql(db: &str, owner: &str, acl: &[String]) -> String {
    let mut sql = format!(
        "REVOKE ALL ON DATABASE {db} FROM PUBLIC;\nREVOKE ALL ON DATABASE {db} FROM {};\n",
        ident(owner)
    );
    for text in acl {
        let Some(item) = parse_aclitem(text) else {
            tracing::warn!("ignoring an ACL entry that does not parse: {text:?}");
            continue;
        };
        let grantee = item
            .grantee
            .as_deref()
            .map_or_else(|| "PUBLIC".to_string(), ident);
        let as_grantor = item.grantor != owner;
        if as_grantor {
            sql += &format!("SET ROLE {};\n", ident(&item.grantor));
        }
        for with_option in [false, true] {
            let names: Vec<&str> = item
                .privileges
                .iter()
                .filter(|(_, option)| *option == with_option)
                .filter_map(|(letter, _)| privilege_name(*letter))
                .collect();
            if !names.is_empty() {
                sql += &format!(
                    "GRANT {} ON DATABASE {db} TO {grantee}{};\n",
                    names.join(", "),
                    if with_option {
                        " WITH GRANT OPTION"
                    } else {
                        ""
                    }
                );
            }
        }
        if as_grantor {
            sql += "RESET ROLE;\n";
        }
    }
    sql
}

#[cfg(test)]
#[path = "properties/tests.rs"]
mod tests;
