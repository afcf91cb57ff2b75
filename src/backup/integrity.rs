//! Checks shared by restore and verify: the file is present, its size and SHA-256 match the
//! catalog, its compressed stream decodes to the end, a plain dump ends with pg_dump's
//! completion line, and pg_restore reads a custom archive to its end.

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};

use anyhow::Result;

use crate::backup::{directory, folder_download};
use crate::catalog::manifest::{self, ManifestFile};
use crate::catalog::{Entry, confine};
use crate::codec::decode::{self, Scan, StreamFailure};
use crate::codec::{Chain, Identities};
use crate::config::PgPrograms;
use crate::interrupt::Interrupt;
use crate::model::naming::{Format, Kind};
use crate::model::recorded::Recorded;
use crate::pg::feed::{self, FeedFailure, Source};
use crate::pg::process::Tool;
use crate::pg::toc::PlainTables;
use crate::store::fsutil::TempFolder;
use crate::store::{Stat, Store, StoreResult};

/// The comment pg_dump writes at the very end of a complete plain dump.
pub const COMPLETION_LINE: &str = "-- PostgreSQL database dump complete";
/// The comment pg_dumpall writes at the very end of a complete dump (of the globals too).
pub const CLUSTER_COMPLETION_LINE: &str = "-- PostgreSQL database cluster dump complete";

/// The completion line a plain dump of this kind ends with.
pub fn completion_line(kind: Kind) -> &'static str {
    match kind {
        Kind::Full | Kind::Schema => COMPLETION_LINE,
        Kind::Globals => CLUSTER_COMPLETION_LINE,
    }
}

/// A backup's file in the repository, and how it is encoded.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub store: Arc<dyn Store>,
    pub name: String,
    pub format: Format,
    pub chain: Chain,
    /// The size of the decoded stream, when the catalog records it.
    pub decoded_size: Option<u64>,
    /// What decrypts an encrypted chain.
    pub identities: Identities,
    /// A directory-format backup's files with their sizes and SHA-256, as the catalog
    /// records them.
    pub manifest: Option<Vec<ManifestFile>>,
    /// Where a local copy of a directory-format backup in S3 is made (`TMPDIR` when `None`).
    pub stage_dir: Option<PathBuf>,
    /// That local copy once made ([`folder_download`]), shared by the clones of this file.
    pub staged: Arc<OnceLock<TempFolder>>,
}

impl BackupFile {
    /// The entry's file, or why it cannot be used (missing, unsafe, unknown encoding).
    pub fn locate(
        store: &Arc<dyn Store>,
        entry: &Entry,
        identities: &Identities,
    ) -> Result<BackupFile, String> {
        let name = BackupFile::present(&**store, entry)?;
        let chain = entry.chain()?;
        let format = match entry.format() {
            Recorded::Known(format) => format,
            Recorded::Other(other) => return Err(format!("unknown format {other:?}")),
        };
        let decoded_size = match chain.is_empty() {
            true => Some(entry.size),
            false => entry.raw_size,
        };
        Ok(BackupFile {
            store: Arc::clone(store),
            name: name.to_string(),
            format,
            chain,
            decoded_size,
            identities: identities.clone(),
            manifest: entry.files.clone(),
            stage_dir: None,
            staged: Arc::default(),
        })
    }

    /// The entry's object name in `store` when the object is there and safe to read, or
    /// why not (missing, unsafe, a name outside the repository).
    pub fn present<'a>(store: &dyn Store, entry: &'a Entry) -> Result<&'a str, String> {
        let name = confine::entry_name(store, entry)?;
        match store.stat(name) {
            Ok(Stat::Present { .. }) => Ok(name),
            Ok(Stat::Missing) => Err(format!("the file {} is missing", store.describe(name))),
            Ok(Stat::Unsafe(reason)) => Err(reason),
            Err(err) => Err(err.to_string()),
        }
    }

    /// The stored bytes, as a stream.
    pub fn open(&self) -> StoreResult<Box<dyn Read + Send>> {
        self.store.open(&self.name)
    }

    /// The file and how to decode it, for feeding a program.
    pub fn source(&self) -> Source<'_> {
        Source {
            store: &*self.store,
            name: &self.name,
            chain: &self.chain,
            identities: &self.identities,
        }
    }

    /// How messages name the file.
    pub fn describe(&self) -> String {
        self.store.describe(&self.name)
    }

    /// The file itself, when the repository is a local folder.
    pub fn local_path(&self) -> Option<PathBuf> {
        self.store.local_path(&self.name)
    }

    /// Decodes the file with `chain` into `sink`, as [`decode::stream`] does.
    pub fn stream(
        &self,
        chain: &Chain,
        sink: &mut dyn io::Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Scan, StreamFailure> {
        let source = self
            .open()
            .map_err(|e| StreamFailure::Read(io::Error::other(e)))?;
        decode::stream(source, chain, &self.identities, sink, progress)
    }

    /// Up to `limit` bytes from the start of the decoded stream.
    pub fn head(&self, limit: u64) -> io::Result<Vec<u8>> {
        let source = self.open().map_err(io::Error::other)?;
        decode::head(source, &self.chain, &self.identities, limit)
    }

    /// The stored size; 0 when it cannot be known.
    fn size(&self) -> u64 {
        match self.store.stat(&self.name) {
            Ok(Stat::Present { size }) => size,
            _ => 0,
        }
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
    if file.format == Format::Directory {
        return match file.local_path() {
            Some(_) => directory::check_manifest(entry, file, progress),
            None => fetch_checked(entry, file, progress).unwrap_or_else(|err| Findings {
                problems: vec![format!("{err:#}")],
                ..Findings::default()
            }),
        };
    }
    let mut findings = Findings::default();
    let size = file.size();
    if size != entry.size {
        findings.problems.push(size_problem(size, entry.size));
        return findings;
    }
    match file.stream(&Chain::NONE, &mut io::sink(), progress) {
        Ok(scan) => {
            compare_checksum(entry, &scan, &mut findings);
            findings.scan = Some(scan);
        }
        Err(StreamFailure::Read(err) | StreamFailure::Write(err)) => findings
            .problems
            .push(format!("could not read {}: {err}", file.describe())),
    }
    findings
}

/// [`check_checksum`] of a plain dump in the pass that decodes it into `sink`. The second
/// result says why it did not decode; the file is then hashed once more, so that a changed
/// file (which rarely decodes) is said to be changed.
pub fn check_checksum_decoding(
    entry: &Entry,
    file: &BackupFile,
    sink: &mut dyn io::Write,
    progress: &mut dyn FnMut(u64),
) -> (Findings, Result<(), String>) {
    let mut findings = Findings::default();
    let size = file.size();
    if size != entry.size {
        findings.problems.push(size_problem(size, entry.size));
        return (findings, Ok(()));
    }
    let failure = match file.stream(&file.chain, sink, progress) {
        Ok(scan) => {
            compare_checksum(entry, &scan, &mut findings);
            findings.scan = Some(scan);
            return (findings, Ok(()));
        }
        Err(StreamFailure::Read(err) | StreamFailure::Write(err)) => err,
    };
    match file.stream(&Chain::NONE, &mut io::sink(), &mut |_| {}) {
        Ok(raw) => compare_checksum(entry, &raw, &mut findings),
        Err(StreamFailure::Read(err) | StreamFailure::Write(err)) => findings
            .problems
            .push(format!("could not read {}: {err}", file.describe())),
    }
    let problem = format!("could not read or decode {}: {failure}", file.describe());
    (findings, Err(problem))
}

/// For an encrypted file: the identities given open it (its header and first chunk are
/// decrypted and authenticated). Nothing to check for other files.
pub fn check_decryptable(file: &BackupFile) -> Result<(), String> {
    if !file.chain.is_encrypted() {
        return Ok(());
    }
    let source = file.open().map_err(|err| err.to_string())?;
    file.chain
        .decoder(source, &file.identities)
        .and_then(|mut decoded| decoded.read(&mut [0u8; 1]))
        .map(drop)
        .map_err(|err| format!("{} does not decrypt: {err}", file.describe()))
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
    if file.chain.is_encrypted() && file.identities.is_empty() {
        let mut findings = check_checksum(entry, file, progress);
        findings.scan = None;
        findings.warnings.push(
            "encrypted with age and no identity given: checked its size and SHA-256 only \
             (give --identity FILE or --passphrase-file FILE to check the dump inside)"
                .to_string(),
        );
        return Ok(findings);
    }
    if file.format == Format::Directory {
        return check_directory(entry, file, programs, interrupt, progress);
    }
    let mut findings = Findings::default();
    let size = file.size();
    if size != entry.size {
        findings.problems.push(size_problem(size, entry.size));
    }
    let scanned = match file.format {
        Format::Directory => unreachable!("checked above"),
        Format::Plain => {
            let mut tables = PlainTables::default();
            let sink: &mut dyn io::Write = if collect_tables {
                &mut tables
            } else {
                &mut io::sink()
            };
            let scanned =
                file.stream(&file.chain, sink, progress)
                    .map_err(|failure| match failure {
                        StreamFailure::Read(err) | StreamFailure::Write(err) => {
                            decode_problem(file, err)
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
                file.source(),
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
                let raw = file.stream(&Chain::NONE, &mut io::sink(), &mut |_| {});
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
            let kind = entry.kind.known().unwrap_or_default();
            let line = completion_line(kind);
            let program = if kind.is_database() {
                "pg_dump"
            } else {
                "pg_dumpall"
            };
            if file.format == Format::Plain && !ends_with_line(&scan.tail, line) {
                findings.problems.push(format!(
                    "the dump does not end with {program}'s completion line ({line:?}): it \
                     is incomplete"
                ));
            }
            findings.scan = Some(scan);
        }
    }
    Ok(findings)
}

/// Every file against the manifest, then pg_restore reading the whole folder.
fn check_directory(
    entry: &Entry,
    file: &BackupFile,
    programs: &PgPrograms,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<Findings> {
    let mut findings = match file.local_path() {
        Some(_) => directory::check_manifest(entry, file, progress),
        None => match fetch_checked(entry, file, progress) {
            Ok(findings) => findings,
            Err(err) => {
                // No local copy (no room): every object is still checked, as it streams.
                interrupt.check()?;
                let mut streamed = directory::check_manifest(entry, file, progress);
                streamed
                    .warnings
                    .push(format!("pg_restore did not read it: {err:#}"));
                return Ok(streamed);
            }
        },
    };
    interrupt.check()?;
    if findings.is_ok() {
        let pg_restore = Tool::new(&programs.pg_restore).arg("--file=/dev/null");
        if let Err(err) = directory::pg_restore_into(file, pg_restore, &mut io::sink(), interrupt) {
            interrupt.check()?;
            findings
                .problems
                .push(format!("pg_restore cannot read the backup folder: {err:#}"));
        }
    }
    Ok(findings)
}

/// A directory-format backup in S3: the manifest against the catalog's SHA-256 of it, then
/// every file downloaded and checked into the local copy that pg_restore reads. An error
/// when that copy cannot be written (no room).
pub fn fetch_checked(
    entry: &Entry,
    file: &BackupFile,
    progress: &mut dyn FnMut(u64),
) -> Result<Findings> {
    let mut findings = Findings::default();
    if let (Some(files), Some(sha256)) = (&entry.files, &entry.sha256)
        && !sha256.eq_ignore_ascii_case(&manifest::digest(files))
    {
        findings.problems.push(
            "the manifest does not match the catalog's SHA-256 of it: the catalog entry was \
             changed"
                .to_string(),
        );
        return Ok(findings);
    }
    findings.problems = folder_download::download(file, file.stage_dir.as_deref(), progress)?;
    Ok(findings)
}

fn size_problem(actual: u64, recorded: u64) -> String {
    format!("the file has {actual} bytes, the catalog says {recorded}")
}

fn decode_problem(file: &BackupFile, err: io::Error) -> String {
    match file.chain.is_empty() {
        true => format!("could not read {}: {err}", file.describe()),
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
    ends_with_line(tail, COMPLETION_LINE)
}

/// Whether a plain dump's last lines are this completion comment (a trailing `\unrestrict`
/// line is allowed).
pub fn ends_with_line(tail: &[u8], completion: &str) -> bool {
    let text = String::from_utf8_lossy(tail);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("\\unrestrict "))
        .collect();
    lines.ends_with(&[completion, "--"])
}

#[cfg(test)]
mod tests {
    use super::{CLUSTER_COMPLETION_LINE, completion_line, ends_complete, ends_with_line};
    use crate::model::naming::Kind;

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
        let globals = "ALTER ROLE app;\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n";
        assert!(ends_with_line(globals.as_bytes(), CLUSTER_COMPLETION_LINE));
        assert!(!ends_complete(globals.as_bytes()));
        assert_eq!(completion_line(Kind::Globals), CLUSTER_COMPLETION_LINE);
    }
}
