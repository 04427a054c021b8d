//! Play counts per song and per artist (only of songs the caller may see).

use crate::store;
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::json;
use spindle_shared::sql::{Db, get_int, get_text, json_list, text};
use std::collections::HashMap;

/// The counts of each of `ids`, in their order, read in one query (zeros for a song nobody
/// has listened to yet).
fn counts(db: &Db, ids: &[String]) -> Result<Vec<Value>, Problem> {
    let found: HashMap<String, (i64, i64, i64, i64)> = db
        .rows(
            "SELECT song_id, plays, completions, skips, listeners FROM song_stats
             WHERE song_id IN (SELECT value FROM json_each(?))",
            &[json_list(ids)],
            |row| {
                let counts = (
                    get_int(row, 1),
                    get_int(row, 2),
                    get_int(row, 3),
                    get_int(row, 4),
                );
                (get_text(row, 0), counts)
            },
        )?
        .into_iter()
        .collect();
    Ok(ids
        .iter()
        .map(|id| {
            let (plays, completions, skips, listeners) = found.get(id).copied().unwrap_or_default();
            json!({
                "songId": id,
                "plays": plays,
                "completions": completions,
                "skips": skips,
                "listeners": listeners,
            })
        })
        .collect())
}

/// `GET /api/songs/:id/stats`
pub fn song(req: Request, params: Params) -> Response {
    crate::respond(|| {
        crate::authenticate_optional(&req)?;
        let id = params.get("id").unwrap_or_default();
        if crate::catalog::visible_song(id, &req)?.is_none() {
            return Err(Problem::not_found("no such song"));
        }
        let db = store::open()?;
        // One id in, one count out.
        Ok(json(200, &counts(&db, &[id.to_string()])?[0]))
    })
}

/// `GET /api/artists/:id/stats`: counts of each of the artist's songs the caller may see
/// (the artist sees their private ones too), and their sums.
pub fn artist(req: Request, params: Params) -> Response {
    crate::respond(|| {
        crate::authenticate_optional(&req)?;
        let artist_id = params.get("id").unwrap_or_default();
        let db = store::open()?;
        let ids = db.rows(
            "SELECT id FROM songs WHERE artist_id = ? AND deleted = 0 ORDER BY published_at DESC",
            &[text(artist_id)],
            |row| get_text(row, 0),
        )?;
        // One call: the catalog client batches the ids and asks in parallel.
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let seen = crate::catalog::visible(&refs, &req)?;
        let visible: Vec<String> = ids
            .iter()
            .filter(|id| seen.contains_key(*id))
            .cloned()
            .collect();
        let songs = counts(&db, &visible)?;
        let sum = |field: &str| {
            songs
                .iter()
                .map(|s| s[field].as_i64().unwrap_or(0))
                .sum::<i64>()
        };
        let listeners = db.rows(
            "SELECT COUNT(DISTINCT user_id) FROM listens
             WHERE played = 1 AND song_id IN (SELECT value FROM json_each(?))",
            &[json_list(&visible)],
            |row| get_int(row, 0),
        )?;
        Ok(json(
            200,
            &json!({
                "artistId": artist_id,
                "plays": sum("plays"),
                "completions": sum("completions"),
                "skips": sum("skips"),
                "listeners": listeners.first().copied().unwrap_or(0),
                "songs": songs,
            }),
        ))
    })
}
