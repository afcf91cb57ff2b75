//! A codec chain: the stages a backup's bytes went through, in the order they were applied
//! when writing. Encoders and decoders for any chain are built here, from the stages
//! registered in `codec`.

use std::fmt;
use std::io::{self, Read, Write};

use super::{Identities, Recipients, Stage};
use crate::model::naming::Compression;
use crate::model::recorded::Named;

/// The stages, first applied first; empty when the bytes are stored as pg_dump wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    stages: Vec<Stage>,
}

/// What encoding needs besides the chain itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The compression level, for the compression stages.
    pub level: u32,
    /// Who can decrypt the result, for the encryption stage.
    pub recipients: Option<Recipients>,
}

/// One encoding layer: what is written to it reaches the layer below encoded.
pub trait Encode: Write {
    /// Ends this layer's stream, then the ones below it.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

pub type Layer<'w> = Box<dyn Encode + 'w>;

impl Chain {
    /// Bytes stored as they are.
    pub const NONE: Chain = Chain { stages: Vec::new() };

    pub fn new(stages: Vec<Stage>) -> Chain {
        Chain { stages }
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The same stages, then age encryption.
    pub fn encrypted(mut self) -> Chain {
        self.stages.push(Stage::Age);
        self
    }

    pub fn is_encrypted(&self) -> bool {
        self.stages.contains(&Stage::Age)
    }

    /// The compression among the stages, as the catalog's `compression` field says it.
    pub fn compression(&self) -> Compression {
        self.stages
            .iter()
            .find_map(|stage| stage.compression())
            .unwrap_or(Compression::None)
    }

    /// Writes through every stage into `writer`; `finish` ends each stream in turn. `writer`
    /// gets the stored bytes, so that is where they are hashed.
    pub fn encoder<'w, W: Write + 'w>(
        &self,
        writer: W,
        settings: &Settings,
    ) -> io::Result<Encoder<'w>> {
        let mut top: Layer<'w> = Box::new(Stored(writer));
        for stage in self.stages.iter().rev() {
            top = stage.encoder(top, settings)?;
        }
        Ok(Encoder { top })
    }

    /// Reads `reader`'s stored bytes back through every stage, last applied first;
    /// `identities` decrypt an encrypted chain.
    pub fn decoder<'r, R: Read + 'r>(
        &self,
        reader: R,
        identities: &Identities,
    ) -> io::Result<Box<dyn Read + 'r>> {
        let mut decoded: Box<dyn Read + 'r> = Box::new(reader);
        for stage in self.stages.iter().rev() {
            decoded = stage.decoder(decoded, identities)?;
        }
        Ok(decoded)
    }
}

impl From<Compression> for Chain {
    fn from(compression: Compression) -> Chain {
        match compression {
            Compression::None => Chain::NONE,
            Compression::Gzip => Chain::new(vec![Stage::Gzip]),
            Compression::Zstd => Chain::new(vec![Stage::Zstd]),
        }
    }
}

/// The stage names joined with `+`; `none` for no stage.
impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stages.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.stages.iter().map(|s| s.name()).collect();
        f.write_str(&names.join("+"))
    }
}

/// What `Chain::encoder` builds.
pub struct Encoder<'w> {
    top: Layer<'w>,
}

impl Encoder<'_> {
    /// Ends every stage's stream and flushes the writer below.
    pub fn finish(self) -> io::Result<()> {
        self.top.finish()
    }
}

impl Write for Encoder<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.top.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.top.flush()
    }
}

/// The writer the stored bytes go to.
struct Stored<W>(W);

impl<W: Write> Write for Stored<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Encode for Stored<W> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }
}

/// A stage's encoder over the layer below, with the function that ends its stream.
pub struct Staged<'w, E> {
    encoder: E,
    end: fn(E) -> io::Result<Layer<'w>>,
}

impl<'w, E: Write + 'w> Staged<'w, E> {
    pub fn layer(encoder: E, end: fn(E) -> io::Result<Layer<'w>>) -> Layer<'w> {
        Box::new(Staged { encoder, end })
    }
}

impl<E: Write> Write for Staged<'_, E> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encoder.write(buf)
    }

    /// Does nothing: flushing an igzip encoder would close its gzip member, and no stage
    /// needs its output below before the end. `finish` writes everything.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<E: Write> Encode for Staged<'_, E> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        (self.end)(self.encoder)?.finish()
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
