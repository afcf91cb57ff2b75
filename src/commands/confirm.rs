//! Asking the operator before destructive work; never waiting on a stdin that is not a terminal.

use std::io::{self, BufRead, Write};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::exit::Refusal;

/// Ok when `--yes` was given or the operator typed `answer` (case-insensitive when
/// `answer` is "y"); otherwise a refusal (exit 2).
pub fn confirm(config: &Config, question: &str, answer: &str) -> Result<()> {
    if config.assume_yes {
        return Ok(());
    }
    if !config.interactive {
        return Err(Refusal::NotConfirmed(
            "refusing without confirmation: there is no terminal to ask on; pass --yes".to_string(),
        )
        .into());
    }
    eprint!("{question} ");
    io::stderr().flush().ok();
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the answer")?;
    let typed = line.trim();
    let accepted = if answer == "y" {
        typed.eq_ignore_ascii_case("y") || typed.eq_ignore_ascii_case("yes")
    } else {
        typed == answer
    };
    if accepted {
        Ok(())
    } else {
        Err(Refusal::NotConfirmed("not confirmed; nothing was changed".to_string()).into())
    }
}
