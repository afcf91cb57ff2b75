//! Finding the end of a `COPY … FROM stdin` block of a SQL script: the line that is exactly
//! `\.`. This is the bulk of a dump, so it is searched for (SIMD, through memchr) rather
//! than stepped over a byte or a line at a time; the search carries over from one chunk to
//! the next.

use memchr::memmem;

/// The line that ends COPY data, with the newline before it.
const TERMINATOR: &[u8] = b"\n\\.\n";

/// Where a COPY block is, as the chunks of a stream come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyData {
    /// At the start of a line, with this many bytes of `\.` already seen on it (0 to 2).
    LineStart(u8),
    /// Inside a line that is not the terminator.
    InLine,
}

impl CopyData {
    /// The state right after `COPY … FROM stdin;`: what follows on that line counts as
    /// the start of a data line.
    pub const START: CopyData = CopyData::LineStart(0);

    /// How many bytes of `buf` are COPY data: `Some(n)` when the block ends with them (the
    /// terminator line included), `None` when all of `buf` is data and more follows.
    pub fn scan(&mut self, buf: &[u8]) -> Option<usize> {
        let mut at = 0;
        while let CopyData::LineStart(seen) = *self {
            let &byte = buf.get(at)?;
            at += 1;
            *self = match (seen, byte) {
                (2, b'\n') => return Some(at),
                (_, b'\n') => CopyData::LineStart(0),
                (0, b'\\') => CopyData::LineStart(1),
                (1, b'.') => CopyData::LineStart(2),
                _ => CopyData::InLine,
            };
        }
        let rest = &buf[at..];
        if let Some(found) = memmem::find(rest, TERMINATOR) {
            return Some(at + found + TERMINATOR.len());
        }
        // The terminator may begin at the end of this chunk: a newline ends the line, and
        // what follows it is the start of the next one.
        *self = match rest.iter().rposition(|b| *b == b'\n') {
            Some(newline) => match &rest[newline + 1..] {
                b"" => CopyData::LineStart(0),
                b"\\" => CopyData::LineStart(1),
                b"\\." => CopyData::LineStart(2),
                _ => CopyData::InLine,
            },
            None => CopyData::InLine,
        };
        None
    }
}

#[cfg(test)]
mod tests {
    use super::CopyData;

    /// Where the block ends when `text` comes in chunks of `chunk` bytes.
    fn end(text: &[u8], chunk: usize) -> Option<usize> {
        let mut state = CopyData::START;
        let mut offset = 0;
        for piece in text.chunks(chunk) {
            if let Some(n) = state.scan(piece) {
                return Some(offset + n);
            }
            offset += piece.len();
        }
        None
    }

    #[test]
    fn the_block_ends_after_the_line_that_is_exactly_backslash_dot() {
        let text = b"\n1\t\\.\n\\.x\n\\\\.\n \\.\n\\.\n-- after\n";
        let expected = text.len() - b"-- after\n".len();
        for chunk in 1..=text.len() {
            assert_eq!(end(text, chunk), Some(expected), "chunks of {chunk}");
        }
    }

    #[test]
    fn a_terminator_split_across_chunks_is_found() {
        let text = b"\n1\n2\n\\.\nSELECT 1;\n";
        for split in 0..=text.len() {
            let (head, tail) = text.split_at(split);
            let mut state = CopyData::START;
            let found = match state.scan(head) {
                Some(n) => Some(n),
                None => state.scan(tail).map(|n| head.len() + n),
            };
            assert_eq!(found, Some(8), "split at {split}");
        }
    }

    #[test]
    fn data_right_after_the_copy_statement_may_be_the_terminator() {
        assert_eq!(end(b"\\.\nSELECT 1;\n", 100), Some(3));
        assert_eq!(
            end(b"\n\\.", 100),
            None,
            "no newline after the terminator yet"
        );
        assert_eq!(end(b"1\n2\n", 100), None);
    }
}
