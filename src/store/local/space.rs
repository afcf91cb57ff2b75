//! Free space on the filesystem that holds the backups (statvfs).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::store::Space;

/// The space on the filesystem of `path`, or of its nearest existing ancestor when the
/// folder does not exist yet.
pub(in crate::store) fn space_of(path: &Path) -> io::Result<Space> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let c_path = CString::new(existing.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: statvfs(3) writes into the zeroed struct we own; the path is NUL-terminated.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let block = stats.f_frsize as u64;
    Ok(Space {
        free_bytes: (stats.f_bavail as u64).saturating_mul(block),
        size_bytes: (stats.f_blocks as u64).saturating_mul(block),
    })
}

#[cfg(test)]
mod tests {
    use super::space_of;

    #[test]
    fn a_missing_folder_reports_its_parents_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let here = space_of(dir.path()).unwrap();
        let below = space_of(&dir.path().join("not/yet")).unwrap();
        assert!(here.size_bytes > 0 && here.free_bytes <= here.size_bytes);
        assert_eq!(here.size_bytes, below.size_bytes);
    }
}
