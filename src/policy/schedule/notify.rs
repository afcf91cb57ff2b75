//! The schedule's `notify` and `hooks` objects: who is told about a backup's outcome
//! (webhooks, a dead-man's-switch ping, email) and which programs run before and after
//! it. URLs and headers are secrets: no error here quotes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// When a channel is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    Failure,
    Success,
    #[default]
    Always,
}

impl When {
    pub fn covers(self, succeeded: bool) -> bool {
        match self {
            When::Always => true,
            When::Success => succeeded,
            When::Failure => !succeeded,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// `always` when absent.
    #[serde(default)]
    pub on: When,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub to: Vec<String>,
    /// `failure` when absent.
    #[serde(default = "failure")]
    pub on: When,
}

fn failure() -> When {
    When::Failure
}

/// The `notify` object. Every channel is optional; an absent object notifies no one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<Webhook>,
    /// healthchecks.io convention: `URL/start`, `URL`, `URL/fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Each HTTP attempt's limit, connection included (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Further HTTP attempts after a failed one, 1 s, 2 s, 4 s... apart (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

/// The `hooks` object: argv lists, run without a shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post: Vec<String>,
    /// Each hook's limit (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_RETRIES: u32 = 2;
pub const MAX_RETRIES: u32 = 5;
pub const DEFAULT_HOOK_TIMEOUT_SECONDS: u64 = 300;

impl Notify {
    /// No channel is configured.
    pub fn is_empty(&self) -> bool {
        self.webhooks.is_empty() && self.ping_url.is_none() && self.email.is_none()
    }

    /// Nothing at all is set: the file has no `notify`.
    pub fn is_unset(&self) -> bool {
        *self == Notify::default()
    }
}

impl Hooks {
    pub fn is_unset(&self) -> bool {
        *self == Hooks::default()
    }
}

pub fn parse_notify(value: &Value) -> Result<Notify, String> {
    let expected = "expected {\"webhooks\": [{\"url\", \"on\", \"headers\"}], \"ping_url\", \
                    \"email\": {\"to\": [..], \"on\"}, \"timeout_seconds\", \"retries\"}";
    let notify =
        Notify::deserialize(value).map_err(|err| format!("{} ({expected})", unquoted(&err)))?;
    for (n, hook) in notify.webhooks.iter().enumerate() {
        check_url(&hook.url).map_err(|why| format!("webhooks[{n}].url {why}"))?;
        for (name, value) in &hook.headers {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(format!(
                    "webhooks[{n}].headers has a name that is not an HTTP header name"
                ));
            }
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(format!(
                    "webhooks[{n}].headers[{name:?}] holds a control character"
                ));
            }
        }
    }
    if let Some(url) = &notify.ping_url {
        check_url(url).map_err(|why| format!("ping_url {why}"))?;
    }
    if let Some(email) = &notify.email {
        if email.to.is_empty() {
            return Err("email.to names no address".to_string());
        }
        for address in &email.to {
            let plain = address.contains('@')
                && !address.contains(|c: char| c.is_whitespace() || c.is_control() || c == ',');
            if !plain {
                return Err(format!(
                    "email.to {address:?} is not one plain address such as ops@example.com"
                ));
            }
        }
    }
    match notify.timeout_seconds {
        Some(0) | Some(301..) => return Err("timeout_seconds is not 1 to 300".to_string()),
        _ => {}
    }
    if notify.retries.is_some_and(|n| n > MAX_RETRIES) {
        return Err(format!("retries is more than {MAX_RETRIES}"));
    }
    Ok(notify)
}

pub fn parse_hooks(value: &Value) -> Result<Hooks, String> {
    let expected =
        "expected {\"pre\": [\"PROGRAM\", \"ARG\"...], \"post\": [...], \"timeout_seconds\"}";
    let hooks =
        Hooks::deserialize(value).map_err(|err| format!("{} ({expected})", unquoted(&err)))?;
    for (name, argv) in [("pre", &hooks.pre), ("post", &hooks.post)] {
        if argv.first().is_some_and(|program| program.is_empty()) {
            return Err(format!("{name} names an empty program ({expected})"));
        }
    }
    if hooks.timeout_seconds == Some(0) {
        return Err("timeout_seconds is 0".to_string());
    }
    Ok(hooks)
}

/// `Ok` for an `http://` or `https://` URL with a host; the error never quotes the URL.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("is not an http:// or https:// URL")?;
    if url.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err("holds a space or a control character".to_string());
    }
    if host_in(rest).is_empty() {
        return Err("has no host".to_string());
    }
    Ok(())
}

/// The host of an http(s) URL, without user, password, port, path or query: all that is
/// ever shown of a URL.
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    host_in(rest).to_string()
}

fn host_in(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// serde's message without the string it quotes (`invalid type: string "https://…",
/// expected a sequence`): that string may be a URL or a token.
fn unquoted(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match (text.find("string \""), text.rfind("\", expected")) {
        (Some(start), Some(end)) if start < end => {
            format!("{}a string{}", &text[..start], &text[end + 1..])
        }
        _ => text,
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{parse_hooks, parse_notify, url_host};

    #[test]
    fn only_the_host_of_a_url_is_shown() {
        assert_eq!(url_host("https://hc-ping.com/abc-123"), "hc-ping.com");
        assert_eq!(url_host("http://user:pw@127.0.0.1:8080/x?t=1"), "127.0.0.1");
        assert_eq!(url_host("https://[::1]:9/secret"), "::1");
        assert_eq!(
            url_host("https://hooks.example.com?token=s"),
            "hooks.example.com"
        );
    }

    #[test]
    fn errors_name_the_field_and_never_the_url() {
        let secret = "ftp://hooks.example.com/T0KEN";
        let cases = [
            (
                json!({"webhooks": [{"url": secret}]}),
                "webhooks[0].url is not an http",
            ),
            (
                json!({"ping_url": "https:///T0KEN"}),
                "ping_url has no host",
            ),
            (
                json!({"ping_url": "https://h/T0KEN x"}),
                "ping_url holds a space",
            ),
            (
                json!({"webhooks": [{"url": "https://h/T0KEN", "on": "sometimes"}]}),
                "unknown variant `sometimes`",
            ),
            (json!({"webhook": []}), "unknown field `webhook`"),
            (
                json!({"webhooks": [{"url": "https://h/", "headers": "Bearer T0KEN"}]}),
                "invalid type: a string, expected a map",
            ),
            (
                json!({"webhooks": "https://h/T0KEN"}),
                "invalid type: a string",
            ),
            (json!({"email": {"to": []}}), "email.to names no address"),
            (
                json!({"email": {"to": ["a@b\nBcc: x@y"]}}),
                "not one plain address",
            ),
            (json!({"retries": 9}), "retries is more than 5"),
            (
                json!({"timeout_seconds": 0}),
                "timeout_seconds is not 1 to 300",
            ),
            (
                json!({"webhooks": [{"url": "https://h/T0KEN", "headers": {"X A": "v"}}]}),
                "not an HTTP header name",
            ),
        ];
        for (value, expected) in cases {
            let err = parse_notify(&value).unwrap_err();
            assert!(err.contains(expected), "{value}: {err}");
            assert!(!err.contains("T0KEN"), "{value}: {err}");
        }
    }

    #[test]
    fn defaults_are_always_for_webhooks_and_failure_for_email() {
        let notify = parse_notify(&json!({
            "webhooks": [{"url": "http://127.0.0.1:9/hook"}],
            "email": {"to": ["ops@example.com"]}
        }))
        .unwrap();
        assert_eq!(notify.webhooks[0].on, super::When::Always);
        assert_eq!(notify.email.unwrap().on, super::When::Failure);
    }

    #[test]
    fn hooks_are_argv_lists() {
        assert!(parse_hooks(&json!({"pre": ["/bin/true"], "post": ["/bin/echo", "x"]})).is_ok());
        let err = parse_hooks(&json!({"pre": "/bin/true --x"})).unwrap_err();
        assert!(err.contains("expected a sequence"), "{err}");
        assert!(parse_hooks(&json!({"post": [""]})).is_err());
        assert!(parse_hooks(&json!({"pre": ["x"], "shell": true})).is_err());
    }
}
