//! Playlists and albums themselves: create, read (with their tracks), lists, settings,
//! delete, covers, and the admins' switch.

use crate::access::{self, Access, Need};
use crate::events;
use crate::revision::{self, check_if_match, write};
use crate::settings::{self, Cover, Settings};
use crate::store::{Collection, Entry, Filter, Kind, Store};
use serde::Serialize;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::{Claims, Role};
use spindle_shared::http::{json, query_pairs};
use spindle_shared::services;
use spindle_shared::time::{now_ms, rfc3339};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// A collection as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    id: String,
    kind: &'static str,
    title: String,
    description: Option<String>,
    owner_id: String,
    owner_name: String,
    is_public: bool,
    is_visible: bool,
    revision: i64,
    track_count: i64,
    has_cover: bool,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracks: Option<Vec<Track>>,
}

/// One entry with its song as the catalog shows it to the caller.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Track {
    entry_id: String,
    position: i64,
    song_id: String,
    added_by: Option<String>,
    added_at: String,
    available: bool,
    /// The catalog's JSON of the song, as it came.
    song: Option<Box<serde_json::value::RawValue>>,
}

pub fn summary(c: &Collection, access: Option<Access>) -> View {
    View {
        id: c.id.clone(),
        kind: c.kind.as_str(),
        title: c.title.clone(),
        description: c.description.clone(),
        owner_id: c.owner_id.clone(),
        owner_name: c.owner_name.clone(),
        is_public: c.is_public,
        is_visible: c.is_visible,
        revision: c.revision,
        track_count: c.track_count,
        has_cover: c.has_cover,
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
        access: access.map(Access::as_str),
        tracks: None,
    }
}

/// The collection with its tracks, resolved through the catalog with `authorization` (the
/// caller's own header; `None` for anonymous and share-link readers). Songs the caller may not
/// see are unavailable to those who manage the collection and left out for everyone else.
/// The collection and its entries are read in one snapshot (a write committing meanwhile shows
/// in both or in neither); answers the collection as read, whose revision is the view's.
pub fn full(
    store: &Store,
    c: &Collection,
    access: Access,
    authorization: Option<&str>,
) -> Result<(View, Collection), Problem> {
    let (c, entries) = store.snapshot(|| {
        let now = store
            .collection(&c.id, c.kind)?
            .ok_or_else(|| Problem::not_found(format!("no {} {}", c.kind.as_str(), c.id)))?;
        let entries = store.entries(&c.id)?;
        Ok((now, entries))
    })?;
    let ids: Vec<&str> = entries
        .iter()
        .filter(|e| !e.song_deleted)
        .map(|e| e.song_id.as_str())
        .collect();
    let songs = services::songs(&ids, authorization)?;
    let tracks = entries
        .into_iter()
        .filter_map(|e: Entry| {
            let song = (!e.song_deleted)
                .then(|| songs.get(&e.song_id).map(|s| s.json.clone()))
                .flatten();
            if song.is_none() && !access.sees_unavailable() {
                return None;
            }
            Some(Track {
                entry_id: e.id,
                position: e.position,
                song_id: e.song_id,
                added_by: e.added_by,
                added_at: rfc3339(e.added_at),
                available: song.is_some(),
                song,
            })
        })
        .collect();
    let view = View {
        tracks: Some(tracks),
        ..summary(&c, Some(access))
    };
    Ok((view, c))
}

fn authorization(req: &Request) -> Option<&str> {
    req.header("authorization").and_then(|h| h.as_str())
}

/// The full view of `c` as the caller sees it, with its `ETag`.
pub fn answer(
    req: &Request,
    store: &Store,
    status: u16,
    c: &Collection,
    access: Access,
) -> Result<Response, Problem> {
    let (view, c) = full(store, c, access, authorization(req))?;
    Ok(revision::json(status, &c, &view))
}

fn kind_of(req: &Request) -> Kind {
    Kind::of_path(req.path())
}

fn id_param(params: &Params) -> &str {
    params.get("id").unwrap_or_default()
}

/// `POST /api/playlists` and `POST /api/albums`: JSON or multipart with a cover.
pub fn create(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let kind = kind_of(&req);
        let claims = access::signed_in(&req)?;
        if kind == Kind::Album {
            claims.require(&[Role::Artist, Role::Admin])?;
        }
        let settings = settings::read(&req)?;
        let Some(title) = settings.title.clone() else {
            return Err(Problem::invalid(vec![Problem::field(
                "title",
                "is required",
            )]));
        };
        let now = now_ms();
        let owner_name = services::user_name(&claims.user_id)
            .ok()
            .flatten()
            .unwrap_or_default();
        let c = Collection {
            id: spindle_shared::events::new_ulid(now),
            kind,
            owner_id: claims.user_id.clone(),
            owner_name,
            title,
            description: settings.description.clone().flatten(),
            // Playlists are private until their owner says otherwise; albums are for listening.
            is_public: settings.is_public.unwrap_or(kind == Kind::Album),
            is_visible: true,
            revision: 1,
            track_count: 0,
            has_cover: false,
            created_at: now,
            updated_at: now,
        };
        let store = Store::open()?;
        let created = store.transaction(|| {
            store.insert(&c)?;
            if let Some(Cover::Set { mime, bytes }) = &settings.cover {
                set_cover(&store, &c.id, mime, bytes)?;
            }
            let created = store
                .collection(&c.id, kind)?
                .ok_or_else(|| Problem::internal("the new collection is gone"))?;
            if kind == Kind::Album {
                events::record_album(&store, &created, &events::correlation(&req))?;
            }
            Ok(created)
        })?;
        events::flush(&store);
        let mut response = answer(&req, &store, 201, &created, Access::Owner)?;
        let base = if kind == Kind::Album {
            "/api/albums"
        } else {
            "/api/playlists"
        };
        response.set_header("location", format!("{base}/{}", created.id));
        Ok(response)
    })
}

fn set_cover(store: &Store, id: &str, mime: &str, bytes: &[u8]) -> Result<(), Problem> {
    let etag = format!(
        "\"{}\"",
        spindle_shared::events::new_ulid(now_ms()).to_ascii_lowercase()
    );
    store.set_cover(id, mime, bytes, &etag)
}

/// `GET /api/playlists/:id`, `GET /api/albums/:id`: with the tracks.
pub fn get(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = access::optional(&req)?;
        let store = Store::open()?;
        let (c, access) =
            access::visible(&store, id_param(&params), kind_of(&req), claims.as_ref())?;
        answer(&req, &store, 200, &c, access)
    })
}

/// `PATCH /api/playlists/:id`, `PATCH /api/albums/:id` (the owner): title, description,
/// isPublic, cover.
pub fn update(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = access::signed_in(&req)?;
        let store = Store::open()?;
        let (c, access) = access::visible(&store, id_param(&params), kind_of(&req), Some(&claims))?;
        access::require(access, Need::Settings)?;
        let settings = settings::read(&req)?;
        check_if_match(&req, &c)?;
        if settings.is_empty() {
            return answer(&req, &store, 200, &c, access);
        }
        let owner_name = services::user_name(&c.owner_id).ok().flatten();
        let (after, ()) = write(&store, &req, &c, |current| {
            apply(&store, current, &settings, owner_name)
        })?;
        answer(&req, &store, 200, &after, access)
    })
}

fn apply(
    store: &Store,
    current: &Collection,
    settings: &Settings,
    owner_name: Option<String>,
) -> Result<(), Problem> {
    let mut next = current.clone();
    if let Some(title) = &settings.title {
        next.title = title.clone();
    }
    if let Some(description) = &settings.description {
        next.description = description.clone();
    }
    if let Some(is_public) = settings.is_public {
        next.is_public = is_public;
    }
    if let Some(name) = owner_name.filter(|n| !n.is_empty()) {
        next.owner_name = name;
    }
    store.save_settings(&next)?;
    match &settings.cover {
        Some(Cover::Set { mime, bytes }) => set_cover(store, &current.id, mime, bytes),
        Some(Cover::Remove) => store.remove_cover(&current.id),
        None => Ok(()),
    }
}

/// `DELETE /api/playlists/:id`, `DELETE /api/albums/:id` (the owner or an admin).
pub fn delete(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = access::signed_in(&req)?;
        let store = Store::open()?;
        let (c, access) = access::visible(&store, id_param(&params), kind_of(&req), Some(&claims))?;
        access::require(access, Need::Delete)?;
        store.transaction(|| {
            let current = store
                .collection(&c.id, c.kind)?
                .ok_or_else(|| Problem::not_found("it was deleted meanwhile"))?;
            check_if_match(&req, &current)?;
            store.delete(&c.id)?;
            if c.kind == Kind::Album {
                events::record_album_deleted(&store, &c, &events::correlation(&req))?;
            }
            Ok(())
        })?;
        events::flush(&store);
        Ok(Response::builder().status(204).build())
    })
}

/// `GET /api/playlists/:id/cover`, `GET /api/albums/:id/cover` (`?share=TOKEN` opens a
/// private playlist's cover like its link does).
pub fn cover(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let id = id_param(&params);
        let kind = kind_of(&req);
        let store = Store::open()?;
        let token = query_pairs(req.query())?
            .into_iter()
            .find(|(k, _)| k == "share")
            .map(|(_, v)| v);
        let by_link = match &token {
            Some(token) => store
                .collection_by_token(token)?
                .filter(|c| c.id == id && c.kind == kind && c.is_visible),
            None => None,
        };
        let c = match by_link {
            Some(c) => c,
            None => {
                let claims = access::optional(&req)?;
                access::visible(&store, id, kind, claims.as_ref())?.0
            }
        };
        let (mime, bytes, etag) = store
            .cover(&c.id)?
            .ok_or_else(|| Problem::not_found(format!("the {} has no cover", kind.as_str())))?;
        // As the catalog's covers: shared caches keep a listed one; others stay private.
        let caching = if c.is_listed() {
            "public, max-age=3600"
        } else {
            "private, max-age=300"
        };
        let fresh = req
            .header("if-none-match")
            .and_then(|h| h.as_str())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim().trim_start_matches("W/") == etag)
            });
        let mut builder = Response::builder();
        builder
            .header("etag", etag)
            .header("cache-control", caching);
        if fresh {
            return Ok(builder.status(304).build());
        }
        Ok(builder
            .status(200)
            .header("content-type", mime)
            .body(bytes)
            .build())
    })
}

// --- lists ----------------------------------------------------------------------------------

/// `?limit=` and `?cursor=` of a list, and the named extra parameters.
struct Page {
    limit: u32,
    after: Option<(i64, String)>,
    extra: Vec<(String, String)>,
}

fn page(req: &Request) -> Result<Page, Problem> {
    let bad = |name: &str, message: &str| Problem::invalid(vec![Problem::field(name, message)]);
    let mut page = Page {
        limit: DEFAULT_LIMIT,
        after: None,
        extra: Vec::new(),
    };
    for (key, value) in query_pairs(req.query())? {
        match key.as_str() {
            "limit" => {
                page.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad("limit", "must be a whole number from 1 to 100"))?
            }
            "cursor" if !value.is_empty() => {
                page.after = Some(
                    decode_cursor(&value)
                        .ok_or_else(|| bad("cursor", "not a cursor from this API"))?,
                )
            }
            _ => page.extra.push((key, value)),
        }
    }
    Ok(page)
}

fn encode_cursor(c: &Collection) -> String {
    use base64::Engine;
    let raw = format!("{}.{}", c.created_at, c.id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (at, id) = raw.split_once('.')?;
    let valid_id = id.len() == 26 && id.chars().all(|c| c.is_ascii_alphanumeric());
    Some((at.parse().ok()?, id.to_string())).filter(|_| valid_id)
}

/// A page of `kind` with `filter`, each seen by `claims`.
fn list(
    store: &Store,
    kind: Kind,
    filter: Filter<'_>,
    page: &Page,
    claims: Option<&Claims>,
) -> Result<Response, Problem> {
    let found = store.list(kind, filter, page.after.as_ref(), page.limit)?;
    let next_cursor = (found.len() == page.limit as usize)
        .then(|| found.last().map(encode_cursor))
        .flatten();
    let mut items = Vec::with_capacity(found.len());
    for c in &found {
        items.push(summary(c, access::access(store, c, claims)?));
    }
    Ok(json(
        200,
        &serde_json::json!({ "items": items, "nextCursor": next_cursor }),
    ))
}

/// `GET /api/albums?artist=` and `GET /api/playlists/public`: what listeners see.
pub fn listed(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = access::optional(&req)?;
        let page = page(&req)?;
        let owner = page
            .extra
            .iter()
            .find(|(k, v)| k == "artist" && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let store = Store::open()?;
        list(
            &store,
            kind_of(&req),
            Filter::Listed(owner),
            &page,
            claims.as_ref(),
        )
    })
}

/// `GET /api/playlists/mine` (the caller's own playlists and those shared with them) and
/// `GET /api/albums/user/my-albums` (the caller's own albums, hidden ones too).
pub fn mine(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = access::signed_in(&req)?;
        let page = page(&req)?;
        let store = Store::open()?;
        let (kind, filter) = match kind_of(&req) {
            Kind::Playlist => (Kind::Playlist, Filter::OfUser(&claims.user_id)),
            Kind::Album => (Kind::Album, Filter::OwnedBy(&claims.user_id)),
        };
        list(&store, kind, filter, &page, Some(&claims))
    })
}

/// `GET /api/admin/albums`, `GET /api/admin/playlists`: every one.
pub fn admin_list(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = access::signed_in(&req)?;
        claims.require(&[Role::Admin])?;
        let page = page(&req)?;
        let store = Store::open()?;
        list(&store, kind_of(&req), Filter::All, &page, Some(&claims))
    })
}

/// `PATCH /api/admin/albums/:id/visible`, `PATCH /api/admin/playlists/:id/visible`
/// `{isVisible}`.
pub fn admin_visible(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = access::signed_in(&req)?;
        claims.require(&[Role::Admin])?;
        let mut body = spindle_shared::body::Body::read(&req, spindle_shared::http::MAX_JSON_BODY)?;
        let visible: Option<bool> = body.required("isVisible", "true or false");
        body.finish()?;
        let visible = visible.unwrap_or(true);
        let store = Store::open()?;
        let kind = kind_of(&req);
        let (c, access) = access::visible(&store, id_param(&params), kind, Some(&claims))?;
        let (after, ()) = write(&store, &req, &c, |current| {
            store.set_visible(&current.id, visible)
        })?;
        answer(&req, &store, 200, &after, access)
    })
}
