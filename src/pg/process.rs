//! Running external programs (pg_dump, psql, pg_restore): one place that logs the command
//! line, collects stderr on its own thread, checks the exit status and builds the error.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result};
use thiserror::Error;

/// How much of a program's stderr is kept for error messages.
const STDERR_TAIL: usize = 16 * 1024;

/// A program that exited unsuccessfully, with the end of what it printed on stderr.
#[derive(Debug, Error)]
#[error("{program} {how}{}", tail_suffix(.stderr))]
pub struct ProcessError {
    pub program: String,
    pub how: String,
    pub stderr: String,
}

fn tail_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(":\n{}", stderr.trim_end())
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended abnormally".to_string(),
    }
}

/// A command to run. Arguments never carry passwords (they go through the environment).
#[derive(Debug, Clone)]
pub struct Tool {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
}

impl Tool {
    pub fn new(program: impl AsRef<OsStr>) -> Tool {
        Tool {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Tool {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Tool {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Tool {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The program's name as used in messages.
    pub fn name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// The command line, shell-quoted, for logs.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }

    fn spawn_with(&self, stdin: Stdio, stdout: Stdio) -> Result<(Child, JoinHandle<String>)> {
        tracing::debug!("running {}", self.display());
        let mut child = self
            .command()
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| spawn_error(&self.name(), err))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let reader = thread::spawn(move || read_tail(stderr));
        Ok((child, reader))
    }

    /// Runs to completion with `input` on stdin; returns stdout, or the error.
    pub fn output(&self, input: &str) -> Result<String> {
        let (mut child, stderr) = self.spawn_with(Stdio::piped(), Stdio::piped())?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_owned();
        let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut stdout = String::new();
        let read = child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_string(&mut stdout);
        let status = child
            .wait()
            .with_context(|| format!("could not wait for {}", self.name()))?;
        let _ = writer.join();
        let stderr = stderr.join().unwrap_or_default();
        check(&self.name(), status, stderr)?;
        read.with_context(|| format!("could not read the output of {}", self.name()))?;
        Ok(stdout)
    }

    /// Starts the program with stdout piped for streaming and stdin closed.
    pub fn spawn_reader(&self) -> Result<Running> {
        let (mut child, stderr) = self.spawn_with(Stdio::null(), Stdio::piped())?;
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Running {
            name: self.name(),
            child,
            stdin: None,
            stdout: Some(stdout),
            stderr,
        })
    }

    /// Starts the program with stdin piped for streaming into it and stdout sent to `stdout`.
    pub fn spawn_writer(&self, stdout: Stdio) -> Result<Running> {
        let (mut child, stderr) = self.spawn_with(Stdio::piped(), stdout)?;
        let stdin = child.stdin.take().expect("stdin is piped");
        Ok(Running {
            name: self.name(),
            child,
            stdin: Some(stdin),
            stdout: None,
            stderr,
        })
    }
}

/// A program whose stdout is being read, or whose stdin is being written.
#[derive(Debug)]
pub struct Running {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: JoinHandle<String>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn take_stdout(&mut self) -> ChildStdout {
        self.stdout.take().expect("stdout is taken once")
    }

    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin is taken once")
    }

    /// Waits for the exit; Ok with the stderr text (warnings) on success.
    pub fn finish(mut self) -> Result<String> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        let status = self
            .child
            .wait()
            .with_context(|| format!("could not wait for {}", self.name))?;
        let stderr = self.stderr.join().unwrap_or_default();
        check(&self.name, status, stderr.clone())?;
        Ok(stderr)
    }

    /// Stops the program (SIGTERM, then reaps it) after a failure on our side.
    pub fn abort(mut self) {
        drop(self.stdin.take());
        drop(self.stdout.take());
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
        let _ = self.stderr.join();
    }
}

fn check(program: &str, status: ExitStatus, stderr: String) -> Result<()> {
    if status.success() {
        return Ok(());
    }
    Err(ProcessError {
        program: program.to_string(),
        how: describe(status),
        stderr,
    }
    .into())
}

fn spawn_error(program: &str, err: io::Error) -> anyhow::Error {
    if err.kind() == io::ErrorKind::NotFound {
        anyhow::anyhow!(
            "could not run {program}: not found on PATH (install PostgreSQL's client programs, \
             e.g. the postgresql-client package)"
        )
    } else {
        anyhow::Error::new(err).context(format!("could not run {program}"))
    }
}

/// Reads a stream to its end, keeping the last [`STDERR_TAIL`] bytes.
fn read_tail(mut stream: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_TAIL {
                    kept.drain(..kept.len() - STDERR_TAIL);
                }
            }
        }
    }
    if kept.len() > STDERR_TAIL {
        kept.drain(..kept.len() - STDERR_TAIL);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::{Tool, shell_quote};

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("pg_dump"), "pg_dump");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn failures_name_the_program_code_and_stderr() {
        let err = Tool::new("sh")
            .args(["-c", "echo first >&2; echo boom >&2; exit 3"])
            .output("")
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("sh exited with code 3"), "{text}");
        assert!(text.contains("boom"), "{text}");
    }

    #[test]
    fn a_missing_program_says_so() {
        let err = Tool::new("pgbackup-no-such-program")
            .output("")
            .unwrap_err();
        assert!(format!("{err:#}").contains("not found on PATH"));
    }

    #[test]
    fn stdin_reaches_the_program() {
        assert_eq!(Tool::new("cat").output("hello").unwrap(), "hello");
    }
}
