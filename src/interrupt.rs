//! SIGINT, SIGTERM and SIGHUP during long work: stop the child program, let the caller undo
//! its work, exit with 128+signal.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::exit::Refusal;

#[derive(Debug, Default)]
struct Shared {
    signal: AtomicI32,
    child: AtomicI32,
}

/// Catches termination signals for as long as the process runs.
#[derive(Debug, Clone)]
pub struct Interrupt {
    shared: Arc<Shared>,
}

impl Interrupt {
    pub fn install() -> Result<Interrupt> {
        let shared = Arc::new(Shared::default());
        let mut signals =
            Signals::new([SIGINT, SIGTERM, SIGHUP]).context("could not install signal handlers")?;
        let seen = Arc::clone(&shared);
        thread::spawn(move || {
            for signal in signals.forever() {
                seen.signal.store(signal, Ordering::SeqCst);
                let child = seen.child.load(Ordering::SeqCst);
                if child > 0 {
                    // SAFETY: kill(2) on a child pid registered while it runs.
                    unsafe {
                        libc::kill(child, libc::SIGTERM);
                    }
                }
            }
        });
        Ok(Interrupt { shared })
    }

    /// An `Interrupt` that catches nothing: signals keep their default effect. For work that
    /// leaves nothing to undo, such as reading a backup before anything is changed.
    pub fn untrapped() -> Interrupt {
        Interrupt {
            shared: Arc::new(Shared::default()),
        }
    }

    /// Registers the running child so a signal stops it; cleared when the guard drops.
    pub fn watch_child(&self, pid: u32) -> ChildGuard<'_> {
        self.shared.child.store(pid as i32, Ordering::SeqCst);
        ChildGuard { interrupt: self }
    }

    /// Err([`Refusal::Interrupted`]) once a signal has arrived.
    pub fn check(&self) -> Result<()> {
        match self.shared.signal.load(Ordering::SeqCst) {
            0 => Ok(()),
            signal => Err(Refusal::Interrupted(signal).into()),
        }
    }
}

pub struct ChildGuard<'a> {
    interrupt: &'a Interrupt,
}

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        self.interrupt.shared.child.store(0, Ordering::SeqCst);
    }
}
