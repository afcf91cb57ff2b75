//! pg_dump's name patterns (`--schema`, `--table`) as the regular expressions pg_dump
//! matches names with, so that the server can tell which names a recorded pattern selects.

/// The anchored regular expression pg_dump matches the last dotted part of `pattern`
/// with: unquoted letters fold to lower case, `*` is `.*`, `?` is `.`, `$` is literal, a
/// `.` outside quotes separates names; double quotes keep case and make every character
/// literal (`""` is a quote); any other character is regular-expression syntax, as in
/// psql's patterns.
pub fn last_part_regex(pattern: &str) -> String {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '.' && !quoted {
            parts.push(String::new());
            continue;
        }
        let out = parts.last_mut().expect("one part at least");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.push('"');
            }
            '"' => quoted = !quoted,
            c if quoted => {
                if "\\^$.|?*+()[]{}".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '$' => out.push_str("\\$"),
            c => out.extend(c.to_lowercase()),
        }
    }
    format!("^({})$", parts.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::last_part_regex;

    #[test]
    fn patterns_read_as_pg_dump_reads_them() {
        assert_eq!(last_part_regex("public"), "^(public)$");
        assert_eq!(last_part_regex("Pub*"), "^(pub.*)$");
        assert_eq!(last_part_regex("app?"), "^(app.)$");
        assert_eq!(last_part_regex("db.App"), "^(app)$");
        assert_eq!(last_part_regex("\"My.Schema*\""), "^(My\\.Schema\\*)$");
        assert_eq!(last_part_regex("\"a\"\"b\""), "^(a\"b)$");
        assert_eq!(last_part_regex("x$"), "^(x\\$)$");
        assert_eq!(last_part_regex("s[0-9]"), "^(s[0-9])$");
    }
}
