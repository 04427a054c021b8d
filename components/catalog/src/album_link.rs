//! A song's album, as the catalog's writes set it (`albumId` on an upload or a `PATCH`): put on
//! the album, or taken off it, by the owner of albums, the `playlists` component, over Spin
//! service chaining (`http://playlists.spin.internal/api/albums/...`) with the caller's own
//! `Authorization`, so playlists applies its rules (an album is its artist's own, of their own
//! songs, each once). The catalog's `songs.album_id` then follows from `album.changed`.
//!
//! Every refusal names the field `albumId`: 422 when playlists says no (no such album, not the
//! caller's, the song refused), 503 when it cannot answer (5xx, unreachable, a garbled answer).

use serde_json::Value;
use spindle_shared::Problem;
use spindle_shared::http::{Reply, percent_encode, send};
use std::time::Duration;

const ALBUMS: &str = "http://playlists.spin.internal/api/albums";
/// Playlists itself asks the catalog for the album's songs (up to 10 s) before it answers.
const TIMEOUT: Duration = Duration::from_secs(15);
/// An album of 10,000 entries with their songs fits.
const MAX_ANSWER_BYTES: usize = 16 << 20;
const FIELD: &str = "albumId";

/// An album as its owner sees it at playlists.
pub struct Album {
    pub owner_id: String,
    /// Its entries: `(entryId, songId)`, in order.
    pub entries: Vec<(String, String)>,
}

impl Album {
    /// Whether the album holds `song_id`.
    pub fn holds(&self, song_id: &str) -> bool {
        self.entries.iter().any(|(_, s)| s == song_id)
    }
}

/// 422 naming `albumId`.
fn refused(message: impl Into<String>) -> Problem {
    Problem::invalid(vec![Problem::field(FIELD, message)])
}

/// 503 naming `albumId`: playlists cannot answer.
fn unavailable(why: impl std::fmt::Display) -> Problem {
    eprintln!("playlists (albums): {why}");
    let mut problem = Problem::new(503, "albums cannot be changed right now; try again");
    problem.errors.push(Problem::field(
        FIELD,
        "the album cannot be reached right now; try again",
    ));
    problem
}

fn no_album(album_id: &str) -> Problem {
    refused(format!("no album {album_id} you may add to"))
}

/// What playlists said when it refused: its field messages, else its detail.
fn reason(reply: &Reply) -> String {
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    if !messages.is_empty() {
        messages.join("; ")
    } else {
        body["detail"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("status {}", reply.status))
    }
}

fn call(
    method: &str,
    url: &str,
    body: Option<&Value>,
    authorization: Option<&str>,
) -> Result<Reply, Problem> {
    let mut headers = Vec::new();
    if let Some(authorization) = authorization {
        headers.push(("authorization", authorization));
    }
    let bytes = match body {
        Some(body) => {
            headers.push(("content-type", "application/json"));
            serde_json::to_vec(body).unwrap_or_default()
        }
        None => Vec::new(),
    };
    send(method, url, &headers, &bytes, TIMEOUT, MAX_ANSWER_BYTES)
        .map_err(|e| unavailable(format!("{method} {url}: {e}")))
}

fn album_url(album_id: &str) -> String {
    format!("{ALBUMS}/{}", percent_encode(album_id))
}

/// `GET /api/albums/:id` as the caller: the album, or `None` when playlists has none the
/// caller may see (a 4xx).
fn fetch(album_id: &str, authorization: Option<&str>) -> Result<Option<Album>, Problem> {
    let reply = call("GET", &album_url(album_id), None, authorization)?;
    match reply.status {
        200 => {}
        400..=499 => return Ok(None),
        other => return Err(unavailable(format!("GET album {album_id}: status {other}"))),
    }
    let body: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| unavailable(format!("GET album {album_id}: {e}")))?;
    let owner_id = body["ownerId"]
        .as_str()
        .ok_or_else(|| unavailable(format!("GET album {album_id}: no ownerId")))?
        .to_string();
    let entries = body["tracks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["entryId"].as_str()?.into(), t["songId"].as_str()?.into())))
        .collect();
    Ok(Some(Album { owner_id, entries }))
}

/// The album `album_id` if it is one `owner_id` (the caller, whose `authorization` is sent)
/// may put their songs on: it exists, they see it, and it is theirs; else 422 naming
/// `albumId` (503 when playlists cannot answer).
pub fn owned(
    album_id: &str,
    owner_id: &str,
    authorization: Option<&str>,
) -> Result<Album, Problem> {
    match fetch(album_id, authorization)? {
        Some(album) if album.owner_id == owner_id => Ok(album),
        _ => Err(no_album(album_id)),
    }
}

/// `POST /api/albums/:id/songs {songId}` as the caller: the song goes on the album (at its
/// end). Answers the new entry's id; playlists refusing (a 4xx) is a 422 naming `albumId`.
pub fn add(album_id: &str, song_id: &str, authorization: Option<&str>) -> Result<String, Problem> {
    let url = format!("{}/songs", album_url(album_id));
    let body = serde_json::json!({ "songId": song_id });
    let reply = call("POST", &url, Some(&body), authorization)?;
    match reply.status {
        201 => {}
        400..=499 => {
            return Err(refused(format!(
                "the song cannot go on album {album_id}: {}",
                reason(&reply)
            )));
        }
        other => {
            return Err(unavailable(format!(
                "add to album {album_id}: status {other}"
            )));
        }
    }
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    Ok(body["entry"]["entryId"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// `DELETE /api/albums/:id/songs/:entryId` as the caller; an entry already gone is fine.
pub fn remove_entry(
    album_id: &str,
    entry_id: &str,
    authorization: Option<&str>,
) -> Result<(), Problem> {
    let url = format!("{}/songs/{}", album_url(album_id), percent_encode(entry_id));
    let reply = call("DELETE", &url, None, authorization)?;
    match reply.status {
        200..=299 | 404 => Ok(()),
        400..=499 => Err(refused(format!(
            "the song cannot leave album {album_id}: {}",
            reason(&reply)
        ))),
        other => Err(unavailable(format!(
            "remove from album {album_id}: status {other}"
        ))),
    }
}

/// Takes `song_id` off the album `album_id` as the caller (every entry of it); an album the
/// caller no longer sees (deleted, say) has nothing to take off.
pub fn remove_song(
    album_id: &str,
    song_id: &str,
    authorization: Option<&str>,
) -> Result<(), Problem> {
    let Some(album) = fetch(album_id, authorization)? else {
        return Ok(());
    };
    for (entry_id, _) in album.entries.iter().filter(|(_, s)| s == song_id) {
        remove_entry(album_id, entry_id, authorization)?;
    }
    Ok(())
}
