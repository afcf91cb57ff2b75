//! The S3 repository against a real S3 server (s3s-fs): what is written reads back byte for
//! byte, commit never overwrites, an uncommitted upload is never visible, prefixes keep
//! repositories apart, and failures are clear one-liners that never show the secret.

use std::io::Write;

use pgbackup::store::conformance::{bytes, read, write};
use pgbackup::store::s3::{PART_SIZE, S3Store};
use pgbackup::store::{Object, Stat, Store, StoreError};

use crate::support::s3::S3Server;

fn store(server: &S3Server, prefix: &str) -> S3Store {
    S3Store::open_with(&server.url(prefix), server.vars()).expect("open the S3 repository")
}

#[test]
fn what_is_written_in_odd_chunks_reads_back_byte_for_byte() {
    let server = S3Server::start();
    let repo = store(&server, "backups");
    let data = bytes(1, 40 * 1024 * 1024 + 12_345);
    let mut pending = repo.create("backup_big.sql.gz").unwrap();
    for chunk in data.chunks(7_919) {
        pending.write_all(chunk).unwrap();
    }
    assert_eq!(pending.commit().unwrap(), data.len() as u64);
    assert!(read(&repo, "backup_big.sql.gz") == data, "bytes differ");
    assert_eq!(
        repo.stat("backup_big.sql.gz").unwrap(),
        Stat::Present {
            size: data.len() as u64
        }
    );

    assert_eq!(write(&repo, "empty", b"").unwrap(), 0);
    assert_eq!(read(&repo, "empty"), b"");
    assert_eq!(
        repo.list("").unwrap(),
        vec![
            Object {
                name: "backup_big.sql.gz".into(),
                size: data.len() as u64
            },
            Object {
                name: "empty".into(),
                size: 0
            },
        ]
    );
}

#[test]
fn commit_never_overwrites_a_small_or_a_multipart_object() {
    let server = S3Server::start();
    let repo = store(&server, "backups");
    write(&repo, "backup_a.sql", b"first").unwrap();

    let small = write(&repo, "backup_a.sql", b"second");
    assert!(matches!(small, Err(StoreError::Exists(_))), "{small:?}");
    let large = write(&repo, "backup_a.sql", &bytes(2, PART_SIZE + 1));
    assert!(matches!(large, Err(StoreError::Exists(_))), "{large:?}");
    assert_eq!(read(&repo, "backup_a.sql"), b"first");
    assert_eq!(repo.sweep().unwrap(), Vec::<String>::new());
}

#[test]
fn an_upload_dropped_or_killed_before_commit_is_never_visible() {
    let server = S3Server::start();
    let repo = store(&server, "backups");
    let mut dropped = repo.create("backup_dropped.sql").unwrap();
    dropped.write_all(&bytes(3, PART_SIZE + 10)).unwrap();
    drop(dropped);
    assert_eq!(repo.stat("backup_dropped.sql").unwrap(), Stat::Missing);

    // A writer killed mid-upload runs no destructor: its upload stays until swept.
    let mut killed = repo.create("backup_killed.sql").unwrap();
    killed.write_all(&bytes(4, PART_SIZE * 2)).unwrap();
    std::mem::forget(killed);
    assert_eq!(repo.stat("backup_killed.sql").unwrap(), Stat::Missing);
    assert_eq!(repo.list("").unwrap(), vec![]);
    let files = server.files();
    assert!(
        !files.contains(&"backups/backup_killed.sql".to_string()),
        "{files:?}"
    );

    let next = store(&server, "backups");
    assert_eq!(next.sweep().unwrap(), vec!["backup_killed.sql".to_string()]);
    assert_eq!(next.sweep().unwrap(), Vec::<String>::new());
    assert_eq!(next.list("").unwrap(), vec![]);
    write(&next, "backup_killed.sql", b"done").unwrap();
    assert_eq!(read(&next, "backup_killed.sql"), b"done");
}

#[test]
fn a_prefix_lists_and_touches_only_its_own_objects() {
    let server = S3Server::start();
    let mine = store(&server, "team/backups");
    let sibling = store(&server, "team/backups-old");
    let nested = store(&server, "team/backups/theirs");
    write(&sibling, "backup_1.sql", b"sibling").unwrap();
    write(&nested, "backup_1.sql", b"nested").unwrap();
    write(&mine, "backup_1.sql", b"one").unwrap();
    write(&mine, "backup_2.sql", b"two").unwrap();
    write(&mine, "catalog.json", b"{}").unwrap();

    let names = |objects: Vec<Object>| objects.into_iter().map(|o| o.name).collect::<Vec<_>>();
    assert_eq!(
        names(mine.list("backup_").unwrap()),
        ["backup_1.sql", "backup_2.sql"]
    );
    assert_eq!(names(mine.list("").unwrap()).len(), 3);
    assert_eq!(mine.sweep().unwrap(), Vec::<String>::new());
    mine.remove("backup_1.sql").unwrap();
    assert_eq!(read(&sibling, "backup_1.sql"), b"sibling");
    assert_eq!(read(&nested, "backup_1.sql"), b"nested");
    assert_eq!(
        mine.location(),
        format!("s3://{}/team/backups", server.bucket)
    );
}

#[test]
fn remove_reports_a_missing_object_and_replace_swaps_small_objects() {
    let server = S3Server::start();
    let repo = store(&server, "");
    let missing = repo.remove("backup_none.sql");
    assert!(
        matches!(missing, Err(StoreError::Missing(_))),
        "{missing:?}"
    );
    assert!(matches!(
        repo.open("backup_none.sql"),
        Err(StoreError::Missing(_))
    ));
    assert_eq!(repo.read_small("backup_metadata.json").unwrap(), None);
    repo.replace("backup_metadata.json", b"[1]").unwrap();
    repo.replace("backup_metadata.json", b"[1,2]").unwrap();
    assert_eq!(
        repo.read_small("backup_metadata.json").unwrap().as_deref(),
        Some(&b"[1,2]"[..])
    );
    repo.remove("backup_metadata.json").unwrap();
    assert_eq!(repo.stat("backup_metadata.json").unwrap(), Stat::Missing);
    assert!(matches!(
        repo.create("../escape"),
        Err(StoreError::Unsafe { .. })
    ));
}

#[test]
fn a_wrong_secret_is_a_clear_error_that_does_not_show_it() {
    let server = S3Server::start();
    let wrong = "wrongSECRETthatMustNeverBeShown0123456789";
    let vars = server.vars().into_iter().map(|(k, v)| match k.as_str() {
        "AWS_SECRET_ACCESS_KEY" => (k, wrong.to_string()),
        _ => (k, v),
    });
    let vars: Vec<_> = vars
        .chain([(
            "AWS_SESSION_TOKEN".to_string(),
            "sessionTOKENsecret".to_string(),
        )])
        .collect();
    let message = S3Store::open_with(&server.url("backups"), vars)
        .unwrap_err()
        .to_string();
    assert!(message.contains("refused the credentials"), "{message}");
    assert!(message.contains("AWS_SECRET_ACCESS_KEY"), "{message}");
    assert!(!message.contains(wrong), "{message}");
    assert!(!message.contains("sessionTOKENsecret"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn a_missing_bucket_is_named() {
    let server = S3Server::start();
    let message = S3Store::open_with("s3://no-such-bucket/backups", server.vars())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("bucket no-such-bucket does not exist"),
        "{message}"
    );
}

#[test]
fn a_server_that_went_away_is_reported_without_the_secret() {
    let mut server = S3Server::start();
    let repo = store(&server, "backups");
    let mut pending = repo.create("backup_cut.sql").unwrap();
    pending.write_all(&bytes(5, 1000)).unwrap();
    server.kill();
    for message in [
        repo.stat("backup_cut.sql").unwrap_err().to_string(),
        pending.commit().unwrap_err().to_string(),
        S3Store::open_with(&server.url("backups"), server.vars())
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            message.contains(&format!("could not reach {}", server.endpoint())),
            "{message}"
        );
        assert!(!message.contains(&server.secret_key), "{message}");
    }
}

#[test]
fn an_upload_cut_by_the_server_going_away_stays_invisible_and_is_swept() {
    let mut server = S3Server::start();
    let repo = store(&server, "backups");
    let mut pending = repo.create("backup_cut.sql").unwrap();
    pending.write_all(&bytes(6, PART_SIZE + 1)).unwrap();
    server.kill();
    let _ = pending.write_all(&bytes(7, PART_SIZE));
    let message = pending.commit().unwrap_err().to_string();
    assert!(message.contains("could not reach"), "{message}");

    server.restart();
    let next = store(&server, "backups");
    assert_eq!(next.stat("backup_cut.sql").unwrap(), Stat::Missing);
    assert_eq!(next.sweep().unwrap(), vec!["backup_cut.sql".to_string()]);
    assert_eq!(next.list("").unwrap(), vec![]);
}

#[test]
fn the_s3_store_passes_the_store_conformance_suite() {
    let server = S3Server::start();
    let next = std::sync::atomic::AtomicUsize::new(0);
    pgbackup::store::conformance::run_all(&|| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::new(store(&server, &format!("conformance-{n}"))) as Box<dyn Store>
    });
}
