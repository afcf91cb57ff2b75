//! `restore --jobs N` of a plain backup: the script is planned in one pass (its SHA-256
//! checked on the way), then loaded in four phases, each waiting for all its sessions:
//! pre-data on one session; the table data over N (largest tables first, large objects
//! and sequence values each kept on one); indexes and constraints over N, a table's on
//! one; the rest on one, in dump order. Every session is a psql fed from its own decoding
//! of the file that passes on only its entries (after the script's header and the
//! settings each entry ran under), so memory stays flat and no session waits on another.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};

use crate::backup::integrity::BackupFile;
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
    match planner.finish() {
        Ok(plan) => Ok(Some(plain_plan::with_tables(plan))),
        Err(reason) => {
            tracing::info!("loading the backup with one session: {reason}");
            Ok(None)
        }
    }
}

/// Loads `plan` with `psql` sessions, `jobs` at a time.
pub fn load(
    psql: &Tool,
    file: &BackupFile,
    plan: &PlainPlan,
    jobs: u32,
    interrupt: &Interrupt,
) -> Result<()> {
    let jobs = jobs.max(1) as usize;
    let entries = &plan.entries;
    let pre = Session {
        pieces: vec![Piece::Bytes(plan.pre_data())],
        names: vec!["the schema before the data".to_string()],
    };
    run_phase("pre-data", psql, file, vec![pre], interrupt)?;

    let data_sizes = table_sizes(&entries[plan.data.clone()]);
    let data = plan.data.clone().collect::<Vec<_>>();
    let groups = group(&data, entries, |e| match e.kind.as_str() {
        "TABLE DATA" => (e.table.clone().unwrap_or_else(|| e.name.clone()), 0),
        "SEQUENCE SET" => ("sequence values".to_string(), 0),
        _ => ("large objects".to_string(), 0),
    });
    run_phase("data", psql, file, sessions(plan, groups, jobs), interrupt)?;

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
        file,
        sessions(plan, groups, jobs),
        interrupt,
    )?;
    let rest = sessions(plan, vec![(0, rest)], 1);
    run_phase("post-data", psql, file, rest, interrupt)
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
    file: &BackupFile,
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
                    let outcome = feed(psql, file, session, stop, running, interrupt);
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
    file: &BackupFile,
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
    let written = copy_pieces(file, &session.pieces, &mut stdin, &halted);
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

/// Decodes the file and writes `pieces` to `out`; stops reading after the last range.
fn copy_pieces(
    file: &BackupFile,
    pieces: &[Piece],
    out: &mut dyn Write,
    halted: &dyn Fn() -> bool,
) -> Result<(), Halt> {
    let unreadable = |e: io::Error| {
        Halt::Read(
            anyhow::Error::new(e).context(format!("could not read or decode {}", file.describe())),
        )
    };
    let source = file.open().map_err(|e| unreadable(io::Error::other(e)))?;
    let mut decoded = file
        .chain
        .decoder(source, &file.identities)
        .map_err(unreadable)?;
    let mut buf = vec![0u8; CHUNK];
    let (mut at, mut filled, mut offset) = (0usize, 0usize, 0u64);
    let mut out = io::BufWriter::with_capacity(CHUNK, out);
    for piece in pieces {
        let range = match piece {
            Piece::Sql(sql) => {
                out.write_all(sql.as_bytes()).map_err(Halt::Write)?;
                continue;
            }
            Piece::Bytes(range) => range,
        };
        while offset < range.end {
            if at == filled {
                if halted() {
                    return Err(Halt::Stopped);
                }
                filled = loop {
                    match decoded.read(&mut buf) {
                        Ok(0) => {
                            return Err(unreadable(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the file is shorter than when it was planned",
                            )));
                        }
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(unreadable(e)),
                    }
                };
                at = 0;
            }
            let available = (filled - at) as u64;
            if offset < range.start {
                let skip = available.min(range.start - offset);
                at += skip as usize;
                offset += skip;
                continue;
            }
            let take = available.min(range.end - offset) as usize;
            out.write_all(&buf[at..at + take]).map_err(Halt::Write)?;
            at += take;
            offset += take as u64;
        }
    }
    out.flush().map_err(Halt::Write)
}

#[cfg(test)]
#[path = "plain_jobs_tests.rs"]
mod tests;
