//! The connection target, following libpq conventions. A password found in a conninfo
//! string or URI is taken out and passed to child programs as PGPASSWORD, so it never
//! appears on a command line, in a log line, in an error or in the catalog.

use crate::process::Tool;

/// Where to connect: what goes to `--dbname` (password removed) and the password, if any.
#[derive(Clone, Default, PartialEq)]
pub struct Conn {
    target: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("target", &self.target)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Conn {
    /// `--dbname` wins; else libpq's own PGDATABASE (left to libpq); else `DATABASE_URL`.
    pub fn resolve(flag: Option<&str>, pgdatabase_set: bool, database_url: Option<&str>) -> Conn {
        let chosen = match (flag, pgdatabase_set, database_url) {
            (Some(flag), _, _) => Some(flag),
            (None, false, Some(url)) if !url.is_empty() => Some(url),
            _ => None,
        };
        match chosen {
            None => Conn::default(),
            Some(text) => {
                let (target, password) = split_password(text);
                Conn {
                    target: Some(target),
                    password,
                }
            }
        }
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

    /// Adds the connection to a libpq program's command line and environment.
    pub fn apply(&self, mut tool: Tool) -> Tool {
        if let Some(target) = &self.target {
            tool = tool.arg(format!("--dbname={target}"));
        }
        if let Some(password) = &self.password {
            tool = tool.env("PGPASSWORD", password);
        }
        tool
    }

    /// The same server and credentials, another database.
    pub fn for_database(&self, name: &str) -> Conn {
        let quoted = conninfo_quote(name);
        let target = match self.target.as_deref() {
            None => format!("dbname={quoted}"),
            Some(t) if is_uri(t) => {
                let separator = if t.contains('?') { '&' } else { '?' };
                format!("{t}{separator}dbname={}", percent_encode(name))
            }
            Some(t) if t.contains('=') => format!("{t} dbname={quoted}"),
            Some(_) => format!("dbname={quoted}"),
        };
        Conn {
            target: Some(target),
            password: self.password.clone(),
        }
    }

    /// For people: the target without its password.
    pub fn display(&self) -> String {
        self.target
            .clone()
            .unwrap_or_else(|| "(libpq defaults)".to_string())
    }

    /// What goes to `--dbname` (never a password); `None` leaves it to libpq's defaults.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }
}

/// The database a name, conninfo string or URI names, when it names one.
pub fn database_name(text: &str) -> Option<String> {
    let name = if is_uri(text) {
        let (_, rest) = text.split_once("://")?;
        let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
        let from_query = query.split('&').find_map(|p| p.strip_prefix("dbname="));
        let from_path = rest
            .split_once('/')
            .map(|(_, p)| p.split('?').next().unwrap_or(""));
        percent_decode(from_query.or(from_path)?)
    } else if text.contains('=') {
        parse_conninfo(text)
            .into_iter()
            .rev()
            .find(|(k, _)| k == "dbname")?
            .1
    } else {
        text.to_string()
    };
    (!name.is_empty()).then_some(name)
}

fn is_uri(text: &str) -> bool {
    text.starts_with("postgresql://") || text.starts_with("postgres://")
}

/// Splits a name, conninfo string or URI into its password-free form and the password.
pub fn split_password(text: &str) -> (String, Option<String>) {
    if is_uri(text) {
        split_uri(text)
    } else if text.contains('=') {
        split_conninfo(text)
    } else {
        (text.to_string(), None)
    }
}

fn split_uri(uri: &str) -> (String, Option<String>) {
    let (scheme, rest) = uri.split_once("://").expect("checked by is_uri");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut password = None;
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, pass)) => {
                password = Some(percent_decode(pass));
                format!("{user}@{hosts}")
            }
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|param| match param.strip_prefix("password=") {
                    Some(value) => {
                        password = Some(percent_decode(value));
                        false
                    }
                    None => true,
                })
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    (format!("{scheme}://{authority}{tail}"), password)
}

fn split_conninfo(text: &str) -> (String, Option<String>) {
    let mut password = None;
    let kept: Vec<String> = parse_conninfo(text)
        .into_iter()
        .filter_map(|(key, value)| {
            if key == "password" {
                password = Some(value);
                None
            } else {
                Some(format!("{key}={}", conninfo_quote(&value)))
            }
        })
        .collect();
    (kept.join(" "), password)
}

/// `keyword = value` pairs; values may be single-quoted, with backslash escapes.
fn parse_conninfo(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        let quoted = chars.next_if_eq(&'\'').is_some();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '\'' if quoted => break,
                c if !quoted && c.is_whitespace() => break,
                c => value.push(c),
            }
        }
        pairs.push((key, value));
    }
    pairs
}

fn conninfo_quote(value: &str) -> String {
    let plain =
        !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\');
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Conn, database_name, split_password};

    #[test]
    fn plain_names_pass_through() {
        assert_eq!(split_password("shop"), ("shop".to_string(), None));
    }

    #[test]
    fn uri_passwords_are_taken_out() {
        let (target, password) =
            split_password("postgresql://app:s%40cret@db.example:5433/shop?sslmode=require");
        assert_eq!(
            target,
            "postgresql://app@db.example:5433/shop?sslmode=require"
        );
        assert_eq!(password.as_deref(), Some("s@cret"));
        let (target, password) = split_password("postgres://app@h/shop?password=x&sslmode=disable");
        assert_eq!(target, "postgres://app@h/shop?sslmode=disable");
        assert_eq!(password.as_deref(), Some("x"));
    }

    #[test]
    fn conninfo_passwords_are_taken_out() {
        let (target, password) =
            split_password("host=/tmp  dbname='my db' password = 'it\\'s secret' user=app");
        assert_eq!(target, "host=/tmp dbname='my db' user=app");
        assert_eq!(password.as_deref(), Some("it's secret"));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let conn = Conn::resolve(Some("postgresql://u:hunter2@h/db"), false, None);
        assert!(!format!("{conn:?}").contains("hunter2"));
        assert!(!conn.display().contains("hunter2"));
    }

    #[test]
    fn database_url_is_the_last_fallback() {
        let url = Some("postgresql://h/fromurl");
        assert_eq!(
            Conn::resolve(None, false, url).display(),
            "postgresql://h/fromurl"
        );
        assert_eq!(Conn::resolve(None, true, url).display(), "(libpq defaults)");
        assert_eq!(Conn::resolve(Some("x"), false, url).display(), "x");
    }

    #[test]
    fn database_names_are_found_in_every_form() {
        assert_eq!(database_name("shop").as_deref(), Some("shop"));
        assert_eq!(
            database_name("host=/tmp dbname='my db'").as_deref(),
            Some("my db")
        );
        assert_eq!(
            database_name("postgresql://u@h:5/sh%6Fp?sslmode=x").as_deref(),
            Some("shop")
        );
        assert_eq!(database_name("postgresql://u@h"), None);
        assert_eq!(database_name("host=/tmp"), None);
    }

    #[test]
    fn another_database_on_the_same_server() {
        let conn = Conn::resolve(Some("host=/tmp dbname=shop"), false, None);
        assert_eq!(
            conn.for_database("postgres").display(),
            "host=/tmp dbname=shop dbname=postgres"
        );
        let conn = Conn::resolve(Some("postgresql://h/shop"), false, None);
        assert_eq!(
            conn.for_database("my db").display(),
            "postgresql://h/shop?dbname=my%20db"
        );
    }
}
