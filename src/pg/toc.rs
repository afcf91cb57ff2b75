//! Which tables a dump creates, read from its table of contents: the `-- Name: ...; Type:
//! TABLE; ...` comments of a plain dump, or `pg_restore --list` of a custom archive. Tables
//! are keyed as `schema name owner`, the way `pg_restore --list` prints them.

use std::io::{self, Write};

/// Lines longer than this are never table-of-contents comments.
const LONGEST_COMMENT: usize = 4096;

/// The key of a table: `schema name owner`, with line breaks as spaces (as pg_dump does).
pub fn table_key(schema: &str, name: &str, owner: &str) -> String {
    format!("{schema} {name} {owner}").replace(['\n', '\r'], " ")
}

/// A table from a plain dump's comment `-- Name: items; Type: TABLE; Schema: public; Owner: app`,
/// which ends with `; Tablespace: ts` for a table outside the default tablespace.
pub fn plain_table(line: &str) -> Option<String> {
    let rest = line.strip_prefix("-- Name: ")?;
    let (rest, owner) = rest.rsplit_once("; Owner: ")?;
    let owner = owner
        .split_once("; Tablespace: ")
        .map_or(owner, |(owner, _)| owner);
    let (name, schema) = rest.split_once("; Type: TABLE; Schema: ")?;
    Some(table_key(schema, name, owner))
}

/// The tables in `pg_restore --list` output (`214; 1259 16385 TABLE public items app`).
pub fn listed_tables(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter(|line| !line.starts_with(';'))
        .filter_map(|line| {
            let (_, rest) = line.split_once("; ")?;
            let mut words = rest.splitn(3, ' ');
            let (_catalog, _oid) = (words.next()?, words.next()?);
            let entry = words.next()?;
            let other_kind = ["TABLE DATA ", "TABLE ATTACH "]
                .iter()
                .any(|kind| entry.starts_with(kind));
            entry
                .strip_prefix("TABLE ")
                .filter(|_| !other_kind)
                .map(str::to_string)
        })
        .collect()
}

/// A sink for a plain dump's text that keeps the tables its comments announce.
#[derive(Debug, Default)]
pub struct PlainTables {
    pub tables: Vec<String>,
    line: Vec<u8>,
    overlong: bool,
}

impl PlainTables {
    fn take_line(&mut self) {
        if !self.overlong
            && let Ok(text) = std::str::from_utf8(&self.line)
            && let Some(key) = plain_table(text)
        {
            self.tables.push(key);
        }
        self.line.clear();
        self.overlong = false;
    }

    fn keep(&mut self, bytes: &[u8]) {
        if self.line.len() + bytes.len() > LONGEST_COMMENT {
            self.overlong = true;
        } else if !self.overlong {
            self.line.extend_from_slice(bytes);
        }
    }
}

impl Write for PlainTables {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.keep(&rest[..end]);
            self.take_line();
            rest = &rest[end + 1..];
        }
        self.keep(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{PlainTables, listed_tables, plain_table};

    #[test]
    fn plain_comments_name_their_tables() {
        assert_eq!(
            plain_table("-- Name: items; Type: TABLE; Schema: public; Owner: app").as_deref(),
            Some("public items app")
        );
        assert_eq!(
            plain_table("-- Name: my t; Type: TABLE; Schema: Ünï schema; Owner: -").as_deref(),
            Some("Ünï schema my t -")
        );
        assert_eq!(
            plain_table("-- Name: far; Type: TABLE; Schema: public; Owner: app; Tablespace: ts")
                .as_deref(),
            Some("public far app")
        );
        assert_eq!(
            plain_table("-- Name: items_pkey; Type: CONSTRAINT; Schema: public; Owner: app"),
            None
        );
        assert_eq!(
            plain_table("-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: app"),
            None
        );
    }

    #[test]
    fn comments_are_found_across_chunk_boundaries() {
        let text = "x\n-- Name: a; Type: TABLE; Schema: s; Owner: o\nCOPY ...\n\
                    -- Name: b; Type: TABLE; Schema: s; Owner: o\n";
        let mut sink = PlainTables::default();
        for chunk in text.as_bytes().chunks(7) {
            sink.write_all(chunk).unwrap();
        }
        assert_eq!(sink.tables, vec!["s a o", "s b o"]);
    }

    #[test]
    fn listings_name_their_tables() {
        let listing = ";\n; Archive created at 2025-04-08\n;     dbname: app\n\
                       214; 1259 16385 TABLE public items app\n\
                       215; 1259 16390 TABLE my schema my table app\n\
                       3338; 0 16385 TABLE DATA public items app\n\
                       217; 0 16395 TABLE ATTACH public m_1 app\n\
                       216; 1259 16391 VIEW public v app\n";
        assert_eq!(
            listed_tables(listing),
            vec!["public items app", "my schema my table app"]
        );
    }
}
