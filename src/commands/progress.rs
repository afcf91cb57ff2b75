//! A one-line progress report on stderr (bytes read, share of the file, rate) for long work
//! on a terminal; nothing at all otherwise.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::commands::present::human_size;

const EVERY: Duration = Duration::from_millis(250);

pub struct Progress {
    enabled: bool,
    label: String,
    total: u64,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl Progress {
    pub fn new(enabled: bool, label: impl Into<String>, total: u64) -> Progress {
        Progress {
            enabled,
            label: label.into(),
            total,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    /// `done` bytes of `total` have been read; at the end the line is cleared again.
    pub fn update(&mut self, done: u64) {
        if done >= self.total {
            self.finish();
            return;
        }
        if !self.enabled || self.last_drawn.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (done as f64 / seconds) as u64;
        let share = done.saturating_mul(100) / self.total;
        eprint!(
            "\r\x1b[K{}: {} of {} ({share}%), {}/s",
            self.label,
            human_size(done),
            human_size(self.total),
            human_size(rate)
        );
        io::stderr().flush().ok();
    }

    /// Clears the line, so what follows starts on a clean one.
    pub fn finish(&mut self) {
        if self.last_drawn.take().is_some() {
            eprint!("\r\x1b[K");
            io::stderr().flush().ok();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
