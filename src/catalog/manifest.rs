//! The manifest of a directory-format backup: every file of its folder with its size and
//! SHA-256, recorded with the catalog entry, and the comparison that says which file is
//! missing, extra or changed.

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One file of a directory-format backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The SHA-256 recorded as the entry's `sha256`: of the manifest's lines
/// (`SHA256  SIZE  NAME\n`, sorted by name), so that it changes with any file.
pub fn digest(files: &[ManifestFile]) -> String {
    let mut sorted: Vec<&ManifestFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for file in sorted {
        hasher.update(format!("{}  {}  {}\n", file.sha256, file.size, file.name));
    }
    hex(&hasher.finalize())
}

/// The total size of the files: the entry's `size`.
pub fn total_size(files: &[ManifestFile]) -> u64 {
    files.iter().map(|f| f.size).sum()
}

/// Hashes one file's bytes as they are read.
pub fn hash_reader(name: &str, mut reader: impl Read) -> io::Result<ManifestFile> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(ManifestFile {
        name: name.to_string(),
        size,
        sha256: hex(&hasher.finalize()),
    })
}

/// What differs between the recorded manifest and the files found, one line per file,
/// naming it; empty when they match.
pub fn compare(recorded: &[ManifestFile], found: &[ManifestFile]) -> Vec<String> {
    let found: BTreeMap<&str, &ManifestFile> = found.iter().map(|f| (f.name.as_str(), f)).collect();
    let recorded_names: BTreeMap<&str, &ManifestFile> =
        recorded.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut problems = Vec::new();
    for (name, want) in &recorded_names {
        match found.get(name) {
            None => problems.push(format!("file {name} of the backup is missing")),
            Some(got) if got.size != want.size => problems.push(format!(
                "file {name} has {} bytes, the manifest says {}",
                got.size, want.size
            )),
            Some(got) if !got.sha256.eq_ignore_ascii_case(&want.sha256) => problems.push(format!(
                "file {name}: SHA-256 mismatch: expected {} (the manifest's), actual {}; \
                     the file was changed or damaged after the backup",
                want.sha256, got.sha256
            )),
            Some(_) => {}
        }
    }
    for name in found.keys().filter(|n| !recorded_names.contains_key(*n)) {
        problems.push(format!("file {name} is not part of the backup's manifest"));
    }
    problems
}

/// Sizes only, for a cheap look before the hashes: the names found with their sizes.
pub fn compare_sizes(recorded: &[ManifestFile], found: &[(String, u64)]) -> Vec<String> {
    let found: Vec<ManifestFile> = found
        .iter()
        .map(|(name, size)| {
            let sha256 = recorded
                .iter()
                .find(|f| &f.name == name)
                .map(|f| f.sha256.clone())
                .unwrap_or_default();
            ManifestFile {
                name: name.clone(),
                size: *size,
                sha256,
            }
        })
        .collect();
    compare(recorded, &found)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{ManifestFile, compare, compare_sizes, digest, hash_reader, total_size};

    fn file(name: &str, bytes: &[u8]) -> ManifestFile {
        hash_reader(name, bytes).unwrap()
    }

    #[test]
    fn a_file_is_hashed_with_its_size() {
        let hashed = file("toc.dat", b"abc");
        assert_eq!(hashed.size, 3);
        assert_eq!(
            hashed.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_digest_does_not_depend_on_order_and_changes_with_any_file() {
        let a = vec![file("toc.dat", b"toc"), file("3001.dat.gz", b"data")];
        let b = vec![a[1].clone(), a[0].clone()];
        assert_eq!(digest(&a), digest(&b));
        let changed = vec![a[0].clone(), file("3001.dat.gz", b"date")];
        assert_ne!(digest(&a), digest(&changed));
        assert_eq!(total_size(&a), 7);
    }

    #[test]
    fn every_difference_names_its_file() {
        let recorded = vec![
            file("toc.dat", b"toc"),
            file("3001.dat.gz", b"data"),
            file("3002.dat.gz", b"more"),
        ];
        assert!(compare(&recorded, &recorded).is_empty());
        let found = vec![
            file("toc.dat", b"toc"),
            file("3001.dat.gz", b"date"),
            file("extra.dat", b"x"),
        ];
        let problems = compare(&recorded, &found);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("3001.dat.gz") && problems[0].contains("SHA-256"));
        assert!(problems[1].contains("3002.dat.gz") && problems[1].contains("missing"));
        assert!(problems[2].contains("extra.dat") && problems[2].contains("not part"));
        let sizes = compare_sizes(&recorded, &[("toc.dat".to_string(), 9)]);
        assert!(
            sizes.iter().any(|p| p.contains("toc.dat has 9 bytes")),
            "{sizes:?}"
        );
    }
}
