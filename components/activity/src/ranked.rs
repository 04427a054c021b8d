//! Ranked lists of songs: candidates with a score and why, cached for a while, shown to each
//! caller with only the songs they may see (the catalog decides, per request).

use crate::catalog;
use crate::settings::MAX_LIMIT;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::sql::{Db, get_int, get_text, int, text};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub score: f64,
    pub reason: Value,
}

/// `limit` from the query: 1..=50, `default` without one.
pub fn limit(query: &[(String, String)], default: usize) -> Result<usize, Problem> {
    match query.iter().find(|(k, _)| k == "limit") {
        None => Ok(default.min(MAX_LIMIT)),
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(Problem::invalid(vec![Problem::field(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )])),
        },
    }
}

/// Best score first, equal scores by id, so a list ranks the same every time it is computed.
pub fn sort(list: &mut [Candidate]) {
    list.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
}

/// The cached list under `key`, or a fresh one from `compute`, cached until `ttl_ms` from now.
pub fn cached_or<T: Serialize + DeserializeOwned>(
    db: &Db,
    key: &str,
    now: u64,
    ttl_ms: u64,
    compute: impl FnOnce() -> Result<T, Problem>,
) -> Result<T, Problem> {
    if let Some(hit) = crate::store::cached(db, key, now)?
        && let Ok(hit) = serde_json::from_value(hit)
    {
        return Ok(hit);
    }
    let fresh = compute()?;
    // A list not cached is computed again next time: no reason to fail this answer.
    let stored = serde_json::to_value(&fresh)
        .map_err(|e| e.to_string())
        .and_then(|value| {
            crate::store::cache(db, key, &value, now + ttl_ms).map_err(|p| p.to_string())
        });
    if let Err(e) = stored {
        eprintln!("activity cache {key}: {e}");
    }
    Ok(fresh)
}

/// The first `limit` candidates the caller may see, each with the catalog's song.
pub fn shown(candidates: &[Candidate], limit: usize, req: &Request) -> Result<Vec<Value>, Problem> {
    let ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
    let songs = catalog::visible(&ids, req)?;
    Ok(candidates
        .iter()
        .filter_map(|c| {
            let song = songs.get(&c.id)?;
            let song: Value = serde_json::from_str(song.json.get()).ok()?;
            Some(json!({
                "song": song,
                "score": (c.score * 10_000.0).round() / 10_000.0,
                "reason": c.reason,
            }))
        })
        .take(limit)
        .collect())
}

/// Pairs read per song before ranking by similarity: its most frequent ones (a popular song has
/// thousands, most of them one-offs).
const PAIRS_READ: i64 = 300;

/// The songs most similar to `song_id` by co-listening ([`co_similarity`], ranked in SQL by
/// its square, which orders the same without a square root), among its most frequent pairs,
/// with their pair counts. Ranking by the raw count alone would favour whatever everybody plays.
pub fn neighbours(db: &Db, song_id: &str, limit: i64) -> Result<Vec<(String, i64)>, Problem> {
    db.rows(
        "SELECT p.other, p.n FROM (
           SELECT other, n FROM (
             SELECT b AS other, n FROM pairs WHERE a = ?1
             UNION ALL SELECT a AS other, n FROM pairs WHERE b = ?1)
           ORDER BY n DESC LIMIT ?3) p
         LEFT JOIN song_stats s ON s.song_id = p.other
         ORDER BY (p.n * p.n * p.n * p.n * 1.0)
                  / ((p.n + 3) * (p.n + 3) * MAX(COALESCE(s.plays, 0), 1)) DESC, p.other
         LIMIT ?2",
        &[text(song_id), int(limit), int(PAIRS_READ)],
        |row| (get_text(row, 0), get_int(row, 1)),
    )
}

/// Co-listening similarity: pairs over the geometric mean of the two songs' plays, shrunk when
/// the pair count is small.
pub fn co_similarity(pairs: i64, plays_a: i64, plays_b: i64) -> f64 {
    let n = pairs as f64;
    let cosine = n / ((plays_a.max(1) as f64) * (plays_b.max(1) as f64)).sqrt();
    cosine.min(1.0) * n / (n + 3.0)
}
