//! The one read of a plain backup before a restore touches anything: the stored bytes are
//! checked against the catalog (size, SHA-256) while they are decoded, and the decoded
//! script is scanned for the roles it names and, for `restore --jobs`, planned, all in the
//! same pass.

use std::io::{self, Write};
use std::sync::Arc;

use crate::backup::integrity::{self, BackupFile, Findings};
use crate::backup::restore::plain_jobs::{self, Prepared};
use crate::backup::restore::roles::{self, Needed};
use crate::catalog::Entry;
use crate::pg::plain_plan::Planner;
use crate::pg::statements::Statements;

/// What the pass found.
#[derive(Debug)]
pub struct Read {
    /// Size and checksum: problems here mean the file is not the one the catalog describes.
    pub findings: Findings,
    /// The roles the statements name, or why the script could not be decoded.
    pub roles: Result<Needed, String>,
    /// The plan of a parallel load, when one was asked for and the file decoded.
    pub plan: Option<Arc<Prepared>>,
}

/// Reads `file` once; with `plan`, plans its parallel load too.
pub fn read(entry: &Entry, file: &BackupFile, plan: bool, progress: &mut dyn FnMut(u64)) -> Read {
    let mut needed = Needed::new();
    let mut note = |statement: &str| {
        roles::note_statement(&mut needed, statement);
        false
    };
    let mut tee = Tee {
        roles: Statements::new(io::sink(), &mut note),
        planner: plan.then(Planner::default),
    };
    let (findings, decoded) = integrity::check_checksum_decoding(entry, file, &mut tee, progress);
    let Tee { roles, planner } = tee;
    let decoded = decoded.and_then(|()| {
        roles
            .finish()
            .map(drop)
            .map_err(|e| format!("could not scan {}: {e}", file.describe()))
    });
    let plan = match (&decoded, planner) {
        (Ok(()), Some(planner)) => Some(Arc::new(plain_jobs::planned(planner))),
        _ => None,
    };
    Read {
        findings,
        roles: decoded.map(|()| needed),
        plan,
    }
}

/// The decoded script, to the role scanner and the planner.
struct Tee<'a> {
    roles: Statements<io::Sink, &'a mut dyn FnMut(&str) -> bool>,
    planner: Option<Planner>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.roles.write_all(buf)?;
        if let Some(planner) = &mut self.planner {
            planner.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
