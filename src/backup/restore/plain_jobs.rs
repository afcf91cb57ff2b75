//! `restore --jobs N` of a plain backup: the script is planned in one pass (the one that
//! checks the file before a restore, or one of its own), then loaded in four phases, each
//! waiting for all its sessions: pre-data on one session; the table data over N (largest
//! tables first, large objects and sequence values each kept on one); indexes and
//! constraints over N, a table's on one; the rest on one, in dump order. Every session is a
//! psql fed only its entries, after the script's header and the settings each entry ran
//! under: those the plan kept in memory (the header, the schema, small tables: see
//! [`crate::pg::plain_kept`]) from there, the others from its own decoding of the file,
//! which stops after its last range. So memory stays flat, no session waits on another,
//! and only the sessions that load large tables decode the file. At the end the stored
//! file is hashed once more: the sessions read it again without hashing it.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, Write};
use std::ops::Range;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};

use crate::backup::integrity::BackupFile;
use crate::codec::Chain;
use crate::codec::decode::StreamFailure;
use crate::interrupt::Interrupt;
use crate::pg::dump::enlarge_pipe;
use crate::pg::plain_plan::{self, PlainPlan, Planner, SessionState, TocEntry};
use crate::pg::process::Tool;

const CHUNK: usize = 256 * 1024;

/// What a session is fed: literal SQL, or a range of the decoded script.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Sql(String),
    Bytes(Range<u64>),
}

/// One psql of a phase.
#[derive(Debug, Clone, PartialEq)]
struct Session {
    pieces: Vec<Piece>,
    /// The entries it loads, for messages.
    names: Vec<String>,
}

/// A plan, or why the script cannot be loaded in parallel.
pub type Prepared = Result<PlainPlan, String>;

/// The plan of what `planner` read.
pub fn planned(planner: Planner) -> Prepared {
    planner.finish().map(plain_plan::with_tables)
}

/// Reads the backup once to plan it; `Ok(None)` with the reason logged when the script
/// holds something the plan does not understand (the caller loads it sequentially).
pub fn plan(
    file: &BackupFile,
    expected_sha256: Option<&str>,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<PlainPlan>> {
    let mut planner = Planner::default();
    let scan =
        file.stream(&file.chain, &mut planner, progress)
            .map_err(|failure| match failure {
                StreamFailure::Read(e) | StreamFailure::Write(e) => {
                    anyhow!("could not read or decode {}: {e}", file.describe())
                }
            })?;
    super::unchanged(&scan.sha256, expected_sha256)?;
    let prepared = planned(planner);
    if usable(&prepared).is_none() {
        return Ok(None);
    }
    Ok(prepared.ok())
}

/// The plan, or `None` with the reason logged (the caller loads the backup sequentially).
pub fn usable(prepared: &Prepared) -> Option<&PlainPlan> {
    prepared
        .as_ref()
        .inspect_err(|reason| tracing::info!("loading the backup with one session: {reason}"))
        .ok()
}

/// Loads `plan` with `psql` sessions, `jobs` at a time; then checks that the file is still
/// the one planned (the sessions read it again, and do not hash it).
pub fn load(
    psql: &Tool,
    file: &BackupFile,
    plan: &PlainPlan,
    jobs: u32,
    expected_sha256: Option<&str>,
    interrupt: &Interrupt,
) -> Result<()> {
    let jobs = jobs.max(1) as usize;
    let entries = &plan.entries;
    let pre = Session {
        pieces: vec![Piece::Bytes(plan.pre_data())],
        names: vec!["the schema before the data".to_string()],
    };
    run_phase("pre-data", psql, (file, plan), vec![pre], interrupt)?;

    let data_sizes = table_sizes(&entries[plan.data.clone()]);
    let data = plan.data.clone().collect::<Vec<_>>();
    let groups = group(&data, entries, |e| match e.kind.as_str() {
        "TABLE DATA" => (e.table.clone().unwrap_or_else(|| e.name.clone()), 0),
        "SEQUENCE SET" => ("sequence values".to_string(), 0),
        _ => ("large objects".to_string(), 0),
    });
    run_phase(
        "data",
        psql,
        (file, plan),
        sessions(plan, groups, jobs),
        interrupt,
    )?;

    let (indexes, rest): (Vec<usize>, Vec<usize>) = plan
        .post_data()
        .partition(|&i| plain_plan::is_index_or_constraint(&entries[i].kind));
    let groups = group(&indexes, entries, |e| {
        let table = e.table.clone().unwrap_or_else(|| e.name.clone());
        let size = data_sizes.get(&table).copied().unwrap_or(0);
        (table, size)
    });
    run_phase(
        "indexes and constraints",
        psql,
        (file, plan),
        sessions(plan, groups, jobs),
        interrupt,
    )?;
    let rest = sessions(plan, vec![(0, rest)], 1);
    run_phase("post-data", psql, (file, plan), rest, interrupt)?;
    check_unchanged(file, expected_sha256)
}

/// The stored bytes of `file` still have the SHA-256 the catalog recorded.
fn check_unchanged(file: &BackupFile, expected_sha256: Option<&str>) -> Result<()> {
    if expected_sha256.is_none() {
        return Ok(());
    }
    let scan = file
        .stream(&Chain::NONE, &mut io::sink(), &mut |_| {})
        .map_err(|failure| match failure {
            StreamFailure::Read(e) | StreamFailure::Write(e) => {
                anyhow!("could not read {}: {e}", file.describe())
            }
        })?;
    super::unchanged(&scan.sha256, expected_sha256)
}

fn table_sizes(data: &[TocEntry]) -> BTreeMap<String, u64> {
    let mut sizes = BTreeMap::new();
    for entry in data {
        if let Some(table) = &entry.table {
            *sizes.entry(table.clone()).or_default() += entry.range.end - entry.range.start;
        }
    }
    sizes
}

/// The entries of `indices` by the key `of` gives, with their weight (their bytes plus the
/// key's extra weight), in dump order within a group.
fn group(
    indices: &[usize],
    entries: &[TocEntry],
    of: impl Fn(&TocEntry) -> (String, u64),
) -> Vec<(u64, Vec<usize>)> {
    let mut groups: BTreeMap<String, (u64, Vec<usize>)> = BTreeMap::new();
    for &i in indices {
        let (key, extra) = of(&entries[i]);
        let slot = groups.entry(key).or_insert((extra, Vec::new()));
        slot.0 += entries[i].range.end - entries[i].range.start;
        slot.1.push(i);
    }
    groups.into_values().collect()
}

/// Spreads the groups over at most `jobs` sessions, heaviest first onto the lightest
/// session; each session loads its entries in dump order.
fn sessions(plan: &PlainPlan, mut groups: Vec<(u64, Vec<usize>)>, jobs: usize) -> Vec<Session> {
    groups.sort_by_key(|g| std::cmp::Reverse(g.0));
    let mut loads: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); jobs];
    for (weight, indices) in groups {
        let lightest = loads
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("at least one session");
        lightest.0 += weight;
        lightest.1.extend(indices);
    }
    loads
        .into_iter()
        .filter(|(_, indices)| !indices.is_empty())
        .map(|(_, mut indices)| {
            indices.sort_unstable();
            session(plan, &indices)
        })
        .collect()
}

/// The header, then each entry after the settings it ran under.
fn session(plan: &PlainPlan, indices: &[usize]) -> Session {
    let mut pieces = vec![Piece::Bytes(plan.preamble())];
    let mut state = SessionState::default();
    let mut names = Vec::new();
    for &i in indices {
        let entry = &plan.entries[i];
        let change = state.change_to(&entry.state);
        if !change.is_empty() {
            pieces.push(Piece::Sql(change));
        }
        match pieces.last_mut() {
            Some(Piece::Bytes(last)) if last.end == entry.range.start => {
                last.end = entry.range.end;
            }
            _ => pieces.push(Piece::Bytes(entry.range.clone())),
        }
        state = entry.state_after.clone();
        names.push(format!("{} {}", entry.kind, entry.name));
    }
    Session { pieces, names }
}

/// Runs the sessions of one phase at once; the first failure stops the others.
fn run_phase(
    phase: &str,
    psql: &Tool,
    script: (&BackupFile, &PlainPlan),
    sessions: Vec<Session>,
    interrupt: &Interrupt,
) -> Result<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    tracing::info!("loading the {phase} over {} session(s)", sessions.len());
    let stop = AtomicBool::new(false);
    let first = Mutex::new(None::<usize>);
    let running = Mutex::new(Vec::<u32>::new());
    let count = sessions.len();
    let outcomes: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(n, session)| {
                let (stop, running, first) = (&stop, &running, &first);
                scope.spawn(move || {
                    let outcome = feed(psql, script, session, stop, running, interrupt);
                    if outcome.is_err() && !stop.swap(true, Ordering::SeqCst) {
                        *first.lock().expect("not poisoned") = Some(n);
                        for pid in running.lock().expect("not poisoned").iter() {
                            // SAFETY: kill(2) of a psql this phase started and has not reaped.
                            unsafe { libc::kill(*pid as libc::pid_t, libc::SIGTERM) };
                        }
                    }
                    outcome
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a session does not panic"))
            .collect()
    });
    interrupt.check()?;
    let Some(n) = *first.lock().expect("not poisoned") else {
        return Ok(());
    };
    let mut outcomes = outcomes;
    let err = outcomes
        .swap_remove(n)
        .expect_err("the first failure failed");
    let names = &sessions[n].names;
    let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
    let more = match names.len() - shown.len() {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    Err(err.context(format!(
        "could not load the {phase} (session {} of {count}: {}{more})",
        n + 1,
        shown.join(", ")
    )))
}

fn feed(
    psql: &Tool,
    (file, plan): (&BackupFile, &PlainPlan),
    session: &Session,
    stop: &AtomicBool,
    running: &Mutex<Vec<u32>>,
    interrupt: &Interrupt,
) -> Result<()> {
    let mut child = psql.spawn_writer(Stdio::null())?;
    let pid = child.pid();
    running.lock().expect("not poisoned").push(pid);
    let mut stdin = child.take_stdin();
    enlarge_pipe(&stdin);
    let halted = || stop.load(Ordering::SeqCst) || interrupt.check().is_err();
    let written = copy_pieces(file, plan, &session.pieces, &mut stdin, &halted);
    drop(stdin);
    let finished = match written {
        Err(Halt::Stopped) => {
            child.abort();
            Err(anyhow!("stopped after another session failed"))
        }
        Err(Halt::Read(err)) => {
            child.abort();
            Err(err)
        }
        Err(Halt::Write(err)) => match child.finish() {
            Err(failed) => Err(failed),
            Ok(_) => Err(anyhow::Error::new(err).context("psql stopped reading its input")),
        },
        Ok(()) => child.finish().map(|warnings| {
            for line in warnings.lines().filter(|l| !l.trim().is_empty()) {
                tracing::warn!("psql: {line}");
            }
        }),
    };
    running.lock().expect("not poisoned").retain(|p| *p != pid);
    finished
}

enum Halt {
    Stopped,
    Read(anyhow::Error),
    Write(io::Error),
}

/// Writes `pieces` to `out`: the kept ones from memory, the others from the file, decoded
/// (or, stored as it is in a local folder, read where they are); stops reading after the
/// last range.
fn copy_pieces(
    file: &BackupFile,
    plan: &PlainPlan,
    pieces: &[Piece],
    out: &mut dyn Write,
    halted: &dyn Fn() -> bool,
) -> Result<(), Halt> {
    let mut out = io::BufWriter::with_capacity(CHUNK, out);
    let mut script = None::<Script>;
    for piece in pieces {
        let range = match piece {
            Piece::Sql(sql) => {
                out.write_all(sql.as_bytes()).map_err(Halt::Write)?;
                continue;
            }
            Piece::Bytes(range) => range,
        };
        if let Some(parts) = plan.kept(range) {
            for part in parts {
                out.write_all(part).map_err(Halt::Write)?;
            }
            continue;
        }
        let script = match &mut script {
            Some(script) => script,
            None => script.insert(Script::open(file)?),
        };
        script.copy(range, &mut out, halted)?;
    }
    out.flush().map_err(Halt::Write)
}

/// The decoded script, read forward.
struct Script<'a> {
    file: &'a BackupFile,
    input: Input,
    buf: Vec<u8>,
    at: usize,
    filled: usize,
    /// Where `buf[at]` is in the script.
    position: u64,
}

enum Input {
    /// Stored as it is, in a local folder: what is not needed is skipped by seeking.
    Local(std::fs::File),
    Decoded(Box<dyn Read>),
}

impl<'a> Script<'a> {
    fn open(file: &'a BackupFile) -> Result<Script<'a>, Halt> {
        let local = match file.chain.is_empty() {
            true => file.local_path().and_then(|p| std::fs::File::open(p).ok()),
            false => None,
        };
        let input = match local {
            Some(local) => Input::Local(local),
            None => {
                let source = file
                    .open()
                    .map_err(|e| unreadable(file, io::Error::other(e)))?;
                let decoded = file
                    .chain
                    .decoder(source, &file.identities)
                    .map_err(|e| unreadable(file, e))?;
                Input::Decoded(decoded)
            }
        };
        Ok(Script {
            file,
            input,
            buf: vec![0u8; CHUNK],
            at: 0,
            filled: 0,
            position: 0,
        })
    }

    /// Writes `range` to `out`; it starts at or after what was read so far.
    fn copy(
        &mut self,
        range: &Range<u64>,
        out: &mut dyn Write,
        halted: &dyn Fn() -> bool,
    ) -> Result<(), Halt> {
        let buffered_end = self.position + (self.filled - self.at) as u64;
        if let Input::Local(local) = &mut self.input
            && range.start > buffered_end
        {
            local
                .seek(io::SeekFrom::Start(range.start))
                .map_err(|e| unreadable(self.file, e))?;
            (self.at, self.filled, self.position) = (0, 0, range.start);
        }
        while self.position < range.end {
            if self.at == self.filled {
                if halted() {
                    return Err(Halt::Stopped);
                }
                self.fill()?;
            }
            let available = (self.filled - self.at) as u64;
            if self.position < range.start {
                let skip = available.min(range.start - self.position);
                self.at += skip as usize;
                self.position += skip;
                continue;
            }
            let take = available.min(range.end - self.position) as usize;
            out.write_all(&self.buf[self.at..self.at + take])
                .map_err(Halt::Write)?;
            self.at += take;
            self.position += take as u64;
        }
        Ok(())
    }

    fn fill(&mut self) -> Result<(), Halt> {
        let n = loop {
            let read = match &mut self.input {
                Input::Local(local) => local.read(&mut self.buf),
                Input::Decoded(decoded) => decoded.read(&mut self.buf),
            };
            match read {
                Ok(0) => {
                    let short = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than when it was planned",
                    );
                    return Err(unreadable(self.file, short));
                }
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unreadable(self.file, e)),
            }
        };
        (self.at, self.filled) = (0, n);
        Ok(())
    }
}

fn unreadable(file: &BackupFile, e: io::Error) -> Halt {
    Halt::Read(
        anyhow::Error::new(e).context(format!("could not read or decode {}", file.describe())),
    )
}

#[cfg(test)]
#[path = "plain_jobs_tests.rs"]
mod tests;
