//! The stages a backup's bytes go through on their way to the repository and back.
//!
//! Each stage is one module; this file registers them: its name in the catalog, the
//! extension it adds to a file name, and how it encodes and decodes. A new stage (say,
//! encryption after compression) is a new module and one arm in each `match` below.

mod age;
pub mod chain;
pub mod decode;
mod gzip;
pub mod keys;
mod zstd;

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use crate::model::naming::Compression;
use crate::model::recorded::Named;
use chain::Layer;
pub use chain::{Chain, Encoder, Settings};
pub use keys::{Identities, Recipients};

/// One transformation of the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Gzip,
    Zstd,
    /// age encryption, after compression.
    Age,
}

impl Named for Stage {
    const ALL: &'static [Stage] = &[Stage::Gzip, Stage::Zstd, Stage::Age];

    fn name(self) -> &'static str {
        match self {
            Stage::Gzip => "gzip",
            Stage::Zstd => "zstd",
            Stage::Age => "age",
        }
    }
}

impl Stage {
    /// The compression this stage is, for the catalog's `compression` field.
    fn compression(self) -> Option<Compression> {
        match self {
            Stage::Gzip => Some(Compression::Gzip),
            Stage::Zstd => Some(Compression::Zstd),
            Stage::Age => None,
        }
    }

    /// Wraps `next`: what is written to the result reaches `next` encoded.
    fn encoder<'w>(self, next: Layer<'w>, settings: &Settings) -> io::Result<Layer<'w>> {
        match self {
            Stage::Gzip => Ok(gzip::encoder(next, settings.level)),
            Stage::Zstd => zstd::encoder(next, settings.level),
            Stage::Age => age::encoder(next, settings.recipients.as_ref()),
        }
    }

    /// Wraps `encoded`: reading the result gives what this stage was given when writing.
    fn decoder<'r>(
        self,
        encoded: Box<dyn Read + 'r>,
        identities: &Identities,
    ) -> io::Result<Box<dyn Read + 'r>> {
        match self {
            Stage::Gzip => Ok(gzip::decoder(encoded)),
            Stage::Zstd => zstd::decoder(encoded),
            Stage::Age => age::decoder(encoded, identities),
        }
    }
}
