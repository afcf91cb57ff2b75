//! Fault injection for the crash tests: `PGBACKUP_FAULT=<point>` makes a debug build kill
//! itself with SIGKILL at that point. Release builds ignore it.

/// Dies at once (SIGKILL, nothing cleaned up) when `PGBACKUP_FAULT` names `point`.
pub fn point(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("PGBACKUP_FAULT").is_ok_and(|wanted| wanted == point) {
        // SAFETY: kill(2) on our own pid.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
