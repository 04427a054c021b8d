//! `sync`: playback that follows a listener across their devices, and listening rooms shared by
//! several listeners. Devices talk HTTP only: they send commands and poll for the state.
//!
//! | route                                          | who            | answer                          |
//! |------------------------------------------------|----------------|---------------------------------|
//! | `POST /api/sync/devices {name, kind}`          | user           | 201 the device                  |
//! | `GET /api/sync/devices`                        | user           | own devices, last seen, active  |
//! | `PATCH /api/sync/devices/:id {name}`           | its user       | the device                      |
//! | `DELETE /api/sync/devices/:id`                 | its user       | 204                             |
//! | `POST /api/sync/commands` (`X-Device-Id`)      | a device       | 202; applied through Redis      |
//! | `GET /api/sync/commands/:commandId`            | its user       | pending, applied or rejected    |
//! | `GET /api/sync/state?since=&wait=&room=`       | user, member   | the state, or 304 after waiting |
//! | `GET /api/sync/time`                           | user           | server receive/send times       |
//! | `POST /api/sync/rooms {name?, controlMode?}`   | user           | 201 a room with a join code     |
//! | `GET /api/sync/rooms/:code`                    | member         | the room with presence          |
//! | `PATCH /api/sync/rooms/:code`                  | host           | name, control mode              |
//! | `POST /api/sync/rooms/:code/join`, `/leave`    | user, member   | the room; 204                   |
//!
//! Commands are stored with their `sync.command` event (outbox) and applied by this
//! component's Redis-triggered handler, per user or room in the order accepted. Consumed:
//! `sync.command`, `user.deleted`.

mod apply;
mod commands;
mod devices;
mod notify;
mod player;
mod polling;
mod rooms;
mod settings;
mod state;

use spin_sdk::http::{IncomingRequest, Request, ResponseOutparam, Router};
use spin_sdk::{http_component, redis_component};
use spindle_shared::Problem;
use spindle_shared::auth::Claims;
use spindle_shared::http_io;
use std::sync::atomic::{AtomicU64, Ordering};

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    // An instance serves one request: this is when it arrived (for the shared clock).
    RECEIVED_AT_US.store((wall_clock_ms() * 1_000.0) as u64, Ordering::Relaxed);
    http_io::serve(req, out, settings::MAX_BODY, router).await
}

fn router() -> Router {
    let mut router = Router::new();
    // Asked by the health component through service chaining.
    router.get("/health", |_req: Request, _params| {
        spindle_shared::health::answer("sync")
    });
    router.post("/api/sync/devices", devices::create);
    router.get("/api/sync/devices", devices::list);
    router.patch("/api/sync/devices/:id", devices::rename);
    router.delete("/api/sync/devices/:id", devices::delete);
    router.post("/api/sync/commands", commands::post);
    router.get("/api/sync/commands/:commandId", commands::get);
    router.get("/api/sync/state", polling::state);
    router.get("/api/sync/time", polling::time);
    router.post("/api/sync/rooms", rooms::create);
    router.get("/api/sync/rooms/:code", rooms::get);
    router.patch("/api/sync/rooms/:code", rooms::update);
    router.post("/api/sync/rooms/:code/join", rooms::join);
    router.post("/api/sync/rooms/:code/leave", rooms::leave);
    router
}

/// A `sync.command` or `user.deleted` event, or the retry timer.
#[redis_component]
fn on_wake_up(_message: Vec<u8>) -> anyhow::Result<()> {
    let report = apply::wake_up().map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.failed + report.dead_lettered > 0 {
        eprintln!("sync drain: {report:?}");
    }
    Ok(())
}

pub(crate) use spindle_shared::http::respond;

pub(crate) fn authenticate(req: &Request) -> Result<Claims, Problem> {
    spindle_shared::auth::authenticate(req, "default")
}

static RECEIVED_AT_US: AtomicU64 = AtomicU64::new(0);

pub(crate) fn received_at_ms() -> f64 {
    RECEIVED_AT_US.load(Ordering::Relaxed) as f64 / 1_000.0
}

/// Wall-clock milliseconds since the epoch, with microseconds.
pub(crate) fn wall_clock_ms() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_micros() as f64 / 1_000.0
}
