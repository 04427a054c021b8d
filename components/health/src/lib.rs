//! `health`: this component's status and the app version, and the status of every other
//! component (through service chaining) and of Redis.
//!
//! | route                  | answer                                                   |
//! |------------------------|----------------------------------------------------------|
//! | `GET /health`          | `{status, component, version}`                           |
//! | `GET /health/services` | each service and dependency with status, latency, reason |

mod services;

use spin_sdk::http::{Params, Request, Response, Router};
use spin_sdk::http_component;
use spindle_shared::http::problem_fallback;

#[http_component]
async fn handle(req: Request) -> Response {
    let mut router = Router::new();
    router.get("/health", own_status);
    router.get("/health/services", services::check_all);
    problem_fallback(router.handle_async(req).await)
}

fn own_status(_req: Request, _params: Params) -> Response {
    spindle_shared::health::answer("health")
}
