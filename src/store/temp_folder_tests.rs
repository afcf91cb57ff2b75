use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::*;

/// The ID of a process that has exited.
fn gone_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn private(path: &Path) {
    fs::create_dir(path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(path.join("part"), b"staged").unwrap();
}

#[test]
fn names_of_known_kinds_give_their_process() {
    assert_eq!(owner_pid("pgbackup-folder-123-0"), Some(123));
    assert_eq!(owner_pid("pgbackup-restore-9-17"), Some(9));
    assert_eq!(owner_pid("pgbackup-dump-42-3"), Some(42));
    for other in [
        "pgbackup-other-123-0",
        "pgbackup-folder-123",
        "pgbackup-folder-x-0",
        "pgbackup-folder-0-0",
        "something-folder-1-0",
        "pgbackup-folder--0",
    ] {
        assert_eq!(owner_pid(other), None, "{other}");
    }
}

#[test]
fn a_folder_left_by_a_process_that_is_gone_is_removed_and_others_stay() {
    let parent = tempfile::tempdir().unwrap();
    let gone = gone_pid();
    let abandoned = parent.path().join(format!("pgbackup-folder-{gone}-0"));
    private(&abandoned);
    // SAFETY: getppid(2) cannot fail.
    let running = unsafe { libc::getppid() };
    let in_use = parent.path().join(format!("pgbackup-restore-{running}-0"));
    private(&in_use);
    let foreign = parent.path().join(format!("pgbackup-cache-{gone}-0"));
    private(&foreign);
    let shared = parent.path().join(format!("pgbackup-dump-{gone}-1"));
    private(&shared);
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();

    let made = TempFolder::new_in(parent.path(), "folder").unwrap();

    assert!(!abandoned.exists(), "the abandoned folder is removed");
    assert!(in_use.exists(), "a running process keeps its folder");
    assert!(foreign.exists(), "a name pgbackup does not make stays");
    assert!(
        shared.exists(),
        "a folder others may enter is not pgbackup's"
    );
    let mode = fs::metadata(made.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let path = made.path().to_path_buf();
    drop(made);
    assert!(!path.exists(), "dropping removes the folder");
}
