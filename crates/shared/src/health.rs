//! What every component answers at `GET /health` (the WIT `component-health` record); the
//! health component reads it from each of them through service chaining.

use crate::http::json;
use crate::platform::health::ComponentHealth;
use spin_sdk::http::Response;

/// This component's health: it is answering, built for the `app_version` variable's version.
pub fn answer(component: &str) -> Response {
    json(
        200,
        &ComponentHealth {
            status: "ok".into(),
            component: component.into(),
            version: app_version(),
        },
    )
}

pub fn app_version() -> String {
    spin_sdk::variables::get("app_version").unwrap_or_else(|_| "unknown".into())
}
