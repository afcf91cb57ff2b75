//! What a backup file's name and size say about a backup the catalog does not know: the
//! stand-in entry for an untracked file, and the start of an adopted one.

use crate::catalog::Entry;
use crate::codec::Chain;
use crate::model::naming::{self, Compression};
use crate::model::recorded::Named;

/// The entry a backup file's name and size describe, recorded at `path`.
pub fn entry_for_name(name: &str, size: u64, path: &str) -> Entry {
    let parsed = naming::parse_file_name(name).expect("callers pass names that parse");
    let mut value = serde_json::json!({
        "id": parsed.id,
        "filename": name,
        "path": path,
        "type": parsed.kind.as_str(),
        "compressed": parsed.compression != Compression::None,
        "size": size,
        "date": parsed.stamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "description": "",
        "database": "",
        "format": parsed.format.as_str(),
        "compression": parsed.compression.as_str(),
    });
    if parsed.encrypted {
        // The stages the name says: its compression, then age.
        let compression = Chain::from(parsed.compression);
        let stages: Vec<&str> = compression
            .encrypted()
            .stages()
            .iter()
            .map(|s| s.name())
            .collect();
        value["codecs"] = serde_json::json!(stages);
    }
    serde_json::from_value(value).expect("the untracked entry is well formed")
}
