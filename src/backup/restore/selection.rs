//! Which entries of a custom archive a `--table`/`--schema` restore needs, read from
//! `pg_restore --list --verbose`: a table comes with everything that hangs off it (data,
//! defaults, owned sequences and their values, constraints, indexes, triggers, policies,
//! comments, grants, partitions and its partition attachment); a schema with everything in it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::Result;

use crate::exit;
use crate::pg::listing::TocEntry;

/// Kinds that belong to the table they are attached to.
const TABLE_PARTS: &[&str] = &[
    "TABLE DATA",
    "TABLE ATTACH",
    "ROW SECURITY",
    "DEFAULT",
    "CONSTRAINT",
    "CHECK CONSTRAINT",
    "FK CONSTRAINT",
    "TRIGGER",
    "POLICY",
    "RULE",
    "INDEX",
    "STATISTICS",
    "STATISTICS DATA",
    "SEQUENCE",
];

/// Kinds that describe another entry and go wherever it goes.
const DECORATIONS: &[&str] = &["COMMENT", "ACL", "SECURITY LABEL"];

/// Kinds never restored just because a selected object needs them: tables and views are
/// named by the operator; schemas are created when missing anyway.
const NOT_PREREQUISITES: &[&str] = &[
    "TABLE",
    "VIEW",
    "MATERIALIZED VIEW",
    "FOREIGN TABLE",
    "SCHEMA",
    "DATABASE",
    "DATABASE PROPERTIES",
    "ENCODING",
    "STDSTRINGS",
    "SEARCHPATH",
    "PUBLICATION",
    "SUBSCRIPTION",
];

/// Relations that `--table` does not restore, by the name an operator knows them by.
const OTHER_RELATIONS: &[(&str, &str)] = &[
    ("VIEW", "a view"),
    ("MATERIALIZED VIEW", "a materialized view"),
    ("FOREIGN TABLE", "a foreign table"),
    ("SEQUENCE", "a sequence"),
];

/// A schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Qualified {
    pub schema: String,
    pub name: String,
}

impl fmt::Display for Qualified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// When an entry of the selection is restored: some only make sense in some targets.
#[derive(Debug, Clone, PartialEq)]
pub enum Needed {
    Always,
    /// The `CREATE SCHEMA` (and its comment and grants), when the target lacks the schema.
    SchemaMissing(String),
    /// What the selection needs (a trigger's function, a column's type, an extension), in
    /// a new database; an existing one is expected to have it.
    NewDatabase,
    /// A `FOR TABLES IN SCHEMA` membership, when the schema is created and the publication
    /// exists in the target (otherwise the membership is kept or has nothing to belong to).
    SchemaPublication {
        schema: String,
        publication: String,
    },
}

/// What a `--table`/`--schema` selection restores, resolved against the archive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TocSelection {
    /// The entries in restore order, each with when it is needed.
    pub entries: Vec<(u32, Needed)>,
    /// Tables replaced as a whole (dropped first when the target has them): the tables
    /// named with `--table`, their partitions, and the partitions in selected schemas.
    pub dropped: Vec<Qualified>,
    /// Partitions restored without their parent, which the target must have: (partition, parent).
    pub attached: Vec<(Qualified, Qualified)>,
    /// Foreign keys to tables outside the selection, which the target must have:
    /// (table, constraint name, referenced table).
    pub references: Vec<(Qualified, String, Qualified)>,
    /// The schemas the restored objects live in.
    pub schemas: BTreeSet<String>,
    /// The grants of the restored tables and sequences: applied after their privileges
    /// are reset, so the target's default privileges do not add to the backup's.
    pub acls: Vec<u32>,
    /// The restored tables and sequences: (`TABLE` or `SEQUENCE`, name).
    pub relations: Vec<(&'static str, Qualified)>,
}

/// The possible readings of a `--table` value: `name`, `schema.name`, or with SQL quotes
/// (`"My Schema"."a.b"`). Unquoted words are taken literally, as pg_restore does.
pub fn readings(text: &str) -> Vec<(Option<String>, String)> {
    if text.contains('"') {
        return match quoted_parts(text) {
            Some(parts) if parts.len() == 1 => vec![(None, parts[0].clone())],
            Some(parts) if parts.len() == 2 => vec![(Some(parts[0].clone()), parts[1].clone())],
            _ => Vec::new(),
        };
    }
    let mut readings = vec![(None, text.to_string())];
    if let Some((schema, name)) = text.split_once('.') {
        readings.push((Some(schema.to_string()), name.to_string()));
    }
    readings
}

/// `a."b.c"` -> [a, b.c]; None when the quotes do not pair up.
fn quoted_parts(text: &str) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                parts.last_mut()?.push('"');
            }
            ('"', _) => quoted = !quoted,
            ('.', false) => parts.push(String::new()),
            (c, _) => parts.last_mut()?.push(c),
        }
    }
    (!quoted && parts.iter().all(|p| !p.is_empty())).then_some(parts)
}

/// Resolves `--table` and `--schema` values against the archive. A value that matches
/// nothing, matches more than one table, or names something other than a table is a usage
/// error.
pub fn resolve(
    entries: &[TocEntry],
    tables: &[String],
    schemas: &[String],
) -> Result<TocSelection> {
    let toc = Toc::new(entries);
    let mut named: BTreeSet<u32> = BTreeSet::new();
    for text in tables {
        named.insert(toc.find_table(text)?);
    }
    for schema in schemas {
        let known = entries
            .iter()
            .any(|e| e.schema == *schema || (e.kind == "SCHEMA" && e.tag == *schema));
        if !known {
            return Err(exit::usage(format!(
                "--schema {schema:?} matches nothing in the backup: it has no schema of that name"
            )));
        }
    }
    let with_partitions = toc.with_partitions(&named);
    let in_schemas: BTreeSet<u32> = entries
        .iter()
        .filter(|e| e.kind == "TABLE" && schemas.contains(&e.schema))
        .map(|e| e.id)
        .collect();
    let tables: BTreeSet<u32> = with_partitions.union(&in_schemas).copied().collect();
    Ok(toc.selection(&tables, &with_partitions, schemas))
}

struct Toc<'a> {
    entries: &'a [TocEntry],
    by_id: BTreeMap<u32, &'a TocEntry>,
}

impl<'a> Toc<'a> {
    fn new(entries: &'a [TocEntry]) -> Toc<'a> {
        Toc {
            entries,
            by_id: entries.iter().map(|e| (e.id, e)).collect(),
        }
    }

    fn qualified(&self, id: u32) -> Qualified {
        let entry = self.by_id[&id];
        Qualified {
            schema: entry.schema.clone(),
            name: entry.tag.clone(),
        }
    }

    fn find_table(&self, text: &str) -> Result<u32> {
        let readings = readings(text);
        let matches = |e: &&TocEntry| {
            readings.iter().any(|(schema, name)| {
                e.tag == *name && schema.as_ref().is_none_or(|s| e.schema == *s)
            })
        };
        let tables: Vec<&TocEntry> = self
            .entries
            .iter()
            .filter(|e| e.kind == "TABLE")
            .filter(matches)
            .collect();
        match tables.as_slice() {
            [table] => Ok(table.id),
            [] => {
                let other = self.entries.iter().filter(matches).find_map(|e| {
                    OTHER_RELATIONS
                        .iter()
                        .find(|(kind, _)| *kind == e.kind)
                        .map(|(_, what)| format!("{}.{} is {what}", e.schema, e.tag))
                });
                Err(exit::usage(match other {
                    Some(what) => format!("--table {text:?}: {what}; --table restores tables"),
                    None => format!("--table {text:?} matches no table in the backup"),
                }))
            }
            several => Err(exit::usage(format!(
                "--table {text:?} is ambiguous: the backup has {}; name one with its schema",
                several
                    .iter()
                    .map(|e| format!("{}.{}", e.schema, e.tag))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }

    /// The TABLE entries `id` depends on.
    fn table_deps(&self, entry: &TocEntry) -> Vec<&'a TocEntry> {
        self.relation_deps(entry)
            .into_iter()
            .filter(|d| d.kind == "TABLE")
            .collect()
    }

    /// The relations (tables, views, ...) `id` depends on, each once.
    fn relation_deps(&self, entry: &TocEntry) -> Vec<&'a TocEntry> {
        let mut deps: Vec<&TocEntry> = entry
            .deps
            .iter()
            .filter_map(|d| self.by_id.get(d).copied())
            .filter(|d| d.kind == "TABLE" || OTHER_RELATIONS.iter().any(|(k, _)| *k == d.kind))
            .collect();
        deps.sort_by_key(|d| d.id);
        deps.dedup_by_key(|d| d.id);
        deps
    }

    /// The table an entry belongs to, if it is one of a table's parts.
    fn owner(&self, entry: &TocEntry) -> Option<u32> {
        match entry.kind.as_str() {
            "SEQUENCE OWNED BY" | "SEQUENCE SET" => entry
                .deps
                .iter()
                .filter_map(|d| self.by_id.get(d))
                .find(|d| d.kind == "SEQUENCE")
                .and_then(|seq| self.owner(seq)),
            "INDEX ATTACH" => entry
                .deps
                .iter()
                .filter_map(|d| self.by_id.get(d))
                .find(|d| {
                    (d.kind == "INDEX" && d.tag == entry.tag)
                        || (d.kind == "CONSTRAINT" && d.tag.ends_with(&format!(" {}", entry.tag)))
                })
                .and_then(|index| self.owner(index)),
            // The relation it hangs off: the only one it depends on, or the one its name
            // starts with (`orders orders_customer_fkey`); a table's, not a view's.
            kind if TABLE_PARTS.contains(&kind) => {
                let deps = self.relation_deps(entry);
                let owner = match deps.as_slice() {
                    [only] => Some(*only),
                    several => several
                        .iter()
                        .filter(|d| {
                            entry.tag == d.tag || entry.tag.starts_with(&format!("{} ", d.tag))
                        })
                        .max_by_key(|d| d.tag.len())
                        .copied(),
                };
                owner.filter(|d| d.kind == "TABLE").map(|d| d.id)
            }
            _ => None,
        }
    }

    /// The parent a TABLE ATTACH entry attaches its partition to.
    fn attach_parent(&self, attach: &TocEntry) -> Option<u32> {
        let partition = self.owner(attach)?;
        self.table_deps(attach)
            .iter()
            .map(|d| d.id)
            .find(|d| *d != partition)
    }

    /// `tables` and, recursively, their partitions.
    fn with_partitions(&self, tables: &BTreeSet<u32>) -> BTreeSet<u32> {
        let mut all = tables.clone();
        loop {
            let more: Vec<u32> = self
                .entries
                .iter()
                .filter(|e| e.kind == "TABLE ATTACH")
                .filter(|e| self.attach_parent(e).is_some_and(|p| all.contains(&p)))
                .filter_map(|e| self.owner(e))
                .filter(|partition| !all.contains(partition))
                .collect();
            if more.is_empty() {
                return all;
            }
            all.extend(more);
        }
    }

    fn selection(
        &self,
        tables: &BTreeSet<u32>,
        named: &BTreeSet<u32>,
        schemas: &[String],
    ) -> TocSelection {
        let in_schema = |e: &TocEntry| schemas.contains(&e.schema);
        let mut chosen: BTreeSet<u32> = BTreeSet::new();
        for entry in self.entries {
            let kind = entry.kind.as_str();
            let part_of_table = (kind == "TABLE" && tables.contains(&entry.id))
                || self.owner(entry).is_some_and(|t| tables.contains(&t));
            let memberships = ["PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA"];
            let ours = part_of_table || (in_schema(entry) && !DECORATIONS.contains(&kind));
            if ours && !memberships.contains(&kind) && !kind.starts_with("BLOB") {
                chosen.insert(entry.id);
            }
        }
        let decorates = |e: &TocEntry, set: &BTreeSet<u32>| {
            DECORATIONS.contains(&e.kind.as_str())
                && !e.deps.is_empty()
                && e.deps.iter().all(|d| set.contains(d))
        };
        let pulled = self.prerequisites(&chosen);
        let everything: BTreeSet<u32> = chosen.union(&pulled).copied().collect();
        let mut pulled_extras = BTreeSet::new();
        for entry in self.entries {
            if decorates(entry, &chosen) {
                chosen.insert(entry.id);
            } else if decorates(entry, &pulled) || self.sets_value_of(entry, &pulled) {
                pulled_extras.insert(entry.id);
            }
        }
        let pulled: BTreeSet<u32> = pulled.union(&pulled_extras).copied().collect();

        let mut result = TocSelection::default();
        for id in &everything {
            result.schemas.insert(self.by_id[id].schema.clone());
        }
        result.schemas.retain(|s| s != "-");
        let schema_entries: BTreeMap<u32, String> = self
            .entries
            .iter()
            .filter(|e| e.kind == "SCHEMA" && result.schemas.contains(&e.tag))
            .map(|e| (e.id, e.tag.clone()))
            .collect();
        let schema_keys: BTreeSet<u32> = schema_entries.keys().copied().collect();

        let mut moved: Vec<(u32, Needed)> = Vec::new();
        for entry in self.entries {
            let id = entry.id;
            if let Some(schema) = schema_entries.get(&id) {
                result
                    .entries
                    .push((id, Needed::SchemaMissing(schema.clone())));
            } else if decorates(entry, &schema_keys) {
                let schema = &schema_entries[&entry.deps[0]];
                result
                    .entries
                    .push((id, Needed::SchemaMissing(schema.clone())));
            } else if entry.kind == "PUBLICATION TABLES IN SCHEMA" && in_schema(entry) {
                let publication = entry
                    .tag
                    .strip_suffix(&format!(" {}", entry.schema))
                    .unwrap_or(&entry.tag);
                result.entries.push((
                    id,
                    Needed::SchemaPublication {
                        schema: entry.schema.clone(),
                        publication: publication.to_string(),
                    },
                ));
            } else if pulled.contains(&id) {
                result.entries.push((id, Needed::NewDatabase));
            } else if chosen.contains(&id) {
                let parent = (entry.kind == "TABLE ATTACH")
                    .then(|| self.attach_parent(entry))
                    .flatten()
                    .filter(|parent| !tables.contains(parent));
                match parent {
                    // Attached once the partition has its own indexes and constraints, or
                    // attaching would create them and the backup's would collide.
                    Some(parent) => {
                        let partition = self.owner(entry).expect("an attachment has a partition");
                        result
                            .attached
                            .push((self.qualified(partition), self.qualified(parent)));
                        moved.push((id, Needed::Always));
                    }
                    None => {
                        if entry.kind == "FK CONSTRAINT" {
                            result
                                .references
                                .extend(self.outside_reference(entry, tables));
                        }
                        if entry.kind == "INDEX ATTACH" {
                            result.entries.append(&mut moved);
                        }
                        let relation = ["TABLE", "SEQUENCE"]
                            .into_iter()
                            .find(|kind| entry.kind == *kind);
                        if let Some(kind) = relation {
                            result.relations.push((kind, self.qualified(id)));
                        }
                        let grants_on_relation = entry.kind == "ACL"
                            && entry.deps.iter().any(|d| {
                                ["TABLE", "SEQUENCE"].contains(&self.by_id[d].kind.as_str())
                            });
                        if grants_on_relation {
                            result.acls.push(id);
                        } else {
                            result.entries.push((id, Needed::Always));
                        }
                    }
                }
            }
        }
        result.entries.append(&mut moved);
        result.dropped = self
            .entries
            .iter()
            .filter(|e| e.kind == "TABLE" && tables.contains(&e.id))
            .filter(|e| named.contains(&e.id) || self.is_partition(e.id))
            .map(|e| self.qualified(e.id))
            .collect();
        result
    }

    /// What `chosen` needs that is neither a table nor a schema, recursively: functions of
    /// triggers, types, sequences of defaults, extensions.
    fn prerequisites(&self, chosen: &BTreeSet<u32>) -> BTreeSet<u32> {
        let mut pulled = BTreeSet::new();
        let mut queue: Vec<u32> = chosen.iter().copied().collect();
        while let Some(id) = queue.pop() {
            for dep in &self.by_id[&id].deps {
                let Some(entry) = self.by_id.get(dep) else {
                    continue;
                };
                let pullable = !NOT_PREREQUISITES.contains(&entry.kind.as_str())
                    && self.owner(entry).is_none();
                if pullable && !chosen.contains(dep) && pulled.insert(*dep) {
                    queue.push(*dep);
                }
            }
        }
        pulled
    }

    /// Whether `entry` sets the value of one of `sequences`.
    fn sets_value_of(&self, entry: &TocEntry, sequences: &BTreeSet<u32>) -> bool {
        entry.kind == "SEQUENCE SET" && entry.deps.iter().any(|d| sequences.contains(d))
    }

    /// The table outside `tables` a foreign key references, if any.
    fn outside_reference(
        &self,
        fk: &TocEntry,
        tables: &BTreeSet<u32>,
    ) -> Option<(Qualified, String, Qualified)> {
        let owner = self.owner(fk)?;
        let referenced = self
            .table_deps(fk)
            .iter()
            .map(|d| d.id)
            .find(|d| *d != owner && !tables.contains(d))?;
        let table = self.qualified(owner);
        let name = fk
            .tag
            .strip_prefix(&format!("{} ", table.name))
            .unwrap_or(&fk.tag);
        Some((table.clone(), name.to_string(), self.qualified(referenced)))
    }

    fn is_partition(&self, table: u32) -> bool {
        self.entries
            .iter()
            .any(|e| e.kind == "TABLE ATTACH" && self.owner(e) == Some(table))
    }
}

#[cfg(test)]
#[path = "selection_tests.rs"]
mod tests;
