//! `activity`: listening activity and what Spindle makes of it — play tracking, history,
//! counts, trending, similar songs and made-for-you lists, computed here from its own listening
//! data in SQLite. Song details and visibility come from the catalog (service chaining, with
//! the caller's token), so lists hold only songs the caller may see.
//!
//! | route                                                | who              | answer                     |
//! |------------------------------------------------------|------------------|----------------------------|
//! | `POST /api/songs/:id/track/{play,complete,skip}`     | who sees the song | 201 new listen, 200 again |
//! | `GET /api/me/history?limit=&cursor=`                 | user             | listens, newest first      |
//! | `GET /api/me/stats`                                  | user             | counts, top songs, artists |
//! | `GET`/`PUT /api/me/taste {genres}`                   | user             | genres to start from       |
//! | `GET /api/songs/:id/stats`                           | who sees the song | plays, completions, skips |
//! | `GET /api/artists/:id/stats`                         | anyone           | per visible song, and sums |
//! | `GET /api/songs/trending?genre=&limit=`              | anyone           | decayed popularity         |
//! | `GET /api/songs/:id/similar?limit=`                  | who sees the song | co-listening + metadata   |
//! | `GET /api/songs/recommendations/for-you?limit=`      | user             | from their listening       |
//! | `POST /api/admin/activity/rebuild`                   | admin            | derived data from listens  |
//!
//! Consumed events: `track.published`, `track.deleted`, `user.deleted`, `artist.followed`,
//! `artist.unfollowed`.

mod catalog;
mod events;
mod for_you;
mod listen;
mod profile;
mod ranked;
mod settings;
mod signals;
mod similar;
mod stats;
mod store;
mod tracking;
mod trending;

use spin_sdk::http::{IncomingRequest, Params, Request, Response, ResponseOutparam, Router};
use spin_sdk::{http_component, redis_component};
use spindle_shared::Problem;
use spindle_shared::auth::{Claims, Role};
use spindle_shared::http::json;
use spindle_shared::http_io;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    http_io::serve(req, out, spindle_shared::http::MAX_JSON_BODY, router).await
}

fn router() -> Router {
    let mut router = Router::new();
    // Asked by the health component through service chaining.
    router.get("/health", |_req: Request, _params| {
        spindle_shared::health::answer("activity")
    });
    router.post("/api/songs/:id/track/:kind", tracking::track);
    router.get("/api/me/history", profile::history);
    router.get("/api/me/stats", profile::stats);
    router.get("/api/me/taste", profile::get_taste);
    router.put("/api/me/taste", profile::put_taste);
    router.get("/api/songs/trending", trending::route);
    router.get("/api/songs/recommendations/for-you", for_you::route);
    router.get("/api/songs/:id/similar", similar::route);
    router.get("/api/songs/:id/stats", stats::song);
    router.get("/api/artists/:id/stats", stats::artist);
    router.post("/api/admin/activity/rebuild", rebuild);
    router
}

/// `POST /api/admin/activity/rebuild` (admin): recomputes counts, trend scores and
/// co-listening from the listens (after a bulk import).
fn rebuild(req: Request, _params: Params) -> Response {
    respond(|| {
        authenticate(&req)?.require(&[Role::Admin])?;
        let db = store::open()?;
        let started = spindle_shared::time::now_ms();
        let listens = signals::rebuild(&db, started)?;
        let took = spindle_shared::time::now_ms() - started;
        Ok(json(
            200,
            &serde_json::json!({ "listens": listens, "tookMs": took }),
        ))
    })
}

/// A new event of a consumed topic, or the retry timer.
#[redis_component]
fn on_wake_up(_message: Vec<u8>) -> anyhow::Result<()> {
    let report = events::drain().map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.failed + report.dead_lettered > 0 {
        eprintln!("activity drain: {report:?}");
    }
    Ok(())
}

pub(crate) use spindle_shared::http::respond;

pub(crate) fn authenticate(req: &Request) -> Result<Claims, Problem> {
    spindle_shared::auth::authenticate(req, "default")
}

pub(crate) fn authenticate_optional(req: &Request) -> Result<Option<Claims>, Problem> {
    spindle_shared::auth::authenticate_optional(req, "default")
}
