//! Play counts per song and per artist (only of songs the caller may see).

use crate::store;
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::json;
use spindle_shared::sql::{Db, get_int, get_text, text};

fn counts(db: &Db, song_id: &str) -> Result<Value, Problem> {
    let row = db.rows(
        "SELECT plays, completions, skips, listeners FROM song_stats WHERE song_id = ?",
        &[text(song_id)],
        |row| {
            (
                get_int(row, 0),
                get_int(row, 1),
                get_int(row, 2),
                get_int(row, 3),
            )
        },
    )?;
    let (plays, completions, skips, listeners) = row.first().copied().unwrap_or_default();
    Ok(json!({
        "songId": song_id,
        "plays": plays,
        "completions": completions,
        "skips": skips,
        "listeners": listeners,
    }))
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
        Ok(json(200, &counts(&db, id)?))
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
        let mut visible = Vec::new();
        for chunk in ids.chunks(100) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let seen = crate::catalog::visible(&refs, &req)?;
            visible.extend(chunk.iter().filter(|id| seen.contains_key(*id)).cloned());
        }
        let songs: Vec<Value> = visible
            .iter()
            .map(|id| counts(&db, id))
            .collect::<Result<_, _>>()?;
        let sum = |field: &str| {
            songs
                .iter()
                .map(|s| s[field].as_i64().unwrap_or(0))
                .sum::<i64>()
        };
        let listeners = db.rows(
            "SELECT COUNT(DISTINCT user_id) FROM listens
             WHERE played = 1 AND song_id IN (SELECT value FROM json_each(?))",
            &[text(
                serde_json::to_string(&visible).unwrap_or_else(|_| "[]".into()),
            )],
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
