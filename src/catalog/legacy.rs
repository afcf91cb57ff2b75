//! The old module's shapes, read in one place: IDs written as numbers, `null` descriptions,
//! dates without a zone, and entries that only say `compressed: true|false` (no `format`,
//! `compression` or `codecs`), mapped onto the codec chain and format they stand for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::Entry;
use crate::codec::Chain;
use crate::model::naming::{Compression, Format};
use crate::model::recorded::Recorded;
use crate::model::zone::{self, Zone};

impl Entry {
    /// When the backup was made: `created_at`, else the old module's `date` (read in `zone`).
    pub fn instant(&self, zone: Zone) -> Option<DateTime<Utc>> {
        self.created_at
            .as_deref()
            .and_then(|t| zone::parse_date(t, zone))
            .or_else(|| zone::parse_date(&self.date, zone))
    }

    /// The stages the file went through: `codecs`, else what `compression` or the old
    /// module's `compressed` and the file name say; an error names a value not known here.
    pub fn chain(&self) -> Result<Chain, String> {
        // A directory's files are compressed by pg_dump; pgbackup applies no stage.
        if self.format() == Format::Directory {
            return Ok(Chain::NONE);
        }
        if let Some(codecs) = &self.codecs {
            let stages = codecs.iter().map(|codec| {
                codec
                    .known()
                    .ok_or_else(|| format!("unknown codec {:?}", codec.as_str()))
            });
            return stages.collect::<Result<_, _>>().map(Chain::new);
        }
        match &self.compression {
            Some(Recorded::Known(compression)) => Ok(Chain::from(*compression)),
            Some(Recorded::Other(text)) => Err(format!("unknown compression {text:?}")),
            None => Ok(Chain::from(self.old_compression())),
        }
    }

    /// The compression of the file, inferred for old entries that only say `compressed`.
    pub fn compression_name(&self) -> &str {
        match &self.compression {
            Some(compression) => compression.as_str(),
            None => self.old_compression().as_str(),
        }
    }

    /// The dump format, inferred from the name for old entries.
    pub fn format(&self) -> Recorded<Format> {
        self.format
            .clone()
            .unwrap_or_else(|| self.old_format().into())
    }

    pub fn format_name(&self) -> &str {
        match &self.format {
            Some(format) => format.as_str(),
            None => self.old_format().as_str(),
        }
    }

    fn old_format(&self) -> Format {
        match self.filename.contains(".dump") {
            true => Format::Custom,
            false => Format::Plain,
        }
    }

    fn old_compression(&self) -> Compression {
        match self.compressed {
            true if self.filename.trim_end_matches(".age").ends_with(".zst") => Compression::Zstd,
            true => Compression::Gzip,
            false => Compression::None,
        }
    }
}

pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number, found {other}"
        ))),
    }
}

pub fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
