//! Hooks: the schedule's `pre` and `post` argv lists, run without a shell, with the
//! outcome in `PGBACKUP_*` variables and a time limit. Only the program's name is shown:
//! its arguments may hold secrets.

use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How much of a hook's stderr an error quotes.
const STDERR_TAIL: usize = 2000;

/// The variables a hook gets, beside pgbackup's own environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookEnv {
    /// `start` for a pre hook; `ok` or `failed` for a post hook.
    pub status: String,
    pub backup_id: String,
    pub file: String,
    pub database: String,
    pub error: String,
    pub repository: String,
}

impl HookEnv {
    fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            ("PGBACKUP_STATUS", &self.status),
            ("PGBACKUP_BACKUP_ID", &self.backup_id),
            ("PGBACKUP_FILE", &self.file),
            ("PGBACKUP_DATABASE", &self.database),
            ("PGBACKUP_ERROR", &self.error),
            ("PGBACKUP_REPOSITORY", &self.repository),
        ]
    }
}

/// Runs `argv` (`which` is `pre` or `post`); its stdout goes to pgbackup's stderr, so that
/// `--json` output stays clean.
pub fn run(which: &str, argv: &[String], env: &HookEnv, timeout: Duration) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let name = Path::new(program)
        .file_name()
        .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned());
    let label = format!("{which} hook {name}");
    tracing::info!("running the {label}");
    let stdout = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::null(), Stdio::from);
    let child = Command::new(program)
        .args(args)
        .envs(env.pairs())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("the {label} could not be started: {err}"))?;
    wait_bounded(child, timeout).map_err(|why| format!("the {label} {why}"))
}

/// Waits for `child` (in its own process group) at most `timeout`, then kills the group.
/// The error says how it ended, with the tail of its stderr when that was piped.
pub fn wait_bounded(mut child: Child, timeout: Duration) -> Result<(), String> {
    let stderr = child.stderr.take().map(|mut pipe| {
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            let _ = sender.send(String::from_utf8_lossy(&text).into_owned());
        });
        receiver
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= timeout => {
                // SAFETY: kill(2) on the process group of our own child, not reaped yet.
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.wait();
                break Err(format!(
                    "timed out after {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(err) => break Err(format!("could not be waited for: {err}")),
        }
    };
    // A program that left a child holding its stderr open must not hold pgbackup up.
    let tail = stderr
        .and_then(|receiver| receiver.recv_timeout(Duration::from_secs(1)).ok())
        .map(|text| tail(&text))
        .unwrap_or_default();
    let status = status?;
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended abnormally".to_string(),
    };
    if tail.is_empty() {
        Err(how)
    } else {
        Err(format!("{how}: {tail}"))
    }
}

fn tail(text: &str) -> String {
    let text = text.trim();
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= STDERR_TAIL)
        .unwrap_or(text.len());
    text[start..].replace('\n', " | ")
}
