//! The operator's routes for a consumer: drain now, list dead letters, replay one. Until
//! accounts exist they take the `ops_token` variable as a bearer token; with no token set they
//! are closed.

use super::Consumer;
use crate::http::json;
use crate::problem::Problem;
use spin_sdk::http::{IntoResponse, Method, Request, Response};

/// Answers `POST {prefix}/drain`, `GET {prefix}/dead-letters` and
/// `POST {prefix}/dead-letters/{id}/replay` for `consumer`, for a caller holding the ops token;
/// `path` is the request path after the component's own prefix.
pub fn handle(
    req: &Request,
    path: &str,
    ops_token: Option<&str>,
    consumer: &Consumer<'_>,
) -> Response {
    match authorize(req, ops_token) {
        Ok(()) => route(req, path, consumer),
        Err(problem) => problem.into_response(),
    }
}

/// The same routes, for a caller already authorized (an admin's token, say).
pub fn route(req: &Request, path: &str, consumer: &Consumer<'_>) -> Response {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result = match (req.method(), segments.as_slice()) {
        (Method::Post, ["drain"]) => consumer.drain().map(|r| json(200, &r)),
        (Method::Get, ["dead-letters"]) => consumer.dead_letters(100).map(|d| json(200, &d)),
        (Method::Post, ["dead-letters", id, "replay"]) => {
            consumer.replay(id).map(|outcome| match outcome {
                Ok(()) => json(200, &serde_json::json!({ "replayed": id })),
                Err(e) if e.starts_with("no dead letter") => Problem::not_found(e).into_response(),
                Err(e) => {
                    Problem::new(409, format!("the handler failed again: {e}")).into_response()
                }
            })
        }
        (_, ["drain"] | ["dead-letters"] | ["dead-letters", _, "replay"]) => {
            Ok(Problem::method_not_allowed().into_response())
        }
        _ => Ok(Problem::not_found("no such route").into_response()),
    };
    result.unwrap_or_else(|e| Problem::new(503, e.to_string()).into_response())
}

/// Accepts a request carrying `Authorization: Bearer OPS_TOKEN`.
pub fn authorize(req: &Request, ops_token: Option<&str>) -> Result<(), Problem> {
    let Some(expected) = ops_token.filter(|t| !t.is_empty()) else {
        return Err(Problem::forbidden(
            "operator routes are closed: set the ops_token variable",
        ));
    };
    let given = req
        .header("authorization")
        .and_then(|h| h.as_str())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| Problem::unauthorized("a bearer token is required"))?;
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Problem::forbidden("that token may not use operator routes"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
