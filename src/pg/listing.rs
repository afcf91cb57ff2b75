//! The lines of `pg_restore --list --verbose`: each entry of a custom archive's table of
//! contents with its kind, schema, name and the entries it depends on.

/// Entry kinds of more than one word, as pg_restore prints them (the longest that fits wins).
const KINDS: &[&str] = &[
    "ACCESS METHOD",
    "BLOB METADATA",
    "CHECK CONSTRAINT",
    "DATABASE PROPERTIES",
    "DEFAULT ACL",
    "EVENT TRIGGER",
    "FK CONSTRAINT",
    "FOREIGN DATA WRAPPER",
    "FOREIGN SERVER",
    "FOREIGN TABLE",
    "INDEX ATTACH",
    "LARGE OBJECT",
    "MATERIALIZED VIEW DATA",
    "MATERIALIZED VIEW",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "PROCEDURAL LANGUAGE",
    "PUBLICATION TABLES IN SCHEMA",
    "PUBLICATION TABLE",
    "ROW SECURITY",
    "SECURITY LABEL",
    "SEQUENCE OWNED BY",
    "SEQUENCE SET",
    "SHELL TYPE",
    "STATISTICS DATA",
    "SUBSCRIPTION TABLE",
    "TABLE ATTACH",
    "TABLE DATA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE",
    "USER MAPPING",
];
/// One line of `pg_restore --list --verbose`. Names are split at spaces: the schema is one
/// the archive creates or else the first word, the owner the last word, and the name what
/// is between (so an owner's name may not hold spaces).
#[derive(Debug, Clone, PartialEq)]
pub struct TocEntry {
    pub id: u32,
    pub kind: String,
    pub schema: String,
    pub tag: String,
    pub deps: Vec<u32>,
}

/// Parses `pg_restore --list --verbose`; lines it does not recognize are skipped.
pub fn parse_listing(listing: &str) -> Vec<TocEntry> {
    let schemas = schema_names(listing);
    let mut entries: Vec<TocEntry> = Vec::new();
    for line in listing.lines() {
        if let Some(deps) = line.strip_prefix(";\tdepends on:") {
            if let Some(last) = entries.last_mut() {
                last.deps = deps
                    .split_whitespace()
                    .filter_map(|d| d.parse().ok())
                    .collect();
            }
            continue;
        }
        if let Some(entry) = parse_line(line, &schemas) {
            entries.push(entry);
        }
    }
    entries
}

/// The names of the schemas the archive creates (their entries have no schema of their
/// own), so that names of schemas with spaces are found whole on the other lines.
fn schema_names(listing: &str) -> Vec<String> {
    let mut names: Vec<String> = listing
        .lines()
        .filter_map(|line| parse_line(line, &[]))
        .filter(|entry| entry.kind == "SCHEMA")
        .map(|entry| entry.tag)
        .collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    names
}

fn parse_line(line: &str, schemas: &[String]) -> Option<TocEntry> {
    let (id, rest) = line.split_once("; ")?;
    let id = id.trim().parse().ok()?;
    let mut words = rest.splitn(3, ' ');
    let (_catalog, _oid, rest) = (words.next()?, words.next()?, words.next()?);
    let kind = KINDS
        .iter()
        .filter(|kind| {
            rest.strip_prefix(**kind)
                .is_some_and(|r| r.starts_with(' '))
        })
        .max_by_key(|kind| kind.len())
        .map(|kind| kind.to_string())
        .unwrap_or_else(|| rest.split(' ').next().unwrap_or_default().to_string());
    let rest = rest.get(kind.len() + 1..)?;
    let known = schemas.iter().find_map(|schema| {
        let after = rest.strip_prefix(schema.as_str())?.strip_prefix(' ')?;
        Some((schema.as_str(), after))
    });
    let (schema, rest) = known.or_else(|| rest.split_once(' '))?;
    let tag = rest.rsplit_once(' ').map_or(rest, |(tag, _owner)| tag);
    Some(TocEntry {
        id,
        kind,
        schema: schema.to_string(),
        tag: tag.to_string(),
        deps: Vec::new(),
    })
}
