//! Database name patterns as pg_dumpall's `--exclude-database` reads them (psql's pattern
//! rules): `*` matches any text, `?` any one character, letters outside double quotes are
//! folded to lower case, and inside double quotes everything is literal (`""` is a `"`).

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
}

/// A compiled database name pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct NamePattern {
    tokens: Vec<Token>,
}

impl NamePattern {
    pub fn new(text: &str) -> NamePattern {
        let mut tokens = Vec::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    tokens.push(Token::Literal('"'));
                }
                '"' => quoted = !quoted,
                _ if quoted => tokens.push(Token::Literal(c)),
                '*' => tokens.push(Token::AnyRun),
                '?' => tokens.push(Token::AnyOne),
                _ => tokens.extend(c.to_lowercase().map(Token::Literal)),
            }
        }
        NamePattern { tokens }
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        // Classic wildcard matching with one backtrack point for the last `*`.
        let (mut t, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.tokens.get(t) {
                Some(Token::AnyRun) => {
                    star = Some((t, n));
                    t += 1;
                }
                Some(Token::AnyOne) => (t, n) = (t + 1, n + 1),
                Some(Token::Literal(c)) if *c == name[n] => (t, n) = (t + 1, n + 1),
                _ => match star {
                    Some((star_t, star_n)) => {
                        star = Some((star_t, star_n + 1));
                        (t, n) = (star_t + 1, star_n + 1);
                    }
                    None => return false,
                },
            }
        }
        self.tokens[t..].iter().all(|token| *token == Token::AnyRun)
    }
}

/// Whether any of `patterns` matches `name`.
pub fn any_matches(patterns: &[NamePattern], name: &str) -> bool {
    patterns.iter().any(|p| p.matches(name))
}

#[cfg(test)]
mod tests {
    use super::NamePattern;

    #[test]
    fn patterns_match_as_pg_dumpall_does() {
        let table: &[(&str, &str, bool)] = &[
            ("app", "app", true),
            ("app", "apps", false),
            ("app*", "apps", true),
            ("app*", "app", true),
            ("*_test", "shop_test", true),
            ("*_test", "shop_test2", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b*", "xxbxxaxx", false),
            ("*", "", true),
            ("APP", "app", true),
            ("APP", "APP", false),
            ("\"APP\"", "APP", true),
            ("\"my \"\"odd\"\" db\"", "my \"odd\" db", true),
            ("\"a*\"", "a*", true),
            ("\"a*\"", "ab", false),
            ("my*db", "my \"odd\" db", true),
            ("ünï*", "ünïcødé", true),
        ];
        for &(pattern, name, expected) in table {
            assert_eq!(
                NamePattern::new(pattern).matches(name),
                expected,
                "{pattern:?} against {name:?}"
            );
        }
    }
}
