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
    let subject = header_text(&event.summary());
    format!(
        "To: {}\nSubject: {subject}\nMIME-Version: 1.0\nContent-Type: text/plain; \
         charset=utf-8\nContent-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n\n{}",
        email.to.join(", "),
        event.text()
    )
}

/// Pipes the message to `sendmail -t -i`, waiting at most `timeout`.
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
        // -i: a line holding only "." is text, not the end of the message.
        .args(["-t", "-i"])
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

/// A header's text on one line: control characters become spaces, and non-ASCII text is
/// an RFC 2047 encoded word (`=?UTF-8?B?…?=`).
fn header_text(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.is_ascii() {
        return line;
    }
    // Encoded words are at most 75 characters: 45 bytes of UTF-8 each, whole characters.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in line.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|word| format!("=?UTF-8?B?{}?=", base64(word.as_bytes())))
        .collect::<Vec<_>>()
        .join("\n ")
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - group.len()));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base64, header_text, message};
    use crate::notify::body::{Event, Status};
    use crate::policy::schedule::{Email, When};

    #[test]
    fn base64_is_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn a_subject_is_one_header_line() {
        assert_eq!(header_text("backup of app ok"), "backup of app ok");
        assert_eq!(header_text("a\nBcc: x@y"), "a Bcc: x@y");
        assert_eq!(header_text("données"), "=?UTF-8?B?ZG9ubsOpZXM=?=");
        let long = header_text(&"é".repeat(40));
        assert!(long.lines().all(|l| l.trim().len() <= 75), "{long}");
        assert_eq!(long.lines().count(), 2);
    }

    #[test]
    fn the_message_names_its_recipients_and_the_outcome() {
        let event = Event {
            status: Status::Failed,
            command: "run-scheduled".to_string(),
            host: "db1".to_string(),
            database: Some("app\nBcc: evil@example.com".to_string()),
            backup_id: None,
            file: None,
            size: None,
            backup_ids: Vec::new(),
            run: None,
            duration_ms: 12,
            error: Some("pg_dump exited with code 1".to_string()),
            repository: "/var/lib/pgbackup/backups".to_string(),
            started_at: "2025-04-08T01:00:00.000Z".to_string(),
            finished_at: "2025-04-08T01:00:00.012Z".to_string(),
            tool_version: "0.1.0".to_string(),
        };
        let email = Email {
            to: vec!["ops@example.com".to_string(), "dba@example.com".to_string()],
            on: When::Failure,
        };
        let text = message(&email, &event);
        let (headers, body) = text.split_once("\n\n").unwrap();
        assert!(
            headers.starts_with("To: ops@example.com, dba@example.com\n"),
            "{headers}"
        );
        assert!(
            headers.contains(
                "\nSubject: pgbackup run-scheduled: backup of app Bcc: evil@example.com on db1 failed\n"
            ),
            "{headers}"
        );
        assert!(!headers.contains("\nBcc:"), "{headers}");
        assert!(body.contains("\nstatus: failed\n"), "{body}");
        assert!(
            body.contains("\nerror: pg_dump exited with code 1\n"),
            "{body}"
        );
    }
}
