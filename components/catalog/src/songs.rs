//! Songs: lists, one song, batches, the artist's own, edits, visibility, deletion, and the
//! admin's view.
//!
//! Visibility: `isPublic` is the owner's choice, `isVisible` an admin's. Listeners see songs
//! that are both; the owner and admins see everything of theirs (or everything); what a caller
//! may not see is a 404, as if it did not exist.

use crate::album_link;
use crate::cache::{self, Cache};
use crate::caller;
use crate::events;
use crate::media::storage::Media;
use crate::store::{After, Song, SongQuery, Sort, Store};
use serde::Serialize;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::{Claims, Role};
use spindle_shared::events::outbox::correlation_id;
use spindle_shared::http::{MAX_JSON_BODY, json, parse_json, query_pairs};
use spindle_shared::sql::{int, opt_text, text};
use spindle_shared::time::now_ms;

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
const MAX_BATCH: usize = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    items: Vec<crate::store::SongView>,
    /// Pass as `cursor` for the next page; null on the last one.
    next_cursor: Option<String>,
}

/// The song `id` if `claims` may see it, else 404.
pub fn visible_song(store: &Store, id: &str, claims: Option<&Claims>) -> Result<Song, Problem> {
    let song = store.song(id)?.ok_or_else(not_found)?;
    if may_see(&song, claims) {
        Ok(song)
    } else {
        Err(not_found())
    }
}

fn may_see(song: &Song, claims: Option<&Claims>) -> bool {
    song.is_listed() || claims.is_some_and(|c| c.role == Role::Admin || c.user_id == song.artist_id)
}

fn not_found() -> Problem {
    Problem::not_found("no such song")
}

/// `GET /api/songs?cursor=&limit=&sort=newest|title|popular&artist=&genre=&album=`
pub fn list(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        caller::optional(&req)?;
        page(&req, true)
    })
}

/// `GET /api/admin/songs`: every song, hidden ones too.
pub fn admin_list(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        caller::signed_in(&req)?.require(&[Role::Admin])?;
        page(&req, false)
    })
}

fn page(req: &Request, listed_only: bool) -> Result<Response, Problem> {
    let bad = |name: &str, message: &str| Problem::invalid(vec![Problem::field(name, message)]);
    let mut query = SongQuery {
        listed_only,
        artist_id: None,
        genre: None,
        album_id: None,
        sort: Sort::Newest,
        after: None,
        limit: DEFAULT_LIMIT,
    };
    let mut cursor = None;
    for (key, value) in query_pairs(req.query())? {
        match key.as_str() {
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad("limit", "must be a whole number from 1 to 100"))?
            }
            "cursor" if !value.is_empty() => {
                cursor = Some(
                    decode_cursor(&value)
                        .ok_or_else(|| bad("cursor", "not a cursor from this API"))?,
                )
            }
            "sort" => {
                query.sort = match value.as_str() {
                    "newest" => Sort::Newest,
                    "title" => Sort::Title,
                    "popular" => Sort::Popular,
                    _ => return Err(bad("sort", "must be newest, title or popular")),
                }
            }
            "artist" if !value.is_empty() => query.artist_id = Some(value),
            "genre" if !value.is_empty() => query.genre = Some(value),
            "album" if !value.is_empty() => query.album_id = Some(value),
            _ => {}
        }
    }
    if let Some(after) = cursor {
        if after.s != query.sort.tag() {
            return Err(bad("cursor", "was made for another sort"));
        }
        query.after = Some(after);
    }
    // The public list's first pages without filters are cached (a bounded set of keys).
    let cache_key = (listed_only
        && query.artist_id.is_none()
        && query.genre.is_none()
        && query.album_id.is_none()
        && query.after.is_none())
    .then(|| format!("list:{}:{}", query.sort.tag(), query.limit));
    let cache = Cache::open();
    if let Some(key) = &cache_key
        && let Some((etag, body)) = cache.get(key)
    {
        return Ok(cache::json_with_etag(req, &etag, body));
    }
    let store = Store::open()?;
    let limit = query.limit;
    query.limit += 1;
    let mut songs = store.songs(&query)?;
    let next_cursor = (songs.len() > limit as usize).then(|| {
        songs.truncate(limit as usize);
        songs
            .last()
            .map(|last| encode_cursor(&After::of(last, query.sort)))
            .unwrap_or_default()
    });
    let items = songs.iter().map(Song::view).collect();
    let body = serde_json::to_string(&Page { items, next_cursor })
        .map_err(|e| Problem::internal(e.to_string()))?;
    if let Some(key) = &cache_key {
        cache.put(key, &body, cache::LIST_TTL_MS);
    }
    Ok(cache::json_with_etag(
        req,
        &cache::etag(body.as_bytes()),
        body,
    ))
}

/// `GET /api/songs/:id`
pub fn get(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::optional(&req)?;
        let id = params.get("id").unwrap_or_default();
        let cache = Cache::open();
        let key = format!("song:{id}");
        if let Some((etag, body)) = cache.get(&key) {
            return Ok(cache::json_with_etag(&req, &etag, body));
        }
        let store = Store::open()?;
        let song = visible_song(&store, id, claims.as_ref())?;
        let body =
            serde_json::to_string(&song.view()).map_err(|e| Problem::internal(e.to_string()))?;
        // Only what every caller may see is cached.
        if song.is_listed() {
            cache.put(&key, &body, cache::ITEM_TTL_MS);
        }
        Ok(cache::json_with_etag(
            &req,
            &cache::etag(body.as_bytes()),
            body,
        ))
    })
}

/// `POST /api/songs/batch {ids}`: at most 100; order kept; what the caller may not see (or
/// that does not exist) is left out.
pub fn batch(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::optional(&req)?;
        #[derive(serde::Deserialize)]
        struct Body {
            ids: Vec<String>,
        }
        let body: Body = parse_json(&req, MAX_JSON_BODY)?;
        if body.ids.len() > MAX_BATCH {
            return Err(Problem::invalid(vec![Problem::field(
                "ids",
                format!("at most {MAX_BATCH} ids"),
            )]));
        }
        let store = Store::open()?;
        let found: std::collections::HashMap<String, Song> = store
            .songs_by_ids(&body.ids)?
            .into_iter()
            .filter(|song| may_see(song, claims.as_ref()))
            .map(|song| (song.id.clone(), song))
            .collect();
        // In the order asked, an id asked twice answered twice.
        let items: Vec<_> = body
            .ids
            .iter()
            .filter_map(|id| found.get(id).map(Song::view))
            .collect();
        Ok(json(200, &serde_json::json!({ "items": items })))
    })
}

/// `GET /api/songs/artist/my-songs`: the caller's own songs, hidden ones too.
pub fn mine(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        claims.require(&[Role::Artist, Role::Admin])?;
        let store = Store::open()?;
        let items: Vec<_> = store
            .songs_of(&claims.user_id)?
            .iter()
            .map(Song::view)
            .collect();
        Ok(json(200, &serde_json::json!({ "items": items })))
    })
}

/// `PATCH /api/songs/:id {title?, genre?, tags?, albumId?}` (the owner).
///
/// `albumId` moves the song to that album (`null` or an empty string: off its album), done by
/// the `playlists` component, which owns albums, with the caller's own `Authorization` (see
/// [`album_link`](crate::album_link)) before the answer: the album must be the caller's (else
/// 422 naming `albumId`), the song goes on it, then off the album it was on. When playlists
/// refuses (422) or cannot answer (503) nothing changes, in the catalog either; on success
/// `albumId` is set here at once (and `album.changed` confirms it). The same `albumId` as now
/// changes nothing.
pub fn update(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        let store = Store::open()?;
        let song = visible_song(&store, params.get("id").unwrap_or_default(), Some(&claims))?;
        if claims.user_id != song.artist_id {
            return Err(Problem::forbidden("only the song's artist may edit it"));
        }
        let body: serde_json::Map<String, serde_json::Value> = parse_json(&req, MAX_JSON_BODY)?;
        let mut errors = Vec::new();
        let mut changes: Vec<(&str, spin_sdk::sqlite::Value)> = Vec::new();
        // `Some(album)` when `albumId` is sent (`Some(None)`: off its album).
        let mut album: Option<Option<String>> = None;
        for (key, value) in &body {
            match (key.as_str(), value) {
                ("title", serde_json::Value::String(t)) => {
                    let t = t.trim();
                    if t.is_empty() || t.chars().count() > 200 {
                        errors.push(Problem::field("title", "must be 1 to 200 characters"));
                    } else {
                        changes.push(("title", text(t)));
                    }
                }
                ("genre", serde_json::Value::String(g)) if g.chars().count() <= 64 => {
                    changes.push(("genre", opt_text(Some(g.trim()).filter(|g| !g.is_empty()))))
                }
                ("genre", serde_json::Value::Null) => changes.push(("genre", opt_text(None))),
                ("albumId", serde_json::Value::String(a)) if a.chars().count() <= 128 => {
                    album = Some(Some(a.trim().to_string()).filter(|a| !a.is_empty()))
                }
                ("albumId", serde_json::Value::Null) => album = Some(None),
                ("tags", tags @ serde_json::Value::Array(_)) => {
                    match crate::upload::parse_tags(&tags.to_string()) {
                        Ok(tags) => changes.push((
                            "tags",
                            text(serde_json::to_string(&tags).unwrap_or_default()),
                        )),
                        Err(p) => errors.extend(p.errors),
                    }
                }
                ("title" | "genre" | "albumId" | "tags", _) => {
                    errors.push(Problem::field(key, "has the wrong type or length"))
                }
                _ => errors.push(Problem::field(key, "cannot be changed here")),
            }
        }
        if !errors.is_empty() {
            return Err(Problem::invalid(errors));
        }
        if let Some(album) = album
            && album != song.album_id
        {
            let authorization = req.header("authorization").and_then(|h| h.as_str());
            move_to_album(&song, album.as_deref(), authorization)?;
            changes.push(("album_id", opt_text(album.as_deref())));
        }
        store.transaction(|| {
            for (column, value) in changes {
                store.set_song(&song.id, column, value)?;
            }
            crate::search::index_song(&store, &song.id)
        })?;
        cache::invalidate();
        let song = store.song(&song.id)?.ok_or_else(not_found)?;
        Ok(json(200, &song.view()))
    })
}

/// Moves `song` onto the album `to` (`None`: onto none) at playlists, as the caller (the song's
/// artist): `to` must be theirs (422 naming `albumId`), the song is added to it unless it is
/// there already, then taken off the album it was on. Should taking it off fail, the new entry
/// is taken back, so a refusal leaves both albums as they were.
fn move_to_album(
    song: &Song,
    to: Option<&str>,
    authorization: Option<&str>,
) -> Result<(), Problem> {
    let added = match to {
        Some(album_id) => {
            let album = album_link::owned(album_id, &song.artist_id, authorization)?;
            if album.holds(&song.id) {
                None
            } else {
                Some((
                    album_id,
                    album_link::add(album_id, &song.id, authorization)?,
                ))
            }
        }
        None => None,
    };
    if let Some(old) = &song.album_id
        && let Err(problem) = album_link::remove_song(old, &song.id, authorization)
    {
        if let Some((album_id, entry_id)) = added
            && let Err(e) = album_link::remove_entry(album_id, &entry_id, authorization)
        {
            eprintln!("taking song {} back off album {album_id}: {e}", song.id);
        }
        return Err(problem);
    }
    Ok(())
}

/// `PATCH /api/songs/:id/visibility {isPublic}` (the owner).
pub fn visibility(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        let store = Store::open()?;
        let song = visible_song(&store, params.get("id").unwrap_or_default(), Some(&claims))?;
        if claims.user_id != song.artist_id {
            return Err(Problem::forbidden("only the song's artist may change this"));
        }
        let flag = bool_field(&req, "isPublic")?;
        set_flag(&store, song, "is_public", flag, &correlation_id(&req))
    })
}

/// `PATCH /api/admin/songs/:id/visible {isVisible}` (admins).
pub fn admin_visible(req: Request, params: Params) -> Response {
    crate::respond(|| {
        caller::signed_in(&req)?.require(&[Role::Admin])?;
        let store = Store::open()?;
        let song = store
            .song(params.get("id").unwrap_or_default())?
            .ok_or_else(not_found)?;
        let flag = bool_field(&req, "isVisible")?;
        set_flag(&store, song, "is_visible", flag, &correlation_id(&req))
    })
}

fn bool_field(req: &Request, name: &str) -> Result<bool, Problem> {
    let body: serde_json::Map<String, serde_json::Value> = parse_json(req, MAX_JSON_BODY)?;
    body.get(name)
        .and_then(|v| v.as_bool())
        .ok_or_else(|| Problem::invalid(vec![Problem::field(name, "must be true or false")]))
}

/// Sets `is_public` or `is_visible`; the first time the song becomes listed, `track.published`.
fn set_flag(
    store: &Store,
    song: Song,
    column: &str,
    flag: bool,
    correlation: &str,
) -> Result<Response, Problem> {
    store.transaction(|| {
        store.set_song(&song.id, column, int(flag))?;
        let now = store.song(&song.id)?.ok_or_else(not_found)?;
        if now.is_listed() && now.published_at.is_none() {
            store.set_song(&song.id, "published_at", int(now_ms() as i64))?;
            events::record_published(store, &now, correlation)?;
        }
        Ok(())
    })?;
    cache::invalidate();
    events::flush(store);
    let song = store.song(&song.id)?.ok_or_else(not_found)?;
    Ok(json(200, &song.view()))
}

/// `DELETE /api/songs/:id` (the owner or an admin): the song and its media go.
pub fn delete(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        let store = Store::open()?;
        let song = visible_song(&store, params.get("id").unwrap_or_default(), Some(&claims))?;
        caller::owner_or_admin(&claims, &song.artist_id)?;
        store.transaction(|| {
            store.delete_song(&song.id)?;
            crate::search::remove(&store, "song", &song.id)?;
            events::record_deleted(&store, &song, &correlation_id(&req))
        })?;
        cache::invalidate();
        let media = Media::open()?;
        for id in [Some(&song.media_id), song.cover_media_id.as_ref()]
            .into_iter()
            .flatten()
        {
            media.discard(id)?;
        }
        events::flush(&store);
        Ok(Response::builder().status(204).build())
    })
}

/// A cursor: the last song's sort key, as base64url JSON (opaque to clients).
fn encode_cursor(after: &After) -> String {
    use base64::Engine;
    let json = serde_json::to_vec(after).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(cursor: &str) -> Option<After> {
    use base64::Engine;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    serde_json::from_slice(&json).ok()
}
