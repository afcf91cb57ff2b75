//! libpq's two connection-string syntaxes (`key=value` conninfo and `postgresql://` URIs),
//! parsed by libpq's own rules so that pgbackup sees the same parameters, password
//! included, that pg_dump and psql would.

use std::fmt;

/// Parameters in the order they were written; when a keyword repeats, the last one counts.
pub type Params = Vec<(String, String)>;

/// Keywords whose values are secrets.
pub const SECRET_KEYWORDS: [&str; 2] = ["password", "sslpassword"];

/// Why a connection string is not one libpq would accept. `Display` gives libpq's own
/// message, which may quote the input; [`ParseError::redacted`] never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    MissingEquals {
        name: String,
    },
    Unterminated,
    InvalidOption {
        keyword: String,
    },
    InvalidQueryParameter {
        keyword: String,
    },
    Ipv6Unterminated {
        uri: String,
    },
    Ipv6Empty {
        uri: String,
    },
    Unexpected {
        found: char,
        position: usize,
        uri: String,
    },
    MissingSeparator {
        keyword: String,
    },
    ExtraSeparator {
        keyword: String,
    },
    BadPercent {
        token: String,
    },
    Nul {
        token: String,
    },
    NotUtf8,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::MissingEquals { name } => {
                write!(
                    f,
                    "missing \"=\" after \"{name}\" in connection info string"
                )
            }
            ParseError::InvalidOption { keyword } => {
                write!(f, "invalid connection option \"{keyword}\"")
            }
            ParseError::InvalidQueryParameter { keyword } => {
                write!(f, "invalid URI query parameter: \"{keyword}\"")
            }
            ParseError::Ipv6Unterminated { uri } => write!(
                f,
                "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{uri}\""
            ),
            ParseError::Ipv6Empty { uri } => {
                write!(f, "IPv6 host address may not be empty in URI: \"{uri}\"")
            }
            ParseError::Unexpected {
                found,
                position,
                uri,
            } => write!(
                f,
                "unexpected character \"{found}\" at position {position} in URI (expected \":\" or \"/\"): \"{uri}\""
            ),
            ParseError::MissingSeparator { keyword } => write!(
                f,
                "missing key/value separator \"=\" in URI query parameter: \"{keyword}\""
            ),
            ParseError::ExtraSeparator { keyword } => write!(
                f,
                "extra key/value separator \"=\" in URI query parameter: \"{keyword}\""
            ),
            ParseError::BadPercent { token } => {
                write!(f, "invalid percent-encoded token: \"{token}\"")
            }
            ParseError::Nul { token } => {
                write!(
                    f,
                    "forbidden value %00 in percent-encoded value: \"{token}\""
                )
            }
            other => f.write_str(&other.redacted()),
        }
    }
}

impl ParseError {
    /// The message without any part of the input, which may hold a password.
    pub fn redacted(&self) -> String {
        match self {
            ParseError::MissingEquals { .. } => "a keyword without \"=\"",
            ParseError::Unterminated => "unterminated quoted string in connection info string",
            ParseError::InvalidOption { .. } => "an invalid connection option",
            ParseError::InvalidQueryParameter { .. } => "an invalid URI query parameter",
            ParseError::Ipv6Unterminated { .. } => "an IPv6 host address without its \"]\"",
            ParseError::Ipv6Empty { .. } => "an empty IPv6 host address",
            ParseError::Unexpected { .. } => "an unexpected character after an IPv6 host address",
            ParseError::MissingSeparator { .. } => "a URI query parameter without \"=\"",
            ParseError::ExtraSeparator { .. } => "a URI query parameter with two \"=\"",
            ParseError::BadPercent { .. } => "an invalid percent-encoded token",
            ParseError::Nul { .. } => "a percent-encoded NUL byte",
            ParseError::NotUtf8 => "a value that is not UTF-8",
        }
        .to_string()
    }
}

/// Whether libpq reads `text` as a connection string rather than as a database name.
pub fn is_connection_string(text: &str) -> bool {
    uri_prefix_len(text) > 0 || text.contains('=')
}

/// The parameters of a conninfo string or URI.
pub fn parse(text: &str) -> Result<Params, ParseError> {
    if uri_prefix_len(text) > 0 {
        parse_uri(text)
    } else {
        parse_conninfo(text)
    }
}

/// The value a keyword ends up with: the last one written.
pub fn get<'a>(params: &'a Params, keyword: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == keyword)
        .map(|(_, v)| v.as_str())
}

/// Renders parameters as a conninfo string libpq parses back to the same parameters.
pub fn render(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A conninfo value, single-quoted with backslash escapes when it needs to be.
pub fn quote(value: &str) -> String {
    let plain =
        !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\');
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn uri_prefix_len(text: &str) -> usize {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|p| text.starts_with(*p))
        .map_or(0, |p| p.len())
}

/// C's isspace() in the "C" locale, which libpq uses.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// libpq's keywords are lowercase words; anything else cannot be one.
fn valid_keyword(keyword: &str) -> bool {
    !keyword.is_empty()
        && keyword
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn utf8(bytes: Vec<u8>) -> Result<String, ParseError> {
    String::from_utf8(bytes).map_err(|_| ParseError::NotUtf8)
}

/// libpq's conninfo_parse: `keyword = value`, values optionally single-quoted, backslash
/// escapes the next byte.
fn parse_conninfo(text: &str) -> Result<Params, ParseError> {
    let bytes = text.as_bytes();
    let mut params = Params::new();
    let mut i = 0;
    while i < bytes.len() {
        if is_space(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && !is_space(bytes[i]) {
            i += 1;
        }
        let name = utf8(bytes[start..i].to_vec())?;
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            return Err(ParseError::MissingEquals { name });
        }
        i += 1;
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        let mut value = Vec::new();
        if bytes.get(i) == Some(&b'\'') {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return Err(ParseError::Unterminated),
                    Some(b'\\') => {
                        i += 1;
                        if let Some(&b) = bytes.get(i) {
                            value.push(b);
                            i += 1;
                        }
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(&b) = bytes.get(i) {
                i += 1;
                if is_space(b) {
                    break;
                }
                if b == b'\\' {
                    if let Some(&next) = bytes.get(i) {
                        value.push(next);
                        i += 1;
                    }
                } else {
                    value.push(b);
                }
            }
        }
        if !valid_keyword(&name) {
            return Err(ParseError::InvalidOption { keyword: name });
        }
        params.push((name, utf8(value)?));
    }
    Ok(params)
}

/// libpq's conninfo_uri_parse_options:
/// `postgresql://[user[:password]@][host][:port][,...][/dbname][?param=value&...]`.
fn parse_uri(uri: &str) -> Result<Params, ParseError> {
    let bytes = uri.as_bytes();
    let mut params = Params::new();
    let store = |params: &mut Params, key: &str, raw: &[u8]| -> Result<(), ParseError> {
        params.push((key.to_string(), decode(raw)?));
        Ok(())
    };
    let mut p = uri_prefix_len(uri);
    let start = p;
    // Credentials end at the first '@' before any '/': a '?' or ':' there belongs to them.
    let at = bytes[start..]
        .iter()
        .position(|&b| b == b'@' || b == b'/')
        .map(|n| start + n)
        .filter(|&n| bytes[n] == b'@');
    if let Some(at) = at {
        let userinfo = &bytes[start..at];
        let (user, password) = match userinfo.iter().position(|&b| b == b':') {
            Some(colon) => (&userinfo[..colon], Some(&userinfo[colon + 1..])),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            store(&mut params, "user", user)?;
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            store(&mut params, "password", password)?;
        }
        p = at + 1;
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    let mut terminator;
    loop {
        let host;
        if bytes.get(p) == Some(&b'[') {
            p += 1;
            let open = p;
            while p < bytes.len() && bytes[p] != b']' {
                p += 1;
            }
            if p == bytes.len() {
                return Err(ParseError::Ipv6Unterminated {
                    uri: uri.to_string(),
                });
            }
            if p == open {
                return Err(ParseError::Ipv6Empty {
                    uri: uri.to_string(),
                });
            }
            host = &bytes[open..p];
            p += 1;
            if let Some(&b) = bytes.get(p).filter(|b| !b":/?,".contains(b)) {
                return Err(ParseError::Unexpected {
                    found: b as char,
                    position: p + 1,
                    uri: uri.to_string(),
                });
            }
        } else {
            let open = p;
            while p < bytes.len() && !b":/?,".contains(&bytes[p]) {
                p += 1;
            }
            host = &bytes[open..p];
        }
        hosts.push(host);
        terminator = bytes.get(p).copied();
        let mut port: &[u8] = b"";
        if terminator == Some(b':') {
            p += 1;
            let open = p;
            while p < bytes.len() && !b"/?,".contains(&bytes[p]) {
                p += 1;
            }
            port = &bytes[open..p];
            terminator = bytes.get(p).copied();
        }
        ports.push(port);
        if terminator != Some(b',') {
            break;
        }
        p += 1;
    }
    let host = hosts.join(&b","[..]);
    let port = ports.join(&b","[..]);
    if !host.is_empty() {
        store(&mut params, "host", &host)?;
    }
    if !port.is_empty() {
        store(&mut params, "port", &port)?;
    }
    if terminator.is_some_and(|t| t != b'?') {
        p += 1;
        let open = p;
        while p < bytes.len() && bytes[p] != b'?' {
            p += 1;
        }
        if p > open {
            store(&mut params, "dbname", &bytes[open..p])?;
        }
        terminator = bytes.get(p).copied();
    }
    if terminator.is_some() {
        parse_query(&bytes[p + 1..], &mut params)?;
    }
    Ok(params)
}

/// libpq's conninfo_uri_parse_params: `key=value` pairs separated by `&`.
fn parse_query(query: &[u8], params: &mut Params) -> Result<(), ParseError> {
    let mut rest = query;
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == b'&');
        let pair = &rest[..end.unwrap_or(rest.len())];
        rest = end.map_or(&[][..], |end| &rest[end + 1..]);
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let keyword = parts.next().unwrap_or_default();
        let lossy = || String::from_utf8_lossy(keyword).into_owned();
        let Some(value) = parts.next() else {
            return Err(ParseError::MissingSeparator { keyword: lossy() });
        };
        if value.contains(&b'=') {
            return Err(ParseError::ExtraSeparator { keyword: lossy() });
        }
        let keyword = decode(keyword)?;
        let value = decode(value)?;
        let (keyword, value) = if keyword == "ssl" && value == "true" {
            ("sslmode".to_string(), "require".to_string())
        } else {
            (keyword, value)
        };
        if !valid_keyword(&keyword) {
            return Err(ParseError::InvalidQueryParameter { keyword });
        }
        params.push((keyword, value));
    }
    Ok(())
}

/// libpq's conninfo_uri_decode: `%XX` escapes, `%00` forbidden.
fn decode(raw: &[u8]) -> Result<String, ParseError> {
    let token = || String::from_utf8_lossy(raw).into_owned();
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'%' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let (Some(hi), Some(lo)) = (hex(raw.get(i + 1)), hex(raw.get(i + 2))) else {
            return Err(ParseError::BadPercent { token: token() });
        };
        let byte = (hi << 4 | lo) as u8;
        if byte == 0 {
            return Err(ParseError::Nul { token: token() });
        }
        out.push(byte);
        i += 3;
    }
    utf8(out)
}

#[cfg(test)]
#[path = "conninfo_tests.rs"]
mod tests;
