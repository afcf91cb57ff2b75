//! Which roles a SQL statement of a dump names: owners (`ALTER … OWNER TO r`), grantees and
//! grantors (`GRANT … TO r`, `REVOKE … FROM r`, `ALTER DEFAULT PRIVILEGES FOR ROLE r`), and
//! the roles of policies, user mappings and session authorizations.

/// A word of a statement: an identifier (unquoted ones folded to lower case, as PostgreSQL
/// does), a string literal, or a punctuation byte.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word { text: String, quoted: bool },
    Literal(String),
    Punct(char),
}

impl Token {
    /// An unquoted word equal to `keyword` (case-insensitive).
    fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word { text, quoted: false } if text.eq_ignore_ascii_case(keyword))
    }

    fn name(&self) -> Option<&str> {
        match self {
            Token::Word { text, .. } | Token::Literal(text) => Some(text),
            Token::Punct(_) => None,
        }
    }
}

/// Splits a statement into tokens; comments are skipped, dollar-quoted bodies are one
/// literal.
pub fn tokens(statement: &str) -> Vec<Token> {
    let chars: Vec<char> = statement.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let (text, next) = quoted(&chars, i, '"', false);
            tokens.push(Token::Word { text, quoted: true });
            i = next;
        } else if c == '\'' {
            let (text, next) = quoted(&chars, i, '\'', false);
            tokens.push(Token::Literal(text));
            i = next;
        } else if (c == 'E' || c == 'e') && chars.get(i + 1) == Some(&'\'') {
            let (text, next) = quoted(&chars, i + 1, '\'', true);
            tokens.push(Token::Literal(text));
            i = next;
        } else if c == '$'
            && let Some((body, next)) = dollar_quoted(&chars, i)
        {
            tokens.push(Token::Literal(body));
            i = next;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Word {
                text: text.to_lowercase(),
                quoted: false,
            });
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// The text of a quoted token starting at `start` (the opening quote), and where it ends.
fn quoted(chars: &[char], start: usize, quote: char, escapes: bool) -> (String, usize) {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if escapes && c == '\\' && i + 1 < chars.len() {
            text.push(chars[i + 1]);
            i += 2;
        } else if c == quote && chars.get(i + 1) == Some(&quote) {
            text.push(quote);
            i += 2;
        } else if c == quote {
            return (text, i + 1);
        } else {
            text.push(c);
            i += 1;
        }
    }
    (text, i)
}

fn dollar_quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut end = start + 1;
    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
        end += 1;
    }
    if chars.get(end) != Some(&'$') || chars.get(start + 1).is_some_and(char::is_ascii_digit) {
        return None;
    }
    let delimiter: Vec<char> = chars[start..=end].to_vec();
    let body_start = end + 1;
    let close = (body_start..chars.len())
        .find(|&i| chars[i..].starts_with(&delimiter))
        .unwrap_or(chars.len());
    let body = chars[body_start..close].iter().collect();
    Some((body, (close + delimiter.len()).min(chars.len())))
}

/// How a statement refers to a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Use {
    /// Owns an object (`OWNER TO`).
    Owner,
    /// Is granted or revoked privileges, or grants them (`GRANTED BY`, default privileges,
    /// `SET SESSION AUTHORIZATION` before a grant by a non-owner).
    Privileges,
    /// Has settings in the database (`ALTER ROLE r IN DATABASE d SET …`).
    Settings,
    /// A policy applies to it, or a user mapping is for it.
    Other,
}

/// Names that stand for no particular role.
fn is_pseudo_role(token: &Token) -> bool {
    ["public", "current_user", "session_user", "current_role"]
        .iter()
        .any(|k| token.is(k))
}

/// The roles `statement` names, with how.
pub fn referenced(statement: &str) -> Vec<(String, Use)> {
    let tokens = tokens(statement);
    let mut found = Vec::new();
    let first = |k: &str| tokens.first().is_some_and(|t| t.is(k));
    let second = |k: &str| tokens.get(1).is_some_and(|t| t.is(k));
    if first("alter") && second("default") {
        // ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] GRANT … TO g / REVOKE … FROM g
        if let Some(at) =
            position_of(&tokens, &["for", "role"]).or(position_of(&tokens, &["for", "user"]))
        {
            found.extend(
                list_after(&tokens, at + 2)
                    .into_iter()
                    .map(|r| (r, Use::Privileges)),
            );
        }
        let action = tokens.iter().position(|t| t.is("grant") || t.is("revoke"));
        if let Some(action) = action {
            found.extend(
                grantees(&tokens[action..])
                    .into_iter()
                    .map(|r| (r, Use::Privileges)),
            );
        }
    } else if first("alter") {
        if let Some(at) = position_of(&tokens, &["owner", "to"]) {
            found.extend(
                list_after(&tokens, at + 2)
                    .into_iter()
                    .map(|r| (r, Use::Owner)),
            );
        }
    } else if first("grant") || first("revoke") {
        found.extend(grantees(&tokens).into_iter().map(|r| (r, Use::Privileges)));
    } else if first("create") && second("policy") {
        if let Some(at) = depth_zero(&tokens).find(|&i| tokens[i].is("to")) {
            found.extend(
                list_after(&tokens, at + 1)
                    .into_iter()
                    .map(|r| (r, Use::Other)),
            );
        }
    } else if first("create") && second("user") && tokens.get(2).is_some_and(|t| t.is("mapping")) {
        if let Some(at) = position_of(&tokens, &["for"]) {
            found.extend(
                list_after(&tokens, at + 1)
                    .into_iter()
                    .take(1)
                    .map(|r| (r, Use::Other)),
            );
        }
    } else if first("set")
        && (second("session") && tokens.get(2).is_some_and(|t| t.is("authorization"))
            || second("role"))
    {
        let at = if second("role") { 2 } else { 3 };
        if let Some(role) = tokens.get(at).filter(|t| !t.is("default") && !t.is("none")) {
            // pg_dump sets the session authorization for grants made by others than the
            // owner (and for ownership, with --use-set-session-authorization).
            found.extend(role.name().map(|r| (r.to_string(), Use::Privileges)));
        }
    }
    found
}

/// The grantees of a GRANT (after its last top-level TO) or REVOKE (FROM): for a role
/// membership, the members.
pub fn grantees_of(statement: &str) -> Vec<String> {
    let tokens = tokens(statement);
    let word = match tokens.first() {
        Some(t) if t.is("grant") => "to",
        Some(t) if t.is("revoke") => "from",
        _ => return Vec::new(),
    };
    depth_zero(&tokens)
        .filter(|&i| tokens[i].is(word))
        .last()
        .map(|at| list_after(&tokens, at + 1))
        .unwrap_or_default()
}

/// The roles of a GRANT or REVOKE (object privileges or role memberships): the grantees
/// after the last top-level TO/FROM, and GRANTED BY.
fn grantees(tokens: &[Token]) -> Vec<String> {
    let grant = tokens.first().is_some_and(|t| t.is("grant"));
    let word = if grant { "to" } else { "from" };
    let mut roles = Vec::new();
    if let Some(at) = depth_zero(tokens).filter(|&i| tokens[i].is(word)).last() {
        roles.extend(list_after(tokens, at + 1));
        // A role membership names the granted roles before TO (no ON).
        let has_on = depth_zero(tokens)
            .take_while(|&i| i < at)
            .any(|i| tokens[i].is("on"));
        if !has_on {
            let option_for = !grant
                && tokens
                    .get(1)
                    .is_some_and(|t| t.is("admin") || t.is("inherit") || t.is("set"))
                && tokens.get(2).is_some_and(|t| t.is("option"))
                && tokens.get(3).is_some_and(|t| t.is("for"));
            let start = if option_for { 4 } else { 1 };
            roles.extend(names_until(tokens, start, at));
        }
    }
    if let Some(at) = position_of(tokens, &["granted", "by"]) {
        roles.extend(list_after(tokens, at + 2));
    }
    roles
}

/// Indexes of the tokens outside parentheses.
fn depth_zero(tokens: &[Token]) -> impl Iterator<Item = usize> + '_ {
    let mut depth = 0i32;
    tokens.iter().enumerate().filter_map(move |(i, t)| {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            _ if depth == 0 => return Some(i),
            _ => {}
        }
        None
    })
}

/// Where the keyword sequence `words` first occurs.
fn position_of(tokens: &[Token], words: &[&str]) -> Option<usize> {
    (0..tokens.len()).find(|&i| {
        words
            .iter()
            .enumerate()
            .all(|(k, w)| tokens.get(i + k).is_some_and(|t| t.is(w)))
    })
}

/// The comma-separated names from `start` (stopping at the first other token).
fn list_after(tokens: &[Token], start: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = start;
    while let Some(token) = tokens.get(i) {
        if token.is("group") || token.is("role") {
            i += 1;
            continue;
        }
        let Token::Word { text, quoted } = token else {
            break;
        };
        if !quoted && is_keyword_end(text) {
            break;
        }
        if !is_pseudo_role(token) {
            names.push(text.clone());
        }
        if tokens.get(i + 1) != Some(&Token::Punct(',')) {
            break;
        }
        i += 2;
    }
    names
}

fn is_keyword_end(word: &str) -> bool {
    [
        "with", "granted", "cascade", "restrict", "using", "in", "server",
    ]
    .contains(&word)
}

/// The names between `start` and `end` separated by commas.
fn names_until(tokens: &[Token], start: usize, end: usize) -> Vec<String> {
    tokens[start.min(end)..end]
        .iter()
        .filter(|t| !is_pseudo_role(t))
        .filter_map(|t| match t {
            Token::Word { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Use, referenced};

    fn roles(statement: &str) -> Vec<(String, Use)> {
        referenced(statement)
    }

    fn named(list: &[(&str, Use)]) -> Vec<(String, Use)> {
        list.iter().map(|(n, u)| (n.to_string(), *u)).collect()
    }

    #[test]
    fn owners_grantees_and_policies_are_found_with_their_spelling() {
        use Use::*;
        assert_eq!(
            roles("ALTER TABLE public.items OWNER TO app;"),
            named(&[("app", Owner)])
        );
        assert_eq!(
            roles("ALTER FUNCTION public.f(a integer, \"to\" text) OWNER TO \"Big Boss\";"),
            named(&[("Big Boss", Owner)])
        );
        assert_eq!(
            roles(
                "GRANT SELECT(a),UPDATE(b) ON TABLE public.t TO reader, \"Web App\" WITH GRANT OPTION;"
            ),
            named(&[("reader", Privileges), ("Web App", Privileges)])
        );
        assert_eq!(
            roles("REVOKE ALL ON SCHEMA public FROM PUBLIC;"),
            named(&[])
        );
        assert_eq!(
            roles("REVOKE ALL ON FUNCTION f() FROM PUBLIC, app;"),
            named(&[("app", Privileges)])
        );
        assert_eq!(
            roles("GRANT grp TO \"Bob x\" WITH ADMIN OPTION GRANTED BY alice;"),
            named(&[
                ("Bob x", Privileges),
                ("grp", Privileges),
                ("alice", Privileges)
            ])
        );
        assert_eq!(
            roles(
                "ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO reader;"
            ),
            named(&[("app", Privileges), ("reader", Privileges)])
        );
        assert_eq!(
            roles(
                "CREATE POLICY p ON public.t TO alice, CURRENT_USER\n  USING ((owner = CURRENT_USER));"
            ),
            named(&[("alice", Other)])
        );
        assert_eq!(
            roles("CREATE POLICY p ON public.t USING (true);"),
            named(&[])
        );
        assert_eq!(
            roles("CREATE USER MAPPING FOR bob SERVER s OPTIONS (\"user\" 'x');"),
            named(&[("bob", Other)])
        );
        assert_eq!(
            roles("SET SESSION AUTHORIZATION 'alice';"),
            named(&[("alice", Privileges)])
        );
        assert_eq!(roles("COMMENT ON TABLE t IS 'OWNER TO x';"), named(&[]));
        assert_eq!(
            roles("CREATE TABLE t (owner text, \"to\" int);"),
            named(&[])
        );
    }
}
