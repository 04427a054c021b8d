//! The tracks of a playlist or an album: add (at a position), remove, move, and replace the
//! whole order. Positions run 0..n-1 without gaps after every operation.
//!
//! A playlist may hold a song twice (each entry has its own id); an album holds each of its
//! artist's songs once, and only theirs. Songs are checked through the catalog as the caller
//! sees them: an unknown or invisible id is a 422 naming it.

use crate::access::{self, Need};
use crate::revision::{self, check_if_match, write};
use crate::store::{Collection, Entry, Kind, Store};
use serde_json::Value;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::body::Body;
use spindle_shared::http::MAX_JSON_BODY;
use spindle_shared::problem::FieldError;
use spindle_shared::services;
use spindle_shared::time::{now_ms, rfc3339};
use std::collections::HashSet;

/// The most entries a playlist or an album holds.
pub const MAX_ENTRIES: i64 = 10_000;
/// The most songs one request adds.
pub const MAX_ADD: usize = 100;
/// A full order of [`MAX_ENTRIES`] ids fits.
const MAX_ORDER_BODY: usize = 1 << 20;

fn entry_json(e: &Entry) -> Value {
    serde_json::json!({
        "entryId": e.id,
        "position": e.position,
        "songId": e.song_id,
        "addedBy": e.added_by,
        "addedAt": rfc3339(e.added_at),
    })
}

/// The collection of the route, its caller (allowed to change its tracks) and their id.
fn editable(
    req: &Request,
    params: &Params,
    store: &Store,
) -> Result<(Collection, String), Problem> {
    let claims = access::signed_in(req)?;
    let kind = Kind::of_path(req.path());
    let (c, access) = access::visible(
        store,
        params.get("id").unwrap_or_default(),
        kind,
        Some(&claims),
    )?;
    access::require(access, Need::Tracks)?;
    Ok((c, claims.user_id))
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::invalid(vec![Problem::field(field, message)])
}

/// `POST .../:id/songs {songId, position?}` or `{songIds: [...], position?}`.
pub fn add(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, user) = editable(&req, &params, &store)?;
        let (song_ids, single, position) = read_add(&req)?;
        check_if_match(&req, &c)?;

        // Every song must be one the caller may see (and, for an album, the artist's own).
        let authorization = req.header("authorization").and_then(|h| h.as_str());
        let refs: Vec<&str> = song_ids.iter().map(String::as_str).collect();
        let found = services::songs(&refs, authorization)?;
        let field = |i: usize| {
            if single {
                "songId".to_string()
            } else {
                format!("songIds[{i}]")
            }
        };
        let mut errors: Vec<FieldError> = Vec::new();
        for (i, id) in song_ids.iter().enumerate() {
            match found.get(id) {
                None => errors.push(Problem::field(
                    field(i),
                    format!("no song {id} that you may see"),
                )),
                Some(song) if c.kind == Kind::Album && song.artist_id != c.owner_id => errors.push(
                    Problem::field(field(i), format!("song {id} is not by this album's artist")),
                ),
                Some(_) => {}
            }
        }
        if !errors.is_empty() {
            return Err(Problem::invalid(errors));
        }
        if c.kind == Kind::Album {
            let mut seen = HashSet::new();
            if let Some(id) = song_ids.iter().find(|id| !seen.insert(id.as_str())) {
                return Err(Problem::conflict(format!("song {id} is named twice")));
            }
        }

        let (after, entries) = write(&store, &req, &c, |current| {
            let count = store.count_entries(&current.id)?;
            if count + song_ids.len() as i64 > MAX_ENTRIES {
                return Err(invalid(
                    if single { "songId" } else { "songIds" },
                    format!(
                        "a {} holds at most {MAX_ENTRIES} songs; it has {count}",
                        c.kind.as_str()
                    ),
                ));
            }
            let at = position.unwrap_or(count);
            if at > count {
                return Err(invalid("position", format!("must be from 0 to {count}")));
            }
            if current.kind == Kind::Album {
                for id in &song_ids {
                    if store.holds_song(&current.id, id)? {
                        return Err(Problem::conflict(format!(
                            "song {id} is already on this album"
                        )));
                    }
                }
            }
            let now = now_ms();
            let entries: Vec<Entry> = song_ids
                .iter()
                .enumerate()
                .map(|(i, song_id)| Entry {
                    id: spindle_shared::events::new_ulid(now),
                    song_id: song_id.clone(),
                    position: at + i as i64,
                    added_by: Some(user.clone()),
                    added_at: now,
                    song_deleted: false,
                })
                .collect();
            store.insert_entries(&current.id, at, &entries)?;
            Ok(entries)
        })?;
        let body = if single {
            serde_json::json!({ "entry": entry_json(&entries[0]), "revision": after.revision })
        } else {
            let entries: Vec<Value> = entries.iter().map(entry_json).collect();
            serde_json::json!({ "entries": entries, "revision": after.revision })
        };
        Ok(revision::json(201, &after, &body))
    })
}

/// The songs to add, whether one `songId` was sent, and the position.
fn read_add(req: &Request) -> Result<(Vec<String>, bool, Option<i64>), Problem> {
    let mut body = Body::read(req, MAX_JSON_BODY)?;
    let single: Option<String> = body.optional("songId", "a song id");
    let many: Option<Vec<String>> =
        body.optional("songIds", &format!("a list of 1 to {MAX_ADD} song ids"));
    let position: Option<u32> = body.optional("position", "a whole number from 0");
    let songs = match (single, many) {
        (Some(_), Some(_)) => {
            body.error("songIds", "send songId or songIds, not both");
            None
        }
        (Some(id), None) => Some((vec![id], true)),
        (None, Some(ids)) if !(1..=MAX_ADD).contains(&ids.len()) => {
            body.error(
                "songIds",
                format!("must be a list of 1 to {MAX_ADD} song ids"),
            );
            None
        }
        (None, Some(ids)) => Some((ids, false)),
        (None, None) if !body.has("songId") && !body.has("songIds") => {
            body.error("songId", "is required (or songIds)");
            None
        }
        (None, None) => None,
    };
    body.finish()?;
    let (songs, single) = songs.ok_or_else(|| invalid("songId", "is required"))?;
    let songs: Vec<String> = songs.into_iter().map(|s| s.trim().to_string()).collect();
    if let Some(i) = songs.iter().position(String::is_empty) {
        let field = if single {
            "songId".into()
        } else {
            format!("songIds[{i}]")
        };
        return Err(invalid(&field, "must be a song id"));
    }
    Ok((songs, single, position.map(i64::from)))
}

/// `DELETE .../:id/songs/:entryId`.
pub fn remove(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, _) = editable(&req, &params, &store)?;
        let entry_id = params.get("entryId").unwrap_or_default();
        let (after, ()) = write(&store, &req, &c, |current| {
            let entry = store
                .entry(&current.id, entry_id)?
                .ok_or_else(|| Problem::not_found(format!("no entry {entry_id} here")))?;
            store.remove_entry(&current.id, &entry)
        })?;
        Ok(revision::respond(204, &after).build())
    })
}

/// `POST .../:id/songs/move {entryId, toPosition}`.
pub fn move_entry(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, _) = editable(&req, &params, &store)?;
        let mut body = Body::read(&req, MAX_JSON_BODY)?;
        let entry_id: Option<String> = body.required("entryId", "an entry id");
        let to: Option<i64> = body.required("toPosition", "a whole number");
        body.finish()?;
        let (Some(entry_id), Some(to)) = (entry_id, to) else {
            return Err(invalid("entryId", "is required"));
        };
        let (after, entries) = write(&store, &req, &c, |current| {
            let entry = store
                .entry(&current.id, &entry_id)?
                .ok_or_else(|| invalid("entryId", format!("no entry {entry_id} here")))?;
            let count = store.count_entries(&current.id)?;
            if !(0..count).contains(&to) {
                // count > 0: the entry is here.
                return Err(invalid(
                    "toPosition",
                    format!("must be from 0 to {}", count - 1),
                ));
            }
            store.move_entry(&current.id, &entry, to)?;
            store.entries(&current.id)
        })?;
        order_answer(&after, &entries)
    })
}

/// `PUT .../:id/songs {entryIds}`: the whole new order, every current entry exactly once.
pub fn reorder(req: Request, params: Params) -> Response {
    crate::respond(|| {
        let store = Store::open()?;
        let (c, _) = editable(&req, &params, &store)?;
        let mut body = Body::read(&req, MAX_ORDER_BODY)?;
        let entry_ids: Option<Vec<String>> = body.required("entryIds", "a list of entry ids");
        body.finish()?;
        let entry_ids = entry_ids.unwrap_or_default();
        let (after, entries) = write(&store, &req, &c, |current| {
            let entries = store.entries(&current.id)?;
            let have: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
            let sent: HashSet<&str> = entry_ids.iter().map(String::as_str).collect();
            if sent.len() != entry_ids.len() {
                return Err(invalid("entryIds", "names an entry twice"));
            }
            if let Some(unknown) = sent.difference(&have).next() {
                return Err(invalid("entryIds", format!("no entry {unknown} here")));
            }
            if let Some(missing) = have.difference(&sent).next() {
                return Err(invalid(
                    "entryIds",
                    format!("must name every entry; {missing} is missing"),
                ));
            }
            store.reorder(&current.id, &entry_ids)?;
            store.entries(&current.id)
        })?;
        order_answer(&after, &entries)
    })
}

/// `{revision, entries: [{entryId, songId, position}]}` with the `ETag`.
fn order_answer(c: &Collection, entries: &[Entry]) -> Result<Response, Problem> {
    let entries: Vec<Value> = entries
        .iter()
        .map(
            |e| serde_json::json!({ "entryId": e.id, "songId": e.song_id, "position": e.position }),
        )
        .collect();
    Ok(revision::json(
        200,
        c,
        &serde_json::json!({ "revision": c.revision, "entries": entries }),
    ))
}
