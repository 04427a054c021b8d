//! `playlists`: playlists (any user's, private by default) and albums (an artist's, of their
//! own songs, public by default). `{base}` is `/api/playlists` or `/api/albums`.
//!
//! | route                                             | who                | answer                        |
//! |---------------------------------------------------|--------------------|-------------------------------|
//! | `POST {base}` (JSON, or multipart with a cover)   | user (album: artist) | 201 the collection          |
//! | `GET /api/albums?artist=`, `GET /api/playlists/public` | anyone        | listed ones, a page           |
//! | `GET /api/playlists/mine`                         | user               | own and shared with them      |
//! | `GET /api/albums/user/my-albums`                  | user               | own albums, hidden ones too   |
//! | `GET {base}/:id`                                  | who may see it     | with tracks; `ETag` revision  |
//! | `GET {base}/:id/cover[?share=]`                   | who may see it     | the image                     |
//! | `PATCH {base}/:id` (JSON or multipart)            | owner              | title, description, isPublic, cover |
//! | `DELETE {base}/:id`                               | owner, admin       | 204                           |
//! | `POST {base}/:id/songs {songId|songIds, position?}` | owner, editor    | 201 the new entries           |
//! | `DELETE {base}/:id/songs/:entryId`                | owner, editor      | 204                           |
//! | `POST {base}/:id/songs/move {entryId, toPosition}` | owner, editor     | the new order                 |
//! | `PUT {base}/:id/songs {entryIds}`                 | owner, editor      | the new order                 |
//! | `POST/GET /api/playlists/:id/collaborators`       | owner (list: editors too) | editors               |
//! | `DELETE /api/playlists/:id/collaborators/:userId` | owner, that editor | 204                           |
//! | `POST/GET /api/playlists/:id/share`               | owner              | read-only links; `{userId}` shares with a user |
//! | `DELETE /api/playlists/:id/share/:linkId`         | owner              | 204, the link stops working   |
//! | `GET /api/playlists/shared/:token`                | anyone with the link | the playlist, read-only     |
//! | `GET /api/admin/{albums,playlists}`               | admin              | every one                     |
//! | `PATCH /api/admin/{albums,playlists}/:id/visible {isVisible}` | admin  | hide or show                  |
//!
//! Writes honour `If-Match` (412 when the revision moved on). Track details come from the
//! catalog over service chaining. Events: `playlist.shared`, `album.changed`, `album.deleted`;
//! consumed: `track.deleted`, `user.deleted`.

mod access;
mod collections;
mod events;
mod revision;
mod settings;
mod sharing;
mod store;
mod tracks;

use spin_sdk::http::{IncomingRequest, ResponseOutparam, Router};
use spin_sdk::{http_component, redis_component};
use spindle_shared::http_io;

/// Bodies are read into memory up to a cover image with its fields; past it, 413 at once.
const MAX_BODY: usize = settings::MAX_FORM_BODY;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    http_io::serve(req, out, MAX_BODY, router).await
}

fn router() -> Router {
    let mut router = Router::new();
    // Asked by the health component through service chaining.
    router.get("/health", |_req: spin_sdk::http::Request, _params| {
        spindle_shared::health::answer("playlists")
    });
    for base in ["/api/playlists", "/api/albums"] {
        router.post(base, collections::create);
        router.get(&format!("{base}/:id"), collections::get);
        router.patch(&format!("{base}/:id"), collections::update);
        router.delete(&format!("{base}/:id"), collections::delete);
        router.get(&format!("{base}/:id/cover"), collections::cover);
        router.post(&format!("{base}/:id/songs"), tracks::add);
        router.put(&format!("{base}/:id/songs"), tracks::reorder);
        router.post(&format!("{base}/:id/songs/move"), tracks::move_entry);
        router.delete(&format!("{base}/:id/songs/:entryId"), tracks::remove);
    }
    router.get("/api/albums", collections::listed);
    router.get("/api/albums/user/my-albums", collections::mine);
    router.get("/api/playlists/public", collections::listed);
    router.get("/api/playlists/mine", collections::mine);
    router.get("/api/playlists/shared/:token", sharing::shared);
    router.post(
        "/api/playlists/:id/collaborators",
        sharing::add_collaborator,
    );
    router.get("/api/playlists/:id/collaborators", sharing::collaborators);
    router.delete(
        "/api/playlists/:id/collaborators/:userId",
        sharing::remove_collaborator,
    );
    router.post("/api/playlists/:id/share", sharing::share);
    router.get("/api/playlists/:id/share", sharing::links);
    router.delete("/api/playlists/:id/share/:linkId", sharing::revoke);
    for admin in ["/api/admin/playlists", "/api/admin/albums"] {
        router.get(admin, collections::admin_list);
        router.patch(&format!("{admin}/:id/visible"), collections::admin_visible);
    }
    router
}

pub(crate) use spindle_shared::http::respond;

/// Every wake-up (a new `track.deleted` or `user.deleted`, or the retry timer) drains what is
/// pending, and sends what the outbox still holds (events of writes made while Redis was away).
#[redis_component]
fn on_wake_up(_message: Vec<u8>) -> anyhow::Result<()> {
    if let Ok(store) = store::Store::open() {
        events::flush(&store);
    }
    let report = events::drain().map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.failed + report.dead_lettered > 0 {
        eprintln!("playlists drain: {report:?}");
    }
    Ok(())
}
