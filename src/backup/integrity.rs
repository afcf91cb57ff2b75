//! Checks shared by restore and verify: the file is present, its size and SHA-256 match the
//! catalog, its compressed stream decodes to the end, a plain dump ends with pg_dump's
//! completion line, and pg_restore reads a custom archive to its end.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Result;

use crate::catalog::Entry;
use crate::codec::Chain;
use crate::codec::decode::{self, Scan, StreamFailure};
use crate::config::PgPrograms;
use crate::interrupt::Interrupt;
use crate::model::naming::Format;
use crate::model::recorded::Recorded;
use crate::pg::feed::{self, FeedFailure};
use crate::pg::process::Tool;
use crate::pg::toc::PlainTables;
use crate::store::files::{self, FileState};

/// The comment pg_dump writes at the very end of a complete plain dump.
pub const COMPLETION_LINE: &str = "-- PostgreSQL database dump complete";

/// A backup's file inside backups/, and how it is encoded.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub path: PathBuf,
    pub format: Format,
    pub chain: Chain,
}

impl BackupFile {
    /// The entry's file, or why it cannot be used (missing, unsafe, unknown encoding).
    pub fn locate(backups_dir: &Path, entry: &Entry) -> Result<BackupFile, String> {
        match files::state_of(backups_dir, entry) {
            FileState::Present { .. } => {}
            FileState::Missing => {
                return Err(format!(
                    "the file {} is missing",
                    backups_dir.join(&entry.filename).display()
                ));
            }
            FileState::Unsafe(reason) => return Err(reason),
        }
        let chain = entry.chain()?;
        let format = match entry.format() {
            Recorded::Known(format) => format,
            Recorded::Other(other) => return Err(format!("unknown format {other:?}")),
        };
        Ok(BackupFile {
            path: backups_dir.join(&entry.filename),
            format,
            chain,
        })
    }
}

/// What the checks found. No problems means the backup is good.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    /// The pass over the file, when it got to the end.
    pub scan: Option<Scan>,
    /// Tables the dump creates (`schema name owner`), when asked for on a plain dump.
    pub tables: Option<Vec<String>>,
}

impl Findings {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Size and SHA-256 against the catalog: what restore checks when a checksum is recorded.
pub fn check_checksum(entry: &Entry, file: &BackupFile, progress: &mut dyn FnMut(u64)) -> Findings {
    let mut findings = Findings::default();
    let size = std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
    if size != entry.size {
        findings.problems.push(size_problem(size, entry.size));
        return findings;
    }
    match decode::stream_file(&file.path, &Chain::NONE, &mut io::sink(), progress) {
        Ok(scan) => {
            compare_checksum(entry, &scan, &mut findings);
            findings.scan = Some(scan);
        }
        Err(StreamFailure::Read(err) | StreamFailure::Write(err)) => findings
            .problems
            .push(format!("could not read {}: {err}", file.path.display())),
    }
    findings
}

/// Everything: size, SHA-256 (or a warning when none is recorded), decoding to the end, the
/// completion line of a plain dump, pg_restore reading a custom archive. Errors only when
/// interrupted.
pub fn check_everything(
    entry: &Entry,
    file: &BackupFile,
    programs: &PgPrograms,
    interrupt: &Interrupt,
    collect_tables: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Findings> {
    let mut findings = Findings::default();
    let size = std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
    if size != entry.size {
        findings.problems.push(size_problem(size, entry.size));
    }
    let scanned = match file.format {
        Format::Plain => {
            let mut tables = PlainTables::default();
            let sink: &mut dyn io::Write = if collect_tables {
                &mut tables
            } else {
                &mut io::sink()
            };
            let scanned =
                decode::stream_file(&file.path, &file.chain, sink, progress).map_err(|failure| {
                    match failure {
                        StreamFailure::Read(err) | StreamFailure::Write(err) => {
                            decode_problem(file, err)
                        }
                    }
                });
            if collect_tables {
                findings.tables = Some(tables.tables);
            }
            scanned
        }
        Format::Custom => {
            let pg_restore = Tool::new(&programs.pg_restore).arg("--file=/dev/null");
            let fed = feed::feed(
                &pg_restore,
                Stdio::null(),
                &file.path,
                &file.chain,
                interrupt,
                progress,
            );
            interrupt.check()?;
            fed.map(|fed| fed.scan).map_err(|failure| match failure {
                FeedFailure::Unreadable(err) => format!("{err:#}"),
                FeedFailure::Program(err) | FeedFailure::StoppedEarly(err) => {
                    format!("pg_restore cannot read the archive: {err:#}")
                }
            })
        }
    };
    interrupt.check()?;
    match scanned {
        Err(problem) => {
            // A changed file rarely decodes: say it changed, as restore does, before why
            // it does not decode.
            if size == entry.size && entry.sha256.is_some() {
                let raw =
                    decode::stream_file(&file.path, &Chain::NONE, &mut io::sink(), &mut |_| {});
                if let Ok(raw) = raw {
                    compare_checksum(entry, &raw, &mut findings);
                }
            }
            findings.problems.push(problem);
        }
        Ok(scan) => {
            compare_checksum(entry, &scan, &mut findings);
            if let Some(raw_size) = entry.raw_size.filter(|r| *r != scan.raw_size) {
                findings.problems.push(format!(
                    "the dump decodes to {} bytes, the catalog says {raw_size}",
                    scan.raw_size
                ));
            }
            if scan.trailing > 0 {
                findings.problems.push(format!(
                    "{} bytes of unexpected data follow the compressed stream",
                    scan.trailing
                ));
            }
            if file.format == Format::Plain && !ends_complete(&scan.tail) {
                findings.problems.push(format!(
                    "the dump does not end with pg_dump's completion line \
                     ({COMPLETION_LINE:?}): it is incomplete"
                ));
            }
            findings.scan = Some(scan);
        }
    }
    Ok(findings)
}

fn size_problem(actual: u64, recorded: u64) -> String {
    format!("the file has {actual} bytes, the catalog says {recorded}")
}

fn decode_problem(file: &BackupFile, err: io::Error) -> String {
    match file.chain.is_empty() {
        true => format!("could not read {}: {err}", file.path.display()),
        false => format!(
            "the {} stream does not decode to its end: {err}",
            file.chain
        ),
    }
}

fn compare_checksum(entry: &Entry, scan: &Scan, findings: &mut Findings) {
    match &entry.sha256 {
        Some(recorded) if !recorded.eq_ignore_ascii_case(&scan.sha256) => {
            findings.problems.push(format!(
                "SHA-256 mismatch: expected {recorded} (the catalog's), actual {} (the \
                 file's); the file was changed or damaged after the backup",
                scan.sha256
            ));
        }
        Some(_) => {}
        None => findings.warnings.push(
            "no checksum recorded (made before pgbackup); checked that it decodes to its end"
                .to_string(),
        ),
    }
}

/// Whether a plain dump's last lines are pg_dump's completion comment (a trailing
/// `\unrestrict` line, written by newer pg_dump versions, is allowed).
pub fn ends_complete(tail: &[u8]) -> bool {
    let text = String::from_utf8_lossy(tail);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("\\unrestrict "))
        .collect();
    lines.ends_with(&[COMPLETION_LINE, "--"])
}

#[cfg(test)]
mod tests {
    use super::ends_complete;

    #[test]
    fn completion_lines_are_recognised() {
        let old = "COMMIT;\n\n--\n-- PostgreSQL database dump complete\n--\n\n";
        assert!(ends_complete(old.as_bytes()));
        let new = "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n";
        assert!(ends_complete(new.as_bytes()));
        let appended = "-- PostgreSQL database dump complete\n--\n\nSELECT 1/0;\n";
        assert!(!ends_complete(appended.as_bytes()));
        assert!(!ends_complete(
            b"COPY public.items (id) FROM stdin;\n1\n2\n"
        ));
    }
}
