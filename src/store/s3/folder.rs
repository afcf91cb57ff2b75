//! Directory-format backups in S3: pg_dump writes into a private temporary folder (0700,
//! under `TMPDIR`), then every file is uploaded as `PREFIX/backup_….dir/FILE` (large ones
//! through the multipart upload, recorded under `.pgbackup-uploads/backup_….dir/FILE`),
//! hashed as it is sent. The folder is listed as one backup (its size the files' total)
//! only once its metadata object `backup_….dir.meta.json` exists, which the caller writes
//! after the upload: a folder without it is what an interrupted create or delete left, and
//! the sweep removes it. Delete removes the metadata object first for the same reason.

use std::io::{self, Read, Write};
use std::path::Path as LocalPath;
use std::sync::Arc;

use anyhow::Context;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::upload::S3Pending;
use super::{Conn, S3Store, UPLOADS, check_name};
use crate::catalog::manifest::{self, ManifestFile};
use crate::catalog::sidecar;
use crate::store::fsutil::TempFolder;
use crate::store::{Object, Pending, PendingFolder, Store, StoreError, StoreResult};

/// Folder backups are the names pgbackup gives them.
pub(super) fn is_folder(name: &str) -> bool {
    name.ends_with(".dir")
}

/// The temporary folder pg_dump fills; removed when dropped, committed or not.
pub(super) struct S3Folder {
    conn: Arc<Conn>,
    store_url: String,
    name: String,
    temp: TempFolder,
}

impl S3Store {
    pub(super) fn folder_key(&self, name: &str, file: &str) -> Path {
        self.conn.key(name).join(file)
    }

    /// The objects below `name/`, sorted (the folder's files).
    pub(super) fn folder_objects(&self, name: &str) -> StoreResult<Vec<Object>> {
        check_name(name)?;
        let prefix = self.conn.key(name);
        let listing = self
            .block_on(self.conn.client.list_with_delimiter(Some(&prefix)))
            .map_err(|e| self.fail(&format!("could not list {name}"), &e))?;
        let mut objects: Vec<Object> = listing
            .objects
            .into_iter()
            .map(|meta| Object {
                name: meta.location.filename().unwrap_or_default().to_string(),
                size: meta.size,
            })
            .collect();
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    pub(super) fn start_folder(&self, name: &str) -> StoreResult<Box<dyn PendingFolder>> {
        check_name(name)?;
        let temp = TempFolder::new("dump")?;
        Ok(Box::new(S3Folder {
            conn: Arc::clone(&self.conn),
            store_url: self.url.clone(),
            name: name.to_string(),
            temp,
        }))
    }

    /// Removes the metadata object first (so the folder stops being listed at once and,
    /// should this be interrupted, is a leftover the next sweep removes), then every file.
    pub(super) fn remove_folder(&self, name: &str) -> StoreResult<()> {
        let meta = sidecar::name_for(name);
        let files = self.folder_objects(name)?;
        let had_meta = self.stat(&meta)? != crate::store::Stat::Missing;
        if files.is_empty() && !had_meta {
            return Err(StoreError::Missing(name.to_string()));
        }
        if had_meta {
            self.block_on(self.conn.client.delete(&self.conn.key(&meta)))
                .map_err(|e| self.fail(&format!("could not remove {meta}"), &e))?;
        }
        for file in files {
            crate::fault::point("s3-folder-remove");
            self.block_on(self.conn.client.delete(&self.folder_key(name, &file.name)))
                .map_err(|e| self.fail(&format!("could not remove {name}/{}", file.name), &e))?;
        }
        Ok(())
    }

    pub(super) fn open_folder_file(
        &self,
        name: &str,
        file: &str,
    ) -> StoreResult<Box<dyn Read + Send>> {
        check_name(name)?;
        check_name(file)?;
        let label = format!("{name}/{file}");
        match self.block_on(self.conn.client.get(&self.folder_key(name, file))) {
            Ok(result) => Ok(Box::new(super::read::StreamReader::new(
                Arc::clone(&self.conn),
                result.into_stream(),
                label,
            ))),
            Err(object_store::Error::NotFound { .. }) => Err(StoreError::Missing(label)),
            Err(err) => Err(self.fail(&format!("could not read {label}"), &err)),
        }
    }

    /// Folders (`….dir/`) below the prefix whose metadata object is missing: what an
    /// interrupted create or delete left.
    pub(super) fn orphan_folders(&self) -> StoreResult<Vec<String>> {
        let listing = self
            .block_on(self.conn.client.list_with_delimiter(Some(&self.conn.root)))
            .map_err(|e| self.fail(&format!("could not list {}", self.url), &e))?;
        let names: Vec<String> = listing
            .objects
            .iter()
            .map(|m| m.location.filename().unwrap_or_default().to_string())
            .collect();
        let mut orphans: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .filter(|f| is_folder(f) && !names.contains(&sidecar::name_for(f)))
            .collect();
        orphans.sort();
        Ok(orphans)
    }

    /// Unfinished uploads recorded under `.pgbackup-uploads/`: the name they were for
    /// (`NAME` or `FOLDER/FILE`), the marker and the object's key.
    pub(super) fn upload_markers(&self) -> StoreResult<Vec<(String, Path, Path)>> {
        use futures_util::TryStreamExt;
        let markers = self.conn.root.clone().join(UPLOADS);
        let found: Vec<object_store::ObjectMeta> = self
            .block_on(self.conn.client.list(Some(&markers)).try_collect())
            .map_err(|e| self.fail(&format!("could not list uploads in {}", self.url), &e))?;
        let mut out = Vec::new();
        for meta in found {
            let Some(parts) = meta.location.prefix_match(&markers) else {
                continue;
            };
            let parts: Vec<String> = parts.map(|p| p.as_ref().to_string()).collect();
            let key = parts
                .iter()
                .fold(self.conn.root.clone(), |key, part| key.join(part.as_str()));
            out.push((parts.join("/"), meta.location, key));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

impl S3Folder {
    /// Uploads one file, hashing what is sent.
    fn upload(&self, file: &str) -> StoreResult<ManifestFile> {
        check_name(file)?;
        let path = self.temp.path().join(file);
        let label = format!("{}/{file}", self.name);
        let key = self.conn.key(&self.name).join(file);
        let marker = self
            .conn
            .root
            .clone()
            .join(UPLOADS)
            .join(self.name.as_str())
            .join(file);
        let mut pending = Box::new(S3Pending::at(Arc::clone(&self.conn), &label, key, marker));
        let opened = std::fs::File::open(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        let mut tee = Tee {
            inner: opened,
            out: &mut *pending,
        };
        let hashed = manifest::hash_reader(file, &mut tee)
            .with_context(|| format!("could not upload {label}"))?;
        pending.commit()?;
        Ok(hashed)
    }
}

impl S3Folder {
    /// Removes the files already uploaded by a commit that failed. What cannot be removed
    /// now is a folder without its metadata object, which the next sweep removes.
    fn forget(&self, uploaded: &[ManifestFile]) {
        for file in uploaded {
            let key = self.conn.key(&self.name).join(file.name.as_str());
            let _ = self.conn.runtime.block_on(self.conn.client.delete(&key));
        }
    }
}

/// Reads from `inner`, writing every byte read into `out`.
struct Tee<'a, R> {
    inner: R,
    out: &'a mut dyn Write,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl PendingFolder for S3Folder {
    fn path(&self) -> &LocalPath {
        self.temp.path()
    }

    fn commit(self: Box<Self>) -> StoreResult<Vec<ManifestFile>> {
        let client = &self.conn.client;
        let existing = self
            .conn
            .runtime
            .block_on(client.list_with_delimiter(Some(&self.conn.key(&self.name))))
            .map_err(|e| {
                self.conn
                    .scrub
                    .error(&format!("could not list {}", self.name), &e)
            })?;
        if !existing.objects.is_empty() {
            return Err(StoreError::Exists(format!(
                "{}/{}",
                self.store_url, self.name
            )));
        }
        let mut hashed = Vec::new();
        for file in crate::store::local_folder_files(self.temp.path())? {
            match self.upload(&file) {
                Ok(sum) => hashed.push(sum),
                Err(err) => {
                    self.forget(&hashed);
                    return Err(err);
                }
            }
            crate::fault::point("s3-folder-upload");
        }
        Ok(hashed)
    }
}
