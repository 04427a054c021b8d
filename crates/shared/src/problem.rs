//! RFC 9457 problem details: the one error shape of Spindle's HTTP API.

use serde::Serialize;
use spin_sdk::http::{IntoResponse, Response};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error answer: `status`, a short `title` for the status, a `detail` for people, and for
/// 422 the fields that were wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait, for 429 (also sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: title(status).into(),
            status,
            detail: Some(detail.into()),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, detail)
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, "this route does not accept that method")
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, detail)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            413,
            format!("the request body is larger than {limit} bytes"),
        )
    }
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(415, format!("the request body must be {expected}"))
    }
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, "too many requests; try again later")
        }
    }
    /// An unexpected failure (storage, encoding, configuration): its message goes to the
    /// component's log, not to the caller. A database that stayed locked past the host's wait
    /// is a 503 to retry.
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        eprintln!("internal error: {detail}");
        if detail.contains("database is locked") || detail.contains("database is busy") {
            return Self {
                retry_after: Some(1),
                ..Self::new(503, "the database is busy; try again")
            };
        }
        Self::new(500, "an internal error; it is in the component's log")
    }

    /// 422 naming each invalid field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(422, "some fields are invalid")
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// The error strings of storage and encoding calls: see [`Problem::internal`].
impl From<String> for Problem {
    fn from(detail: String) -> Self {
        Self::internal(detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut builder = Response::builder();
        builder
            .status(self.status)
            .header("content-type", CONTENT_TYPE);
        if let Some(seconds) = self.retry_after {
            builder.header("retry-after", seconds.to_string());
        }
        builder.body(body).build()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.status,
            self.detail.as_deref().unwrap_or(&self.title)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_field() {
        let p = Problem::invalid(vec![
            Problem::field("email", "is not an email"),
            Problem::field("password", "too short"),
        ]);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][1]["field"], "password");
        assert!(json.get("retry_after").is_none());
    }

    #[test]
    fn internal_failures_keep_their_detail_out_of_the_answer() {
        let hidden = Problem::internal("SELECT secret FROM keys: no such table");
        assert_eq!(hidden.status, 500);
        assert!(
            !hidden
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("secret")
        );
        let busy = Problem::from("media database: database is locked".to_string());
        assert_eq!((busy.status, busy.retry_after), (503, Some(1)));
    }

    #[test]
    fn too_many_requests_sets_retry_after() {
        let response = Problem::too_many_requests(30).into_response();
        assert_eq!(*response.status(), 429);
        assert_eq!(
            response.header("retry-after").and_then(|h| h.as_str()),
            Some("30")
        );
        assert_eq!(
            response.header("content-type").and_then(|h| h.as_str()),
            Some(CONTENT_TYPE)
        );
    }
}
