//! The table of contents of a plain pg_dump script, found in one pass over its decoded
//! bytes: each entry's type, table and byte range, the session preamble, and the
//! `default_tablespace` / `default_table_access_method` an entry runs under. A parallel
//! restore replays the preamble and that state in every session and feeds each one only
//! its entries' bytes.

use std::io::{self, Write};
use std::ops::Range;

use crate::pg::plain_kept::{Keeper, Kept};
use crate::pg::statements::Statements;

/// How much of a line is kept to be looked at (headers and first statement lines).
const LINE_HEAD: usize = 512;

/// The session settings pg_dump changes between entries, as the `SET` lines that set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    pub tablespace: Option<String>,
    pub access_method: Option<String>,
}

impl SessionState {
    /// The SQL that takes a session from `self` to `to`.
    pub fn change_to(&self, to: &SessionState) -> String {
        let mut sql = String::new();
        for (from, want, name) in [
            (&self.tablespace, &to.tablespace, "default_tablespace"),
            (
                &self.access_method,
                &to.access_method,
                "default_table_access_method",
            ),
        ] {
            if from != want {
                match want {
                    Some(line) => sql.push_str(line),
                    None => sql.push_str(&format!("RESET {name};")),
                }
                sql.push('\n');
            }
        }
        sql
    }
}

/// One entry of the script: from its `--` header to the next entry's.
#[derive(Debug, Clone, PartialEq)]
pub struct TocEntry {
    /// `TABLE DATA`, `INDEX`, `FK CONSTRAINT`…
    pub kind: String,
    /// The name in the header (`-- Name: …;`).
    pub name: String,
    pub schema: String,
    /// The table the entry belongs to, `schema.name` as the script writes it, when known.
    pub table: Option<String>,
    pub range: Range<u64>,
    /// The settings in force where the entry starts and where it ends.
    pub state: SessionState,
    pub state_after: SessionState,
    /// The first line of its first statement.
    first_line: String,
}

/// A plain script cut into its sections.
#[derive(Debug, Clone)]
pub struct PlainPlan {
    /// The entries, in dump order; their ranges follow the preamble without gap or overlap.
    pub entries: Vec<TocEntry>,
    /// The indices of the data entries (table data, sequence values, large objects).
    pub data: Range<usize>,
    /// The decoded size.
    pub total: u64,
    /// The bytes of the header and of small entries.
    pub kept: Kept,
}

impl PlainPlan {
    /// The session header: everything before the first entry.
    pub fn preamble(&self) -> Range<u64> {
        0..self.entries[0].range.start
    }

    /// The preamble and every entry before the data.
    pub fn pre_data(&self) -> Range<u64> {
        0..self.entries[self.data.start].range.start
    }

    /// The bytes of `range` (as [`PlainPlan::preamble`] or a session's entries give it),
    /// when they were kept while planning.
    pub fn kept(&self, range: &Range<u64>) -> Option<Vec<&[u8]>> {
        self.kept.slices(range, &self.entries)
    }

    /// The indices of the entries after the data.
    pub fn post_data(&self) -> Range<usize> {
        self.data.end..self.entries.len()
    }
}

/// Whether an entry holds data: a table's `COPY`, a sequence's `setval`, large objects.
pub fn is_data(kind: &str) -> bool {
    matches!(
        kind,
        "TABLE DATA" | "SEQUENCE SET" | "BLOBS" | "BLOB DATA" | "LARGE OBJECTS"
    )
}

/// Whether a post-data entry builds an index or a constraint other than a foreign key
/// (these run in parallel, a table's on one session).
pub fn is_index_or_constraint(kind: &str) -> bool {
    matches!(kind, "INDEX" | "CONSTRAINT")
}

/// Reads a script written to it and plans it ([`Planner::finish`]).
pub struct Planner {
    lexer: Statements<io::Sink, fn(&str) -> bool>,
    offset: u64,
    line_start: u64,
    line_head: Vec<u8>,
    line_between: bool,
    /// The offset of a `--` line between statements just before.
    dashes: Option<u64>,
    state: SessionState,
    entries: Vec<TocEntry>,
    unsupported: Option<String>,
    keeper: Keeper,
}

fn keep_all(_: &str) -> bool {
    true
}

impl Default for Planner {
    fn default() -> Self {
        Planner {
            lexer: Statements::new(io::sink(), keep_all as fn(&str) -> bool),
            offset: 0,
            line_start: 0,
            line_head: Vec::new(),
            line_between: true,
            dashes: None,
            state: SessionState::default(),
            entries: Vec::new(),
            unsupported: None,
            keeper: Keeper::default(),
        }
    }
}

impl Planner {
    /// The plan, or why the script cannot be restored in parallel.
    pub fn finish(mut self) -> Result<PlainPlan, String> {
        if !self.line_head.is_empty() || self.line_start < self.offset {
            self.end_line();
        }
        if let Some(reason) = self.unsupported {
            return Err(reason);
        }
        let total = self.offset;
        if let Some(last) = self.entries.last_mut() {
            last.range.end = total;
            last.state_after = self.state.clone();
        }
        let entries = self.entries;
        let mut expected = entries.first().map_or(total, |e| e.range.start);
        for entry in &entries {
            assert_eq!(entry.range.start, expected, "entries cover the script once");
            expected = entry.range.end;
        }
        assert_eq!(expected, total, "the last entry ends the script");
        let first = entries.iter().position(|e| is_data(&e.kind));
        let last = entries.iter().rposition(|e| is_data(&e.kind));
        let (Some(first), Some(last)) = (first, last) else {
            return Err("the script holds no table data".to_string());
        };
        if let Some(other) = entries[first..=last].iter().find(|e| !is_data(&e.kind)) {
            return Err(format!(
                "a {} entry ({}) lies among the table data",
                other.kind, other.name
            ));
        }
        Ok(PlainPlan {
            entries,
            data: first..last + 1,
            total,
            kept: self.keeper.finish(),
        })
    }

    fn refuse(&mut self, reason: String) {
        self.unsupported.get_or_insert(reason);
    }

    fn end_line(&mut self) {
        let head = std::mem::take(&mut self.line_head);
        let text = String::from_utf8_lossy(&head);
        let text = text.trim_end_matches(['\n', '\r']);
        let between = self.line_between;
        let start = self.line_start;
        self.line_start = self.offset;
        self.line_between = self.lexer.at_line_between_statements();
        if !between {
            self.dashes = None;
            if self.entries.is_empty() {
                self.refuse("the script's header holds more than session settings".into());
            }
            return;
        }
        if text == "--" {
            self.dashes = Some(start);
            return;
        }
        let dashes = self.dashes.take();
        let header = text
            .strip_prefix("-- Name: ")
            .or_else(|| text.strip_prefix("-- Data for Name: "));
        if let (Some(header), Some(at)) = (header, dashes) {
            self.begin_entry(header, at);
            return;
        }
        if text.is_empty() || text.starts_with("--") {
            return;
        }
        if let Some(command) = text.strip_prefix('\\') {
            if !command.starts_with("restrict ") && !command.starts_with("unrestrict ") {
                let word = command.split_whitespace().next().unwrap_or("");
                self.refuse(format!("the script holds a psql meta-command (\\{word})"));
            }
            return;
        }
        let statement = text.to_ascii_lowercase();
        if statement.starts_with("set default_tablespace ") {
            self.state.tablespace = Some(text.to_string());
            return;
        }
        if statement.starts_with("set default_table_access_method ") {
            self.state.access_method = Some(text.to_string());
            return;
        }
        let setting = statement.starts_with("set ")
            || statement.starts_with("reset ")
            || statement.starts_with("select pg_catalog.set_config(");
        match self.entries.last_mut() {
            None if setting => {}
            None => self.refuse("the script's header holds more than session settings".into()),
            Some(_) if setting => self.refuse(format!(
                "the script changes a setting between entries ({text})"
            )),
            Some(entry) if entry.first_line.is_empty() => entry.first_line = text.to_string(),
            Some(_) => {}
        }
    }

    fn begin_entry(&mut self, header: &str, at: u64) {
        let mut fields = header.split("; ");
        let name = fields.next().unwrap_or("").to_string();
        let mut kind = String::new();
        let mut schema = String::new();
        for field in fields {
            if let Some(k) = field.strip_prefix("Type: ") {
                kind = k.to_string();
            } else if let Some(s) = field.strip_prefix("Schema: ") {
                schema = s.to_string();
            }
        }
        if let Some(previous) = self.entries.last_mut() {
            previous.range.end = at;
            previous.state_after = self.state.clone();
        }
        self.keeper.entry(self.entries.len(), at);
        self.entries.push(TocEntry {
            kind,
            name,
            schema,
            table: None,
            range: at..at,
            state: self.state.clone(),
            state_after: self.state.clone(),
            first_line: String::new(),
        });
    }
}

impl Write for Planner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.line_start == self.offset && self.lexer.in_copy_data() {
                rest = &rest[self.copy_data(rest)?..];
                continue;
            }
            let (piece, ends) = match memchr::memchr(b'\n', rest) {
                Some(at) => (&rest[..=at], true),
                None => (rest, false),
            };
            let room = LINE_HEAD.saturating_sub(self.line_head.len());
            self.line_head
                .extend_from_slice(&piece[..room.min(piece.len())]);
            self.lexer.write_all(piece)?;
            self.keeper.data(piece);
            self.offset += piece.len() as u64;
            if ends {
                self.end_line();
                self.keeper.line_end(self.offset, self.dashes);
            }
            rest = &rest[piece.len()..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Planner {
    /// COPY data from the start of a line: passed over as a whole (its lines are not
    /// looked at), up to and with its `\.` line.
    fn copy_data(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.lexer.pass_copy_data(buf)?;
        self.keeper.data(&buf[..n]);
        self.offset += n as u64;
        self.line_start = self.offset;
        self.line_between = self.lexer.at_line_between_statements();
        self.dashes = None;
        self.keeper.line_end(self.offset, None);
        if self.entries.is_empty() {
            self.refuse("the script's header holds more than session settings".into());
        }
        Ok(n)
    }
}

/// The table of each data, index and constraint entry.
pub fn with_tables(mut plan: PlainPlan) -> PlainPlan {
    for entry in &mut plan.entries {
        entry.table = match entry.kind.as_str() {
            "TABLE DATA" => Some(format!("{}.{}", entry.schema, entry.name)),
            "INDEX" | "CONSTRAINT" => table_of(&entry.first_line),
            _ => None,
        };
    }
    plan
}

/// The table of `CREATE [UNIQUE] INDEX name ON [ONLY] table …` or
/// `ALTER TABLE [ONLY] table ADD CONSTRAINT …`.
fn table_of(statement: &str) -> Option<String> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let after = |i: usize| {
        let word = *words.get(i)?;
        match word.eq_ignore_ascii_case("ONLY") {
            true => words.get(i + 1).copied(),
            false => Some(word),
        }
    };
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.first().map(String::as_str) == Some("ALTER")
        && upper.get(1).map(String::as_str) == Some("TABLE")
    {
        return after(2).map(str::to_string);
    }
    if upper.first().map(String::as_str) == Some("CREATE") {
        let on = upper.iter().position(|w| w == "ON")?;
        return after(on + 1).map(str::to_string);
    }
    None
}

#[cfg(test)]
#[path = "plain_plan_tests.rs"]
mod tests;
