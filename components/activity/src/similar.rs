//! `GET /api/songs/:id/similar?limit=`: songs listened to by the same people close in time
//! (co-listening), blended with metadata — same artist, same genre, shared tags — which weighs
//! more the less listening data the song has, so a new song still gets sensible neighbours.

use crate::ranked::{self, Candidate, co_similarity};
use crate::settings::{CANDIDATES, SIMILAR_TTL_MS};
use crate::store::{self, SongMeta};
use serde_json::json;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::{json, query_pairs};
use spindle_shared::sql::{Db, get_text, int, json_list, text};
use spindle_shared::time::now_ms;
use std::collections::HashMap;

/// Co-listened songs considered, and metadata candidates by artist and by genre.
const CO_CANDIDATES: i64 = 100;
const ARTIST_CANDIDATES: i64 = 30;
const GENRE_CANDIDATES: i64 = 50;
const TAG_CANDIDATES: i64 = 30;
/// Co-listening mass at which listening data and metadata weigh the same.
const CO_HALF_WEIGHT: f64 = 30.0;

pub fn route(req: Request, params: Params) -> Response {
    crate::respond(|| {
        crate::authenticate_optional(&req)?;
        let query = query_pairs(req.query())?;
        let limit = ranked::limit(&query, 10)?;
        let id = params.get("id").unwrap_or_default();
        let seed = crate::catalog::visible_song(id, &req)?
            .ok_or_else(|| Problem::not_found("no such song"))?;
        let db = store::open()?;
        let now = now_ms();
        // The catalog's answer also teaches this component a song it never heard of.
        store::remember_catalog_song(&db, &seed, now)?;
        let candidates = list(&db, id, now)?;
        let items = ranked::shown(&candidates, limit, &req)?;
        Ok(json(200, &json!({ "songId": id, "items": items })))
    })
}

/// The similar candidates of `song_id` (cached ten minutes).
pub fn list(db: &Db, song_id: &str, now: u64) -> Result<Vec<Candidate>, Problem> {
    let key = format!("similar:{song_id}");
    ranked::cached_or(db, &key, now, SIMILAR_TTL_MS, || compute(db, song_id))
}

fn jaccard(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.iter().filter(|t| b.contains(t)).count() as f64;
    shared / ((a.len() + b.len()) as f64 - shared)
}

fn compute(db: &Db, song_id: &str) -> Result<Vec<Candidate>, Problem> {
    let Some(seed) = store::songs_meta(db, &[song_id.to_string()])?
        .into_iter()
        .next()
    else {
        return Ok(Vec::new());
    };
    let co: HashMap<String, i64> = ranked::neighbours(db, song_id, CO_CANDIDATES)?
        .into_iter()
        .collect();
    let mut ids: Vec<String> = co.keys().cloned().collect();
    ids.extend(db.rows(
        "SELECT id FROM songs WHERE artist_id = ? AND id <> ? AND deleted = 0
         ORDER BY published_at DESC LIMIT ?",
        &[text(&seed.artist_id), text(song_id), int(ARTIST_CANDIDATES)],
        |row| get_text(row, 0),
    )?);
    if let Some(genre) = &seed.genre {
        ids.extend(db.rows(
            "SELECT g.id FROM songs g LEFT JOIN song_stats s ON s.song_id = g.id
             WHERE g.genre = ? AND g.id <> ? AND g.deleted = 0
             ORDER BY COALESCE(s.plays, 0) DESC LIMIT ?",
            &[text(genre), text(song_id), int(GENRE_CANDIDATES)],
            |row| get_text(row, 0),
        )?);
    }
    if !seed.tags.is_empty() {
        ids.extend(db.rows(
            "SELECT DISTINCT t.song_id FROM song_tags t
             LEFT JOIN song_stats s ON s.song_id = t.song_id
             WHERE t.tag IN (SELECT value FROM json_each(?)) AND t.song_id <> ?
             ORDER BY COALESCE(s.plays, 0) DESC, t.song_id LIMIT ?",
            &[json_list(&seed.tags), text(song_id), int(TAG_CANDIDATES)],
            |row| get_text(row, 0),
        )?);
    }
    ids.sort();
    ids.dedup();
    let metas = store::songs_meta(db, &ids)?;
    Ok(rank(&seed, &metas, &co))
}

/// Scores every candidate against the seed and keeps the best.
fn rank(seed: &SongMeta, metas: &[SongMeta], co: &HashMap<String, i64>) -> Vec<Candidate> {
    let support: i64 = co.values().sum();
    let alpha = support as f64 / (support as f64 + CO_HALF_WEIGHT);
    let max_plays = metas.iter().map(|m| m.plays).max().unwrap_or(0).max(1) as f64;
    let co_scores: HashMap<&str, f64> = metas
        .iter()
        .filter_map(|m| {
            let n = *co.get(&m.id)?;
            Some((m.id.as_str(), co_similarity(n, seed.plays, m.plays)))
        })
        .collect();
    let best_co = co_scores.values().cloned().fold(0.0, f64::max).max(1e-9);
    let mut list: Vec<Candidate> = metas
        .iter()
        .filter(|m| m.id != seed.id)
        .map(|m| {
            let same_artist = m.artist_id == seed.artist_id;
            let same_genre = seed.genre.is_some() && m.genre == seed.genre;
            let tags = jaccard(&seed.tags, &m.tags);
            let meta = 0.5 * f64::from(u8::from(same_artist))
                + 0.3 * f64::from(u8::from(same_genre))
                + 0.2 * tags;
            let listened = co_scores.get(m.id.as_str()).copied().unwrap_or(0.0) / best_co;
            let popularity = (1.0 + m.plays as f64).ln() / (1.0 + max_plays).ln();
            let mut reasons = Vec::new();
            if listened > 0.0 {
                reasons.push("listened_together");
            }
            if same_artist {
                reasons.push("same_artist");
            }
            if same_genre {
                reasons.push("same_genre");
            }
            if tags > 0.0 {
                reasons.push("shared_tags");
            }
            Candidate {
                id: m.id.clone(),
                score: alpha * listened + (1.0 - alpha) * meta + 0.05 * popularity,
                reason: json!(reasons),
            }
        })
        .collect();
    ranked::sort(&mut list);
    list.truncate(CANDIDATES);
    list
}
