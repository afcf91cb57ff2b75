//! S3 failures as one-line messages an operator can act on (wrong credentials, a missing
//! bucket, an endpoint that does not answer), scrubbed of every secret: the secret key and
//! session token are replaced wherever they appear, and so is any signature in a URL.

use std::error::Error as _;

use object_store::Error as OsError;

use crate::store::StoreError;

/// What a message may say about the repository, and what it must never say.
#[derive(Clone)]
pub(super) struct Scrub {
    secrets: Vec<String>,
    /// How messages name the server: the endpoint URL or "AWS S3".
    pub(super) endpoint: String,
    pub(super) bucket: String,
}

impl Scrub {
    pub(super) fn new(secrets: Vec<String>, endpoint: String, bucket: String) -> Scrub {
        let secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        Scrub {
            secrets,
            endpoint,
            bucket,
        }
    }

    /// `text` with every secret and every URL signature replaced by `***`.
    pub(super) fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "***");
        }
        for marker in [
            "X-Amz-Signature=",
            "X-Amz-Credential=",
            "X-Amz-Security-Token=",
        ] {
            let mut from = 0;
            while let Some(at) = text[from..].find(marker).map(|i| from + i + marker.len()) {
                let end = text[at..]
                    .find(|c: char| c == '&' || c.is_whitespace() || c == ')')
                    .map_or(text.len(), |i| at + i);
                text.replace_range(at..end, "***");
                from = at + 3;
            }
        }
        text
    }

    /// `doing` ("could not read backup.sql.gz") and why, as one line.
    pub(super) fn error(&self, doing: &str, err: &OsError) -> StoreError {
        StoreError::Other(anyhow::anyhow!(
            self.text(&format!("{doing}: {}", self.reason(err)))
        ))
    }

    /// Why the request failed, in words, without the library's wrapping.
    fn reason(&self, err: &OsError) -> String {
        let chain = chain_text(err);
        let code = s3_code(&chain);
        let endpoint = &self.endpoint;
        match err {
            OsError::Unauthenticated { .. } | OsError::PermissionDenied { .. } => format!(
                "{endpoint} refused the credentials{} (check AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN)",
                code.map(|c| format!(" ({c})")).unwrap_or_default()
            ),
            _ if code == Some("NoSuchBucket") => {
                format!("bucket {} does not exist at {endpoint}", self.bucket)
            }
            _ if code.is_some_and(|c| c.contains("Signature") || c.contains("AccessKey")) => {
                format!(
                    "{endpoint} refused the credentials ({}) (check AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN)",
                    code.unwrap_or_default()
                )
            }
            _ if chain.contains("URL scheme is not allowed") => {
                format!("{endpoint} is plain http: set AWS_ALLOW_HTTP=true to allow it")
            }
            _ if is_unreachable(&chain) => {
                format!("could not reach {endpoint}: {}", deepest(err))
            }
            _ => match code {
                Some(code) => format!("{endpoint} answered {code}"),
                None => deepest(err),
            },
        }
    }
}

/// Every message in the error's source chain, joined.
fn chain_text(err: &OsError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(" | ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The innermost cause: the part of the chain that says what actually happened.
fn deepest(err: &OsError) -> String {
    let mut last: &dyn std::error::Error = err;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The S3 error code (`NoSuchBucket`, `SignatureDoesNotMatch`) in a response body.
fn s3_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(&text[start..start + len])
}

fn is_unreachable(chain: &str) -> bool {
    let chain = chain.to_ascii_lowercase();
    [
        "connection refused",
        "error sending request",
        "dns error",
        "timed out",
        "connection reset",
        "connection closed",
        "tcp connect error",
    ]
    .iter()
    .any(|needle| chain.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub() -> Scrub {
        Scrub::new(
            vec!["s3cr3tKEY".into(), "tok3n".into(), String::new()],
            "http://127.0.0.1:9".into(),
            "bucket".into(),
        )
    }

    #[test]
    fn secrets_and_signatures_are_replaced() {
        let text = scrub().text(
            "failed s3cr3tKEY with tok3n at http://h/k?X-Amz-Signature=abcdef&X-Amz-Date=1 \
             and http://h/k?X-Amz-Credential=AKIA/2025",
        );
        assert!(!text.contains("s3cr3tKEY"), "{text}");
        assert!(!text.contains("tok3n"), "{text}");
        assert!(!text.contains("abcdef"), "{text}");
        assert!(!text.contains("AKIA"), "{text}");
        assert!(text.contains("X-Amz-Date=1"), "{text}");
    }

    #[test]
    fn a_missing_bucket_is_named() {
        let err = OsError::Generic {
            store: "S3",
            source: "Client error with status 404: <Error><Code>NoSuchBucket</Code></Error>".into(),
        };
        let message = scrub().error("could not list", &err).to_string();
        assert_eq!(
            message,
            "could not list: bucket bucket does not exist at http://127.0.0.1:9"
        );
    }

    #[test]
    fn refused_credentials_point_at_the_variables() {
        let err = OsError::PermissionDenied {
            path: "p".into(),
            source: "<Code>SignatureDoesNotMatch</Code> s3cr3tKEY".into(),
        };
        let message = scrub().error("could not read p", &err).to_string();
        assert!(message.contains("refused the credentials (SignatureDoesNotMatch)"));
        assert!(message.contains("AWS_SECRET_ACCESS_KEY"));
        assert!(!message.contains("s3cr3tKEY"));
    }
}
