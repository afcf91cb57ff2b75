//! The `notify` and `hooks` objects as shown to people and printed as JSON: a URL's host
//! only, a hook's program name only, header values hidden.

use std::path::Path;

use crate::policy::schedule::{Hooks, Notify, When, url_host};

/// The `notify` object for people: hosts only, never a URL's path or a header's value.
pub fn describe(notify: &Notify) -> String {
    let on = |when: When| {
        serde_json::to_value(when)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    };
    let mut parts: Vec<String> = notify
        .webhooks
        .iter()
        .map(|hook| format!("webhook to {} on {}", url_host(&hook.url), on(hook.on)))
        .collect();
    if let Some(url) = &notify.ping_url {
        parts.push(format!("ping to {}", url_host(url)));
    }
    if let Some(email) = &notify.email {
        parts.push(format!(
            "email to {} on {}",
            email.to.join(", "),
            on(email.on)
        ));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}

pub fn describe_hooks(hooks: &Hooks) -> String {
    let program = |argv: &[String]| {
        argv.first().map(|p| {
            Path::new(p)
                .file_name()
                .map_or_else(|| p.clone(), |n| n.to_string_lossy().into_owned())
        })
    };
    let parts: Vec<String> = [("pre", &hooks.pre), ("post", &hooks.post)]
        .into_iter()
        .filter_map(|(which, argv)| program(argv).map(|p| format!("{which}: {p}")))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}

/// The `notify` object as printed (`schedule show --json`): URLs cut to their host,
/// header values hidden.
pub fn redact(notify: &mut serde_json::Value) {
    let cut = |url: &mut serde_json::Value| {
        if let Some(text) = url.as_str() {
            let scheme = text.split_once("://").map_or("https", |(s, _)| s);
            *url = serde_json::Value::String(format!("{scheme}://{}/…", url_host(text)));
        }
    };
    if let Some(hooks) = notify.get_mut("webhooks").and_then(|w| w.as_array_mut()) {
        for hook in hooks {
            if let Some(url) = hook.get_mut("url") {
                cut(url);
            }
            if let Some(headers) = hook.get_mut("headers").and_then(|h| h.as_object_mut()) {
                for value in headers.values_mut() {
                    *value = serde_json::Value::String("(hidden)".to_string());
                }
            }
        }
    }
    if let Some(url) = notify.get_mut("ping_url") {
        cut(url);
    }
}
