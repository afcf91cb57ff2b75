//! Copying one backup between repositories, its SHA-256 checked before it is recorded there.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, Entry, sidecar};
use crate::store::{Stat, Store};

#[derive(Debug)]
pub enum Copied {
    Copied(Entry),
    AlreadyThere(Entry),
}

pub fn copy_backup(from: &dyn Store, to: &dyn Store, entry: &Entry) -> Result<Copied> {
    let mut catalog = Catalog::load(to)?;
    if let Some(there) = catalog
        .backups
        .iter()
        .find(|e| e.id == entry.id && e.filename == entry.filename)
    {
        return Ok(Copied::AlreadyThere(there.clone()));
    }
    if !matches!(to.stat(&entry.filename)?, Stat::Missing) {
        bail!("{} already exists", to.describe(&entry.filename));
    }
    let mut input = from.open(&entry.filename)?;
    let mut out = to.create(&entry.filename)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    let digest = format!("{:x}", hash.finalize());
    if entry.sha256.as_deref().is_some_and(|s| s != digest) {
        bail!("SHA-256 mismatch");
    }
    out.commit()?;
    sidecar::write(to, entry)?;
    catalog.backups.push(entry.clone());
    catalog.save(to).context("save")?;
    Ok(Copied::Copied(entry.clone()))
}
