//! Concurrent edits: every collection has a revision that grows by one per write. Reads answer
//! it as the `ETag`; a write sent with `If-Match` naming an older revision is refused with 412,
//! so two devices editing at once never silently lose a change.

use crate::events;
use crate::store::{Collection, Kind, Store};
use spin_sdk::http::{Request, Response, ResponseBuilder};
use spindle_shared::Problem;

/// The strong entity tag of a revision.
pub fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

/// 412 when `If-Match` is sent and names neither `*` nor the current revision (strong
/// comparison: a weak tag never matches).
pub fn check_if_match(req: &Request, c: &Collection) -> Result<(), Problem> {
    let Some(value) = req.header("if-match").and_then(|h| h.as_str()) else {
        return Ok(());
    };
    let current = etag(c.revision);
    let matches = value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(Problem::new(
            412,
            format!(
                "the {} changed meanwhile: it is at revision {} (ETag {current}); read it again and retry",
                c.kind.as_str(),
                c.revision
            ),
        ))
    }
}

/// Runs a write on `c` in one transaction: re-reads it (so concurrent writers queue up behind
/// the write lock), checks `If-Match` against what is there now, applies `change`, bumps the
/// revision, announces an album's new state, and publishes the events after the commit.
/// Answers the collection as it now is and what `change` answered.
pub fn write<T>(
    store: &Store,
    req: &Request,
    c: &Collection,
    change: impl FnOnce(&Collection) -> Result<T, Problem>,
) -> Result<(Collection, T), Problem> {
    let result = store.transaction(|| {
        let current = store
            .collection(&c.id, c.kind)?
            .ok_or_else(|| Problem::not_found(format!("no {} {}", c.kind.as_str(), c.id)))?;
        check_if_match(req, &current)?;
        let answer = change(&current)?;
        let after = store.bump(&c.id, c.kind)?;
        if after.kind == Kind::Album {
            events::record_album(store, &after, &events::correlation(req))?;
        }
        Ok((after, answer))
    })?;
    events::flush(store);
    Ok(result)
}

/// A response builder with `status`, the revision's `ETag`, and no shared caching (what a
/// caller sees depends on who they are).
pub fn respond(status: u16, c: &Collection) -> ResponseBuilder {
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("etag", etag(c.revision))
        .header("cache-control", "private, no-cache")
        .header("vary", "authorization");
    builder
}

/// A JSON answer about `c`, with its `ETag`.
pub fn json<T: serde::Serialize>(status: u16, c: &Collection, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => respond(status, c)
            .header("content-type", "application/json")
            .body(body)
            .build(),
        Err(e) => spin_sdk::http::IntoResponse::into_response(Problem::internal(format!(
            "encoding the answer: {e}"
        ))),
    }
}
