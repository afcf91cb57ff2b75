//! Backup file names (`backup_{type}_{YYYYMMDD}_{HHMMSS}[_N].sql[.gz|.zst][.age]`, `.dump`)
//! and IDs. Globals backups (`backup_globals_…`) are always plain SQL.

use std::fmt;

use chrono::NaiveDateTime;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::model::recorded::Named;

/// What a backup contains: `--type` on the command line, `type` in the catalog and the
/// schedule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Schema and data
    #[default]
    Full,
    /// Schema only (pg_dump --schema-only)
    Schema,
    /// Roles, memberships, role settings and tablespaces of the whole server (pg_dumpall --globals-only; always plain SQL)
    Globals,
}

/// pg_dump's output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// SQL script, restored with psql (.sql)
    Plain,
    /// pg_dump's custom archive, restored with pg_restore (.dump)
    Custom,
    /// pg_dump's directory format, one file per table compressed by pg_dump, dumped with
    /// --jobs and restored with pg_restore --jobs (a folder .dir)
    Directory,
}

/// The compression pgbackup applies to pg_dump's output: `--compression`, `compression` in
/// the catalog and the schedule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip (.gz)
    Gzip,
    /// zstd (.zst)
    Zstd,
    /// No compression
    None,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Schema => "schema",
            Kind::Globals => "globals",
        }
    }

    /// A backup of one database (full or schema), not of the server's globals.
    pub fn is_database(self) -> bool {
        match self {
            Kind::Full | Kind::Schema => true,
            Kind::Globals => false,
        }
    }
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Custom => "custom",
            Format::Directory => "directory",
        }
    }
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

impl Named for Kind {
    const ALL: &'static [Kind] = &[Kind::Full, Kind::Schema, Kind::Globals];
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Format {
    const ALL: &'static [Format] = &[Format::Plain, Format::Custom, Format::Directory];
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Compression {
    const ALL: &'static [Compression] = &[Compression::Gzip, Compression::Zstd, Compression::None];
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const STAMP: &str = "%Y%m%d_%H%M%S";

/// A backup's ID: its local time stamp, plus `_N` when several share a second.
pub fn backup_id(stamp: NaiveDateTime, sequence: u32) -> String {
    let base = stamp.format(STAMP).to_string();
    if sequence <= 1 {
        base
    } else {
        format!("{base}_{sequence}")
    }
}

/// The extension of a directory-format backup's folder, whatever pg_dump compresses its
/// files with (the catalog records that).
pub const DIRECTORY_EXTENSION: &str = ".dir";

/// The file extension for a format and compression.
pub fn extension(format: Format, compression: Compression) -> &'static str {
    match (format, compression) {
        (Format::Directory, _) => DIRECTORY_EXTENSION,
        (Format::Plain, Compression::None) => ".sql",
        (Format::Plain, Compression::Gzip) => ".sql.gz",
        (Format::Plain, Compression::Zstd) => ".sql.zst",
        (Format::Custom, Compression::None) => ".dump",
        (Format::Custom, Compression::Gzip) => ".dump.gz",
        (Format::Custom, Compression::Zstd) => ".dump.zst",
    }
}

/// What an age-encrypted backup's name ends with, after the format and compression's.
pub const ENCRYPTED_SUFFIX: &str = ".age";

/// The final file name of a backup.
pub fn file_name(
    kind: Kind,
    id: &str,
    format: Format,
    compression: Compression,
    encrypted: bool,
) -> String {
    format!(
        "backup_{}_{id}{}{}",
        kind.as_str(),
        extension(format, compression),
        if encrypted { ENCRYPTED_SUFFIX } else { "" }
    )
}

/// The temporary name a backup is written under until it is complete.
pub fn partial_name(final_name: &str) -> String {
    format!(".{final_name}.partial")
}

pub fn is_partial_name(name: &str) -> bool {
    name.starts_with(".backup_") && name.ends_with(".partial")
}

/// The temporary name of a catalog or metadata file being replaced
/// (`.backup_metadata.json.<pid>.tmp`, `.backup_full_….meta.json.<pid>.tmp`).
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with(".backup_") && name.ends_with(".tmp")
}

/// Whether `name` is a directory-format backup's folder (`backup_….dir`).
pub fn is_directory_name(name: &str) -> bool {
    parse_file_name(name).is_some_and(|p| p.format == Format::Directory)
}

/// What a file name following the naming scheme says about its backup.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedName {
    pub kind: Kind,
    pub id: String,
    pub stamp: NaiveDateTime,
    pub format: Format,
    /// The stream's compression; `None` for a directory, whose files pg_dump compresses.
    pub compression: Compression,
    /// The name ends with `.age`.
    pub encrypted: bool,
}

/// Parses a backup file name; `None` for anything that does not follow the scheme.
pub fn parse_file_name(name: &str) -> Option<ParsedName> {
    let rest = name.strip_prefix("backup_")?;
    let (rest, encrypted) = match rest.strip_suffix(ENCRYPTED_SUFFIX) {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (kind, rest) = Kind::ALL
        .iter()
        .find_map(|&kind| Some((kind, rest.strip_prefix(kind.as_str())?.strip_prefix('_')?)))?;
    let (id, format, compression) = [Format::Plain, Format::Custom]
        .into_iter()
        .flat_map(|f| {
            [Compression::None, Compression::Gzip, Compression::Zstd].map(move |c| (f, c))
        })
        .find_map(|(f, c)| rest.strip_suffix(extension(f, c)).map(|id| (id, f, c)))
        .or_else(|| {
            let id = rest.strip_suffix(DIRECTORY_EXTENSION)?;
            Some((id, Format::Directory, Compression::None))
        })?;
    let directory_encrypted = format == Format::Directory && encrypted;
    if (kind == Kind::Globals && format != Format::Plain) || directory_encrypted {
        return None;
    }
    let stamp_text = id.get(..15)?;
    let stamp = NaiveDateTime::parse_from_str(stamp_text, STAMP).ok()?;
    let sequence = &id[15..];
    let sequence_ok = sequence.is_empty()
        || sequence
            .strip_prefix('_')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    sequence_ok.then(|| ParsedName {
        kind,
        id: id.to_string(),
        stamp,
        format,
        compression,
        encrypted,
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{
        Compression, Format, Kind, Named, backup_id, extension, file_name, is_partial_name,
        parse_file_name, partial_name,
    };

    #[test]
    fn names_follow_the_old_module_scheme() {
        let stamp = NaiveDate::from_ymd_opt(2025, 4, 8)
            .unwrap()
            .and_hms_opt(16, 0, 0)
            .unwrap();
        let id = backup_id(stamp, 1);
        assert_eq!(id, "20250408_160000");
        assert_eq!(
            file_name(Kind::Full, &id, Format::Plain, Compression::Gzip, false),
            "backup_full_20250408_160000.sql.gz"
        );
        assert_eq!(
            file_name(
                Kind::Schema,
                &backup_id(stamp, 2),
                Format::Plain,
                Compression::None,
                false
            ),
            "backup_schema_20250408_160000_2.sql"
        );
    }

    #[test]
    fn names_parse_back() {
        let parsed = parse_file_name("backup_schema_20250408_170000.sql").unwrap();
        assert_eq!(parsed.kind, Kind::Schema);
        assert_eq!(parsed.id, "20250408_170000");
        assert_eq!(parsed.compression, Compression::None);
        let parsed = parse_file_name("backup_full_20250408_160000_3.dump").unwrap();
        assert_eq!(
            (parsed.id.as_str(), parsed.format),
            ("20250408_160000_3", Format::Custom)
        );
        let parsed = parse_file_name("backup_full_20250408_160000.sql.zst").unwrap();
        assert_eq!(parsed.compression, Compression::Zstd);
        assert!(!parsed.encrypted);
        let parsed = parse_file_name("backup_full_20250408_160000.sql.gz.age").unwrap();
        assert_eq!(parsed.compression, Compression::Gzip);
        assert!(parsed.encrypted);
        let parsed = parse_file_name("backup_full_20250408_160000.dump.age").unwrap();
        assert_eq!((parsed.format, parsed.encrypted), (Format::Custom, true));
        assert_eq!(
            file_name(
                Kind::Full,
                "20250408_160000",
                Format::Plain,
                Compression::Gzip,
                true
            ),
            "backup_full_20250408_160000.sql.gz.age"
        );
    }

    #[test]
    fn globals_names_are_plain_sql_with_any_compression() {
        let name = file_name(
            Kind::Globals,
            "20250408_160000_2",
            Format::Plain,
            Compression::Zstd,
            true,
        );
        assert_eq!(name, "backup_globals_20250408_160000_2.sql.zst.age");
        let parsed = parse_file_name(&name).unwrap();
        assert_eq!(parsed.kind, Kind::Globals);
        assert_eq!(parsed.id, "20250408_160000_2");
        assert_eq!(parsed.compression, Compression::Zstd);
        assert!(parsed.encrypted);
        assert!(!Kind::Globals.is_database());
        assert!(Kind::Full.is_database() && Kind::Schema.is_database());
    }

    #[test]
    fn other_names_are_not_backups() {
        for name in [
            "backup_metadata.json",
            "backup_full_2025040_160000.sql",
            "backup_full_20251308_160000.sql",
            "backup_diff_20250408_160000.sql",
            "backup_full_20250408_160000_.sql",
            "backup_full_20250408_160000.sql.bz2",
            ".backup_full_20250408_160000.sql.partial",
            "backup_full_20250408_160000.age",
            "backup_full_20250408_160000.sql.age.gz",
            "backup_full_20250408_160000.sql.gz.age.meta.json",
            "backup_full_20250408_160000.sql.gz.meta.json",
            "backup_full_20250408_160000.dump.meta.json",
            "backup_globals_20250408_160000.dump",
            "backup_globals_20250408_160000.dump.gz.age",
            "backup_globalsx_20250408_160000.sql",
            "backup_fullschema_20250408_160000.sql",
            ".backup_metadata.json.123.tmp",
            ".lock",
        ] {
            assert_eq!(parse_file_name(name), None, "{name}");
        }
    }

    #[test]
    fn every_format_and_compression_has_its_name_and_extension() {
        let table = [
            (Format::Plain, Compression::None, "plain", "none", ".sql"),
            (Format::Plain, Compression::Gzip, "plain", "gzip", ".sql.gz"),
            (
                Format::Plain,
                Compression::Zstd,
                "plain",
                "zstd",
                ".sql.zst",
            ),
            (Format::Custom, Compression::None, "custom", "none", ".dump"),
            (
                Format::Custom,
                Compression::Gzip,
                "custom",
                "gzip",
                ".dump.gz",
            ),
            (
                Format::Custom,
                Compression::Zstd,
                "custom",
                "zstd",
                ".dump.zst",
            ),
        ];
        for (format, compression, format_name, compression_name, ext) in table {
            assert_eq!(format.as_str(), format_name);
            assert_eq!(compression.as_str(), compression_name);
            assert_eq!(Compression::from_name(compression_name), Some(compression));
            assert_eq!(extension(format, compression), ext);
            let name = file_name(Kind::Full, "20250408_160000", format, compression, false);
            let parsed = parse_file_name(&name).unwrap();
            assert_eq!((parsed.format, parsed.compression), (format, compression));
        }
        for text in ["", "GZIP", "bzip2", "gz"] {
            assert_eq!(Compression::from_name(text), None, "{text:?}");
        }
    }

    #[test]
    fn directory_backups_are_folders_named_dir() {
        let name = file_name(
            Kind::Full,
            "20250408_160000",
            Format::Directory,
            Compression::Gzip,
            false,
        );
        assert_eq!(name, "backup_full_20250408_160000.dir");
        let parsed = parse_file_name(&name).unwrap();
        assert_eq!(
            (parsed.format, parsed.id.as_str()),
            (Format::Directory, "20250408_160000")
        );
        assert!(super::is_directory_name(&name));
        assert!(!super::is_directory_name(
            "backup_full_20250408_160000.dump"
        ));
        for other in [
            "backup_globals_20250408_160000.dir",
            "backup_full_20250408_160000.dir.age",
            "backup_full_20250408_160000.dir.partial",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
        assert_eq!(Format::from_name("directory"), Some(Format::Directory));
    }

    #[test]
    fn kinds_display_as_their_name() {
        for (kind, name) in [
            (Kind::Full, "full"),
            (Kind::Schema, "schema"),
            (Kind::Globals, "globals"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
        }
    }

    #[test]
    fn partial_names_are_hidden_and_recognised() {
        let partial = partial_name("backup_full_20250408_160000.sql.gz");
        assert_eq!(partial, ".backup_full_20250408_160000.sql.gz.partial");
        assert!(is_partial_name(&partial));
        for name in [
            "backup_full_20250408_160000.sql.gz",
            ".backup_full_20250408_160000.sql.gz",
            "backup_full_20250408_160000.sql.gz.partial",
            ".other.partial",
        ] {
            assert!(!is_partial_name(name), "{name}");
        }
    }
}
