//! The server seen from its maintenance database (`postgres` unless told otherwise): who we
//! are there, which databases exist, and the SQL that creates, renames and drops them.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::config::PgPrograms;
use crate::pg::conn::Conn;
use crate::pg::postgres::{self, PROPERTIES_JSON};
use crate::pg::process::Tool;
use crate::pg::properties::DatabaseProperties;
use crate::pg::sql::{ident, literal};

/// The role pgbackup connects as, and what it may do.
#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub name: String,
    pub superuser: bool,
    pub createdb: bool,
}

const ROLE_SQL: &str = "SELECT json_build_object('name', rolname, 'superuser', rolsuper, \
     'createdb', rolcreatedb, 'version_num', current_setting('server_version_num')::int) \
     FROM pg_roles WHERE rolname = current_user;";

/// The names of all databases, as one JSON array.
const NAMES_JSON: &str = "SELECT coalesce(json_agg(datname), '[]') FROM pg_database";

/// A connection to the server for maintenance work, and the way to reach other databases.
#[derive(Debug, Clone)]
pub struct Server {
    programs: PgPrograms,
    base: Conn,
    maintenance_db: String,
    pub role: Role,
    /// server_version_num, e.g. 150018.
    pub version_num: u32,
}

impl Server {
    /// Connects to `maintenance_db` on the server `conn` points at, asking for a password
    /// on a terminal when the server wants one.
    pub fn connect(
        programs: &PgPrograms,
        conn: &Conn,
        maintenance_db: &str,
        interactive: bool,
    ) -> Result<Server> {
        let mut maintenance = conn.for_database(maintenance_db);
        let value =
            postgres::query_json_prompting(programs, &mut maintenance, interactive, ROLE_SQL)
                .with_context(|| {
                    format!(
                        "could not connect to the maintenance database {maintenance_db:?} \
                         (is the server running? choose another with --maintenance-db)"
                    )
                })?;
        let mut base = conn.clone();
        base.take_password_from(&maintenance);
        let version_num = value["version_num"].as_u64().unwrap_or(0) as u32;
        Ok(Server {
            programs: programs.clone(),
            base,
            maintenance_db: maintenance_db.to_string(),
            role: serde_json::from_value(value).context("unexpected answer about the role")?,
            version_num,
        })
    }

    pub fn programs(&self) -> &PgPrograms {
        &self.programs
    }

    pub fn maintenance_db(&self) -> &str {
        &self.maintenance_db
    }

    /// The connection target without any password (`None`: libpq's defaults).
    pub fn connection_target(&self) -> Option<String> {
        self.base.recorded()
    }

    /// The connection to database `name` on this server.
    pub fn conn_for(&self, name: &str) -> Conn {
        self.base.for_database(name)
    }

    /// psql for scripts in database `name` (no psqlrc, no prompt, stop at the first error).
    pub fn psql(&self, name: &str) -> Tool {
        postgres::psql(&self.programs, &self.conn_for(name))
    }

    /// Runs SQL in the maintenance database; returns what psql printed.
    pub fn execute(&self, sql: &str) -> Result<String> {
        self.psql(&self.maintenance_db).output(sql)
    }

    /// Runs SQL that returns one JSON value in the maintenance database.
    pub fn query_json(&self, sql: &str) -> Result<Value> {
        self.query_json_in(&self.maintenance_db, sql)
    }

    /// Runs SQL that returns one JSON value in database `name`.
    pub fn query_json_in(&self, name: &str, sql: &str) -> Result<Value> {
        postgres::query_json(&self.programs, &self.conn_for(name), sql)
    }

    /// The names of all databases.
    pub fn database_names(&self) -> Result<BTreeSet<String>> {
        let value = self.query_json(&format!("{NAMES_JSON};"))?;
        serde_json::from_value(value).context("psql returned unexpected database names")
    }

    /// The properties of database `name` when it exists, and the names of all databases,
    /// in one round trip.
    pub fn survey(&self, name: &str) -> Result<(Option<DatabaseProperties>, BTreeSet<String>)> {
        let value = self.query_json(&format!(
            "SELECT json_build_array((SELECT {PROPERTIES_JSON} FROM pg_database d WHERE \
             d.datname = {}), ({NAMES_JSON}));",
            literal(name)
        ))?;
        let (properties, names): (Value, BTreeSet<String>) =
            serde_json::from_value(value).context("psql returned an unexpected survey")?;
        let properties = match properties {
            Value::Null => None,
            value => Some(DatabaseProperties::from_json(&value)?),
        };
        Ok((properties, names))
    }

    /// The database-level properties of `name`, when it exists.
    pub fn properties(&self, name: &str) -> Result<Option<DatabaseProperties>> {
        let value = self.query_json(&format!(
            "SELECT coalesce((SELECT {PROPERTIES_JSON} FROM pg_database d WHERE d.datname = {}), \
             'null'::json);",
            literal(name)
        ))?;
        match value {
            Value::Null => Ok(None),
            value => DatabaseProperties::from_json(&value).map(Some),
        }
    }

    /// Whether the current role may act as `role` (own what it owns, create as it).
    pub fn acts_as(&self, role: &str) -> Result<bool> {
        let value = self.query_json(&format!(
            "SELECT to_json(pg_has_role(current_user, (SELECT oid FROM pg_roles WHERE rolname = {}), 'MEMBER'));",
            literal(role)
        ))?;
        Ok(value.as_bool().unwrap_or(false))
    }

    /// Drops a database pgbackup created, ending any session still connected to it and
    /// detaching its subscriptions first.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        crate::backup::restore::subscriptions::detach_before_drop(self, name)
            .with_context(|| format!("could not drop database {name:?}"))?;
        let force = if self.version_num >= 130000 {
            " WITH (FORCE)"
        } else {
            ""
        };
        self.execute(&format!("DROP DATABASE IF EXISTS {}{force};", ident(name)))
            .map(|_| ())
            .with_context(|| format!("could not drop database {name:?}"))
    }
}

/// The first of `base + suffix`, then `_2`, `_3`... (within the name length) not in `taken`.
pub fn free_name(taken: &BTreeSet<String>, base: &str, suffix: &str) -> String {
    (1..)
        .map(|n| match n {
            1 => crate::pg::sql::derived_name(base, suffix),
            n => crate::pg::sql::derived_name(base, &format!("{suffix}_{n}")),
        })
        .find(|name| !taken.contains(name))
        .expect("some name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_name_skips_taken_names() {
        let taken: BTreeSet<String> = ["app_x", "app_x_2"].map(String::from).into();
        assert_eq!(free_name(&taken, "app", "_x"), "app_x_3");
        assert_eq!(free_name(&taken, "app", "_y"), "app_y");
    }
}
