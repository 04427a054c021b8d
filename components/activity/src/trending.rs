//! `GET /api/songs/trending?genre=&limit=`: songs by time-decayed popularity (plays and
//! completions up, skips down, halving every two days) among those with an event in the last
//! seven days.

use crate::ranked::{self, Candidate};
use crate::settings::{CANDIDATES, DEFAULT_LIMIT, TRENDING_TTL_MS};
use crate::signals::{self, TREND_WINDOW_MS};
use crate::store;
use serde_json::json;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::{json, query_pairs};
use spindle_shared::sql::{Db, get_real, get_text, int, text};
use spindle_shared::time::now_ms;

pub fn route(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        crate::authenticate_optional(&req)?;
        let query = query_pairs(req.query())?;
        let limit = ranked::limit(&query, DEFAULT_LIMIT)?;
        let genre = query
            .iter()
            .find(|(k, _)| k == "genre")
            .map(|(_, v)| store::genre_key(v))
            .filter(|g| !g.is_empty());
        let db = store::open()?;
        let candidates = list(&db, genre.as_deref(), now_ms())?;
        let items = ranked::shown(&candidates, limit, &req)?;
        Ok(json(200, &json!({ "genre": genre, "items": items })))
    })
}

/// The trending candidates (cached five minutes per genre).
pub fn list(db: &Db, genre: Option<&str>, now: u64) -> Result<Vec<Candidate>, Problem> {
    let key = format!("trending:{}", genre.unwrap_or(""));
    ranked::cached_or(db, &key, now, TRENDING_TTL_MS, || compute(db, genre, now))
}

fn compute(db: &Db, genre: Option<&str>, now: u64) -> Result<Vec<Candidate>, Problem> {
    let since = int(now.saturating_sub(TREND_WINDOW_MS) as i64);
    let rows = match genre {
        Some(g) => db.rows(
            "SELECT s.song_id, s.trend FROM song_stats s JOIN songs g ON g.id = s.song_id
             WHERE s.trend_at > ? AND s.trend > 0 AND g.deleted = 0 AND g.genre = ?
             ORDER BY s.trend DESC LIMIT ?",
            &[since, text(g), int(CANDIDATES as i64)],
            |row| (get_text(row, 0), get_real(row, 1)),
        )?,
        None => db.rows(
            "SELECT s.song_id, s.trend FROM song_stats s JOIN songs g ON g.id = s.song_id
             WHERE s.trend_at > ? AND s.trend > 0 AND g.deleted = 0
             ORDER BY s.trend DESC LIMIT ?",
            &[since, int(CANDIDATES as i64)],
            |row| (get_text(row, 0), get_real(row, 1)),
        )?,
    };
    let factor = signals::trend_factor(db, now)?;
    Ok(rows
        .into_iter()
        .map(|(id, trend)| Candidate {
            id,
            score: trend * factor,
            reason: json!({ "kind": "trending" }),
        })
        .collect())
}
