//! What scheduled runs back up beyond the connection's database: `"databases": "all"` or a
//! list of names, `"exclude_databases"` (pg_dumpall's patterns) and `"globals": true`.

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::Schedule;

/// The schedule's `databases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseSet {
    /// Every database that accepts connections, templates excluded.
    All,
    /// These databases, by name.
    Listed(Vec<String>),
}

impl Serialize for DatabaseSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DatabaseSet::All => serializer.serialize_str("all"),
            DatabaseSet::Listed(names) => names.serialize(serializer),
        }
    }
}

impl std::fmt::Display for DatabaseSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseSet::All => f.write_str("all"),
            DatabaseSet::Listed(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                f.write_str(&quoted.join(", "))
            }
        }
    }
}

impl Schedule {
    /// Whether scheduled runs back up several parts in one run (databases or the globals)
    /// instead of the connection's database alone.
    pub fn is_server_run(&self) -> bool {
        self.databases.is_some() || self.globals == Some(true)
    }
}

/// `"all"` or a non-empty list of distinct, non-empty names.
pub fn parse_databases(value: &Value) -> Result<DatabaseSet, String> {
    match value {
        Value::String(text) if text == "all" => Ok(DatabaseSet::All),
        Value::Array(items) => {
            let names = string_list(value, items)?;
            if names.is_empty() {
                return Err(format!(
                    "{value} names no database (\"all\", or a list of names)"
                ));
            }
            Ok(DatabaseSet::Listed(names))
        }
        _ => Err(format!(
            "{value} (expected \"all\" or a list of database names)"
        )),
    }
}

/// A list of patterns.
pub fn parse_exclude(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => string_list(value, items),
        _ => Err(format!("{value} is not a list of database name patterns")),
    }
}

fn string_list(value: &Value, items: &[Value]) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for item in items {
        match item.as_str() {
            Some("") | None => return Err(format!("{value}: {item} is not a database name")),
            Some(name) if names.iter().any(|n| n == name) => {
                return Err(format!("{value}: {item} is named twice"));
            }
            Some(name) => names.push(name.to_string()),
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DatabaseSet, parse_databases, parse_exclude};

    #[test]
    fn databases_are_all_or_a_list_of_names() {
        assert_eq!(parse_databases(&json!("all")), Ok(DatabaseSet::All));
        assert_eq!(
            parse_databases(&json!(["app", "My \"odd\" db"])),
            Ok(DatabaseSet::Listed(vec![
                "app".to_string(),
                "My \"odd\" db".to_string()
            ]))
        );
        for bad in [
            json!("ALL"),
            json!([]),
            json!(["app", "app"]),
            json!([""]),
            json!([1]),
            json!(true),
        ] {
            assert!(parse_databases(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_value(DatabaseSet::All).unwrap(),
            json!("all")
        );
        assert_eq!(
            serde_json::to_value(DatabaseSet::Listed(vec!["a".into()])).unwrap(),
            json!(["a"])
        );
        assert_eq!(
            parse_exclude(&json!(["*_test"])),
            Ok(vec!["*_test".to_string()])
        );
        assert!(parse_exclude(&json!("x")).is_err());
    }
}
