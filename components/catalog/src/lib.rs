//! `catalog`: songs, artists and their media.
//!
//! | route                                        | who            | answer                               |
//! |----------------------------------------------|----------------|--------------------------------------|
//! | `POST /api/songs` (multipart, streamed)      | artist, admin  | 201 the song                         |
//! | `GET /api/songs?cursor&limit&sort&artist…`   | anyone         | listed songs, a page                 |
//! | `GET /api/songs/:id`                         | who may see it | the song                             |
//! | `POST /api/songs/batch {ids}`                | anyone         | the songs the caller may see, in order |
//! | `GET /api/songs/artist/my-songs`             | artist         | own songs, hidden ones too           |
//! | `PATCH /api/songs/:id`                       | owner          | title, genre, tags, album            |
//! | `PATCH /api/songs/:id/visibility {isPublic}` | owner          | the song                             |
//! | `DELETE /api/songs/:id`                      | owner, admin   | 204; the media goes too              |
//! | `GET /api/songs/:id/stream[?redirect=true]`  | signed in, may see it | a signed media URL (or 302 to it) |
//! | `GET/HEAD /api/media/:id?exp&u&sig` (streamed)| signed URL    | the audio, byte ranges               |
//! | `GET/HEAD /api/songs/:id/cover` (streamed)   | who may see it | the cover image                      |
//! | `GET /api/artists/:id`                       | anyone         | profile and the songs one may see    |
//! | `POST/DELETE /api/artists/:id/follow`        | user           | 204                                  |
//! | `GET /api/me/following`                      | user           | the artists followed                 |
//! | `GET /api/search?q=&limit=`                  | anyone         | songs, artists and albums, ranked    |
//! | `GET /api/admin/songs`                       | admin          | every song                           |
//! | `PATCH /api/admin/songs/:id/visible`         | admin          | hide or show a song                  |
//!
//! Metadata lives in the SQLite database `catalog`; media bytes in the SQLite database `media`
//! or, when `s3_endpoint` is set, an S3-compatible bucket (then `/stream` answers a presigned
//! bucket URL and `/api/media/...` is not used). Events:
//! `track.published` (the first time a song becomes visible to listeners), `track.deleted`,
//! `artist.followed`, `artist.unfollowed`;
//! consumed: `user.deleted` (the artist's songs, media and albums go), `album.changed` (from
//! `playlists`: the album is indexed for search while listed, and the songs it names that are
//! its artist's get its `albumId`), `album.deleted` (out of search, its songs in no album).

mod album_link;
mod albums;
mod artists;
mod cache;
mod caller;
mod config;
mod events;
mod media;
mod search;
mod songs;
mod store;
mod stream;
mod upload;

use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam, Router};
use spin_sdk::{http_component, redis_component};
use spindle_shared::http_io;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let path = req.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default().to_string();
    let method = req.method();
    // The streamed routes take the request as it comes.
    if method == Method::Post && path == "/api/songs" {
        return http_io::send(out, upload::upload(req).await).await;
    }
    if matches!(method, Method::Get | Method::Head) {
        if path.starts_with("/api/media/") {
            return stream::media(req, out).await;
        }
        if path.starts_with("/api/songs/")
            && path.ends_with("/cover")
            && path.matches('/').count() == 4
        {
            return stream::cover(req, out).await;
        }
    }
    http_io::serve(req, out, http_io::MAX_BUFFERED_BODY, router).await
}

fn router() -> Router {
    let mut router = Router::new();
    // Asked by the health component through service chaining.
    router.get("/health", |_req: spin_sdk::http::Request, _params| {
        spindle_shared::health::answer("catalog")
    });
    router.get("/api/songs", songs::list);
    router.post("/api/songs/batch", songs::batch);
    router.get("/api/songs/artist/my-songs", songs::mine);
    router.get("/api/songs/:id", songs::get);
    router.patch("/api/songs/:id", songs::update);
    router.delete("/api/songs/:id", songs::delete);
    router.patch("/api/songs/:id/visibility", songs::visibility);
    router.get("/api/songs/:id/stream", stream::stream_url);
    router.get("/api/artists/:id", artists::profile);
    router.post("/api/artists/:id/follow", artists::follow);
    router.delete("/api/artists/:id/follow", artists::unfollow);
    router.get("/api/me/following", artists::following);
    router.get("/api/search", search::search);
    router.get("/api/admin/songs", songs::admin_list);
    router.patch("/api/admin/songs/:id/visible", songs::admin_visible);
    router
}

pub(crate) use spindle_shared::http::respond;

/// Every wake-up (a new `user.deleted`, `album.changed` or `album.deleted`, or the retry timer)
/// drains what is pending, and sends what the outbox still holds (events of writes made while
/// Redis was away).
#[redis_component]
fn on_wake_up(_message: Vec<u8>) -> anyhow::Result<()> {
    if let Ok(store) = store::Store::open() {
        events::flush(&store);
    }
    let report = events::drain().map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.failed + report.dead_lettered > 0 {
        eprintln!("catalog drain: {report:?}");
    }
    Ok(())
}
