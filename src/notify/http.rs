//! One HTTP POST with a timeout and a few retries with backoff, for webhooks and pings.
//! Errors name the host only: the rest of a URL may hold a token.

use std::thread;
use std::time::{Duration, Instant};

use crate::policy::schedule::url_host;

/// How long each attempt may take and how many more are made after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub timeout: Duration,
    pub retries: u32,
}

/// The first wait between attempts; each later one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// POSTs `body` to `url`; `Ok` with the 2xx status, else why the last attempt failed.
pub fn post(
    url: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
    delivery: Delivery,
) -> Result<u16, String> {
    let agent = agent(delivery.timeout);
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = Instant::now();
        let result = post_once(&agent, url, headers, content_type, body);
        match result {
            Ok(status) => return Ok(status),
            Err(failed) => {
                tracing::debug!(
                    "POST to {} failed after {} ms (attempt {attempt}): {}",
                    url_host(url),
                    started.elapsed().as_millis(),
                    failed.reason
                );
                if !failed.retry || attempt > delivery.retries {
                    let tries = if attempt == 1 {
                        String::new()
                    } else {
                        format!(" ({attempt} attempts)")
                    };
                    return Err(format!("{}{tries}", failed.reason));
                }
            }
        }
        thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

struct Failed {
    reason: String,
    /// Another attempt may succeed (not for a 4xx answer other than 408 or 429).
    retry: bool,
}

fn agent(timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .build();
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("pgbackup/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .new_agent()
}

fn post_once(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
) -> Result<u16, Failed> {
    let mut request = agent.post(url);
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        request = request.header("Content-Type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    match request.send(body) {
        Ok(response) => {
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                Ok(status)
            } else {
                Err(Failed {
                    reason: format!("HTTP {status}"),
                    retry: status >= 500 || status == 408 || status == 429,
                })
            }
        }
        Err(err) => Err(Failed {
            reason: describe(&err),
            retry: true,
        }),
    }
}

/// ureq's error in words that never hold the URL.
fn describe(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            "timed out".to_string()
        }
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => format!("TLS: {err}"),
        ureq::Error::StatusCode(status) => format!("HTTP {status}"),
        ureq::Error::RedirectFailed | ureq::Error::TooManyRedirects => {
            "answered with a redirect".to_string()
        }
        _ => "the request could not be made".to_string(),
    }
}
