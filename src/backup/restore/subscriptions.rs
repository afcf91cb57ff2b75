//! A database that holds a logical replication subscription cannot be dropped, and dropping
//! the subscription would reach out to its publisher to drop the replication slot. Before
//! pgbackup drops a database it made or replaced, its subscriptions are detached (disabled,
//! `slot_name = NONE`, so the publisher's slot is left for whoever still uses it) and dropped.

use anyhow::{Context, Result};

use crate::pg::server::Server;
use crate::pg::sql::{ident, literal};

/// The subscriptions of database `name` (pg_subscription is shared by all databases) and
/// whether it accepts connections.
fn survey_sql(name: &str) -> String {
    format!(
        "SELECT json_build_array(coalesce((SELECT json_agg(s.subname ORDER BY s.subname) \
         FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid \
         WHERE d.datname = {name}), '[]'), \
         (SELECT datallowconn FROM pg_database WHERE datname = {name}));",
        name = literal(name)
    )
}

/// The SQL, run in the subscriptions' own database, that detaches and drops them.
fn detach_sql(subscriptions: &[String]) -> String {
    subscriptions
        .iter()
        .map(|s| {
            let s = ident(s);
            format!(
                "ALTER SUBSCRIPTION {s} DISABLE;\nALTER SUBSCRIPTION {s} SET (slot_name = NONE);\n\
                 DROP SUBSCRIPTION {s};\n"
            )
        })
        .collect()
}

/// Detaches and drops the subscriptions of database `name`, which is about to be dropped.
/// A database that refuses connections is opened for that moment (and closed again when
/// the detaching fails). Does nothing when it has none or no longer exists.
pub fn detach_before_drop(server: &Server, name: &str) -> Result<()> {
    let (subscriptions, allows_connections): (Vec<String>, Option<bool>) =
        serde_json::from_value(server.query_json(&survey_sql(name))?)
            .context("psql returned an unexpected list of subscriptions")?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    tracing::info!(
        "detaching subscription(s) {} of database {name:?} before dropping it",
        subscriptions.join(", ")
    );
    let closed = allows_connections == Some(false);
    let allow = |allowed: bool| {
        server.execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {allowed};",
            ident(name)
        ))
    };
    if closed {
        allow(true)?;
    }
    let detached = server.psql(name).output(&detach_sql(&subscriptions));
    if detached.is_err() && closed {
        let _ = allow(false);
    }
    detached
        .map(|_| ())
        .with_context(|| format!("could not detach the subscriptions of database {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::detach_sql;

    #[test]
    fn each_subscription_is_disabled_detached_and_dropped() {
        assert_eq!(
            detach_sql(&["s".to_string(), "My Sub".to_string()]),
            "ALTER SUBSCRIPTION \"s\" DISABLE;\nALTER SUBSCRIPTION \"s\" SET (slot_name = NONE);\n\
             DROP SUBSCRIPTION \"s\";\nALTER SUBSCRIPTION \"My Sub\" DISABLE;\n\
             ALTER SUBSCRIPTION \"My Sub\" SET (slot_name = NONE);\nDROP SUBSCRIPTION \"My Sub\";\n"
        );
    }
}
