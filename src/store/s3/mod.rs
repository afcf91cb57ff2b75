//! A repository in S3-compatible object storage, named `s3://BUCKET/PREFIX`. Every object
//! lives directly under the prefix; nothing outside it is read, listed or touched.
//!
//! Credentials and endpoint come from the AWS variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true` for a plain-http endpoint, and the web-identity
//! and container credential variables); requests use path-style addressing unless
//! `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`. The [`Store`] trait is synchronous: the store
//! holds a small tokio runtime of its own and blocks on it, so nothing async leaks out.

mod errors;
mod folder;
mod read;
mod upload;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{ObjectStoreExt, RetryConfig};
use tokio::runtime::Runtime;

use super::{Object, Pending, PendingFolder, Stat, Store, StoreError, StoreResult};
use errors::Scrub;
pub use upload::PART_SIZE;

/// Where unfinished uploads are recorded, below the prefix (never listed: names have no `/`).
const UPLOADS: &str = ".pgbackup-uploads";

/// What every request needs: the client, the runtime it runs on, and what errors must hide.
struct Conn {
    client: Arc<AmazonS3>,
    runtime: Runtime,
    scrub: Scrub,
    root: Path,
}

impl Conn {
    fn key(&self, name: &str) -> Path {
        self.root.clone().join(name)
    }

    fn marker(&self, name: &str) -> Path {
        self.root.clone().join(UPLOADS).join(name)
    }

    /// Removes the record of an upload that was completed or aborted. Should that fail, the
    /// sweep finds the upload gone and removes the record then.
    fn forget_marker(&self, marker: &Path) {
        let _ = self.runtime.block_on(self.client.delete(marker));
    }
}

/// A repository at `s3://BUCKET/PREFIX`.
pub struct S3Store {
    conn: Arc<Conn>,
    url: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store").field("url", &self.url).finish()
    }
}

impl S3Store {
    /// Opens `s3://BUCKET/PREFIX` with the process's AWS variables, checking that the
    /// bucket answers.
    pub fn open(url: &str) -> StoreResult<S3Store> {
        S3Store::open_with(url, std::env::vars())
    }

    /// Opens `s3://BUCKET/PREFIX` with the given AWS variables instead of the process's.
    pub fn open_with(
        url: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> StoreResult<S3Store> {
        let (bucket, prefix) = parse_url(url)?;
        let mut builder = AmazonS3Builder::new();
        let (mut secrets, mut endpoint) = (Vec::new(), None);
        for (key, value) in vars {
            if !key.starts_with("AWS_") {
                continue;
            }
            if matches!(
                key.as_str(),
                "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN" | "AWS_TOKEN"
            ) {
                secrets.push(value.clone());
            }
            if matches!(key.as_str(), "AWS_ENDPOINT_URL" | "AWS_ENDPOINT") && endpoint.is_none()
                || key == "AWS_ENDPOINT_URL_S3"
            {
                endpoint = Some(value.clone());
            }
            match key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                Ok(AmazonS3ConfigKey::Bucket) | Err(_) => {}
                Ok(config) => builder = builder.with_config(config, value),
            }
        }
        let endpoint = endpoint.unwrap_or_else(|| "AWS S3".to_string());
        let scrub = Scrub::new(secrets, endpoint, bucket.clone());
        let client = builder
            .with_bucket_name(&bucket)
            .with_retry(RetryConfig {
                max_retries: 4,
                retry_timeout: Duration::from_secs(30),
                ..Default::default()
            })
            .build()
            .map_err(|e| {
                StoreError::Other(anyhow::anyhow!(
                    "{}",
                    scrub.text(&format!("cannot use {url}: {e}"))
                ))
            })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pgbackup-s3")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Other(anyhow::anyhow!("could not start S3 client: {e}")))?;
        let root = Path::parse(&prefix).map_err(|e| {
            StoreError::Other(anyhow::anyhow!(
                "{url}: {prefix:?} is not a usable prefix: {e}"
            ))
        })?;
        let store = S3Store {
            conn: Arc::new(Conn {
                client: Arc::new(client),
                runtime,
                scrub,
                root,
            }),
            url: location(&bucket, &prefix),
        };
        store.probe()?;
        Ok(store)
    }

    /// One cheap listing, so wrong credentials, a missing bucket or an endpoint that does
    /// not answer are reported when the repository is opened.
    fn probe(&self) -> StoreResult<()> {
        let options = PaginatedListOptions {
            max_keys: Some(1),
            delimiter: Some("/".into()),
            ..Default::default()
        };
        let prefix = self.list_prefix("");
        let listing = self.conn.client.list_paginated(Some(&prefix), options);
        (self.conn.runtime.block_on(listing))
            .map(|_| ())
            .map_err(|e| self.fail(&format!("cannot open {}", self.url), &e))
    }

    /// The raw key prefix under which names starting with `start` live.
    fn list_prefix(&self, start: &str) -> String {
        match self.conn.root.as_ref() {
            "" => start.to_string(),
            root => format!("{root}/{start}"),
        }
    }

    fn fail(&self, doing: &str, err: &object_store::Error) -> StoreError {
        self.conn.scrub.error(doing, err)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.conn.runtime.block_on(future)
    }
}

/// How messages name `s3://BUCKET/PREFIX` (without repeated or surrounding slashes), known
/// without contacting the server.
pub fn location_of(url: &str) -> StoreResult<String> {
    let (bucket, prefix) = parse_url(url)?;
    Ok(location(&bucket, &prefix))
}

fn location(bucket: &str, prefix: &str) -> String {
    match prefix {
        "" => format!("s3://{bucket}"),
        _ => format!("s3://{bucket}/{prefix}"),
    }
}

/// Splits `s3://BUCKET/PREFIX` into the bucket and the prefix without surrounding slashes.
fn parse_url(url: &str) -> StoreResult<(String, String)> {
    let invalid = |why: &str| StoreError::Other(anyhow::anyhow!("{url:?} {why}"));
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("is not an s3://BUCKET/PREFIX URL"))?;
    if rest.contains(['@', '?', '#']) {
        return Err(invalid(
            "must not hold credentials or options: set them in AWS_* variables",
        ));
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid("names no bucket"));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Names are plain file names: one path segment, never `.` or `..`.
fn check_name(name: &str) -> StoreResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(StoreError::Unsafe {
            name: name.to_string(),
            reason: "not a plain object name".into(),
        });
    }
    Ok(())
}

impl Store for S3Store {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn list(&self, prefix: &str) -> StoreResult<Vec<Object>> {
        let client = &self.conn.client;
        let raw = self.list_prefix(prefix);
        let mut objects = Vec::new();
        let mut folders = Vec::new();
        let mut page_token = None;
        loop {
            let options = PaginatedListOptions {
                delimiter: Some("/".into()),
                page_token,
                ..Default::default()
            };
            let page = self
                .block_on(client.list_paginated(Some(&raw), options))
                .map_err(|e| self.fail(&format!("could not list {}", self.url), &e))?;
            for meta in page.result.objects {
                let name = meta.location.filename().unwrap_or_default().to_string();
                if self.conn.key(&name) == meta.location && name.starts_with(prefix) {
                    objects.push(Object {
                        name,
                        size: meta.size,
                    });
                }
            }
            for common in page.result.common_prefixes {
                let name = common.filename().unwrap_or_default();
                if folder::is_folder(name) && name.starts_with(prefix) {
                    folders.push(name.to_string());
                }
            }
            page_token = page.page_token;
            if page_token.is_none() {
                break;
            }
        }
        // A folder is one backup, listed once its metadata object exists.
        for name in folders {
            let meta = crate::catalog::sidecar::name_for(&name);
            if objects.iter().any(|o| o.name == meta) {
                let size = self.folder_objects(&name)?.iter().map(|o| o.size).sum();
                objects.push(Object { name, size });
            }
        }
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    fn stat(&self, name: &str) -> StoreResult<Stat> {
        check_name(name)?;
        if folder::is_folder(name) {
            let files = self.folder_objects(name)?;
            if !files.is_empty() {
                let size = files.iter().map(|o| o.size).sum();
                return Ok(Stat::Present { size });
            }
        }
        match self.block_on(self.conn.client.head(&self.conn.key(name))) {
            Ok(meta) => Ok(Stat::Present { size: meta.size }),
            Err(object_store::Error::NotFound { .. }) => Ok(Stat::Missing),
            Err(err) => Err(self.fail(&format!("could not look up {name}"), &err)),
        }
    }

    fn open(&self, name: &str) -> StoreResult<Box<dyn Read + Send>> {
        check_name(name)?;
        match self.block_on(self.conn.client.get(&self.conn.key(name))) {
            Ok(result) => Ok(Box::new(read::StreamReader::new(
                Arc::clone(&self.conn),
                result.into_stream(),
                name.to_string(),
            ))),
            Err(object_store::Error::NotFound { .. }) => Err(StoreError::Missing(name.into())),
            Err(err) => Err(self.fail(&format!("could not read {name}"), &err)),
        }
    }

    fn create(&self, name: &str) -> StoreResult<Box<dyn Pending>> {
        check_name(name)?;
        Ok(Box::new(upload::S3Pending::new(
            Arc::clone(&self.conn),
            name,
        )))
    }

    fn remove(&self, name: &str) -> StoreResult<()> {
        if folder::is_folder(name) {
            return self.remove_folder(name);
        }
        if self.stat(name)? == Stat::Missing {
            return Err(StoreError::Missing(name.to_string()));
        }
        self.block_on(self.conn.client.delete(&self.conn.key(name)))
            .map_err(|e| self.fail(&format!("could not remove {name}"), &e))
    }

    fn read_small(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        check_name(name)?;
        let read = async {
            let result = self.conn.client.get(&self.conn.key(name)).await?;
            result.bytes().await
        };
        match self.block_on(read) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.fail(&format!("could not read {name}"), &err)),
        }
    }

    fn replace(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        check_name(name)?;
        let key = self.conn.key(name);
        self.block_on(self.conn.client.put(&key, bytes.to_vec().into()))
            .map(|_| ())
            .map_err(|e| self.fail(&format!("could not write {name}"), &e))
    }

    fn reach(&self) -> StoreResult<()> {
        self.probe()
    }

    /// Aborts the uploads that killed writers recorded and left unfinished, and removes
    /// the folders left without their metadata object (an interrupted create or delete).
    fn sweep(&self) -> StoreResult<Vec<String>> {
        let client = &self.conn.client;
        let mut swept = Vec::new();
        for (name, marker, key) in self.upload_markers()? {
            let abort = async {
                let id = client.get(&marker).await?.bytes().await?;
                let id = String::from_utf8_lossy(&id).to_string();
                match client.abort_multipart(&key, &id).await {
                    Err(object_store::Error::NotFound { .. }) | Ok(()) => {}
                    Err(err) => return Err(err),
                }
                client.delete(&marker).await
            };
            self.block_on(abort)
                .map_err(|e| self.fail(&format!("could not abort the upload of {name}"), &e))?;
            swept.push(name);
        }
        for name in self.orphan_folders()? {
            for file in self.folder_objects(&name)? {
                let key = self.folder_key(&name, &file.name);
                self.block_on(client.delete(&key)).map_err(|e| {
                    self.fail(&format!("could not remove {name}/{}", file.name), &e)
                })?;
            }
            swept.push(name);
        }
        swept.sort();
        Ok(swept)
    }

    fn leftovers(&self) -> StoreResult<Vec<String>> {
        let mut names: Vec<String> = self.upload_markers()?.into_iter().map(|m| m.0).collect();
        names.extend(self.orphan_folders()?);
        names.sort();
        Ok(names)
    }

    fn create_folder(&self, name: &str) -> StoreResult<Box<dyn PendingFolder>> {
        self.start_folder(name)
    }

    fn folder_files(&self, name: &str) -> StoreResult<Vec<Object>> {
        match self.folder_objects(name)? {
            files if files.is_empty() => Err(StoreError::Missing(name.to_string())),
            files => Ok(files),
        }
    }

    fn open_in_folder(&self, name: &str, file: &str) -> StoreResult<Box<dyn Read + Send>> {
        self.open_folder_file(name, file)
    }
}
