//! Artists: a profile with their songs, and follows (published as `artist.followed` and
//! `artist.unfollowed`, which the notification component turns into release alerts).

use crate::cache::{self, Cache};
use crate::caller;
use crate::events;
use crate::store::{Song, Store};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::events::outbox::correlation_id;
use spindle_shared::http::json;
use spindle_shared::sql::{get_int, get_text, int, text};
use spindle_shared::time::{now_ms, rfc3339};

/// `GET /api/artists/:id`: name, follower count, and the songs the caller may see.
pub fn profile(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::optional(&req)?;
        let id = params.get("id").unwrap_or_default();
        // Anonymous profiles are the same for everyone: those are cached.
        let cache = Cache::open();
        let key = format!("artist:{id}");
        if claims.is_none()
            && let Some((etag, body)) = cache.get(&key)
        {
            return Ok(cache::json_with_etag(&req, &etag, body));
        }
        let store = Store::open()?;
        let name = store
            .artist_name(id)?
            .ok_or_else(|| Problem::not_found("no such artist"))?;
        let sees_all = claims
            .as_ref()
            .is_some_and(|c| c.user_id == id || c.role == Role::Admin);
        let songs: Vec<_> = store
            .songs_of(id)?
            .iter()
            .filter(|s| sees_all || s.is_listed())
            .map(Song::view)
            .collect();
        if !sees_all && songs.is_empty() {
            return Err(Problem::not_found("no such artist"));
        }
        let followers = store.run(
            "SELECT COUNT(*) FROM follows WHERE artist_id = ?",
            &[text(id)],
        )?;
        let following = match &claims {
            Some(c) => !store
                .run(
                    "SELECT 1 FROM follows WHERE artist_id = ? AND follower_id = ?",
                    &[text(id), text(&c.user_id)],
                )?
                .rows
                .is_empty(),
            None => false,
        };
        let body = serde_json::json!({
            "id": id,
            "name": name,
            "followers": followers.rows.first().map_or(0, |r| get_int(&r.values, 0)),
            "following": following,
            "songs": songs,
        })
        .to_string();
        if claims.is_none() {
            cache.put(&key, &body, cache::ITEM_TTL_MS);
        }
        Ok(cache::json_with_etag(
            &req,
            &cache::etag(body.as_bytes()),
            body,
        ))
    })
}

/// `POST /api/artists/:id/follow`: 204, once however often it is sent.
pub fn follow(req: Request, params: Params) -> Response {
    set_follow(req, params, true)
}

/// `DELETE /api/artists/:id/follow`: 204.
pub fn unfollow(req: Request, params: Params) -> Response {
    set_follow(req, params, false)
}

fn set_follow(req: Request, params: Params, on: bool) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        let store = Store::open()?;
        let artist = params.get("id").unwrap_or_default().to_string();
        if store.artist_name(&artist)?.is_none() {
            return Err(Problem::not_found("no such artist"));
        }
        if on && artist == claims.user_id {
            return Err(Problem::invalid(vec![Problem::field(
                "id",
                "you cannot follow yourself",
            )]));
        }
        let correlation = correlation_id(&req);
        store.transaction(|| {
            let changed = if on {
                store.run(
                    "INSERT INTO follows (artist_id, follower_id, created_at) VALUES (?, ?, ?)
                     ON CONFLICT DO NOTHING RETURNING 1",
                    &[text(&artist), text(&claims.user_id), int(now_ms() as i64)],
                )?
            } else {
                store.run(
                    "DELETE FROM follows WHERE artist_id = ? AND follower_id = ? RETURNING 1",
                    &[text(&artist), text(&claims.user_id)],
                )?
            };
            if !changed.rows.is_empty() {
                events::record_follow(&store, &artist, &claims.user_id, on, &correlation)?;
            }
            Ok(())
        })?;
        crate::cache::invalidate();
        events::flush(&store);
        Ok(Response::builder().status(204).build())
    })
}

/// `GET /api/me/following`: the artists the caller follows, newest first.
pub fn following(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::signed_in(&req)?;
        let store = Store::open()?;
        let result = store.run(
            "SELECT f.artist_id, a.name, f.created_at FROM follows f JOIN artists a ON a.id = f.artist_id
             WHERE f.follower_id = ? ORDER BY f.created_at DESC",
            &[text(&claims.user_id)],
        )?;
        let items: Vec<_> = result
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": get_text(&r.values, 0),
                    "name": get_text(&r.values, 1),
                    "followedAt": rfc3339(get_int(&r.values, 2) as u64),
                })
            })
            .collect();
        Ok(json(200, &serde_json::json!({ "items": items })))
    })
}
