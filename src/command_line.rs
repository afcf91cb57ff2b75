//! This invocation's command line as the lock file and the audit log record it: found by
//! parsing it with pgbackup's own clap definitions, passwords taken out, control
//! characters escaped, so it always fits on one line.

use std::ffi::OsString;

use clap::{ArgMatches, CommandFactory};

use crate::cli::Cli;
use crate::pg::conninfo::{self, SECRET_KEYWORDS};
use crate::pg::process::shell_quote;

/// Shown instead of a connection string that libpq would not parse (it may hold a password).
const UNPARSABLE: &str = "<connection string libpq rejects>";

/// The arguments after the program name, shell-quoted, with every `--dbname` value that
/// holds a secret replaced by its parameters without the secret.
pub fn recorded(args: &[OsString]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(mut targets) = dbname_values(&words) else {
        return "(arguments pgbackup could not parse)".to_string();
    };
    targets.retain(|t| !t.is_empty() && redacted(t).is_some());
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    words
        .iter()
        .skip(1)
        .map(|word| quote(&redact_word(word, &targets)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every value clap took for `--dbname`. A later occurrence replaces an earlier one in
/// clap's matches, so each prefix of the arguments is parsed too: every occurrence is the
/// last one of some prefix.
fn dbname_values(words: &[String]) -> Option<Vec<String>> {
    Cli::command().try_get_matches_from(words).ok()?;
    let lenient = Cli::command().ignore_errors(true);
    let mut values: Vec<String> = Vec::new();
    for end in 1..=words.len() {
        let Ok(matches) = lenient.clone().try_get_matches_from(&words[..end]) else {
            continue;
        };
        let mut level: Option<&ArgMatches> = Some(&matches);
        while let Some(current) = level {
            if let Ok(Some(raw)) = current.try_get_raw("dbname") {
                values.extend(raw.map(|v| v.to_string_lossy().into_owned()));
            }
            level = current.subcommand().map(|(_, sub)| sub);
        }
    }
    values.sort();
    values.dedup();
    Some(values)
}

/// A word that is, or ends with, a `--dbname` value (`-qdVALUE`, `--dbname=VALUE`).
fn redact_word(word: &str, targets: &[String]) -> String {
    for target in targets {
        let attached = word.starts_with('-') && word.ends_with(target.as_str());
        if word == target || attached {
            let kept = &word[..word.len() - target.len()];
            return format!("{kept}{}", redacted(target).unwrap_or_default());
        }
    }
    word.to_string()
}

/// The target without its secrets, or `None` when it holds none.
fn redacted(target: &str) -> Option<String> {
    if !conninfo::is_connection_string(target) {
        return None;
    }
    let Ok(params) = conninfo::parse(target) else {
        return Some(UNPARSABLE.to_string());
    };
    let secret = |key: &str| SECRET_KEYWORDS.contains(&key);
    if !params.iter().any(|(key, _)| secret(key)) {
        return None;
    }
    let kept = params.into_iter().filter(|(key, _)| !secret(key)).collect();
    Some(conninfo::render(&kept))
}

/// Shell quoting; a word with control characters is written as bash's `$'...'`.
fn quote(word: &str) -> String {
    if !word.contains(char::is_control) {
        return shell_quote(word);
    }
    let mut out = String::from("$'");
    for c in word.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::recorded;

    fn line(args: &[&str]) -> String {
        let args: Vec<OsString> = std::iter::once("pgbackup")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        recorded(&args)
    }

    #[test]
    fn passwords_never_reach_the_command_line_record() {
        let cases: &[&[&str]] = &[
            &["create", "--dbname", "postgresql://u:pw1@h/db"],
            &["create", "--dbname=password=pw1 dbname=x"],
            &["create", "-dpostgres://u:pw1@h/x"],
            &["create", "-qd", "postgresql://u:pw1@h/db"],
            &["create", "-qdpostgresql://u:pw1@h/db"],
            &["create", "-qd=postgresql://u:pw1@h/db"],
            &["-yqd", "postgresql://u:pw1@h/db", "restore", "latest"],
            &["create", "-d", "postgresql://u:Q?pw1@/db?host=/tmp"],
            &["create", "-d", "postgresql://u@/db?password=pw1&host=/tmp"],
            &[
                "-d",
                "postgresql://u:pw1@h/a",
                "create",
                "-d",
                "postgresql://u:pw2@h/b",
            ],
            &["create", "-d", "postgresql://u:pw1@[::1"],
        ];
        for args in cases {
            let line = line(args);
            for secret in ["pw1", "pw2"] {
                assert!(!line.contains(secret), "{args:?}: {line}");
            }
        }
    }

    #[test]
    fn the_rest_of_the_command_line_is_kept() {
        assert_eq!(
            line(&[
                "create",
                "-qd",
                "postgresql://u:pw@h/db",
                "-m",
                "nightly run"
            ]),
            "create -qd 'user=u host=h dbname=db' -m 'nightly run'"
        );
        assert_eq!(
            line(&["create", "-qdpostgresql://u:pw@h/db"]),
            "create '-qduser=u host=h dbname=db'"
        );
        assert_eq!(
            line(&["list", "--dbname", "postgresql://h/db"]),
            "list --dbname postgresql://h/db"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let line = line(&["create", "-m", "a\nFAKE line\u{1b}[2J"]);
        assert_eq!(line, "create -m $'a\\nFAKE line\\u001b[2J'");
        assert!(!line.contains(char::is_control));
    }
}
