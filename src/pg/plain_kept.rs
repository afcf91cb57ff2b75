//! The bytes of a plain script's small entries (its header, the schema before and after the
//! data, small tables), kept in memory while the script is planned, so that the sessions of
//! a parallel restore do not decode the whole file again only to reach a few statements
//! near its end. What is kept is bounded; when there is more, the earliest entries are
//! let go first (reaching them again costs the least decoding).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use crate::pg::plain_plan::TocEntry;

/// All the entries kept, together.
const KEPT_AT_MOST: usize = 16 * 1024 * 1024;
/// One entry kept.
const ENTRY_AT_MOST: usize = 4 * 1024 * 1024;
/// A line kept while no entry is: the `--` before an entry's header, and the header.
const LINE_AT_MOST: usize = 64 * 1024;

/// The kept bytes: the header and some entries, by index.
#[derive(Default, Clone)]
pub struct Kept {
    preamble: Option<Vec<u8>>,
    entries: BTreeMap<usize, Vec<u8>>,
    total: usize,
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kept")
            .field("preamble", &self.preamble.as_ref().map(Vec::len))
            .field("entries", &self.entries.len())
            .field("bytes", &self.total)
            .finish()
    }
}

impl Kept {
    /// The bytes of `range` of the script (the header, entries, or both, from one entry's
    /// start to another's end), when all of them are kept.
    pub fn slices<'a>(&'a self, range: &Range<u64>, entries: &[TocEntry]) -> Option<Vec<&'a [u8]>> {
        let mut parts = Vec::new();
        let mut at = range.start;
        if at == 0 && range.end > 0 {
            let preamble = self.preamble.as_deref()?;
            parts.push(preamble);
            at = preamble.len() as u64;
        }
        while at < range.end {
            let i = entries.partition_point(|e| e.range.start < at);
            let entry = entries.get(i).filter(|e| e.range.start == at)?;
            parts.push(self.entries.get(&i)?.as_slice());
            at = entry.range.end;
        }
        (at == range.end).then_some(parts)
    }

    fn keep(&mut self, index: Option<usize>, bytes: Vec<u8>) {
        match index {
            None => self.preamble = Some(bytes),
            Some(_) if bytes.len() > ENTRY_AT_MOST => {}
            Some(i) => {
                self.total += bytes.len();
                self.entries.insert(i, bytes);
                while self.total > KEPT_AT_MOST {
                    let (_, earliest) = self.entries.pop_first().expect("more than nothing");
                    self.total -= earliest.len();
                }
            }
        }
    }
}

/// Collects [`Kept`] from the bytes of a script as it is planned: told every byte, where
/// each line ends and where each entry starts.
#[derive(Debug, Default)]
pub struct Keeper {
    kept: Kept,
    /// The entry being read (`None`: the header before the first).
    index: Option<usize>,
    /// Bytes of the script from `start` on.
    current: Vec<u8>,
    start: u64,
    /// `current` holds the whole entry so far; else only the last line or two.
    partial: bool,
    /// A line was too long to keep: `current` is not from `start` on.
    broken: bool,
}

impl Keeper {
    pub fn data(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        let limit = match self.partial {
            false => ENTRY_AT_MOST + LINE_AT_MOST,
            true => LINE_AT_MOST,
        };
        if self.current.len() + bytes.len() > limit {
            self.partial = true;
            self.broken = true;
            self.current = Vec::new();
            return;
        }
        self.current.extend_from_slice(bytes);
    }

    /// A line ended at `offset`; `dashes` is where the `--` line that may open the next
    /// entry starts, when that is the line just read or the one before.
    pub fn line_end(&mut self, offset: u64, dashes: Option<u64>) {
        if !self.partial && self.current.len() <= ENTRY_AT_MOST {
            return;
        }
        self.partial = true;
        match dashes {
            Some(at) if !self.broken && at >= self.start => {
                self.current.drain(..(at - self.start) as usize);
                self.start = at;
            }
            _ => {
                self.current.clear();
                self.start = offset;
                self.broken = false;
            }
        }
    }

    /// Entry `index` starts at `at` (its `--` line), which ends the one before.
    pub fn entry(&mut self, index: usize, at: u64) {
        let from = at.checked_sub(self.start).map(|n| n as usize);
        let whole = match from {
            Some(n) if !self.broken && n <= self.current.len() => {
                let rest = self.current.split_off(n);
                let before = std::mem::replace(&mut self.current, rest);
                if !self.partial {
                    self.kept.keep(self.index, before);
                }
                true
            }
            _ => false,
        };
        self.index = Some(index);
        self.start = at;
        self.partial = !whole;
        self.broken = !whole;
        if !whole {
            self.current = Vec::new();
        }
    }

    /// What was kept, once the script ended.
    pub fn finish(mut self) -> Kept {
        if !self.partial && !self.broken {
            let last = std::mem::take(&mut self.current);
            self.kept.keep(self.index, last);
        }
        self.kept
    }
}
