//! The parser against libpq: PostgreSQL's own URI cases (src/interfaces/libpq/test/regress.in
//! with expected.out), and conninfo and password cases checked with libpq 15's
//! PQconninfoParse.

use super::{Params, ParseError, get, parse, render};

/// libpq's option order, which its test program prints in.
const ORDER: [&str; 8] = [
    "user",
    "password",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "application_name",
    "sslmode",
];

/// The parameters as libpq's test program prints them: each keyword once, its last value.
fn shown(params: &Params) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for (key, _) in params {
        if !keys.contains(&key.as_str()) {
            keys.push(key);
        }
    }
    keys.sort_by_key(|k| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    keys.iter()
        .map(|k| format!("{k}='{}'", get(params, k).unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn outcome(text: &str) -> String {
    match parse(text) {
        Ok(params) => shown(&params),
        Err(err) => format!("error: {err}"),
    }
}

/// regress.in, each line with its result in expected.out (the "(local)"/"(inet)" guess of
/// the test program left out).
const LIBPQ_REGRESS: &[(&str, &str)] = &[
    (
        "postgresql://uri-user:secret@host:12345/db",
        "user='uri-user' password='secret' dbname='db' host='host' port='12345'",
    ),
    (
        "postgresql://uri-user@host:12345/db",
        "user='uri-user' dbname='db' host='host' port='12345'",
    ),
    (
        "postgresql://uri-user@host/db",
        "user='uri-user' dbname='db' host='host'",
    ),
    (
        "postgresql://host:12345/db",
        "dbname='db' host='host' port='12345'",
    ),
    ("postgresql://host/db", "dbname='db' host='host'"),
    (
        "postgresql://uri-user@host:12345/",
        "user='uri-user' host='host' port='12345'",
    ),
    ("postgresql://uri-user@host/", "user='uri-user' host='host'"),
    ("postgresql://uri-user@", "user='uri-user'"),
    ("postgresql://host:12345/", "host='host' port='12345'"),
    ("postgresql://host:12345", "host='host' port='12345'"),
    ("postgresql://host/db", "dbname='db' host='host'"),
    ("postgresql://host/", "host='host'"),
    ("postgresql://host", "host='host'"),
    ("postgresql://", ""),
    ("postgresql://?hostaddr=127.0.0.1", "hostaddr='127.0.0.1'"),
    (
        "postgresql://example.com?hostaddr=63.1.2.4",
        "host='example.com' hostaddr='63.1.2.4'",
    ),
    ("postgresql://%68ost/", "host='host'"),
    (
        "postgresql://host/db?user=uri-user",
        "user='uri-user' dbname='db' host='host'",
    ),
    (
        "postgresql://host/db?user=uri-user&port=12345",
        "user='uri-user' dbname='db' host='host' port='12345'",
    ),
    (
        "postgresql://host/db?u%73er=someotheruser&port=12345",
        "user='someotheruser' dbname='db' host='host' port='12345'",
    ),
    // libpq knows its keywords and rejects (15) or ignores (older) "uzer"; pgbackup keeps
    // an unknown keyword for the client's own libpq to judge (its version decides).
    (
        "postgresql://host/db?u%7aer=someotheruser&port=12345",
        "dbname='db' host='host' port='12345' uzer='someotheruser'",
    ),
    (
        "postgresql://host:12345?user=uri-user",
        "user='uri-user' host='host' port='12345'",
    ),
    (
        "postgresql://host?user=uri-user",
        "user='uri-user' host='host'",
    ),
    ("postgresql://host?", "host='host'"),
    (
        "postgresql://[::1]:12345/db",
        "dbname='db' host='::1' port='12345'",
    ),
    ("postgresql://[::1]/db", "dbname='db' host='::1'"),
    ("postgresql://[2001:db8::1234]/", "host='2001:db8::1234'"),
    ("postgresql://[200z:db8::1234]/", "host='200z:db8::1234'"),
    ("postgresql://[::1]", "host='::1'"),
    ("postgres://", ""),
    ("postgres:///", ""),
    ("postgres:///db", "dbname='db'"),
    ("postgres://uri-user@/db", "user='uri-user' dbname='db'"),
    (
        "postgres://?host=/path/to/socket/dir",
        "host='/path/to/socket/dir'",
    ),
    ("postgresql://host?uzer=", "host='host' uzer=''"),
    (
        "postgre://",
        "error: missing \"=\" after \"postgre://\" in connection info string",
    ),
    (
        "postgres://[::1",
        "error: end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgres://[::1\"",
    ),
    (
        "postgres://[]",
        "error: IPv6 host address may not be empty in URI: \"postgres://[]\"",
    ),
    (
        "postgres://[::1]z",
        "error: unexpected character \"z\" at position 17 in URI (expected \":\" or \"/\"): \"postgres://[::1]z\"",
    ),
    (
        "postgresql://host?zzz",
        "error: missing key/value separator \"=\" in URI query parameter: \"zzz\"",
    ),
    (
        "postgresql://host?value1&value2",
        "error: missing key/value separator \"=\" in URI query parameter: \"value1\"",
    ),
    (
        "postgresql://host?key=key=value",
        "error: extra key/value separator \"=\" in URI query parameter: \"key\"",
    ),
    (
        "postgres://host?dbname=%XXfoo",
        "error: invalid percent-encoded token: \"%XXfoo\"",
    ),
    (
        "postgresql://a%00b",
        "error: forbidden value %00 in percent-encoded value: \"a%00b\"",
    ),
    (
        "postgresql://%zz",
        "error: invalid percent-encoded token: \"%zz\"",
    ),
    (
        "postgresql://%1",
        "error: invalid percent-encoded token: \"%1\"",
    ),
    (
        "postgresql://%",
        "error: invalid percent-encoded token: \"%\"",
    ),
    ("postgres://@host", "host='host'"),
    ("postgres://host:/", "host='host'"),
    ("postgres://:12345/", "port='12345'"),
    (
        "postgres://otheruser@?host=/no/such/directory",
        "user='otheruser' host='/no/such/directory'",
    ),
    (
        "postgres://otheruser@/?host=/no/such/directory",
        "user='otheruser' host='/no/such/directory'",
    ),
    (
        "postgres://otheruser@:12345?host=/no/such/socket/path",
        "user='otheruser' host='/no/such/socket/path' port='12345'",
    ),
    (
        "postgres://otheruser@:12345/db?host=/path/to/socket",
        "user='otheruser' dbname='db' host='/path/to/socket' port='12345'",
    ),
    (
        "postgres://:12345/db?host=/path/to/socket",
        "dbname='db' host='/path/to/socket' port='12345'",
    ),
    (
        "postgres://:12345?host=/path/to/socket",
        "host='/path/to/socket' port='12345'",
    ),
    (
        "postgres://%2Fvar%2Flib%2Fpostgresql/dbname",
        "dbname='dbname' host='/var/lib/postgresql'",
    ),
];

/// More cases, each result as libpq 15's PQconninfoParse gives it.
const MORE: &[(&str, &str)] = &[
    (
        "postgresql://u:Q?pw@/db?host=/tmp&port=5432",
        "user='u' password='Q?pw' dbname='db' host='/tmp' port='5432'",
    ),
    (
        "postgresql://u:p@ss:w0rd@h/db",
        "user='u' password='p' dbname='db' host='ss' port='w0rd@h'",
    ),
    (
        "postgresql://u:a%2Fb@h1:5432,h2:5433/db?sslmode=require",
        "user='u' password='a/b' dbname='db' host='h1,h2' port='5432,5433' sslmode='require'",
    ),
    (
        "postgresql://u@h1,h2,[::1]:7/db",
        "user='u' dbname='db' host='h1,h2,::1' port=',,7'",
    ),
    (
        "postgresql://[::1]:5432,[::2]/db",
        "dbname='db' host='::1,::2' port='5432,'",
    ),
    (
        "postgresql://h/db?password=x&password=y",
        "password='y' dbname='db' host='h'",
    ),
    (
        "postgresql:///db?host=/tmp&password=x%26y",
        "password='x&y' dbname='db' host='/tmp'",
    ),
    ("postgresql://u:pw@", "user='u' password='pw'"),
    ("postgresql://u:@h", "user='u' host='h'"),
    (
        "postgresql://h/db?ssl=true",
        "dbname='db' host='h' sslmode='require'",
    ),
    (
        "postgresql://h/db?sslmode=b&&port=5",
        "error: missing key/value separator \"=\" in URI query parameter: \"\"",
    ),
    ("postgresql://h/db?port=1&", "dbname='db' host='h' port='1'"),
    ("postgresql://h/d%20b", "dbname='d b' host='h'"),
    (
        "postgresql://h/db/x?port=5",
        "dbname='db/x' host='h' port='5'",
    ),
    ("postgresql://h/db?dbname=other", "dbname='other' host='h'"),
    (
        "postgresql://h?application_name=a%20b%3D",
        "host='h' application_name='a b='",
    ),
    (
        "postgresql://u:p%zz@h",
        "error: invalid percent-encoded token: \"p%zz\"",
    ),
    (
        "host=/tmp dbname='my db' password = 'it\\'s secret' user=app",
        "user='app' password='it's secret' dbname='my db' host='/tmp'",
    ),
    ("password=a\\ b dbname=x", "password='a b' dbname='x'"),
    ("dbname = x  port=5", "dbname='x' port='5'"),
    (" dbname=x\thost=y", "dbname='x' host='y'"),
    ("port=1 port=2", "port='2'"),
    ("password='' dbname=d", "password='' dbname='d'"),
    ("dbname=a'b", "dbname='a'b'"),
    ("host=a\\", "host='a'"),
    ("application_name='a\\\\b'", "application_name='a\\b'"),
    (
        "dbname='unterminated",
        "error: unterminated quoted string in connection info string",
    ),
    (
        "host=h dbname",
        "error: missing \"=\" after \"dbname\" in connection info string",
    ),
    (
        "a b=c",
        "error: missing \"=\" after \"a\" in connection info string",
    ),
    ("=x", "error: invalid connection option \"\""),
];

#[test]
fn libpq_regress_uris_parse_as_libpq_parses_them() {
    for (input, expected) in LIBPQ_REGRESS {
        assert_eq!(outcome(input), *expected, "{input}");
    }
}

#[test]
fn conninfo_strings_and_passwords_parse_as_libpq_parses_them() {
    for (input, expected) in MORE {
        assert_eq!(outcome(input), *expected, "{input}");
    }
}

#[test]
fn rendered_parameters_parse_back_to_themselves() {
    for (input, _) in LIBPQ_REGRESS.iter().chain(MORE) {
        if let Ok(params) = parse(input) {
            if params.is_empty() {
                continue;
            }
            assert_eq!(parse(&render(&params)).unwrap(), params, "{input}");
        }
    }
}

#[test]
fn redacted_errors_never_quote_the_input() {
    for input in [
        "postgresql://u:p%zz@h",
        "postgresql://u:secret@[::1",
        "password=a secret",
        "postgresql://u:secret@h?secret",
    ] {
        let err: ParseError = parse(input).unwrap_err();
        assert!(
            !err.redacted().contains("secret"),
            "{input}: {}",
            err.redacted()
        );
        assert!(
            !err.redacted().contains("zz"),
            "{input}: {}",
            err.redacted()
        );
    }
}
