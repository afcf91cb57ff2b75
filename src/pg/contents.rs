//! What a backup holds: its tables, with the rows and bytes of data each has in the dump,
//! read from the SQL stream (a plain dump decoded, or a custom archive through pg_restore).

use std::io::{self, Write};
use std::process::Stdio;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::backup::integrity::BackupFile;
use crate::interrupt::Interrupt;
use crate::model::naming::Format;
use crate::pg::feed;
use crate::pg::process::Tool;

/// One table of the dump.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// Rows of data in the dump; `None` when the dump holds no data for it.
    pub rows: Option<u64>,
    /// Bytes of COPY data in the dump.
    pub bytes: Option<u64>,
}

/// Reads the whole backup and lists its tables in dump order.
pub fn read(file: &BackupFile, pg_restore: &Tool, interrupt: &Interrupt) -> Result<Vec<Table>> {
    let mut scanner = Scanner::default();
    match file.format {
        Format::Directory => {
            let tool = pg_restore.clone().args(["--file=-"]);
            crate::backup::directory::pg_restore_into(file, tool, &mut scanner, interrupt)?;
        }
        Format::Plain => {
            file.stream(&file.chain, &mut scanner, &mut |_| {})
                .map_err(|_| anyhow::anyhow!("could not read or decode {}", file.describe()))?;
        }
        Format::Custom => {
            let (mut reader, writer) = io::pipe().context("could not create a pipe")?;
            let collector = std::thread::spawn(move || {
                let mut scanner = Scanner::default();
                io::copy(&mut reader, &mut scanner).map(|_| scanner)
            });
            let tool = pg_restore.clone().args(["--file=-"]);
            let fed = feed::feed(
                &tool,
                Stdio::from(writer),
                file.source(),
                interrupt,
                &mut |_| {},
            );
            scanner = collector.join().expect("the scanner does not panic")?;
            fed.map_err(feed::FeedFailure::into_error)?;
        }
    }
    scanner.flush()?;
    Ok(scanner.tables)
}

/// A SQL sink that notes `CREATE TABLE` and counts `COPY ... FROM stdin;` data.
#[derive(Debug, Default)]
struct Scanner {
    tables: Vec<Table>,
    line: Vec<u8>,
    /// Index of the table whose COPY data is streaming.
    copying: Option<usize>,
}

impl Scanner {
    fn take_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if let Some(index) = self.copying {
            if line == b"\\." {
                self.copying = None;
            } else {
                let table = &mut self.tables[index];
                table.rows = Some(table.rows.unwrap_or(0) + 1);
                table.bytes = Some(table.bytes.unwrap_or(0) + line.len() as u64 + 1);
            }
            return;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            return;
        };
        let created = text
            .strip_prefix("CREATE TABLE ")
            .or_else(|| text.strip_prefix("CREATE UNLOGGED TABLE "));
        let copied = text
            .strip_prefix("COPY ")
            .filter(|_| text.ends_with(" FROM stdin;"));
        if let Some((schema, name)) = created.and_then(qualified_name) {
            self.index_of(schema, name);
        } else if let Some((schema, name)) = copied.and_then(qualified_name) {
            let index = self.index_of(schema, name);
            let table = &mut self.tables[index];
            table.rows.get_or_insert(0);
            table.bytes.get_or_insert(0);
            self.copying = Some(index);
        }
    }

    fn index_of(&mut self, schema: String, name: String) -> usize {
        if let Some(i) = self
            .tables
            .iter()
            .position(|t| t.schema == schema && t.name == name)
        {
            return i;
        }
        self.tables.push(Table {
            schema,
            name,
            rows: None,
            bytes: None,
        });
        self.tables.len() - 1
    }
}

impl Write for Scanner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&rest[..end]);
            self.take_line();
            rest = &rest[end + 1..];
        }
        // A long line is only ever data: keep counting it without holding it all.
        if let Some(index) = self.copying.filter(|_| self.line.len() > 64 * 1024) {
            let table = &mut self.tables[index];
            table.bytes = Some(table.bytes.unwrap_or(0) + self.line.len() as u64);
            self.line.truncate(2);
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `schema.name` at the start of `text`, identifiers unquoted (`"a ""b"""` is `a "b"`).
fn qualified_name(text: &str) -> Option<(String, String)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            ' ' | '(' if !quoted => break,
            c => current.push(c),
        }
    }
    parts.push(current);
    match parts.as_slice() {
        [schema, name] if !name.is_empty() => Some((schema.clone(), name.clone())),
        _ => None,
    }
}

/// Runs text through the scanner in small chunks, as a stream would arrive.
#[cfg(test)]
fn scan_text(text: &str) -> Vec<Table> {
    let mut scanner = Scanner::default();
    for chunk in text.as_bytes().chunks(5) {
        scanner.write_all(chunk).unwrap();
    }
    scanner.tables
}

#[cfg(test)]
mod tests {
    use super::{Table, qualified_name, scan_text};

    #[test]
    fn names_are_unquoted() {
        assert_eq!(
            qualified_name("public.items (id, name) FROM stdin;"),
            Some(("public".into(), "items".into()))
        );
        assert_eq!(
            qualified_name("\"my schema\".\"a \"\"b\"\"\" (x) FROM stdin;"),
            Some(("my schema".into(), "a \"b\"".into()))
        );
        assert_eq!(qualified_name("items (x)"), None);
    }

    #[test]
    fn copy_data_is_counted_per_table() {
        let text = "CREATE TABLE public.a (\n    id integer\n);\nCREATE TABLE public.empty (x int);\n\
                    COPY public.a (id) FROM stdin;\n1\n22\n\\.\n\nCOPY public.b (id) FROM stdin;\n\\.\n";
        assert_eq!(
            scan_text(text),
            vec![
                Table {
                    schema: "public".into(),
                    name: "a".into(),
                    rows: Some(2),
                    bytes: Some(5)
                },
                Table {
                    schema: "public".into(),
                    name: "empty".into(),
                    rows: None,
                    bytes: None
                },
                Table {
                    schema: "public".into(),
                    name: "b".into(),
                    rows: Some(0),
                    bytes: Some(0)
                },
            ]
        );
    }
}
