//! age encryption, after compression: files the standard `age` tool decrypts
//! (`age -d -i key.txt`), and files it made that pgbackup reads back.

use std::io::{self, BufReader, Read, Write};

use age::stream::StreamWriter;
use age::{DecryptError, Decryptor};

use super::chain::{Layer, Staged};
use super::keys::{Identities, Recipients};
use crate::fault;

pub fn encoder<'w>(next: Layer<'w>, recipients: Option<&Recipients>) -> io::Result<Layer<'w>> {
    let recipients = recipients.ok_or_else(|| {
        io::Error::other("the chain encrypts with age, but no recipient was given")
    })?;
    let writer = recipients.encryptor()?.wrap_output(next)?;
    Ok(Staged::layer(writer, finish))
}

/// Writes the last chunk, which marks the stream's end: without it, age refuses the file.
fn finish<W: Write>(writer: StreamWriter<W>) -> io::Result<W> {
    fault::point("create:before-age-finish");
    writer.finish()
}

/// Reads the header and unwraps the file key with `identities`: a missing or wrong key is
/// known here, before any of the content is read.
pub fn decoder<'r>(
    encoded: Box<dyn Read + 'r>,
    identities: &Identities,
) -> io::Result<Box<dyn Read + 'r>> {
    if identities.is_empty() {
        return Err(io::Error::other(NO_KEY));
    }
    let decryptor = Decryptor::new_buffered(BufReader::new(encoded)).map_err(describe)?;
    let reader = decryptor.decrypt(identities.iter()).map_err(describe)?;
    Ok(Box::new(Authenticated(reader)))
}

/// The decrypted stream, its errors said plainly: a chunk that does not authenticate
/// (changed bytes) or an end that is missing (a truncated file).
struct Authenticated<R>(R);

impl<R: Read> Read for Authenticated<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|err| match err.kind() {
            io::ErrorKind::InvalidData => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("age decryption failed, the file was changed or damaged ({err})"),
            ),
            io::ErrorKind::UnexpectedEof => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the age stream ends early, the file is truncated ({err})"),
            ),
            _ => err,
        })
    }
}

pub const NO_KEY: &str = "the backup is encrypted with age: give its identity with --identity \
     FILE (or PGBACKUP_IDENTITY_FILE), or --passphrase-file FILE if it was encrypted with a \
     passphrase";

fn describe(err: DecryptError) -> io::Error {
    let message = match err {
        DecryptError::NoMatchingKeys => "none of the identities given can decrypt this backup \
             (it was encrypted to other recipients, or with a passphrase: check --identity, \
             PGBACKUP_IDENTITY_FILE or --passphrase-file)"
            .to_string(),
        DecryptError::DecryptionFailed | DecryptError::InvalidMac => {
            format!("age decryption failed, the file was changed or damaged: {err}")
        }
        DecryptError::Io(err) => return err,
        other => format!("age could not decrypt the file: {other}"),
    };
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
#[path = "age_tests.rs"]
mod tests;
