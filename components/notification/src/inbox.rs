//! The signed-in user's inbox.

use crate::auth::signed_in;
use crate::store::Store;
use serde::Serialize;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::json;

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    items: Vec<crate::store::Notification>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    next_cursor: Option<String>,
}

pub fn list(req: Request, _params: Params) -> Response {
    respond(|| {
        let user = signed_in(&req)?;
        let (cursor, limit) = page_query(req.query())?;
        let store = store()?;
        let mut items = store
            .inbox_page(&user, cursor.as_deref(), limit + 1)
            .map_err(Problem::internal)?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|n| n.id.clone())
        } else {
            None
        };
        Ok(json(200, &Page { items, next_cursor }))
    })
}

pub fn unread_count(req: Request, _params: Params) -> Response {
    respond(|| {
        let user = signed_in(&req)?;
        let count = store()?.unread_count(&user).map_err(Problem::internal)?;
        Ok(json(200, &serde_json::json!({ "count": count })))
    })
}

pub fn read_one(req: Request, params: Params) -> Response {
    respond(|| {
        let user = signed_in(&req)?;
        let id = params.get("id").unwrap_or_default();
        if store()?.mark_read(&user, id).map_err(Problem::internal)? {
            Ok(Response::builder().status(204).build())
        } else {
            Err(Problem::not_found("no such notification"))
        }
    })
}

pub fn read_all(req: Request, _params: Params) -> Response {
    respond(|| {
        let user = signed_in(&req)?;
        let updated = store()?.mark_all_read(&user).map_err(Problem::internal)?;
        Ok(json(200, &serde_json::json!({ "updated": updated })))
    })
}

pub(crate) fn store() -> Result<Store, Problem> {
    Store::open().map_err(Problem::internal)
}

pub(crate) use spindle_shared::http::respond;

/// `cursor` (an entry id) and `limit` (1 to 100) from the query string.
fn page_query(query: &str) -> Result<(Option<String>, u32), Problem> {
    let mut cursor = None;
    let mut limit = DEFAULT_LIMIT;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "cursor" if !value.is_empty() => {
                if value.len() != 26 || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(Problem::invalid(vec![Problem::field(
                        "cursor",
                        "not a cursor from this API",
                    )]));
                }
                cursor = Some(value.to_string());
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::invalid(vec![Problem::field(
                            "limit",
                            "must be a whole number from 1 to 100",
                        )])
                    })?;
            }
            _ => {}
        }
    }
    Ok((cursor, limit))
}
