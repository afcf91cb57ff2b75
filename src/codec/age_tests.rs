use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::SecretString;

use crate::codec::{Chain, Identities, Recipients, Settings, Stage};

fn data() -> Vec<u8> {
    (0..200_000u32)
        .flat_map(|i| (i % 991).to_le_bytes())
        .collect()
}

fn key_file(
    dir: &tempfile::TempDir,
    name: &str,
    key: &age::x25519::Identity,
) -> std::path::PathBuf {
    use age::secrecy::ExposeSecret;
    let path = dir.path().join(name);
    std::fs::write(
        &path,
        format!("# test key\n{}\n", key.to_string().expose_secret()),
    )
    .unwrap();
    path
}

fn encode(chain: &Chain, recipients: Recipients, data: &[u8]) -> Vec<u8> {
    let mut stored = Vec::new();
    let settings = Settings {
        level: 1,
        recipients: Some(recipients),
    };
    let mut encoder = chain.encoder(&mut stored, &settings).unwrap();
    for piece in data.chunks(10_000) {
        encoder.write_all(piece).unwrap();
    }
    encoder.finish().unwrap();
    stored
}

fn decode(chain: &Chain, identities: &Identities, stored: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    chain
        .decoder(stored, identities)
        .and_then(|mut reader| reader.read_to_end(&mut out))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn recipients_of(key: &age::x25519::Identity) -> Recipients {
    Recipients::parse(&[key.to_public().to_string()], &[] as &[&str])
        .unwrap()
        .unwrap()
}

#[test]
fn every_compression_then_age_reads_back_with_the_identity_only() {
    let dir = tempfile::tempdir().unwrap();
    let key = age::x25519::Identity::generate();
    let other = age::x25519::Identity::generate();
    let right = Identities::read(&[key_file(&dir, "key.txt", &key)], None).unwrap();
    let wrong = Identities::read(&[key_file(&dir, "other.txt", &other)], None).unwrap();
    let data = data();
    for stages in [vec![], vec![Stage::Gzip], vec![Stage::Zstd]] {
        let chain = Chain::new(stages).encrypted();
        let stored = encode(&chain, recipients_of(&key), &data);
        assert!(stored.starts_with(b"age-encryption.org/v1\n"), "{chain}");
        assert_eq!(decode(&chain, &right, &stored).unwrap(), data, "{chain}");
        let refused = decode(&chain, &wrong, &stored).unwrap_err();
        assert!(refused.contains("none of the identities"), "{refused}");
        let missing = decode(&chain, &Identities::default(), &stored).unwrap_err();
        assert!(missing.contains("--identity FILE"), "{missing}");
    }
}

#[test]
fn a_passphrase_encrypts_and_decrypts() {
    let passphrase = SecretString::from("correct horse battery staple".to_string());
    let chain = Chain::new(vec![Stage::Gzip]).encrypted();
    let data = data();
    let stored = encode(&chain, Recipients::Passphrase(passphrase.clone()), &data);
    let identities = Identities::read(&[] as &[&str], Some(&passphrase)).unwrap();
    assert_eq!(decode(&chain, &identities, &stored).unwrap(), data);
    let wrong = SecretString::from("wrong".to_string());
    let wrong = Identities::read(&[] as &[&str], Some(&wrong)).unwrap();
    assert!(decode(&chain, &wrong, &stored).is_err());
}

#[test]
fn tampered_and_truncated_ciphertexts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = age::x25519::Identity::generate();
    let identities = Identities::read(&[key_file(&dir, "key.txt", &key)], None).unwrap();
    let chain = Chain::NONE.encrypted();
    let data = data();
    let stored = encode(&chain, recipients_of(&key), &data);
    let mut tampered = stored.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    assert!(decode(&chain, &identities, &tampered).is_err());
    // The last cut ends at a chunk boundary: only age's last-chunk flag tells it is short.
    let last_chunk = data.len() % 65536 + 16;
    for cut in [1, 17, last_chunk] {
        assert!(
            decode(&chain, &identities, &stored[..stored.len() - cut]).is_err(),
            "{cut}"
        );
    }
}

#[test]
fn recipients_files_and_ssh_keys_are_read_and_bad_lines_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = age::x25519::Identity::generate();
    let ssh =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB/VVN6ih6TX test";
    let file = dir.path().join("recipients.txt");
    std::fs::write(&file, format!("# ops\n{}\n\n{ssh}\n", key.to_public())).unwrap();
    let recipients = Recipients::parse(&[], &[&file]).unwrap().unwrap();
    assert_eq!(
        recipients.public(),
        [key.to_public().to_string(), ssh.to_string()]
    );
    std::fs::write(&file, "age1notakey\n").unwrap();
    let err = format!("{:#}", Recipients::parse(&[], &[&file]).unwrap_err());
    assert!(err.contains("line 1"), "{err}");
    assert!(age::x25519::Recipient::from_str("age1notakey").is_err());
}

#[test]
fn an_identity_file_with_other_data_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key.txt");
    std::fs::write(&file, "AGE-SECRET-KEY-NOT-REALLY\n").unwrap();
    let err = format!("{:#}", Identities::read(&[&file], None).unwrap_err());
    assert!(err.contains("identity file"), "{err}");
    assert!(!err.contains("NOT-REALLY"), "{err}");
}
