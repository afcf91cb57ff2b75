//! Email through the local `sendmail -t`, as cron and systemd-based notifiers send it:
//! the message names its recipients in `To:`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::notify::body::Event;
use crate::notify::hooks::wait_bounded;
use crate::policy::schedule::Email;

/// Where `sendmail` is looked for after PATH.
const WELL_KNOWN: [&str; 2] = ["/usr/sbin/sendmail", "/usr/lib/sendmail"];

/// `sendmail` on `path` (the PATH variable), else at its well-known places.
pub fn find_sendmail(path: Option<&str>) -> Option<PathBuf> {
    let on_path = path
        .into_iter()
        .flat_map(|p| p.split(':'))
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join("sendmail"));
    on_path
        .chain(WELL_KNOWN.iter().map(PathBuf::from))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why email cannot be sent: configured, but no sendmail found.
pub fn missing_sendmail() -> String {
    format!(
        "email notification is configured, but no sendmail was found on PATH nor at {}: \
         install a mail transfer agent (or msmtp-mta), or remove \"email\" from \"notify\"",
        WELL_KNOWN.join(" or ")
    )
}

/// The message `sendmail -t` reads: headers, a blank line, the report.
pub fn message(email: &Email, event: &Event) -> String {
    let subject: String = event
        .summary()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "To: {}\nSubject: {subject}\nMIME-Version: 1.0\nContent-Type: text/plain; \
         charset=utf-8\nContent-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n\n{}",
        email.to.join(", "),
        event.text()
    )
}

/// Pipes the message to `sendmail -t`, waiting at most `timeout`.
pub fn send(
    sendmail: Option<&Path>,
    email: &Email,
    event: &Event,
    timeout: Duration,
) -> Result<String, String> {
    let recipients = email.to.len();
    let Some(sendmail) = sendmail else {
        return Err(missing_sendmail());
    };
    let mut child = Command::new(sendmail)
        .arg("-t")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("email failed: could not run {}: {err}", sendmail.display()))?;
    let text = message(email, event);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let written = stdin.write_all(text.as_bytes());
    drop(stdin);
    let waited = wait_bounded(child, timeout);
    match (written, waited) {
        (_, Err(why)) => Err(format!("email failed: sendmail {why}")),
        (Err(err), Ok(_)) => Err(format!("email failed: could not write to sendmail: {err}")),
        (Ok(()), Ok(_)) => Ok(format!(
            "email to {recipients} recipient(s) handed to sendmail"
        )),
    }
}
