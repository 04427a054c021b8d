//! `notification`: turns platform events into emails and in-app notifications.
//!
//! | route                                         | who      | answer                              |
//! |-----------------------------------------------|----------|-------------------------------------|
//! | `GET /api/notifications?cursor=&limit=`       | user     | inbox page, newest first            |
//! | `GET /api/notifications/unread-count`         | user     | `{count}`                           |
//! | `POST /api/notifications/:id/read`            | user     | 204                                 |
//! | `POST /api/notifications/read-all`            | user     | `{updated}`                         |
//! | `GET/PATCH /api/notifications/preferences`    | user     | `{newReleasesEmail}`                |
//! | `GET /api/admin/notifications/outbox`         | operator | the dev outbox (no transport set)   |
//! | `… /api/admin/events/notification/…`          | operator | drain, dead letters, replay         |
//!
//! The Redis trigger (`spindle.events.*` wake-ups and the retry timer) drains the
//! `notification` consumer group: `user.created` (welcome email), `user.otp_requested` (the
//! code), `track.published` (followers' inbox, and email for those who opted in),
//! `playlist.shared`, `artist.followed`/`artist.unfollowed` and `user.deleted`.

mod auth;
mod config;
mod delivery;
mod email;
mod events;
mod inbox;
mod operator;
mod preferences;
mod store;

use spin_sdk::http::{Request, Response, Router};
use spin_sdk::{http_component, redis_component};
use spindle_shared::http::problem_fallback;

#[http_component]
fn handle(req: Request) -> Response {
    let mut router = Router::new();
    // Asked by the health component through service chaining.
    router.get("/health", |_req: Request, _params| {
        spindle_shared::health::answer("notification")
    });
    router.get("/api/notifications", inbox::list);
    router.get("/api/notifications/unread-count", inbox::unread_count);
    router.post("/api/notifications/read-all", inbox::read_all);
    router.get("/api/notifications/preferences", preferences::get);
    router.patch("/api/notifications/preferences", preferences::update);
    router.post("/api/notifications/:id/read", inbox::read_one);
    router.get("/api/admin/notifications/outbox", operator::outbox);
    router.any("/api/admin/events/notification/*", operator::events);
    problem_fallback(router.handle(req))
}

/// Every wake-up (a new event on any topic, or the retry timer) drains everything pending.
#[redis_component]
fn on_wake_up(_message: Vec<u8>) -> anyhow::Result<()> {
    let report = events::drain().map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.failed + report.dead_lettered > 0 {
        eprintln!("notification drain: {report:?}");
    }
    Ok(())
}
