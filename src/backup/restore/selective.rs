//! Restoring only some tables or schemas of a custom archive: the selection resolved from
//! the archive's table of contents is checked against the target database, then pg_restore's
//! script for it runs in psql in one transaction that commits only when pg_restore succeeded
//! and the whole file read back with the checksum the catalog recorded.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::thread;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::backup::integrity::BackupFile;
use crate::backup::restore::selection::{Needed, Qualified, TocSelection};
use crate::codec::decode::StreamFailure;
use crate::config::PgPrograms;
use crate::exit;
use crate::interrupt::Interrupt;
use crate::pg::dump::enlarge_pipe;
use crate::pg::feed;
use crate::pg::listing::{self, TocEntry};
use crate::pg::process::Tool;
use crate::pg::server::Server;
use crate::pg::sql::{ident, literal};
use crate::store::fsutil;

/// The archive's table of contents, with each entry's dependencies.
pub fn read_toc(
    programs: &PgPrograms,
    file: &BackupFile,
    interrupt: &Interrupt,
) -> Result<Vec<TocEntry>> {
    let pg_restore = Tool::new(&programs.pg_restore).args(["--list", "--verbose"]);
    let listing = feed::capture(&pg_restore, file.source(), interrupt).with_context(|| {
        format!(
            "could not read the table of contents of {}",
            file.describe()
        )
    })?;
    Ok(listing::parse_listing(&listing))
}

/// What the target database has that the selection depends on.
#[derive(Debug, Default, Deserialize)]
pub struct Target {
    schemas: BTreeSet<String>,
    publications: BTreeSet<String>,
    /// The tables the target has among the parents of partitions restored alone and the
    /// tables that foreign keys of the selection reference.
    relations: Vec<(String, String)>,
    /// Objects outside the selection that the replaced tables cannot be dropped without.
    blockers: Vec<String>,
    /// `ALTER PUBLICATION ... ADD TABLE` for the replaced tables' current memberships.
    memberships: Vec<String>,
}

/// Reads what the selection needs to know about `database`, and refuses (exit 2) when the
/// restore would break or drop objects outside the selection.
pub fn check(server: &Server, database: &str, chosen: &TocSelection) -> Result<Target> {
    let needed: Vec<Qualified> = chosen
        .attached
        .iter()
        .map(|(_, parent)| parent.clone())
        .chain(
            chosen
                .references
                .iter()
                .map(|(_, _, referenced)| referenced.clone()),
        )
        .collect();
    let sql = survey_sql(&chosen.dropped, &needed, server.version_num);
    let value = server.query_json_in(database, &sql)?;
    let target: Target = serde_json::from_value(value)
        .with_context(|| format!("unexpected answer about database {database:?}"))?;
    if !target.blockers.is_empty() {
        return Err(exit::usage(format!(
            "refusing to replace {} in {database:?}: dropping it would break what depends on \
             it ({}); restore the tables among them with it (--table), or remove the dependency \
             first. Nothing was changed",
            names(&chosen.dropped),
            target.blockers.join(", ")
        )));
    }
    for (partition, parent) in &chosen.attached {
        if !target.has(parent) {
            return Err(exit::usage(format!(
                "partition {partition} belongs to {parent} in the backup, and {database:?} has \
                 no table {parent}: restore it with its parent (--table {parent})"
            )));
        }
    }
    for (table, constraint, referenced) in &chosen.references {
        if !target.has(referenced) {
            return Err(exit::usage(format!(
                "{table} has a foreign key {constraint:?} to {referenced}, which {database:?} \
                 does not have: restore {referenced} with it (--table {referenced})"
            )));
        }
    }
    Ok(target)
}

impl Target {
    fn has(&self, table: &Qualified) -> bool {
        self.relations
            .iter()
            .any(|(schema, name)| *schema == table.schema && *name == table.name)
    }
}

fn names(tables: &[Qualified]) -> String {
    let names: Vec<String> = tables.iter().map(|t| format!("table {t}")).collect();
    names.join(", ")
}

fn text_array(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.map(|i| literal(&i)).collect();
    format!("ARRAY[{}]::text[]", items.join(", "))
}

fn matching(tables: &[Qualified], relkinds: &str) -> String {
    format!(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = \
         c.relnamespace JOIN unnest({}, {}) AS s(nsp, rel) ON n.nspname = s.nsp AND \
         c.relname = s.rel WHERE c.relkind IN ({relkinds})",
        text_array(tables.iter().map(|t| t.schema.clone())),
        text_array(tables.iter().map(|t| t.name.clone())),
    )
}

/// One query: schemas, publications, which of `relations` exist, what depends on the tables to be dropped
/// (normal dependencies of objects that are not parts of them; partitions not restored),
/// and their publication memberships.
fn survey_sql(dropped: &[Qualified], relations: &[Qualified], version_num: u32) -> String {
    let (columns, filter) = if version_num >= 150000 {
        (
            "coalesce(' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) \
             FROM pg_attribute a WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs)) \
             || ')', '')",
            "coalesce(' WHERE (' || pg_get_expr(pr.prqual, pr.prrelid) || ')', '')",
        )
    } else {
        ("''", "''")
    };
    format!(
        "SET search_path = pg_catalog;
WITH sel AS ({sel}),
parts AS (SELECT 'pg_class'::regclass::oid AS classid, oid AS objid FROM sel
    UNION SELECT 'pg_type'::regclass::oid, c.reltype FROM pg_class c JOIN sel ON sel.oid = c.oid
    UNION SELECT d.classid, d.objid FROM pg_depend d JOIN sel ON d.refclassid = 'pg_class'::regclass
        AND d.refobjid = sel.oid WHERE d.deptype IN ('a', 'i')),
blockers AS (SELECT d.classid, d.objid, d.objsubid FROM pg_depend d JOIN parts p
        ON d.refclassid = p.classid AND d.refobjid = p.objid
    WHERE d.deptype = 'n' AND NOT EXISTS
        (SELECT 1 FROM parts q WHERE q.classid = d.classid AND q.objid = d.objid)
    UNION SELECT 'pg_class'::regclass::oid, i.inhrelid, 0 FROM pg_inherits i JOIN sel
        ON i.inhparent = sel.oid WHERE i.inhrelid NOT IN (SELECT oid FROM sel))
SELECT json_build_object(
    'schemas', (SELECT json_agg(nspname) FROM pg_namespace),
    'publications', (SELECT coalesce(json_agg(pubname), '[]') FROM pg_publication),
    'relations', (SELECT coalesce(json_agg(json_build_array(nspname, relname)), '[]')
        FROM ({relations}) r),
    'blockers', (SELECT coalesce(json_agg(DISTINCT CASE WHEN classid = 'pg_rewrite'::regclass
            THEN pg_describe_object('pg_class'::regclass,
                (SELECT ev_class FROM pg_rewrite r WHERE r.oid = objid), 0)
            ELSE pg_describe_object(classid, objid, objsubid) END), '[]')
        FROM blockers),
    'memberships', (SELECT coalesce(json_agg(format('ALTER PUBLICATION %I ADD TABLE ONLY %I.%I%s%s;',
            p.pubname, s.nspname, s.relname, {columns}, {filter})), '[]')
        FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
        JOIN sel s ON s.oid = pr.prrelid));",
        sel = matching(dropped, "'r', 'p'"),
        relations = matching(relations, "'r', 'p'"),
    )
}

/// The `pg_restore --use-list` file: the entries this target needs.
fn list_file(chosen: &TocSelection, target: &Target, in_place: bool) -> String {
    chosen
        .entries
        .iter()
        .filter(|(_, needed)| match needed {
            Needed::Always => true,
            Needed::NewDatabase => !in_place,
            Needed::SchemaMissing(schema) => !target.schemas.contains(schema),
            Needed::SchemaPublication {
                schema,
                publication,
            } => !target.schemas.contains(schema) && target.publications.contains(publication),
        })
        .map(|(id, _)| format!("{id}\n"))
        .collect()
}

/// A private temporary file, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A new private file in the temporary folder (`TMPDIR`) for the `--use-list` file.
fn private_list_file() -> Result<(TempFile, fs::File)> {
    let base = format!("pgbackup-{}-selection", std::process::id());
    let mut n = 0;
    loop {
        let path = std::env::temp_dir().join(format!("{base}-{n}.list"));
        match fsutil::create_private_file(&path) {
            Ok(file) => return Ok((TempFile(path), file)),
            Err(_) if path.exists() && n < 100 => n += 1,
            Err(err) => return Err(err),
        }
    }
}

fn write_list(text: &str) -> Result<TempFile> {
    let (list, mut out) = private_list_file()?;
    out.write_all(text.as_bytes())
        .with_context(|| format!("could not write {}", list.0.display()))?;
    Ok(list)
}

/// Takes every privilege the restored relations got from the target's default privileges
/// away again (the owner's stay), so that the backup's grants are all they have.
fn reset_privileges(relations: &[(&str, Qualified)]) -> String {
    if relations.is_empty() {
        return String::new();
    }
    let names = |kind: &str| {
        let names: Vec<String> = relations
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| literal(&format!("{}.{}", ident(&t.schema), ident(&t.name))))
            .collect();
        format!("ARRAY[{}]::text[]", names.join(", "))
    };
    format!(
        "DO $pgbackup$DECLARE r record; BEGIN
FOR r IN SELECT DISTINCT k.kind, k.name, a.grantee FROM (
        SELECT 'TABLE' AS kind, unnest({tables}) AS name
        UNION ALL SELECT 'SEQUENCE', unnest({sequences})) k
    JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(k.name)
    CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
    WHERE a.grantee <> c.relowner LOOP
  EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM %s', r.kind, r.name,
    CASE WHEN r.grantee = 0 THEN 'PUBLIC'
    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END);
END LOOP; END $pgbackup$;",
        tables = names("TABLE"),
        sequences = names("SEQUENCE"),
    )
}

/// Restores the selection into `database` in one transaction. `in_place`: the database
/// has data of its own, so the selected tables are dropped first and pg_restore cleans up
/// what it recreates.
#[allow(clippy::too_many_arguments)]
pub fn load(
    server: &Server,
    database: &str,
    file: &BackupFile,
    chosen: &TocSelection,
    in_place: bool,
    no_owner: bool,
    expected_sha256: Option<&str>,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let target = check(server, database, chosen)?;
    let list = write_list(&list_file(chosen, &target, in_place))?;
    // The grants are read first (they are in the table of contents, pg_restore stops
    // reading right after it) and applied after the privileges were reset.
    let grants = match chosen.acls.is_empty() || no_owner {
        true => String::new(),
        false => {
            let acls: String = chosen.acls.iter().map(|id| format!("{id}\n")).collect();
            let acl_list = write_list(&acls)?;
            let pg_restore = Tool::new(&server.programs().pg_restore)
                .args(["--exit-on-error", "--file=-", "--use-list"])
                .arg(&acl_list.0);
            feed::capture(&pg_restore, file.source(), interrupt)?
        }
    };

    let mut prelude = String::from("BEGIN;\n");
    if in_place && !chosen.dropped.is_empty() {
        let tables: Vec<String> = chosen
            .dropped
            .iter()
            .map(|t| format!("{}.{}", ident(&t.schema), ident(&t.name)))
            .collect();
        prelude += &format!("DROP TABLE IF EXISTS {};\n", tables.join(", "));
    }
    let mut pg_restore = Tool::new(&server.programs().pg_restore)
        .args(["--exit-on-error", "--file=-", "--use-list"])
        .arg(&list.0);
    if in_place {
        pg_restore = pg_restore.args(["--clean", "--if-exists"]);
    }
    if no_owner {
        pg_restore = pg_restore.args(["--no-owner", "--no-privileges"]);
    }
    let psql = server
        .conn_for(database)
        .apply(Tool::new(&server.programs().psql).args([
            "-X",
            "-w",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            "-",
        ]));
    let mut psql_run = psql.spawn_writer(Stdio::null())?;
    // A signal stops psql, which holds the transaction; pg_restore then stops on its own.
    let guard = interrupt.watch_child(psql_run.pid());
    let mut psql_in = psql_run.take_stdin();
    let started = psql_in.write_all(prelude.as_bytes());
    let (reader, writer) = io::pipe().context("could not create a pipe")?;
    let copier = thread::spawn(move || {
        let mut reader = reader;
        let copied = started.and_then(|_| io::copy(&mut reader, &mut psql_in));
        (psql_in, copied)
    });
    let restored = run_pg_restore(&pg_restore, writer, file, interrupt, progress);
    let (mut psql_in, copied) = copier.join().expect("the copier does not panic");
    let complete = restored.and_then(|sha256| {
        copied.context("could not pass pg_restore's script to psql")?;
        unchanged(&sha256, expected_sha256)?;
        interrupt.check()
    });
    // Only now, when everything was read and checked, may the transaction commit; without
    // the COMMIT, psql ends at the end of its input and the server rolls everything back.
    let committed = complete.and_then(|()| {
        let postlude = format!(
            "{}\n{grants}\n{}\nCOMMIT;\n",
            reset_privileges(&chosen.relations),
            target.memberships.join("\n")
        );
        psql_in
            .write_all(postlude.as_bytes())
            .context("psql stopped before the transaction could commit")
    });
    drop(psql_in);
    let finished = psql_run.finish();
    drop(guard);
    finished.with_context(|| format!("could not load the selection into {database:?}"))?;
    committed
}

/// Runs pg_restore with the decoded file on its stdin and its script on `script`; returns
/// the SHA-256 of the whole file. pg_restore stops reading after the last entry it needs:
/// the rest is still read, for the checksum.
fn run_pg_restore(
    tool: &Tool,
    script: io::PipeWriter,
    file: &BackupFile,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(u64),
) -> Result<String> {
    let mut child = tool.spawn_writer(Stdio::from(script))?;
    let stdin = child.take_stdin();
    enlarge_pipe(&stdin);
    let mut sink = UntilClosed {
        inner: Some(stdin),
        interrupt,
    };
    let streamed = file.stream(&file.chain, &mut sink, progress);
    drop(sink);
    let outcome = match streamed {
        Err(StreamFailure::Read(err)) => {
            child.abort();
            Err(anyhow::Error::new(err)
                .context(format!("could not read or decode {}", file.describe())))
        }
        Err(StreamFailure::Write(err)) => {
            let _ = child.finish();
            Err(anyhow::Error::new(err).context("could not pass the backup to pg_restore"))
        }
        Ok(scan) => child.finish().map(|warnings| {
            for line in warnings.lines().filter(|l| !l.trim().is_empty()) {
                tracing::warn!("pg_restore: {line}");
            }
            scan.sha256
        }),
    };
    interrupt.check()?;
    outcome
}

/// A writer into a program that may close its input early: from then on, bytes are dropped
/// (they are still read, for the checksum), until a signal stops the work.
struct UntilClosed<'a, W: Write> {
    inner: Option<W>,
    interrupt: &'a Interrupt,
}

impl<W: Write> Write for UntilClosed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.interrupt.check().is_err() {
            return Err(io::Error::other("interrupted"));
        }
        if let Some(inner) = &mut self.inner
            && let Err(err) = inner.write_all(buf)
        {
            if err.kind() != io::ErrorKind::BrokenPipe {
                return Err(err);
            }
            self.inner = None;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Some(inner) => match inner.flush() {
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                    self.inner = None;
                    Ok(())
                }
                other => other,
            },
            None => Ok(()),
        }
    }
}

fn unchanged(sha256: &str, expected: Option<&str>) -> Result<()> {
    match expected {
        Some(expected) if !sha256.eq_ignore_ascii_case(expected) => bail!(
            "the backup file changed while it was being restored: its SHA-256 is now \
             {sha256}, the catalog says {expected}"
        ),
        _ => Ok(()),
    }
}
