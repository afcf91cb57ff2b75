//! ANALYZE of a freshly restored database, spread over several connections: each takes its
//! share of the tables, largest first, so the biggest ones are analyzed side by side.

use std::thread;

use anyhow::{Context, Result};

use crate::pg::server::Server;

/// Connections used when the operator did not ask for a number of jobs.
pub const DEFAULT_WORKERS: u32 = 2;

/// Analyzes what a database-wide `ANALYZE` covers (tables, partitioned tables, materialized
/// views; the catalogs shared by all databases aside) on `workers` connections at once.
pub fn analyze(server: &Server, database: &str, workers: u32) -> Result<()> {
    // pg_partition_tree, for the size of a partitioned table, came with PostgreSQL 12.
    if workers <= 1 || server.version_num < 120000 {
        return server
            .psql(database)
            .output("ANALYZE;")
            .map(|_| ())
            .context("ANALYZE failed");
    }
    thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|worker| {
                let sql = share_sql(worker, workers);
                scope.spawn(move || server.psql(database).output(&sql))
            })
            .collect();
        running.into_iter().try_for_each(|worker| {
            worker
                .join()
                .expect("an ANALYZE worker does not panic")
                .map(|_| ())
                .context("ANALYZE failed")
        })
    })
}

/// The psql script of one worker: every `workers`-th relation by size, largest first, each
/// ANALYZE in its own transaction. A partitioned table's ANALYZE covers its partitions, so
/// partitions are not listed again.
fn share_sql(worker: u32, workers: u32) -> String {
    format!(
        "SELECT format('ANALYZE %I.%I;', nspname, relname) FROM (\n\
         SELECT n.nspname, c.relname, row_number() OVER (ORDER BY CASE WHEN c.relkind = 'p' \
         THEN (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t) \
         ELSE pg_total_relation_size(c.oid) END DESC, c.oid) AS rank\n\
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n\
         WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't' AND NOT c.relisshared \
         AND NOT c.relispartition\n\
         ) relations WHERE (rank - 1) % {workers} = {worker} ORDER BY rank \\gexec\n"
    )
}
