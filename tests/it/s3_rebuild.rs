//! The catalog of an S3 repository rebuilt by another host: after the database server and
//! its pgbackup home are gone and the bucket's `backup_metadata.json` is lost, a fresh home
//! on a fresh server gets every backup back from the metadata objects beside them
//! (descriptions and pins included) and restores from the bucket.

use std::fs;

use serde_json::Value;

use crate::support::s3::S3Server;
use crate::support::{Env, assert_success, stderr, stdout};

const PREFIX: &str = "prod/app";

fn run(env: &Env, server: &S3Server, args: &[&str]) -> std::process::Output {
    env.cmd()
        .envs(server.vars())
        .arg("--repo")
        .arg(server.url(PREFIX))
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &std::process::Output) -> Value {
    assert_success(output);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

/// What a rebuilt entry must have kept of the original.
fn recorded(entry: &Value) -> Value {
    let fields = [
        "id",
        "filename",
        "database",
        "description",
        "sha256",
        "size",
        "format",
        "pinned",
    ];
    fields
        .iter()
        .map(|f| (f.to_string(), entry[f].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn another_host_rebuilds_the_catalog_of_a_bucket_from_its_metadata_objects_and_restores() {
    let origin = Env::new();
    let server = S3Server::start();
    let plain = json(&run(
        &origin,
        &server,
        &["create", "--json", "--description", "before the upgrade"],
    ));
    let custom = json(&run(
        &origin,
        &server,
        &["create", "--json", "--format", "custom"],
    ));
    let custom_id = custom["id"].as_str().unwrap();
    assert_success(&run(&origin, &server, &["pin", custom_id]));
    let before: Vec<Value> = json(&run(&origin, &server, &["list", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(recorded)
        .collect();
    assert_eq!(before.len(), 2);
    assert_eq!(plain["description"], "before the upgrade");
    let expected = origin.cluster.dump("app");
    drop(origin);

    fs::remove_file(
        server
            .bucket_dir()
            .join(PREFIX)
            .join("backup_metadata.json"),
    )
    .unwrap();

    let host = Env::new();
    host.cluster.psql("postgres", "DROP DATABASE app");
    let rebuilt = json(&run(
        &host,
        &server,
        &["verify", "--rebuild-catalog", "--json"],
    ));
    assert_eq!(rebuilt["kept"], 0, "{rebuilt}");
    let adopted = rebuilt["adopted"].as_array().unwrap();
    assert_eq!(adopted.len(), 2, "{rebuilt}");
    for report in adopted {
        assert_eq!(report["notes"], serde_json::json!([]), "{rebuilt}");
    }
    assert!(
        server
            .files()
            .contains(&format!("{PREFIX}/backup_metadata.json")),
        "the catalog is written back into the bucket"
    );

    let after: Vec<Value> = json(&run(&host, &server, &["list", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(recorded)
        .collect();
    assert_eq!(after, before);

    for (id, target) in [(plain["id"].as_str().unwrap(), "app"), (custom_id, "copy")] {
        let restored = run(
            &host,
            &server,
            &["restore", id, "--target", target, "--yes"],
        );
        assert_success(&restored);
        assert_eq!(host.cluster.dump(target), expected, "{id} into {target}");
    }
}
