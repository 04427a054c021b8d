//! The signed-in user's notification preferences. Security mail (one-time codes) always goes.

use crate::auth::signed_in;
use crate::inbox::{respond, store};
use serde::{Deserialize, Serialize};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::{json, parse_json};

const MAX_BODY: usize = 4 * 1024;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Preferences {
    new_releases_email: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Update {
    new_releases_email: Option<bool>,
}

pub fn get(req: Request, _params: Params) -> Response {
    respond(|| {
        let user = signed_in(&req)?;
        let on = store()?
            .new_releases_email(&user)
            .map_err(Problem::internal)?;
        Ok(json(
            200,
            &Preferences {
                new_releases_email: on,
            },
        ))
    })
}

pub fn update(req: Request, _params: Params) -> Response {
    respond(|| {
        let user = signed_in(&req)?;
        let update: Update = parse_json(&req, MAX_BODY)?;
        let store = store()?;
        if let Some(on) = update.new_releases_email {
            store
                .set_new_releases_email(&user, on)
                .map_err(Problem::internal)?;
        }
        let on = store.new_releases_email(&user).map_err(Problem::internal)?;
        Ok(json(
            200,
            &Preferences {
                new_releases_email: on,
            },
        ))
    })
}
