use std::io::{Read, Write};

use super::{Chain, Settings};
use crate::codec::Identities;
use crate::codec::Stage;
use crate::model::naming::Compression;

fn data() -> Vec<u8> {
    (0..60_000u32)
        .flat_map(|i| (i % 977).to_le_bytes())
        .collect()
}

fn encode(chain: &Chain, level: u32, data: &[u8]) -> Vec<u8> {
    let mut stored = Vec::new();
    let mut encoder = chain
        .encoder(
            &mut stored,
            &Settings {
                level,
                recipients: None,
            },
        )
        .unwrap();
    for piece in data.chunks(7000) {
        encoder.write_all(piece).unwrap();
    }
    encoder.flush().unwrap();
    encoder.finish().unwrap();
    stored
}

fn decode(chain: &Chain, stored: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::new();
    chain
        .decoder(stored, &Identities::default())
        .unwrap()
        .read_to_end(&mut decoded)
        .unwrap();
    decoded
}

fn levels(chain: &Chain) -> std::ops::RangeInclusive<u32> {
    match chain.stages().contains(&Stage::Gzip) {
        true => 1..=9,
        false => 1..=19,
    }
}

#[test]
fn every_combination_of_stages_at_every_level_reads_back() {
    let data = data();
    let chains = [
        Chain::NONE,
        Chain::new(vec![Stage::Gzip]),
        Chain::new(vec![Stage::Zstd]),
        Chain::new(vec![Stage::Gzip, Stage::Zstd]),
        Chain::new(vec![Stage::Zstd, Stage::Gzip]),
    ];
    for chain in &chains {
        for level in levels(chain) {
            let stored = encode(chain, level, &data);
            assert_eq!(decode(chain, &stored), data, "{chain} level {level}");
            if !chain.is_empty() {
                assert!(stored.len() < data.len() / 2, "{chain} level {level}");
            }
        }
    }
}

#[test]
fn the_writer_gets_the_last_stage_s_output() {
    let data = data();
    let gzip_magic = [0x1f, 0x8b];
    let zstd_magic = [0x28, 0xb5, 0x2f, 0xfd];
    assert_eq!(encode(&Chain::NONE, 1, &data), data);
    assert!(encode(&Chain::new(vec![Stage::Gzip]), 6, &data).starts_with(&gzip_magic));
    let both = encode(&Chain::new(vec![Stage::Gzip, Stage::Zstd]), 3, &data);
    assert!(both.starts_with(&zstd_magic));
    let inner = ::zstd::decode_all(&both[..]).unwrap();
    assert!(inner.starts_with(&gzip_magic));
    let reversed = encode(&Chain::new(vec![Stage::Zstd, Stage::Gzip]), 3, &data);
    assert!(reversed.starts_with(&gzip_magic));
}

fn zlib(data: &[u8], level: u32) -> Vec<u8> {
    let mut zlib = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    for piece in data.chunks(7000) {
        zlib.write_all(piece).unwrap();
    }
    zlib.finish().unwrap()
}

#[cfg(feature = "isal")]
#[test]
fn gzip_level_1_is_igzip_and_the_others_zlib() {
    let data = data();
    let mut igzip = isal::write::GzipEncoder::new(Vec::new(), isal::CompressionLevel::One);
    for piece in data.chunks(7000) {
        igzip.write_all(piece).unwrap();
    }
    let gzip = Chain::new(vec![Stage::Gzip]);
    assert!(encode(&gzip, 1, &data) == igzip.finish().unwrap());
    assert!(encode(&gzip, 6, &data) == zlib(&data, 6));
}

#[cfg(not(feature = "isal"))]
#[test]
fn without_isal_every_gzip_level_is_zlib() {
    let data = data();
    let gzip = Chain::new(vec![Stage::Gzip]);
    assert!(encode(&gzip, 1, &data) == zlib(&data, 1));
    assert!(encode(&gzip, 6, &data) == zlib(&data, 6));
}

#[test]
fn a_compression_is_the_chain_of_its_one_stage() {
    for (compression, text) in [
        (Compression::None, "none"),
        (Compression::Gzip, "gzip"),
        (Compression::Zstd, "zstd"),
    ] {
        let chain = Chain::from(compression);
        assert_eq!(chain.compression(), compression);
        assert_eq!(chain.to_string(), text);
    }
    assert_eq!(
        Chain::new(vec![Stage::Zstd, Stage::Gzip]).to_string(),
        "zstd+gzip"
    );
}

#[test]
fn a_truncated_stream_does_not_decode() {
    let data = data();
    for chain in [Chain::new(vec![Stage::Gzip]), Chain::new(vec![Stage::Zstd])] {
        let stored = encode(&chain, 3, &data);
        let mut out = Vec::new();
        let result = chain
            .decoder(&stored[..stored.len() - 5], &Identities::default())
            .unwrap()
            .read_to_end(&mut out);
        assert!(result.is_err(), "{chain}");
    }
}
