//! Polling for the state, and the shared clock.
//!
//! `GET /api/sync/state?since=V&wait=S` answers at once when the state's version is not V (or
//! the calling device has rejections to hear about); otherwise it waits on the scope's Redis
//! stream (`notify.rs`) up to S seconds and answers 304 when nothing changed. Without Redis it
//! falls back to reading the database every half second until the wait ends.

use crate::commands;
use crate::devices;
use crate::notify::Waiter;
use crate::rooms;
use crate::settings::MAX_WAIT_SECS;
use crate::state::{self, room_scope, user_scope};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::events::outbox;
use spindle_shared::http::{json, query_pairs};
use spindle_shared::time::now_ms;
use std::time::Duration;

/// How often the database is read while Redis cannot be waited on.
const FALLBACK_POLL: Duration = Duration::from_millis(500);

struct Query {
    since: Option<i64>,
    wait_secs: u64,
    room: Option<String>,
}

fn query(req: &Request) -> Result<Query, Problem> {
    let mut q = Query {
        since: None,
        wait_secs: 0,
        room: None,
    };
    let mut errors = Vec::new();
    for (key, value) in query_pairs(req.query())? {
        match key.as_str() {
            "since" => match value.parse::<u64>() {
                Ok(v) if v <= i64::MAX as u64 => q.since = Some(v as i64),
                _ => errors.push(Problem::field(
                    "since",
                    "must be a version: a whole number, 0 or more",
                )),
            },
            "wait" => match value.parse::<u64>() {
                Ok(v) if v <= MAX_WAIT_SECS => q.wait_secs = v,
                _ => errors.push(Problem::field(
                    "wait",
                    format!("must be a whole number of seconds from 0 to {MAX_WAIT_SECS}"),
                )),
            },
            "room" => q.room = Some(value),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(Problem::invalid(errors))
    }
}

/// `GET /api/sync/state[?since=V][&wait=S][&room=CODE]`
pub fn state(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let q = query(&req)?;
        let mut db = state::open()?;
        // Commands accepted while Redis was away wait in the outbox; devices poll all the
        // time, so they send them on as soon as Redis is back.
        outbox::flush(&db.conn, commands::PRODUCER);
        let now = now_ms();
        let device = devices::calling(&db, &req, &claims)?;
        let (scope, room_id) = match &q.room {
            Some(code) => {
                let room = rooms::open_room(&db, code, now)?;
                rooms::require_member(&db, &room, &claims.user_id, now)?;
                (room_scope(&room.id), Some(room.id))
            }
            None => {
                devices::expire_active(&db, &claims.user_id, now)?;
                (user_scope(&claims.user_id), None)
            }
        };
        if let Some(d) = &device {
            devices::touch(&db, d, now)?;
        }
        crate::apply::nudge_if_stuck(&db, &scope, now)?;
        let since = q.since.or_else(|| {
            req.header("if-none-match")
                .and_then(|h| h.as_str())
                .and_then(state::version_of_etag)
        });
        let deadline = now + q.wait_secs * 1_000;
        let mut waiter: Option<Waiter> = None;
        loop {
            // The version first: the whole state (a queue of up to 10,000 entries) is decoded
            // only when it will be answered, in the same snapshot.
            let (version, changed) = db.snapshot(|| {
                let version = state::version(&db, &scope)?;
                let told = match &device {
                    Some(d) => commands::has_unreported_rejections(&db, &d.id)?,
                    None => false,
                };
                let changed = since != Some(version) || told;
                Ok((
                    version,
                    if changed {
                        Some(state::load(&db, &scope, now_ms())?)
                    } else {
                        None
                    },
                ))
            })?;
            if let Some(current) = changed {
                let room = match &room_id {
                    Some(id) => rooms::block(&db, id)?,
                    None => None,
                };
                let mut body = state::view(&current, room, now_ms());
                if let Some(d) = &device {
                    body["rejections"] = commands::unreported_rejections(&db, &d.id)?.into();
                }
                let mut response = json(200, &body);
                response.set_header("etag", state::etag(current.version));
                response.set_header("cache-control", "no-store");
                return Ok(response);
            }
            let left = deadline.saturating_sub(now_ms());
            if left == 0 {
                return Ok(Response::builder()
                    .status(304)
                    .header("etag", state::etag(version))
                    .header("cache-control", "no-store")
                    .body(())
                    .build());
            }
            // Hold no database connection while waiting.
            drop(db);
            if waiter.is_none() {
                waiter = Waiter::new(&scope, version)
                    .inspect_err(|e| eprintln!("sync poll: {e}"))
                    .ok();
            }
            let woke = waiter.as_mut().map(|w| w.wait(left));
            if !matches!(woke, Some(Ok(_))) {
                if let Some(Err(e)) = woke {
                    eprintln!("sync poll: {e}");
                }
                waiter = None;
                std::thread::sleep(FALLBACK_POLL.min(Duration::from_millis(left)));
            }
            db = state::open()?;
        }
    })
}

/// `GET /api/sync/time`: when the request arrived and when the answer left, in server
/// wall-clock milliseconds (fractional), for an NTP-style clock offset.
pub fn time(req: Request, _params: Params) -> Response {
    let received = crate::received_at_ms();
    crate::respond(|| {
        crate::authenticate(&req)?;
        let mut response = json(
            200,
            &serde_json::json!({ "receivedAt": received, "sentAt": crate::wall_clock_ms() }),
        );
        response.set_header("cache-control", "no-store");
        Ok(response)
    })
}
