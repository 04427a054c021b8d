//! Sharing a playlist: collaborators (editors change its tracks), read-only share links that
//! work without an account, and sharing with a user (who then sees it, and hears of it through
//! `playlist.shared`).

use crate::access::{self, Access, Need};
use crate::collections;
use crate::events;
use crate::store::{Collection, Kind, Link, Store};
use serde_json::Value;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::body::Body;
use spindle_shared::http::{MAX_JSON_BODY, json};
use spindle_shared::services;
use spindle_shared::time::{now_ms, rfc3339};

fn playlist(
    req: &Request,
    params: &Params,
    store: &Store,
) -> Result<(Collection, Access, String), Problem> {
    let claims = access::signed_in(req)?;
    let (c, access) = access::visible(
        store,
        params.get("id").unwrap_or_default(),
        Kind::Playlist,
        Some(&claims),
    )?;
    Ok((c, access, claims.user_id))
}

/// The `userId` of a body (its only field), of a user auth knows who is not the owner.
fn other_user(mut body: Body, c: &Collection) -> Result<(String, String), Problem> {
    let user_id: Option<String> = body.required("userId", "a user id");
    body.finish()?;
    let invalid = |m: &str| Problem::invalid(vec![Problem::field("userId", m)]);
    let user_id = user_id.unwrap_or_default().trim().to_string();
    if user_id.is_empty() {
        return Err(invalid("must be a user id"));
    }
    if user_id == c.owner_id {
        return Err(invalid("is the owner"));
    }
    let name = services::user_name(&user_id)?.ok_or_else(|| invalid("no such user"))?;
    Ok((user_id, name))
}

fn member_json(user_id: &str, role: &str, added_at: u64) -> Value {
    serde_json::json!({ "userId": user_id, "role": role, "addedAt": rfc3339(added_at) })
}

/// `POST /api/playlists/:id/collaborators {userId}` (the owner): the user becomes an editor.
pub fn add_collaborator(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, access, _) = playlist(&req, &params, &store)?;
        access::require(access, Need::Settings)?;
        let (user_id, _) = other_user(Body::read(&req, MAX_JSON_BODY)?, &c)?;
        let member = store.transaction(|| {
            if store.member_role(&c.id, &user_id)?.as_deref() == Some("editor") {
                return Err(Problem::conflict(format!("{user_id} is already an editor")));
            }
            store.set_member(&c.id, &user_id, "editor")?;
            store
                .members(&c.id)?
                .into_iter()
                .find(|m| m.user_id == user_id)
                .ok_or_else(|| Problem::internal("the new editor is gone"))
        })?;
        Ok(json(
            201,
            &member_json(&member.user_id, &member.role, member.added_at),
        ))
    })
}

/// `GET /api/playlists/:id/collaborators` (the owner and editors): editors and the users it
/// was shared with.
pub fn collaborators(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, access, _) = playlist(&req, &params, &store)?;
        access::require(access, Need::Tracks)?;
        let items: Vec<Value> = store
            .members(&c.id)?
            .iter()
            .map(|m| member_json(&m.user_id, &m.role, m.added_at))
            .collect();
        Ok(json(200, &serde_json::json!({ "items": items })))
    })
}

/// `DELETE /api/playlists/:id/collaborators/:userId`: the owner removes an editor or a user
/// it was shared with; either may leave.
pub fn remove_collaborator(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, access, caller) = playlist(&req, &params, &store)?;
        let user_id = params.get("userId").unwrap_or_default();
        let leaving = matches!(access, Access::Editor | Access::Viewer) && caller == user_id;
        if !(access == Access::Owner || leaving) {
            return Err(Problem::forbidden(
                "only the owner removes members (a member may leave)",
            ));
        }
        if !store.remove_member(&c.id, user_id)? {
            return Err(Problem::not_found(format!("{user_id} is no member here")));
        }
        Ok(Response::builder().status(204).build())
    })
}

fn link_json(link: &Link) -> Value {
    serde_json::json!({
        "id": link.id,
        "token": link.token,
        "url": format!("/api/playlists/shared/{}", link.token),
        "createdAt": rfc3339(link.created_at),
    })
}

/// 32 random bytes, base64url: unguessable.
fn new_token() -> Result<String, Problem> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// `POST /api/playlists/:id/share {userId?}` (the owner): a new read-only link; with `userId`,
/// that user may see the playlist too and is told (`playlist.shared`).
pub fn share(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, access, _) = playlist(&req, &params, &store)?;
        access::require(access, Need::Settings)?;
        // No body, `{}`, or `{userId}`.
        let body = if req.body().is_empty() {
            Body::of(Default::default())
        } else {
            Body::read(&req, MAX_JSON_BODY)?
        };
        let with = if body.has("userId") {
            Some(other_user(body, &c)?)
        } else {
            body.finish()?;
            None
        };
        let now = now_ms();
        let link = Link {
            id: spindle_shared::events::new_ulid(now),
            token: new_token()?,
            created_at: now,
        };
        store.transaction(|| {
            store.add_link(&c.id, &link)?;
            if let Some((user_id, _)) = &with {
                store.set_member(&c.id, user_id, "viewer")?;
                events::record_shared(&store, &c, user_id, &events::correlation(&req))?;
            }
            Ok(())
        })?;
        events::flush(&store);
        let mut answer = link_json(&link);
        if let Some((user_id, _)) = with {
            answer["sharedWith"] = Value::String(user_id);
        }
        Ok(json(201, &answer))
    })
}

/// `GET /api/playlists/:id/share` (the owner): the links that still work.
pub fn links(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, access, _) = playlist(&req, &params, &store)?;
        access::require(access, Need::Settings)?;
        let items: Vec<Value> = store.links(&c.id)?.iter().map(link_json).collect();
        Ok(json(200, &serde_json::json!({ "items": items })))
    })
}

/// `DELETE /api/playlists/:id/share/:linkId` (the owner): the link stops working.
pub fn revoke(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, access, _) = playlist(&req, &params, &store)?;
        access::require(access, Need::Settings)?;
        let link_id = params.get("linkId").unwrap_or_default();
        if !store.revoke_link(&c.id, link_id)? {
            return Err(Problem::not_found(format!("no live link {link_id}")));
        }
        Ok(Response::builder().status(204).build())
    })
}

/// `GET /api/playlists/shared/:token`: the playlist, read-only, for anyone holding the link
/// (while it is not revoked and no admin hid the playlist). Songs show as they show to
/// anonymous listeners.
pub fn shared(_req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let token = params.get("token").unwrap_or_default();
        let c = store
            .collection_by_token(token)?
            .filter(|c| c.is_visible)
            .ok_or_else(|| Problem::not_found("no such share link"))?;
        let (view, c) = collections::full(&store, &c, Access::Link, None)?;
        Ok(crate::revision::json(200, &c, &view))
    })
}
