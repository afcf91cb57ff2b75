//! Streaming a backup file, decoded, into a program's stdin (psql, pg_restore), and telling
//! apart a backup that cannot be read from a program that failed.

use std::io::{self, Read};
use std::process::Stdio;

use anyhow::{Context, Result};

use crate::codec::decode::{self, Scan, StreamFailure};
use crate::codec::{Chain, Identities};
use crate::interrupt::Interrupt;
use crate::pg::dump::enlarge_pipe;
use crate::pg::process::Tool;
use crate::pg::statements::Statements;
use crate::store::Store;

/// A program that read the whole backup and exited 0.
#[derive(Debug)]
pub struct Fed {
    pub scan: Scan,
    /// What the program printed on stderr although it succeeded.
    pub warnings: String,
}

/// Why feeding failed.
#[derive(Debug)]
pub enum FeedFailure {
    /// The backup file could not be read or decoded; the program was stopped.
    Unreadable(anyhow::Error),
    /// The program failed: its exit code and stderr (or a signal stopped it).
    Program(anyhow::Error),
    /// The program exited 0 without reading its input to the end.
    StoppedEarly(anyhow::Error),
}

impl FeedFailure {
    pub fn into_error(self) -> anyhow::Error {
        match self {
            FeedFailure::Unreadable(err)
            | FeedFailure::Program(err)
            | FeedFailure::StoppedEarly(err) => err,
        }
    }
}

/// A stored object and how to decode it.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub store: &'a dyn Store,
    pub name: &'a str,
    pub chain: &'a Chain,
    /// What decrypts an encrypted chain.
    pub identities: &'a Identities,
}

/// Runs `tool` with the decoded content of `source` on its stdin and its stdout sent to
/// `stdout`. A signal stops the program.
pub fn feed(
    tool: &Tool,
    stdout: Stdio,
    source: Source<'_>,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<Fed, FeedFailure> {
    feed_filtered(tool, stdout, source, None, interrupt, progress)
}

/// [`feed`] of a SQL script, with only the statements `keep` says yes to (see
/// [`Statements`]); the SHA-256 is still that of the whole file.
pub fn feed_filtered(
    tool: &Tool,
    stdout: Stdio,
    source: Source<'_>,
    keep: Option<&mut dyn FnMut(&str) -> bool>,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<Fed, FeedFailure> {
    let mut child = tool.spawn_writer(stdout).map_err(FeedFailure::Program)?;
    let guard = interrupt.watch_child(child.pid());
    let mut stdin = child.take_stdin();
    enlarge_pipe(&stdin);
    let Source {
        store,
        name,
        chain,
        identities,
    } = source;
    let streamed = store
        .open(name)
        .map_err(|e| StreamFailure::Read(io::Error::other(e)))
        .and_then(|read| match keep {
            None => decode::stream(read, chain, identities, &mut stdin, progress),
            Some(keep) => {
                let mut filter = Statements::new(&mut stdin, keep);
                let scan = decode::stream(read, chain, identities, &mut filter, progress)?;
                filter.finish().map_err(StreamFailure::Write)?;
                Ok(scan)
            }
        });
    drop(stdin);
    let outcome = match streamed {
        Err(StreamFailure::Read(err)) => {
            child.abort();
            Err(FeedFailure::Unreadable(anyhow::Error::new(err).context(
                format!("could not read or decode {}", store.describe(name)),
            )))
        }
        Err(StreamFailure::Write(err)) => match child.finish() {
            Err(failed) => Err(FeedFailure::Program(failed)),
            Ok(_) => Err(FeedFailure::StoppedEarly(anyhow::Error::new(err).context(
                format!("{} stopped reading its input before the end", tool.name()),
            ))),
        },
        Ok(scan) => child
            .finish()
            .map(|warnings| Fed { scan, warnings })
            .map_err(FeedFailure::Program),
    };
    drop(guard);
    if let Err(signal) = interrupt.check() {
        return Err(FeedFailure::Program(signal));
    }
    outcome
}

/// Runs `tool` with the decoded content of `source` on its stdin and returns its stdout;
/// the program may stop reading early (as `pg_restore --list` does after the table of
/// contents).
pub fn capture(tool: &Tool, source: Source<'_>, interrupt: &Interrupt) -> Result<String> {
    let (mut reader, writer) = std::io::pipe().context("could not create a pipe")?;
    let collector = std::thread::spawn(move || {
        let mut output = String::new();
        reader.read_to_string(&mut output).map(|_| output)
    });
    let fed = feed(tool, Stdio::from(writer), source, interrupt, &mut |_| {});
    let output = collector
        .join()
        .expect("the output reader does not panic")
        .with_context(|| format!("could not read the output of {}", tool.name()))?;
    match fed {
        Ok(_) | Err(FeedFailure::StoppedEarly(_)) => Ok(output),
        Err(failure) => Err(failure.into_error()),
    }
}
