//! pg_dump's object filters (`-n`, `-N`, `-t`, `-T`, `--exclude-table-data`, `-O`, `-x`):
//! read from the command line or `"pg_dump_options"`, passed to pg_dump, and recorded in
//! the catalog in one normalized form that also keys the backup's retention group.

use std::fmt;

/// The filters of one dump; the default filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DumpFilters {
    /// `--schema`: dump only schemas matching these patterns.
    pub schemas: Vec<String>,
    /// `--exclude-schema`.
    pub exclude_schemas: Vec<String>,
    /// `--table`: dump only tables (and views, sequences…) matching these patterns.
    pub tables: Vec<String>,
    /// `--exclude-table`.
    pub exclude_tables: Vec<String>,
    /// `--exclude-table-data`: the table's definition without its rows.
    pub exclude_table_data: Vec<String>,
    /// `--no-owner`: no ALTER … OWNER TO statements.
    pub no_owner: bool,
    /// `--no-privileges`: no GRANT or REVOKE statements.
    pub no_privileges: bool,
}

/// One option pgbackup passes on to pg_dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Schema,
    ExcludeSchema,
    Table,
    ExcludeTable,
    ExcludeTableData,
    NoOwner,
    NoPrivileges,
}

/// Every option, in the order the normalized form lists them: long name, short name.
const OPTIONS: [(Opt, &str, Option<char>); 7] = [
    (Opt::Schema, "schema", Some('n')),
    (Opt::ExcludeSchema, "exclude-schema", Some('N')),
    (Opt::Table, "table", Some('t')),
    (Opt::ExcludeTable, "exclude-table", Some('T')),
    (Opt::ExcludeTableData, "exclude-table-data", None),
    (Opt::NoOwner, "no-owner", Some('O')),
    (Opt::NoPrivileges, "no-privileges", Some('x')),
];

/// The options allowed, as error messages name them.
pub const ALLOWED: &str = "--schema/-n, --exclude-schema/-N, --table/-t, --exclude-table/-T, \
                           --exclude-table-data, --no-owner/-O, --no-privileges/-x";

impl Opt {
    fn takes_pattern(self) -> bool {
        !matches!(self, Opt::NoOwner | Opt::NoPrivileges)
    }

    fn long(self) -> &'static str {
        OPTIONS.iter().find(|(o, ..)| *o == self).expect("listed").1
    }
}

impl DumpFilters {
    /// Reads pg_dump arguments as pg_dump does (`--schema=app`, `--schema app`, `-n app`,
    /// `-napp`), restricted to the filter options; anything else is refused, naming the
    /// allowed options. The result is normalized.
    pub fn parse(args: &[String]) -> Result<DumpFilters, String> {
        let mut filters = DumpFilters::default();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let (opt, inline) = recognize(arg)?;
            let shown = match arg.strip_prefix("--") {
                Some(long) => format!("--{}", long.split('=').next().unwrap_or(long)),
                None => arg.chars().take(2).collect(),
            };
            if !opt.takes_pattern() {
                if inline.is_some() {
                    return Err(format!("{arg:?}: {shown} takes no value"));
                }
                filters.set_flag(opt);
                continue;
            }
            let pattern = match inline {
                Some(value) => value,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{shown} needs a pattern after it"))?,
            };
            check_pattern(&shown, &pattern)?;
            filters.add(opt, pattern);
        }
        filters.normalize();
        Ok(filters)
    }

    /// Builds filters from values already split by option (the command line), normalized;
    /// an empty or NUL-holding pattern is refused.
    pub fn from_parts(mut parts: DumpFilters) -> Result<DumpFilters, String> {
        for (opt, patterns) in parts.lists() {
            for pattern in patterns {
                check_pattern(&format!("--{}", opt.long()), pattern)?;
            }
        }
        parts.normalize();
        Ok(parts)
    }

    /// Filters nothing: an unfiltered (whole database) dump.
    pub fn is_empty(&self) -> bool {
        *self == DumpFilters::default()
    }

    /// The normalized arguments, one per value (`--schema=app`): what pg_dump is given,
    /// what the catalog records and what keys the retention group. Each option's
    /// patterns are sorted and deduplicated (pg_dump reads them as a set), options in a
    /// fixed order.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (opt, patterns) in self.lists() {
            args.extend(patterns.iter().map(|p| format!("--{}={p}", opt.long())));
        }
        if self.no_owner {
            args.push("--no-owner".to_string());
        }
        if self.no_privileges {
            args.push("--no-privileges".to_string());
        }
        args
    }

    fn lists(&self) -> [(Opt, &Vec<String>); 5] {
        [
            (Opt::Schema, &self.schemas),
            (Opt::ExcludeSchema, &self.exclude_schemas),
            (Opt::Table, &self.tables),
            (Opt::ExcludeTable, &self.exclude_tables),
            (Opt::ExcludeTableData, &self.exclude_table_data),
        ]
    }

    fn normalize(&mut self) {
        for list in [
            &mut self.schemas,
            &mut self.exclude_schemas,
            &mut self.tables,
            &mut self.exclude_tables,
            &mut self.exclude_table_data,
        ] {
            for pattern in list.iter_mut() {
                *pattern = fold_unquoted(pattern);
            }
            list.sort();
            list.dedup();
        }
    }

    fn set_flag(&mut self, opt: Opt) {
        match opt {
            Opt::NoOwner => self.no_owner = true,
            Opt::NoPrivileges => self.no_privileges = true,
            _ => unreachable!("only flags are set"),
        }
    }

    fn add(&mut self, opt: Opt, pattern: String) {
        let list = match opt {
            Opt::Schema => &mut self.schemas,
            Opt::ExcludeSchema => &mut self.exclude_schemas,
            Opt::Table => &mut self.tables,
            Opt::ExcludeTable => &mut self.exclude_tables,
            Opt::ExcludeTableData => &mut self.exclude_table_data,
            Opt::NoOwner | Opt::NoPrivileges => unreachable!("flags take no pattern"),
        };
        list.push(pattern);
    }
}

impl fmt::Display for DumpFilters {
    /// The normalized arguments separated by spaces, as `list` and `schedule show` show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_args().join(" "))
    }
}

/// The option `arg` names and the value written into it (`--schema=app`, `-napp`).
/// `pattern` with its ASCII letters outside double quotes in lower case: pg_dump folds
/// them so, hence `-n App` and `-n app` select the same schemas and key the same group.
/// Quoted parts (`"App"`, with `""` for a quote) stay as written.
fn fold_unquoted(pattern: &str) -> String {
    let mut quoted = false;
    pattern
        .chars()
        .map(|c| {
            if c == '"' {
                quoted = !quoted;
            }
            match quoted {
                true => c,
                false => c.to_ascii_lowercase(),
            }
        })
        .collect()
}

fn recognize(arg: &str) -> Result<(Opt, Option<String>), String> {
    let refused = || {
        format!(
            "{arg:?} is not one of the pg_dump options pgbackup passes on (allowed: {ALLOWED}; \
             a pattern follows its option, as in \"-n\", \"app\")"
        )
    };
    if let Some(long) = arg.strip_prefix("--") {
        let (name, value) = match long.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (long, None),
        };
        let (opt, ..) = OPTIONS
            .iter()
            .find(|(_, l, _)| *l == name)
            .ok_or_else(refused)?;
        return Ok((*opt, value));
    }
    let mut chars = arg.chars();
    let (Some('-'), Some(short)) = (chars.next(), chars.next()) else {
        return Err(refused());
    };
    let (opt, ..) = OPTIONS
        .iter()
        .find(|(_, _, s)| *s == Some(short))
        .ok_or_else(refused)?;
    let rest: String = chars.collect();
    Ok((*opt, (!rest.is_empty()).then_some(rest)))
}

fn check_pattern(option: &str, pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err(format!("{option} needs a non-empty pattern"));
    }
    if pattern.contains('\0') {
        return Err(format!(
            "{option} {pattern:?}: a pattern cannot hold a NUL character"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "filters_tests.rs"]
mod tests;
