//! Quoting names and values into SQL text that pgbackup sends to the server.

/// PostgreSQL's limit on identifier length in bytes (NAMEDATALEN - 1).
pub const MAX_NAME_BYTES: usize = 63;

/// A double-quoted identifier: `my "db"` -> `"my ""db"""`. Always quoted, so keywords,
/// upper case, spaces and non-ASCII letters keep their exact spelling.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal that reads the same whatever `standard_conforming_strings` is:
/// `it's` -> `'it''s'`, `a\b` -> `E'a\\b'` (as PostgreSQL's `quote_literal`).
pub fn literal(text: &str) -> String {
    let doubled = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", doubled.replace('\\', "\\\\"))
    } else {
        format!("'{doubled}'")
    }
}

/// `name` cut to at most `max` bytes on a character boundary.
pub fn truncate_name(name: &str, max: usize) -> &str {
    if name.len() <= max {
        return name;
    }
    let mut end = max;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// `<base><suffix>` within PostgreSQL's name length, shortening `base` when needed.
pub fn derived_name(base: &str, suffix: &str) -> String {
    let room = MAX_NAME_BYTES.saturating_sub(suffix.len());
    format!("{}{suffix}", truncate_name(base, room))
}

#[cfg(test)]
mod tests {
    use super::{derived_name, ident, literal, truncate_name};

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(ident("app"), "\"app\"");
        assert_eq!(ident("my \"db\""), "\"my \"\"db\"\"\"");
        assert_eq!(ident("Ünïcødé schema"), "\"Ünïcødé schema\"");
        assert_eq!(ident(""), "\"\"");
    }

    #[test]
    fn literals_survive_quotes_and_backslashes() {
        assert_eq!(literal("UTC"), "'UTC'");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b'c"), "E'a\\\\b''c'");
        assert_eq!(literal(""), "''");
        assert_eq!(literal("tab\there"), "'tab\there'");
    }

    #[test]
    fn names_are_cut_on_character_boundaries() {
        assert_eq!(truncate_name("abc", 63), "abc");
        assert_eq!(truncate_name("ééé", 3), "é");
        let long = "x".repeat(70);
        let name = derived_name(&long, "_pre_restore_20250408_160000");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_pre_restore_20250408_160000"));
        assert_eq!(derived_name("app", "_x"), "app_x");
    }
}
