//! A one-line progress report on stderr (bytes read, share of the file, rate, time left) for
//! long work on a terminal; nothing at all otherwise.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::commands::present::human_size;
use crate::model::units::format_duration;

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
            "\r\x1b[K{}: {} of {} ({share}%), {}/s, {} left",
            self.label,
            human_size(done),
            human_size(self.total),
            human_size(rate),
            format_duration(time_left(done, self.total, self.started.elapsed()))
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

/// Whole seconds (at least one) until `total` at the rate `done` took `elapsed` to read.
fn time_left(done: u64, total: u64, elapsed: Duration) -> i64 {
    let rate = done.max(1) as f64 / elapsed.as_secs_f64().max(0.001);
    let left = total.saturating_sub(done) as f64 / rate;
    (left.ceil() as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_rate_so_far() {
        let second = Duration::from_secs(1);
        assert_eq!(time_left(100, 400, second), 3);
        assert_eq!(time_left(399, 400, second), 1);
        assert_eq!(time_left(0, 400, second), 400);
        assert_eq!(time_left(50, 100, Duration::from_secs(60)), 60);
    }
}
