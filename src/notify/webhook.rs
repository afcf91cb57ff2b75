//! Webhooks: the [`Event`] as JSON, POSTed to each URL whose `on` covers the outcome.

use crate::notify::body::Event;
use crate::notify::http::{self, Delivery};
use crate::policy::schedule::{Webhook, url_host};

/// Sends `event` to `hook`; the error names the host only.
pub fn send(hook: &Webhook, event: &Event, delivery: Delivery) -> Result<String, String> {
    let body = serde_json::to_vec(event).expect("an event serializes to JSON");
    let headers: Vec<(&str, &str)> = hook
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let host = url_host(&hook.url);
    http::post(&hook.url, &headers, "application/json", &body, delivery)
        .map(|status| format!("webhook to {host}: HTTP {status}"))
        .map_err(|why| format!("webhook to {host} failed: {why}"))
}
