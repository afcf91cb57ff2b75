//! A repository opened at its first use rather than when it is named: every command
//! resolves the primary repository at start-up, but only those that read or write backups
//! should contact the server (`schedule show` works while the bucket is down).

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::{Object, Pending, PendingFolder, Space, Stat, Store, StoreError, StoreResult};

type Opener = Box<dyn Fn() -> StoreResult<Arc<dyn Store>> + Send + Sync>;

/// A repository known by its location, opened (once) when something first needs it.
pub struct LazyStore {
    location: String,
    open: Opener,
    /// The open repository, or why it could not be opened (given again at every use).
    opened: OnceLock<Result<Arc<dyn Store>, String>>,
}

impl std::fmt::Debug for LazyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyStore")
            .field("location", &self.location)
            .finish()
    }
}

impl LazyStore {
    /// The repository at `location`, which `open` opens when first used.
    pub fn new(
        location: String,
        open: impl Fn() -> StoreResult<Arc<dyn Store>> + Send + Sync + 'static,
    ) -> LazyStore {
        LazyStore {
            location,
            open: Box::new(open),
            opened: OnceLock::new(),
        }
    }

    fn store(&self) -> StoreResult<&Arc<dyn Store>> {
        self.opened
            .get_or_init(|| (self.open)().map_err(|err| format!("{err:#}")))
            .as_ref()
            .map_err(|why| StoreError::Other(anyhow::anyhow!("{why}")))
    }
}

impl Store for LazyStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn list(&self, prefix: &str) -> StoreResult<Vec<Object>> {
        self.store()?.list(prefix)
    }

    fn stat(&self, name: &str) -> StoreResult<Stat> {
        self.store()?.stat(name)
    }

    fn open(&self, name: &str) -> StoreResult<Box<dyn Read + Send>> {
        self.store()?.open(name)
    }

    fn create(&self, name: &str) -> StoreResult<Box<dyn Pending>> {
        self.store()?.create(name)
    }

    fn remove(&self, name: &str) -> StoreResult<()> {
        self.store()?.remove(name)
    }

    fn read_small(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.store()?.read_small(name)
    }

    fn replace(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        self.store()?.replace(name, bytes)
    }

    fn sweep(&self) -> StoreResult<Vec<String>> {
        self.store()?.sweep()
    }

    fn leftovers(&self) -> StoreResult<Vec<String>> {
        self.store()?.leftovers()
    }

    fn reach(&self) -> StoreResult<()> {
        self.store()?.reach()
    }

    fn local_path(&self, name: &str) -> Option<PathBuf> {
        self.store().ok()?.local_path(name)
    }

    fn free_space(&self) -> Option<Space> {
        self.store().ok()?.free_space()
    }

    fn create_folder(&self, name: &str) -> StoreResult<Box<dyn PendingFolder>> {
        self.store()?.create_folder(name)
    }

    fn folder_files(&self, name: &str) -> StoreResult<Vec<Object>> {
        self.store()?.folder_files(name)
    }

    fn open_in_folder(&self, name: &str, file: &str) -> StoreResult<Box<dyn Read + Send>> {
        self.store()?.open_in_folder(name, file)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::LocalStore;

    #[test]
    fn nothing_is_opened_until_used_and_then_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Arc::new(AtomicUsize::new(0));
        let (count, folder) = (Arc::clone(&opened), dir.path().to_path_buf());
        let store = LazyStore::new("somewhere".into(), move || {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(Arc::new(LocalStore::new(&folder)) as Arc<dyn Store>)
        });
        assert_eq!(store.location(), "somewhere");
        assert_eq!(store.describe("x"), "somewhere/x");
        assert_eq!(opened.load(Ordering::SeqCst), 0);
        store.replace("a", b"1").unwrap();
        assert_eq!(store.read_small("a").unwrap(), Some(b"1".to_vec()));
        store.reach().unwrap();
        assert_eq!(opened.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_repository_that_cannot_be_opened_says_why_at_every_use() {
        let store = LazyStore::new("s3://b/p".into(), || {
            Err(StoreError::Other(anyhow::anyhow!(
                "cannot open s3://b/p: could not reach http://127.0.0.1:9"
            )))
        });
        for _ in 0..2 {
            let err = store.list("").unwrap_err().to_string();
            assert_eq!(
                err,
                "cannot open s3://b/p: could not reach http://127.0.0.1:9"
            );
        }
        assert!(store.reach().is_err());
        assert_eq!(store.free_space(), None);
        assert_eq!(store.local_path("x"), None);
    }
}
