//! `GET /health/services`: asks each configured component's `/health` over service chaining,
//! and pings Redis. A missing, failing or slow (over [`TIMEOUT`]) service is reported as
//! unhealthy with the reason; the aggregate itself always answers.

use serde::Serialize;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::http::{get_with_timeout, json};
use spindle_shared::platform::health::ComponentHealth;
use std::time::{Duration, Instant};

/// How long one service may take to answer.
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    status: &'static str,
    version: String,
    services: Vec<Check>,
    dependencies: Vec<Check>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    name: String,
    status: &'static str,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    reason: Option<String>,
}

pub fn check_all(_req: Request, _params: Params) -> Response {
    let names = spin_sdk::variables::get("services").unwrap_or_default();
    let names: Vec<String> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let services: Vec<Check> = names.iter().map(|n| check_component(n)).collect();
    let dependencies = vec![check_redis()];
    let healthy = services
        .iter()
        .chain(&dependencies)
        .all(|c| c.status == "ok");
    let report = Report {
        status: if healthy { "ok" } else { "degraded" },
        version: spindle_shared::health::app_version(),
        services,
        dependencies,
    };
    json(200, &report)
}

fn check_component(name: &str) -> Check {
    let started = Instant::now();
    let outcome: Result<ComponentHealth, String> =
        match get_with_timeout(&format!("http://{name}.spin.internal/health"), TIMEOUT) {
            Err(e) => Err(format!("unreachable: {e}")),
            Ok((status, _)) if status != 200 => Err(format!("answered HTTP {status}")),
            Ok((_, body)) => {
                serde_json::from_slice(&body).map_err(|e| format!("unreadable health answer: {e}"))
            }
        };
    let latency_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(h) if h.status == "ok" => Check {
            name: name.into(),
            status: "ok",
            latency_ms,
            version: Some(h.version),
            reason: None,
        },
        Ok(h) => Check {
            name: name.into(),
            status: "unhealthy",
            latency_ms,
            version: Some(h.version),
            reason: Some(format!("reports status {}", h.status)),
        },
        Err(reason) => Check {
            name: name.into(),
            status: "unhealthy",
            latency_ms,
            version: None,
            reason: Some(reason),
        },
    }
}

fn check_redis() -> Check {
    let started = Instant::now();
    let outcome = spin_sdk::variables::get("redis_url")
        .map_err(|e| format!("no redis_url: {e}"))
        .and_then(|url| {
            spin_sdk::redis::Connection::open(&url).map_err(|e| format!("cannot connect: {e}"))
        })
        .and_then(|conn| {
            conn.execute("PING", &[])
                .map_err(|e| format!("PING failed: {e}"))
        });
    let latency_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(_) => Check {
            name: "redis".into(),
            status: "ok",
            latency_ms,
            version: None,
            reason: None,
        },
        Err(reason) => Check {
            name: "redis".into(),
            status: "unhealthy",
            latency_ms,
            version: None,
            reason: Some(reason),
        },
    }
}
