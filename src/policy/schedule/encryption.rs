//! The schedule's `encryption` object: the age recipients scheduled backups are encrypted
//! to, listed (`recipients`) or in a file (`recipients_file`), or both.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// Public keys: `age1…`, `ssh-ed25519 …`, `ssh-rsa …`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// A file of public keys, one a line, as `age -R` reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients_file: Option<String>,
}

pub fn parse(value: &Value) -> Result<Encryption, String> {
    let expected = "expected {\"recipients\": [\"age1…\"]} or {\"recipients_file\": \"FILE\"}";
    let encryption =
        Encryption::deserialize(value).map_err(|err| format!("{value} ({expected}: {err})"))?;
    if encryption.recipients.is_empty() && encryption.recipients_file.is_none() {
        return Err(format!("{value} names no recipient ({expected})"));
    }
    Ok(encryption)
}
