//! Operator routes: the dev outbox and the event consumer's drain, dead letters and replay.
//! Open to an admin's token, or to the `ops_token` variable as a bearer token.

use crate::auth;
use crate::config;
use crate::events::with_consumer;
use crate::inbox::{respond, store};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::events::admin;
use spindle_shared::http::json;

const PREFIX: &str = "/api/admin/events/notification";

fn authorize(req: &Request) -> Result<(), Problem> {
    if auth::is_admin(req) {
        return Ok(());
    }
    admin::authorize(req, config::var("ops_token").as_deref())
}

pub fn outbox(req: Request, _params: Params) -> Response {
    respond(|| {
        authorize(&req)?;
        let items = store()?.outbox(100).map_err(Problem::internal)?;
        Ok(json(200, &serde_json::json!({ "items": items })))
    })
}

pub fn events(req: Request, _params: Params) -> Response {
    respond(|| {
        authorize(&req)?;
        let path = req
            .path()
            .strip_prefix(PREFIX)
            .unwrap_or_default()
            .to_string();
        with_consumer(|consumer| admin::route(&req, &path, consumer))
            .map_err(|e| Problem::new(503, e))
    })
}
