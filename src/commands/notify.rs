//! `pgbackup notify test`: sends a test event through every configured channel and says
//! how each went.

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::cli::NotifyCommand;
use crate::commands::present;
use crate::config::Config;
use crate::exit;
use crate::notify::Run;
use crate::policy::schedule::Hooks;

pub fn run(config: &Config, command: &NotifyCommand) -> Result<u8> {
    match command {
        NotifyCommand::Test => test(config),
    }
}

/// One channel's result, as `notify test --json` prints it.
#[derive(Debug, Serialize)]
struct Delivered {
    ok: bool,
    /// What happened, naming the channel and its host (never the whole URL).
    result: String,
}

fn test(config: &Config) -> Result<u8> {
    if let Some(damage) = &config.schedule_damage {
        return Err(anyhow!("{damage}"));
    }
    if config.notify.is_empty() {
        return Err(exit::usage(format!(
            "no notification channel is configured: add \"notify\" to {}",
            config.schedule_path.display()
        )));
    }
    let mut run = Run::start(
        config,
        "notify test",
        &config.notify,
        &Hooks::default(),
        false,
    );
    let event = run.event(&[], None);
    let results: Vec<Delivered> = run
        .deliver(&event, true)
        .into_iter()
        .map(|result| match result {
            Ok(result) => Delivered { ok: true, result },
            Err(result) => Delivered { ok: false, result },
        })
        .collect();
    let failed = results.iter().filter(|d| !d.ok).count();
    if config.json {
        present::print_json(&results)?;
    } else {
        for delivered in &results {
            let mark = if delivered.ok { "ok" } else { "FAILED" };
            present::print_line(&format!("{mark}: {}", delivered.result))?;
        }
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} notification channel(s) failed",
            results.len()
        ));
    }
    Ok(0)
}
