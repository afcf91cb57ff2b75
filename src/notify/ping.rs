//! The dead-man's-switch ping, healthchecks.io's convention: `URL/start` when a run
//! starts, `URL` when it succeeded, `URL/fail` with the error as the body when it failed.
//! The remote side raises the alarm when no success arrives in time.

use crate::notify::http::{self, Delivery};
use crate::policy::schedule::url_host;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Start,
    Success,
    Fail,
}

/// POSTs `body` to the URL for `signal`; the error names the host only.
pub fn send(url: &str, signal: Signal, body: &str, delivery: Delivery) -> Result<String, String> {
    let target = signal_url(url, signal);
    let host = url_host(url);
    let what = match signal {
        Signal::Start => "start",
        Signal::Success => "success",
        Signal::Fail => "fail",
    };
    http::post(
        &target,
        &[],
        "text/plain; charset=utf-8",
        body.as_bytes(),
        delivery,
    )
    .map(|status| format!("{what} ping to {host}: HTTP {status}"))
    .map_err(|why| format!("{what} ping to {host} failed: {why}"))
}

/// `URL/start` or `URL/fail`, the suffix before any query string.
fn signal_url(url: &str, signal: Signal) -> String {
    let suffix = match signal {
        Signal::Start => "/start",
        Signal::Success => return url.to_string(),
        Signal::Fail => "/fail",
    };
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = base.trim_end_matches('/');
    match query {
        Some(query) => format!("{base}{suffix}?{query}"),
        None => format!("{base}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Signal, signal_url};

    #[test]
    fn the_signal_goes_at_the_end_of_the_path() {
        let url = "https://hc-ping.com/abc";
        assert_eq!(
            signal_url(url, Signal::Start),
            "https://hc-ping.com/abc/start"
        );
        assert_eq!(signal_url(url, Signal::Success), url);
        assert_eq!(
            signal_url("https://h/abc/?rid=1", Signal::Fail),
            "https://h/abc/fail?rid=1"
        );
    }
}
