//! The component's settings, all Spin variables (empty means unset).

use crate::email::{HttpApiConfig, Site, SmtpConfig, Transport};
use spindle_shared::events::RetryPolicy;
use std::time::Duration;

pub use spindle_shared::variable as var;

pub fn redis_url() -> Result<String, String> {
    var("redis_url").ok_or_else(|| "the redis_url variable is not set".to_string())
}

pub fn site() -> Site {
    Site {
        product: "Spindle".into(),
        web_url: var("public_url").unwrap_or_else(|| "http://127.0.0.1:3000".into()),
    }
}

/// SMTP when `smtp_relay` (`tcp://HOST:PORT`, also the component's allowed outbound host) is
/// set, else the HTTP email API when `email_api_origin` is, else the dev outbox.
pub fn transport() -> Transport {
    let from = var("email_from").unwrap_or_else(|| "Spindle <no-reply@spindle.local>".into());
    if let Some(relay) = var("smtp_relay") {
        let address = relay.trim_start_matches("tcp://").trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().unwrap_or(25)),
            None => (address.to_string(), 25),
        };
        return Transport::Smtp(SmtpConfig {
            host,
            port,
            from,
            username: var("smtp_username"),
            password: var("smtp_password"),
            timeout: Duration::from_secs(10),
        });
    }
    if let Some(origin) = var("email_api_origin") {
        let path = var("email_api_path").unwrap_or_else(|| "/".into());
        return Transport::HttpApi(HttpApiConfig {
            url: format!("{}{}", origin.trim_end_matches('/'), path),
            api_key: var("email_api_key"),
            from,
        });
    }
    Transport::DevOutbox
}

pub fn retry_policy() -> RetryPolicy {
    let defaults = RetryPolicy::default();
    let number = |name: &str| var(name).and_then(|v| v.parse::<u64>().ok());
    RetryPolicy {
        max_attempts: number("event_max_attempts").map_or(defaults.max_attempts, |n| n as u32),
        base_delay_ms: number("event_retry_base_ms").unwrap_or(defaults.base_delay_ms),
        max_delay_ms: defaults.max_delay_ms,
    }
}
