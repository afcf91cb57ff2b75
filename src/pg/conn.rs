//! The connection target, following libpq conventions. The target is parsed by libpq's
//! rules ([`crate::pg::conninfo`]); a password found in it is taken out and passed to child
//! programs as PGPASSWORD, so it never appears on a command line, in a log line, in an
//! error or in the catalog.

use anyhow::Result;

use crate::exit::usage;
use crate::pg::conninfo::{self, Params, SECRET_KEYWORDS};
use crate::pg::process::Tool;

/// Where to connect: the target's parameters (password removed), the password, if any, and
/// the server options given as `-h`, `-p`, `-U`.
#[derive(Clone, Default, PartialEq)]
pub struct Conn {
    /// What goes to `--dbname`; a plain database name is a lone `dbname`.
    params: Params,
    /// The target as the operator wrote it, when it held no secret (for people).
    written: Option<String>,
    password: Option<String>,
    /// `PGHOST`, `PGPORT`, `PGUSER` for the child programs.
    server: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("params", &self.params)
            .field("server", &self.server)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `-h/--host`, `-p/--port`, `-U/--username`, as pg_dump and psql take them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions<'a> {
    pub host: Option<&'a str>,
    pub port: Option<&'a str>,
    pub user: Option<&'a str>,
}

impl Conn {
    /// `--dbname` wins; else libpq's own PGDATABASE (left to libpq); else `DATABASE_URL`.
    /// A target libpq would not accept is a usage error that does not quote it.
    pub fn resolve(
        flag: Option<&str>,
        pgdatabase_set: bool,
        database_url: Option<&str>,
        server: ServerOptions,
    ) -> Result<Conn> {
        let chosen = match (flag, pgdatabase_set, database_url) {
            (Some(flag), _, _) => Some(("--dbname", flag)),
            (None, false, Some(url)) if !url.is_empty() => Some(("DATABASE_URL", url)),
            _ => None,
        };
        let mut conn = match chosen {
            None | Some((_, "")) => Conn::default(),
            Some((source, text)) => Conn::from_target(source, text)?,
        };
        conn.server = [
            ("PGHOST", server.host),
            ("PGPORT", server.port),
            ("PGUSER", server.user),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?.to_string())))
        .collect();
        Ok(conn)
    }

    fn from_target(source: &str, text: &str) -> Result<Conn> {
        if !conninfo::is_connection_string(text) {
            return Ok(Conn {
                params: vec![("dbname".to_string(), text.to_string())],
                written: Some(text.to_string()),
                ..Conn::default()
            });
        }
        let parsed = conninfo::parse(text).map_err(|err| {
            usage(format!(
                "{source} is not a connection string libpq accepts: it holds {}",
                err.redacted()
            ))
        })?;
        if conninfo::get(&parsed, "sslpassword").is_some() {
            return Err(usage(format!(
                "{source} holds an sslpassword, which pgbackup cannot pass to pg_dump and psql \
                 without showing it on their command lines: put it in a service file \
                 (PGSERVICEFILE) and name the service instead"
            )));
        }
        let password = conninfo::get(&parsed, "password")
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        let secret = parsed
            .iter()
            .any(|(key, _)| SECRET_KEYWORDS.contains(&key.as_str()));
        Ok(Conn {
            params: parsed
                .into_iter()
                .filter(|(key, _)| !SECRET_KEYWORDS.contains(&key.as_str()))
                .collect(),
            written: (!secret).then(|| text.to_string()),
            password,
            server: Vec::new(),
        })
    }

    pub fn set_password(&mut self, password: String) {
        self.password = Some(password);
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Uses the password `other` holds (one typed at the prompt), when it holds one.
    pub fn take_password_from(&mut self, other: &Conn) {
        if let Some(password) = &other.password {
            self.password = Some(password.clone());
        }
    }

    /// The database the target names, when it names one.
    pub fn database(&self) -> Option<&str> {
        conninfo::get(&self.params, "dbname").filter(|name| !name.is_empty())
    }

    /// Adds the connection to a libpq program's command line and environment: the target
    /// (never a password) as `--dbname`, the password and the server options as variables.
    pub fn apply(&self, mut tool: Tool) -> Tool {
        if let Some(target) = self.target() {
            tool = tool.arg(format!("--dbname={target}"));
        }
        self.apply_environment(tool)
    }

    /// As [`Conn::apply`] for pg_dumpall, which takes the server as a conninfo string
    /// (`--dbname`, whose database it ignores) and its first database as `--database`.
    pub fn apply_to_dumpall(&self, mut tool: Tool) -> Tool {
        let server: Params = (self.params.iter())
            .filter(|(key, _)| key != "dbname")
            .cloned()
            .collect();
        if !server.is_empty() {
            tool = tool.arg(format!("--dbname={}", conninfo::render(&server)));
        }
        if let Some(database) = self.database() {
            tool = tool.arg(format!("--database={database}"));
        }
        self.apply_environment(tool)
    }

    fn apply_environment(&self, mut tool: Tool) -> Tool {
        for (key, value) in &self.server {
            tool = tool.env(key, value);
        }
        if let Some(password) = &self.password {
            tool = tool.env("PGPASSWORD", password);
        }
        tool
    }

    /// What goes to `--dbname`: a plain name as it is, anything else as conninfo.
    fn target(&self) -> Option<String> {
        match self.params.as_slice() {
            [] => None,
            [(key, name)] if key == "dbname" && !conninfo::is_connection_string(name) => {
                Some(name.clone())
            }
            params => Some(conninfo::render(&params.to_vec())),
        }
    }

    /// The same server and credentials, another database.
    pub fn for_database(&self, name: &str) -> Conn {
        let mut params: Params = self
            .params
            .iter()
            .filter(|(key, _)| key != "dbname")
            .cloned()
            .collect();
        params.push(("dbname".to_string(), name.to_string()));
        Conn {
            params,
            written: None,
            password: self.password.clone(),
            server: self.server.clone(),
        }
    }

    /// The whole connection without its password, as one conninfo string (`None`: libpq's
    /// defaults): what a later command needs to reach the same server. `-h`, `-p` and `-U`
    /// become `host`, `port` and `user` unless the target names them itself (it wins).
    pub fn recorded(&self) -> Option<String> {
        let mut params = self.params.clone();
        for (variable, value) in &self.server {
            let keyword = match *variable {
                "PGHOST" => "host",
                "PGPORT" => "port",
                _ => "user",
            };
            if conninfo::get(&params, keyword).is_none() {
                params.insert(0, (keyword.to_string(), value.clone()));
            }
        }
        (!params.is_empty()).then(|| conninfo::render(&params))
    }

    /// A connection recorded by [`Conn::recorded`], with this invocation's password when
    /// it is one to the same server.
    pub fn from_recorded(recorded: Option<&str>, current: &Conn) -> Result<Conn> {
        let mut conn = Conn::resolve(recorded, false, None, ServerOptions::default())?;
        if current.recorded().as_deref() == recorded {
            conn.take_password_from(current);
        }
        Ok(conn)
    }

    /// For people: the target without its password, and the server options.
    pub fn display(&self) -> String {
        let target = self
            .written
            .clone()
            .or_else(|| self.target())
            .unwrap_or_else(|| "(libpq defaults)".to_string());
        if self.server.is_empty() {
            return target;
        }
        let server: Vec<String> = self
            .server
            .iter()
            .map(|(key, value)| format!("{key}={}", conninfo::quote(value)))
            .collect();
        format!("{target} ({})", server.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::{Conn, ServerOptions};

    fn conn(text: &str) -> Conn {
        Conn::resolve(Some(text), false, None, ServerOptions::default()).unwrap()
    }

    #[test]
    fn plain_names_pass_through() {
        let conn = conn("shop");
        assert_eq!(conn.target().as_deref(), Some("shop"));
        assert_eq!(conn.display(), "shop");
        assert_eq!(conn.password, None);
    }

    #[test]
    fn uri_passwords_are_taken_out() {
        let conn = conn("postgresql://app:s%40cret@db.example:5433/shop?sslmode=require");
        assert_eq!(
            conn.target().as_deref(),
            Some("user=app host=db.example port=5433 dbname=shop sslmode=require")
        );
        assert_eq!(conn.password.as_deref(), Some("s@cret"));
        assert_eq!(conn.display(), conn.target().unwrap());
        let conn = self::conn("postgres://app@h/shop?password=x&sslmode=disable");
        assert_eq!(
            conn.target().as_deref(),
            Some("user=app host=h dbname=shop sslmode=disable")
        );
        assert_eq!(conn.password.as_deref(), Some("x"));
    }

    #[test]
    fn a_raw_question_mark_in_a_uri_password_stays_in_the_password() {
        let conn = conn("postgresql://u:Q?pw@/db?host=/tmp/sock&port=5433");
        assert_eq!(conn.password.as_deref(), Some("Q?pw"));
        let target = conn.target().unwrap();
        assert_eq!(target, "user=u dbname=db host=/tmp/sock port=5433");
        assert!(!conn.display().contains("pw"), "{}", conn.display());
    }

    #[test]
    fn conninfo_passwords_are_taken_out() {
        let conn = conn("host=/tmp  dbname='my db' password = 'it\\'s secret' user=app");
        assert_eq!(
            conn.target().as_deref(),
            Some("host=/tmp dbname='my db' user=app")
        );
        assert_eq!(conn.password.as_deref(), Some("it's secret"));
    }

    #[test]
    fn targets_libpq_rejects_are_refused_without_quoting_them() {
        for text in [
            "postgresql://u:hunter2@[::1",
            "password=hunter2 x",
            "dbname='hunter2",
        ] {
            let err = Conn::resolve(Some(text), false, None, ServerOptions::default()).unwrap_err();
            let message = format!("{err:#}");
            assert!(
                message.contains("--dbname is not a connection string"),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
            assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        }
    }

    #[test]
    fn an_ssl_key_password_is_refused() {
        let err = Conn::resolve(
            Some("host=h sslpassword=hunter2"),
            false,
            None,
            ServerOptions::default(),
        )
        .unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"));
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let conn = conn("postgresql://u:hunter2@h/db");
        assert!(!format!("{conn:?}").contains("hunter2"));
        assert!(!conn.display().contains("hunter2"));
    }

    #[test]
    fn database_url_is_the_last_fallback() {
        let url = Some("postgresql://h/fromurl");
        let resolve = |flag, pgdatabase| {
            Conn::resolve(flag, pgdatabase, url, ServerOptions::default())
                .unwrap()
                .display()
        };
        assert_eq!(resolve(None, false), "postgresql://h/fromurl");
        assert_eq!(resolve(None, true), "(libpq defaults)");
        assert_eq!(resolve(Some("x"), false), "x");
    }

    #[test]
    fn database_names_are_found_in_every_form() {
        assert_eq!(conn("shop").database(), Some("shop"));
        assert_eq!(conn("host=/tmp dbname='my db'").database(), Some("my db"));
        assert_eq!(
            conn("postgresql://u@h:5/sh%6Fp?sslmode=x").database(),
            Some("shop")
        );
        assert_eq!(
            conn("postgresql://u:p?w@h/a?dbname=b").database(),
            Some("b")
        );
        assert_eq!(conn("postgresql://u@h").database(), None);
        assert_eq!(conn("host=/tmp").database(), None);
    }

    #[test]
    fn another_database_on_the_same_server() {
        let conn = conn("host=/tmp dbname=shop");
        assert_eq!(
            conn.for_database("postgres").display(),
            "host=/tmp dbname=postgres"
        );
        let conn = self::conn("postgresql://u:pw@h/shop");
        let other = conn.for_database("my db");
        assert_eq!(other.display(), "user=u host=h dbname='my db'");
        assert_eq!(other.password.as_deref(), Some("pw"));
    }

    #[test]
    fn pg_dumpall_gets_the_server_as_conninfo_and_the_database_apart() {
        let tool = |conn: &Conn| {
            conn.apply_to_dumpall(crate::pg::process::Tool::new("pg_dumpall"))
                .display()
        };
        assert_eq!(tool(&conn("shop")), "pg_dumpall --database=shop");
        let uri = conn("postgresql://u:pw@h:5/my%20db?sslmode=require");
        let shown = tool(&uri);
        assert_eq!(
            shown,
            "pg_dumpall '--dbname=user=u host=h port=5 sslmode=require' '--database=my db'"
        );
        assert!(!shown.contains("pw"));
        assert_eq!(tool(&Conn::default()), "pg_dumpall");
    }

    #[test]
    fn server_options_become_libpq_variables() {
        let conn = Conn::resolve(
            Some("app"),
            false,
            None,
            ServerOptions {
                host: Some("/tmp/sock"),
                port: Some("5433"),
                user: None,
            },
        )
        .unwrap();
        assert_eq!(
            conn.server,
            vec![
                ("PGHOST", "/tmp/sock".to_string()),
                ("PGPORT", "5433".to_string())
            ]
        );
        assert_eq!(conn.display(), "app (PGHOST=/tmp/sock PGPORT=5433)");
        assert_eq!(conn.for_database("x").server, conn.server);
    }
}
