//! The top-level statements of a SQL script as pg_dump and pg_dumpall write it, found in a
//! stream: quotes, dollar quotes, comments and COPY data are stepped over, so a statement
//! ends only at a `;` that ends it. Each statement can be kept or dropped on its way to a
//! writer (psql's stdin); what lies between statements (comments, psql meta-commands) and
//! COPY data always passes.

use std::io::{self, Write};

use crate::pg::copy_data::CopyData;

/// Statements longer than this are passed on as they stream, without being asked about:
/// the ones this is for (`ALTER … OWNER TO`, `GRANT`, `REVOKE`, `CREATE ROLE`…) are short.
const LONGEST_JUDGED: usize = 64 * 1024;

/// Where the lexer is.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Between statements, at the start of a line.
    LineStart,
    /// Between statements, inside a line.
    Between,
    /// One `-` seen between statements.
    BetweenDash,
    /// A `--` comment or a psql meta-command line between statements.
    BetweenLine,
    /// In a statement, outside quotes.
    Code,
    /// `-` seen in code: a comment if another follows.
    CodeDash,
    /// `/` seen in code: a block comment if `*` follows.
    CodeSlash,
    LineComment,
    /// A block comment at this depth; `star`/`slash` when the last byte may begin `*/` or `/*`.
    BlockComment {
        depth: u32,
        star: bool,
        slash: bool,
    },
    /// `'…'`; `escapes` for `E'…'`, `backslash` after a backslash in one.
    Single {
        escapes: bool,
        backslash: bool,
    },
    /// `'` seen that may end the string or be the first of `''`.
    SingleQuote {
        escapes: bool,
    },
    Double,
    /// `$` seen in code: collecting a dollar-quote tag.
    DollarTag(Vec<u8>),
    /// Inside `$tag$…$tag$`; `matched` bytes of the closing delimiter seen.
    Dollar {
        tag: Vec<u8>,
        matched: usize,
    },
    /// COPY data, passed on unread until its `\.` line.
    Copy(CopyData),
}

/// A writer that splits what it is given into statements, asks `keep` about each, and
/// writes the kept ones (and everything that is not a statement) to `out`.
pub struct Statements<W: Write, F: FnMut(&str) -> bool> {
    out: io::BufWriter<W>,
    keep: F,
    state: State,
    /// The statement so far, while it is short enough to be judged.
    statement: Vec<u8>,
    /// The statement grew too long: it is being passed on as it comes.
    passing: bool,
    /// The previous byte in code (for `E'…'` and identifiers before `$`).
    previous: u8,
}

impl<W: Write, F: FnMut(&str) -> bool> Statements<W, F> {
    pub fn new(out: W, keep: F) -> Self {
        Statements {
            out: io::BufWriter::with_capacity(64 * 1024, out),
            keep,
            state: State::LineStart,
            statement: Vec::new(),
            passing: false,
            previous: b' ',
        }
    }

    /// The writer, once everything was written; a statement left unfinished is passed on.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.statement.is_empty() {
            let text = String::from_utf8_lossy(&self.statement).into_owned();
            if (self.keep)(&text) {
                self.out.write_all(&self.statement)?;
            }
        }
        self.out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }

    /// Whether what was written so far ends between statements, at the start of a line.
    pub fn at_line_between_statements(&self) -> bool {
        self.state == State::LineStart
    }

    /// Whether the next byte written is COPY data.
    pub fn in_copy_data(&self) -> bool {
        matches!(self.state, State::Copy(_))
    }

    /// Passes on the COPY data at the start of `buf`, up to and with the `\.` line that
    /// ends it, and says how many bytes that was (0 when not in COPY data).
    pub fn pass_copy_data(&mut self, buf: &[u8]) -> io::Result<usize> {
        let State::Copy(data) = &mut self.state else {
            return Ok(0);
        };
        let n = match data.scan(buf) {
            Some(n) => {
                self.state = State::LineStart;
                n
            }
            None => buf.len(),
        };
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }

    fn emit(&mut self, byte: u8) -> io::Result<()> {
        if self.passing {
            return self.out.write_all(&[byte]);
        }
        self.statement.push(byte);
        if self.statement.len() > LONGEST_JUDGED {
            self.passing = true;
            self.out.write_all(&self.statement)?;
            self.statement.clear();
        }
        Ok(())
    }

    /// The `;` that ends the statement was emitted.
    fn end_statement(&mut self) -> io::Result<()> {
        let statement = std::mem::take(&mut self.statement);
        let copies = if self.passing {
            false
        } else {
            let text = String::from_utf8_lossy(&statement);
            let copies = is_copy_from_stdin(&text);
            if (self.keep)(&text) {
                self.out.write_all(&statement)?;
            }
            copies
        };
        self.passing = false;
        self.state = match copies {
            true => State::Copy(CopyData::START),
            false => State::Between,
        };
        Ok(())
    }

    fn step(&mut self, byte: u8) -> io::Result<()> {
        let state = std::mem::replace(&mut self.state, State::Code);
        self.state = match state {
            State::LineStart | State::Between | State::BetweenDash | State::BetweenLine => {
                return self.between(state, byte);
            }
            State::Copy(data) => {
                self.state = State::Copy(data);
                return self.pass_copy_data(&[byte]).map(drop);
            }
            State::Code => return self.code(byte),
            State::CodeDash => {
                if byte == b'-' {
                    self.emit(byte)?;
                    State::LineComment
                } else {
                    return self.code(byte);
                }
            }
            State::CodeSlash => {
                if byte == b'*' {
                    self.emit(byte)?;
                    State::BlockComment {
                        depth: 1,
                        star: false,
                        slash: false,
                    }
                } else {
                    return self.code(byte);
                }
            }
            State::LineComment => {
                self.emit(byte)?;
                if byte == b'\n' {
                    State::Code
                } else {
                    State::LineComment
                }
            }
            State::BlockComment { depth, star, slash } => {
                self.emit(byte)?;
                match byte {
                    b'/' if star && depth == 1 => State::Code,
                    b'/' if star => State::BlockComment {
                        depth: depth - 1,
                        star: false,
                        slash: false,
                    },
                    b'*' if slash => State::BlockComment {
                        depth: depth + 1,
                        star: false,
                        slash: false,
                    },
                    _ => State::BlockComment {
                        depth,
                        star: byte == b'*',
                        slash: byte == b'/',
                    },
                }
            }
            State::Single { escapes, backslash } => {
                self.emit(byte)?;
                match byte {
                    _ if backslash => State::Single {
                        escapes,
                        backslash: false,
                    },
                    b'\\' if escapes => State::Single {
                        escapes,
                        backslash: true,
                    },
                    b'\'' => State::SingleQuote { escapes },
                    _ => State::Single {
                        escapes,
                        backslash: false,
                    },
                }
            }
            State::SingleQuote { escapes } => {
                if byte == b'\'' {
                    self.emit(byte)?;
                    State::Single {
                        escapes,
                        backslash: false,
                    }
                } else {
                    return self.code(byte);
                }
            }
            State::Double => {
                self.emit(byte)?;
                if byte == b'"' {
                    State::Code
                } else {
                    State::Double
                }
            }
            State::DollarTag(mut tag) => {
                if byte == b'$' {
                    self.emit(byte)?;
                    State::Dollar { tag, matched: 0 }
                } else if byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80 {
                    if tag.is_empty() && byte.is_ascii_digit() {
                        // `$1`: a parameter, not a quote.
                        return self.code(byte);
                    }
                    self.emit(byte)?;
                    tag.push(byte);
                    State::DollarTag(tag)
                } else {
                    return self.code(byte);
                }
            }
            State::Dollar { tag, matched } => {
                self.emit(byte)?;
                // The closing delimiter is `$` + tag + `$`; `matched` counts its bytes.
                let delimiter_len = tag.len() + 2;
                let expected = match matched {
                    0 => b'$',
                    m if m == delimiter_len - 1 => b'$',
                    m => tag[m - 1],
                };
                if byte == expected {
                    if matched + 1 == delimiter_len {
                        State::Code
                    } else {
                        State::Dollar {
                            tag,
                            matched: matched + 1,
                        }
                    }
                } else if byte == b'$' {
                    State::Dollar { tag, matched: 1 }
                } else {
                    State::Dollar { tag, matched: 0 }
                }
            }
        };
        Ok(())
    }

    fn between(&mut self, state: State, byte: u8) -> io::Result<()> {
        self.state = match (state, byte) {
            (State::BetweenLine, b'\n') => State::LineStart,
            (State::BetweenLine, _) => State::BetweenLine,
            (State::BetweenDash, b'-') => {
                self.out.write_all(b"-")?;
                State::BetweenLine
            }
            (State::BetweenDash, _) => {
                // A statement that starts with `-`: keep the dash as its first byte.
                self.state = State::Code;
                self.emit(b'-')?;
                return self.code(byte);
            }
            (_, b'\n') => State::LineStart,
            (_, b' ' | b'\t' | b'\r') => State::Between,
            (_, b'-') => {
                self.state = State::BetweenDash;
                return Ok(());
            }
            (State::LineStart, b'\\') => State::BetweenLine,
            _ => {
                self.previous = b' ';
                return self.code(byte);
            }
        };
        self.out.write_all(&[byte])
    }

    fn code(&mut self, byte: u8) -> io::Result<()> {
        self.emit(byte)?;
        let previous = std::mem::replace(&mut self.previous, byte);
        self.state = match byte {
            b';' => return self.end_statement(),
            b'-' => State::CodeDash,
            b'/' => State::CodeSlash,
            b'\'' => State::Single {
                escapes: matches!(previous, b'E' | b'e') && self.e_prefix(),
                backslash: false,
            },
            b'"' => State::Double,
            b'$' if !is_ident_byte(previous) => State::DollarTag(Vec::new()),
            _ => State::Code,
        };
        Ok(())
    }

    /// Whether the `E` before a quote stands alone (`E'…'`, not `somE'…'`).
    fn e_prefix(&self) -> bool {
        let bytes = if self.passing {
            &[][..]
        } else {
            &self.statement[..]
        };
        // The statement ends with `E'`: look at the byte before the E.
        bytes.len() < 3 || !is_ident_byte(bytes[bytes.len() - 3])
    }
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

fn is_copy_from_stdin(statement: &str) -> bool {
    let text = statement.trim();
    text.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("COPY "))
        && text.to_ascii_lowercase().ends_with("from stdin;")
}

impl<W: Write, F: FnMut(&str) -> bool> Write for Statements<W, F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(&byte) = rest.first() {
            if self.in_copy_data() {
                // COPY data, the bulk of a dump: passed on as a whole.
                let n = self.pass_copy_data(rest)?;
                rest = &rest[n..];
            } else {
                self.step(byte)?;
                rest = &rest[1..];
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The statements of `text`, as [`Statements`] finds them.
pub fn split(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut splitter = Statements::new(io::sink(), |s: &str| {
        found.push(s.to_string());
        false
    });
    splitter
        .write_all(text.as_bytes())
        .expect("a sink takes everything");
    drop(splitter.finish());
    found
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{Statements, split};

    fn filtered(text: &str, chunk: usize, keep: impl FnMut(&str) -> bool) -> String {
        let mut filter = Statements::new(Vec::new(), keep);
        for piece in text.as_bytes().chunks(chunk) {
            filter.write_all(piece).unwrap();
        }
        String::from_utf8(filter.finish().unwrap()).unwrap()
    }

    #[test]
    fn statements_end_only_at_a_semicolon_outside_quotes_comments_and_bodies() {
        let text = "-- Name: f; Type: FUNCTION\nSET x = 'a;b';\n\
                    CREATE FUNCTION f() RETURNS int AS $_$ SELECT 1; $_$ LANGUAGE sql;\n\
                    COMMENT ON TABLE t IS E'it''s \\'; x';\n\
                    SELECT \"a;b\" /* ; /* nested ; */ */ FROM t -- ;\n;\n\
                    SELECT $1, $$;$$;\n\\connect db\n";
        assert_eq!(
            split(text),
            [
                "SET x = 'a;b';",
                "CREATE FUNCTION f() RETURNS int AS $_$ SELECT 1; $_$ LANGUAGE sql;",
                "COMMENT ON TABLE t IS E'it''s \\'; x';",
                "SELECT \"a;b\" /* ; /* nested ; */ */ FROM t -- ;\n;",
                "SELECT $1, $$;$$;",
            ]
        );
    }

    #[test]
    fn copy_data_and_comments_pass_and_only_dropped_statements_go() {
        let text = "--\n-- Name: t; Type: TABLE; Owner: app\n--\n\n\
                    CREATE TABLE public.t (a text);\n\
                    ALTER TABLE public.t OWNER TO app;\n\
                    COPY public.t (a) FROM stdin;\nALTER TABLE x OWNER TO y;\n\\.\n\n\
                    GRANT SELECT ON TABLE public.t TO bob;\n";
        for chunk in [1, 3, 1000] {
            let out = filtered(text, chunk, |s| {
                !s.contains(" OWNER TO ") && !s.starts_with("GRANT")
            });
            assert_eq!(
                out,
                "--\n-- Name: t; Type: TABLE; Owner: app\n--\n\n\
                 CREATE TABLE public.t (a text);\n\n\
                 COPY public.t (a) FROM stdin;\nALTER TABLE x OWNER TO y;\n\\.\n\n\n",
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn copy_data_ends_at_its_terminator_wherever_the_chunks_split_it() {
        let text = "COPY t (a) FROM stdin;\nx;\n\\.x;\n\\\\.\n\\.\nDROP TABLE t;\n";
        for split in 0..=text.len() {
            let mut found = Vec::new();
            let mut splitter = Statements::new(Vec::new(), |s: &str| {
                found.push(s.to_string());
                true
            });
            splitter.write_all(&text.as_bytes()[..split]).unwrap();
            splitter.write_all(&text.as_bytes()[split..]).unwrap();
            let out = splitter.finish().unwrap();
            assert_eq!(out, text.as_bytes(), "split at {split}");
            assert_eq!(
                found,
                ["COPY t (a) FROM stdin;", "DROP TABLE t;"],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_statement_too_long_to_judge_passes_whole() {
        let long = format!(
            "INSERT INTO t VALUES ('{}');\nDROP x;\n",
            "x".repeat(70_000)
        );
        let out = filtered(&long, 4096, |_| false);
        assert_eq!(
            out,
            format!("INSERT INTO t VALUES ('{}');\n\n", "x".repeat(70_000))
        );
    }
}
