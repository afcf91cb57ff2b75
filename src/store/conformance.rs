//! What every [`Store`] must do, written once over `&dyn Store` and run against each
//! implementation (the local folder in a unit test, S3 from the integration tests). Each
//! case gets a fresh, empty repository from `make` and panics with what went wrong.

use std::io::{Read, Write};

use super::{Object, Stat, Store, StoreError};

const A: &str = "backup_full_20250101_000000.sql.gz";
const B: &str = "backup_full_20250102_000000.sql.gz";
const META: &str = "backup_metadata.json";

/// One case: its name, and the check run against an empty repository.
type Case = (&'static str, fn(&dyn Store));

/// Runs every case, each against a repository of its own.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    let cases: [Case; 9] = [
        ("commit never overwrites", commit_never_overwrites),
        (
            "an uncommitted write is invisible",
            uncommitted_is_invisible,
        ),
        (
            "a dropped writer leaves nothing",
            dropped_writer_leaves_nothing,
        ),
        ("removing a missing object", remove_missing_is_reported),
        ("listing with a prefix", list_with_prefix),
        ("reading back byte for byte", reads_back_byte_for_byte),
        ("concurrent writers", concurrent_writers),
        ("atomic replace", replace_replaces),
        ("reading a missing small object", read_small_missing_is_none),
    ];
    for (name, case) in cases {
        let store = make();
        eprintln!("store conformance: {name} ({})", store.location());
        case(&*store);
    }
}

/// `len` bytes that differ along the way (xorshift).
pub fn bytes(seed: u32, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// Writes `data` under `name` and commits it.
pub fn write(store: &dyn Store, name: &str, data: &[u8]) -> Result<u64, StoreError> {
    let mut pending = store.create(name)?;
    pending
        .write_all(data)
        .unwrap_or_else(|e| panic!("writing {name}: {e}"));
    pending.commit()
}

/// The whole object, read as a stream.
pub fn read(store: &dyn Store, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .open(name)
        .unwrap_or_else(|e| panic!("opening {name}: {e}"))
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("reading {name}: {e}"));
    out
}

fn names(store: &dyn Store, prefix: &str) -> Vec<String> {
    let listed = store
        .list(prefix)
        .unwrap_or_else(|e| panic!("listing {prefix:?}: {e}"));
    listed.into_iter().map(|o| o.name).collect()
}

pub fn commit_never_overwrites(store: &dyn Store) {
    write(store, A, b"first").expect("the first commit succeeds");
    match write(store, A, b"second, longer") {
        Err(StoreError::Exists(_)) => {}
        other => panic!("a second commit of {A} must fail with Exists, got {other:?}"),
    }
    assert_eq!(
        read(store, A),
        b"first",
        "a refused commit changed the existing object"
    );
    assert_eq!(
        names(store, ""),
        [A],
        "a refused commit left something listed"
    );
}

pub fn uncommitted_is_invisible(store: &dyn Store) {
    let mut pending = store.create(A).expect("create");
    pending.write_all(&bytes(2, 100_000)).expect("write");
    pending.flush().expect("flush");
    assert_eq!(
        names(store, ""),
        Vec::<String>::new(),
        "an uncommitted write is listed"
    );
    assert_eq!(
        store.stat(A).expect("stat"),
        Stat::Missing,
        "an uncommitted write is visible to stat"
    );
    pending.commit().expect("commit");
    assert_eq!(
        store.stat(A).expect("stat"),
        Stat::Present { size: 100_000 },
        "a committed write is not visible"
    );
}

pub fn dropped_writer_leaves_nothing(store: &dyn Store) {
    let mut pending = store.create(A).expect("create");
    pending.write_all(&bytes(3, 50_000)).expect("write");
    drop(pending);
    assert_eq!(
        store.stat(A).expect("stat"),
        Stat::Missing,
        "a dropped writer's object is visible"
    );
    assert!(
        names(store, "").is_empty(),
        "a dropped writer left something listed"
    );
    store.sweep().expect("sweep after a dropped writer");
    assert!(
        store.sweep().expect("a second sweep").is_empty(),
        "a sweep left leftovers for the next one"
    );
    write(store, A, b"again").expect("the name is free after a dropped writer");
    assert_eq!(read(store, A), b"again");
}

pub fn remove_missing_is_reported(store: &dyn Store) {
    match store.remove(A) {
        Err(StoreError::Missing(_)) => {}
        other => panic!("removing a missing object must fail with Missing, got {other:?}"),
    }
    write(store, A, b"x").expect("write");
    store.remove(A).expect("removing a present object");
    assert_eq!(
        store.stat(A).expect("stat"),
        Stat::Missing,
        "remove left it"
    );
    assert!(
        matches!(store.remove(A), Err(StoreError::Missing(_))),
        "removing twice must report Missing"
    );
}

pub fn list_with_prefix(store: &dyn Store) {
    for name in [B, META, A, "backup_schema_20250101_000000.sql"] {
        write(store, name, name.as_bytes()).expect("write");
    }
    assert_eq!(
        names(store, "backup_full_"),
        [A, B],
        "listing backup_full_ must return exactly its names, sorted"
    );
    assert_eq!(
        names(store, ""),
        [A, B, META, "backup_schema_20250101_000000.sql"],
        "listing everything must return every name, sorted"
    );
    assert!(names(store, "nothing_").is_empty(), "no name matches");
    let listed = store.list(A).expect("list");
    assert_eq!(
        listed,
        [Object {
            name: A.into(),
            size: A.len() as u64
        }],
        "list must report sizes"
    );
}

pub fn reads_back_byte_for_byte(store: &dyn Store) {
    let data = bytes(4, 6 * 1024 * 1024 + 12_345);
    let mut pending = store.create(A).expect("create");
    for chunk in data.chunks(7_919) {
        pending.write_all(chunk).expect("write");
    }
    assert_eq!(pending.commit().expect("commit"), data.len() as u64);
    assert!(read(store, A) == data, "the bytes read back differ");
    assert_eq!(
        store.stat(A).expect("stat"),
        Stat::Present {
            size: data.len() as u64
        }
    );
    assert_eq!(write(store, B, b"").expect("an empty object"), 0);
    assert_eq!(read(store, B), b"", "an empty object reads back non-empty");
    assert_eq!(store.stat(B).expect("stat"), Stat::Present { size: 0 });
}

pub fn concurrent_writers(store: &dyn Store) {
    let written: Vec<String> = (0..4)
        .map(|i| format!("backup_full_2025010{}_000000.sql", i + 1))
        .collect();
    std::thread::scope(|scope| {
        for (i, name) in written.iter().enumerate() {
            scope.spawn(move || {
                let data = bytes(10 + i as u32, 300_000 + i);
                let mut pending = store.create(name).expect("create");
                for chunk in data.chunks(4_099) {
                    pending.write_all(chunk).expect("write");
                }
                pending.commit().expect("commit");
            });
        }
    });
    for (i, name) in written.iter().enumerate() {
        assert!(
            read(store, name) == bytes(10 + i as u32, 300_000 + i),
            "{name} written concurrently reads back different bytes"
        );
    }
    assert_eq!(names(store, ""), written, "concurrent writers: listing");
}

pub fn replace_replaces(store: &dyn Store) {
    store
        .replace(META, b"old")
        .expect("replace a missing object");
    assert_eq!(
        store.read_small(META).expect("read").as_deref(),
        Some(&b"old"[..])
    );
    let new = bytes(5, 200_000);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            for _ in 0..50 {
                let seen = store.read_small(META).expect("read while replacing");
                let seen = seen.expect("the object never disappears while replaced");
                assert!(
                    seen == b"old" || seen == new,
                    "a reader saw a mix of the old and the new bytes ({} bytes)",
                    seen.len()
                );
            }
        });
        store.replace(META, &new).expect("replace");
        reader.join().expect("the reader saw only whole objects");
    });
    assert!(
        store.read_small(META).expect("read") == Some(new),
        "not replaced"
    );
    assert_eq!(names(store, ""), [META], "replace left something listed");
}

pub fn read_small_missing_is_none(store: &dyn Store) {
    assert_eq!(
        store
            .read_small(META)
            .expect("reading a missing object is not an error"),
        None
    );
}
