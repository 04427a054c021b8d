//! Delivery through an HTTP email API: one JSON `POST` per email,
//! `{"from", "to", "subject", "text", "html"}`, with `Authorization: Bearer <api key>` when a
//! key is configured. Any answer but 2xx fails the send with the status and the start of the body.
//!
//! Uses Spin's outbound HTTP (`wasi:http`) directly rather than `spin_sdk::http::send`, which has
//! no deadline: a stuck API must not hold the event consumer. Allow the API's origin in
//! `allowed_outbound_hosts`.

use std::time::Duration;

use serde_json::json;

use super::{Email, parse_mailbox};

/// An HTTP email API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpApiConfig {
    /// The absolute `http://` or `https://` URL to `POST` to.
    pub url: String,
    /// Sent as `Authorization: Bearer <api_key>` when set.
    pub api_key: Option<String>,
    /// The sender, `addr@domain` or `Name <addr@domain>`, sent as given.
    pub from: String,
}

/// Deadline for connecting, the first byte of the answer and every later byte.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an error body goes into the error message.
const EXCERPT: usize = 300;

pub(super) fn send(config: &HttpApiConfig, email: &Email) -> Result<(), String> {
    parse_mailbox(&config.from)?;
    let body = payload(config, email);
    let (status, response) = post_json(&config.url, config.api_key.as_deref(), &body, TIMEOUT)
        .map_err(|e| format!("email API {}: {e}", config.url))?;
    check_status(status, &response).map_err(|e| format!("email API {}: {e}", config.url))
}

/// The JSON request body.
fn payload(config: &HttpApiConfig, email: &Email) -> Vec<u8> {
    json!({
        "from": config.from,
        "to": email.to,
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
    })
    .to_string()
    .into_bytes()
}

fn check_status(status: u16, body: &[u8]) -> Result<(), String> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let excerpt: String = text.chars().take(EXCERPT).collect();
    let more = if excerpt.len() < text.len() {
        "…"
    } else {
        ""
    };
    Err(format!("answered {status}: {excerpt}{more}"))
}

/// `POST url` with a JSON body: the status and the start of the answer (at most 64 KiB).
fn post_json(
    url: &str,
    bearer: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let authorization = bearer.map(|key| format!("Bearer {key}"));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    if let Some(value) = &authorization {
        headers.push(("authorization", value));
    }
    spindle_shared::http::send_with_timeout("POST", url, &headers, body, timeout, 64 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HttpApiConfig {
        HttpApiConfig {
            url: "https://api.mail.example/v1/send".into(),
            api_key: Some("k".into()),
            from: "Spindle <noreply@spindle.example>".into(),
        }
    }

    #[test]
    fn payload_is_the_documented_json() {
        let email = Email {
            to: "ana@example.org".into(),
            subject: "Hi \"Ana\"".into(),
            text: "line 1\nline 2".into(),
            html: "<p>Hi</p>".into(),
        };
        let value: serde_json::Value = serde_json::from_slice(&payload(&config(), &email)).unwrap();
        assert_eq!(
            value,
            json!({
                "from": "Spindle <noreply@spindle.example>",
                "to": "ana@example.org",
                "subject": "Hi \"Ana\"",
                "text": "line 1\nline 2",
                "html": "<p>Hi</p>",
            })
        );
    }

    #[test]
    fn only_2xx_succeeds() {
        assert_eq!(check_status(200, b""), Ok(()));
        assert_eq!(check_status(202, b"{\"id\":1}"), Ok(()));
        let err = check_status(422, b"  {\"error\":\"invalid to\"}\n").unwrap_err();
        assert_eq!(err, "answered 422: {\"error\":\"invalid to\"}");
        let long = "x".repeat(1000);
        let err = check_status(500, long.as_bytes()).unwrap_err();
        assert!(err.starts_with("answered 500: xxx") && err.ends_with('…'));
        assert!(err.len() < EXCERPT + 30);
        assert!(check_status(301, b"").is_err());
    }
}
