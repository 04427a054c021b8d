//! `GET /api/songs/recommendations/for-you?limit=`: from the user's recent listens through
//! co-listening similarity. Leaves out what they skip more than they play and what they have
//! played to death lately; at most three songs per artist; new releases of artists they follow
//! come up. Someone who has not listened yet gets trending songs of the genres they chose (or
//! of everything). Cached ten minutes, and dropped when the user's listens change.

use crate::ranked::{self, Candidate, co_similarity};
use crate::settings::{CANDIDATES, DEFAULT_LIMIT, FOR_YOU_TTL_MS};
use crate::store::{self, SongMeta};
use crate::trending;
use serde_json::json;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::http::{json, query_pairs};
use spindle_shared::sql::{Db, get_int, get_text, int, json_list, text};
use spindle_shared::time::now_ms;
use std::collections::{HashMap, HashSet};

/// Recent listens the list is made from, and how fast their weight fades with age.
const HISTORY: i64 = 50;
const RECENCY: f64 = 0.97;
/// History songs followed, and neighbours taken from each.
const SEEDS: usize = 30;
const NEIGHBOURS: i64 = 30;
/// "Played to death": this many plays in the last 30 days.
const PLAYED_OUT: i64 = 5;
const PLAYED_OUT_WINDOW_MS: u64 = 30 * 24 * 60 * 60 * 1000;
const PER_ARTIST: usize = 3;
/// New releases of followed artists: this recent, at most this many, at these places.
const NEW_RELEASE_MS: u64 = 14 * 24 * 60 * 60 * 1000;
const NEW_RELEASE_SLOTS: [usize; 2] = [1, 4];

pub fn cache_key(user_id: &str) -> String {
    format!("foryou:{user_id}")
}

pub fn route(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let query = query_pairs(req.query())?;
        let limit = ranked::limit(&query, DEFAULT_LIMIT)?;
        let db = store::open()?;
        let now = now_ms();
        let (basis, candidates): (String, Vec<Candidate>) = ranked::cached_or(
            &db,
            &cache_key(&claims.user_id),
            now,
            FOR_YOU_TTL_MS,
            || {
                let (basis, list) = compute(&db, &claims.user_id, &req, now)?;
                Ok((basis.to_string(), list))
            },
        )?;
        let items = ranked::shown(&candidates, limit, &req)?;
        Ok(json(200, &json!({ "basis": basis, "items": items })))
    })
}

fn compute(
    db: &Db,
    user_id: &str,
    req: &Request,
    now: u64,
) -> Result<(&'static str, Vec<Candidate>), Problem> {
    let history = db.rows(
        "SELECT song_id, played, completed, skipped FROM listens WHERE user_id = ?
         ORDER BY started_at DESC, id DESC LIMIT ?",
        &[text(user_id), int(HISTORY)],
        |row| {
            (
                get_text(row, 0),
                get_int(row, 1) != 0,
                get_int(row, 2) != 0,
                get_int(row, 3) != 0,
            )
        },
    )?;
    let (basis, mut list) = if history.iter().any(|h| h.1) {
        ("history", from_history(db, user_id, &history, now)?)
    } else {
        cold_start(db, user_id, now)?
    };
    add_new_releases(db, user_id, req, now, &mut list)?;
    Ok((basis, list))
}

fn from_history(
    db: &Db,
    user_id: &str,
    history: &[(String, bool, bool, bool)],
    now: u64,
) -> Result<Vec<Candidate>, Problem> {
    let mut weights: HashMap<&str, f64> = HashMap::new();
    for (age, (song, played, completed, skipped)) in history.iter().enumerate() {
        let sign = if *skipped {
            -1.0
        } else if *played {
            1.0
        } else {
            0.0
        };
        let strength = if *completed { 1.5 } else { 1.0 };
        *weights.entry(song.as_str()).or_default() += RECENCY.powi(age as i32) * strength * sign;
    }
    let mut seeds: Vec<(&str, f64)> = weights.into_iter().filter(|(_, w)| *w != 0.0).collect();
    seeds.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(b.0)));
    seeds.truncate(SEEDS);

    let mut found: Vec<(String, String, i64, f64)> = Vec::new(); // (seed, candidate, pairs, weight)
    for (seed, weight) in &seeds {
        let take = if *weight > 0.0 {
            NEIGHBOURS
        } else {
            NEIGHBOURS / 3
        };
        for (other, n) in ranked::neighbours(db, seed, take)? {
            found.push((seed.to_string(), other, n, *weight));
        }
    }
    let mut ids: Vec<String> = found.iter().map(|f| f.1.clone()).collect();
    ids.extend(seeds.iter().map(|s| s.0.to_string()));
    ids.sort();
    ids.dedup();
    let metas: HashMap<String, SongMeta> = store::songs_meta(db, &ids)?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let plays = |id: &str| metas.get(id).map_or(0, |m| m.plays);

    let mut scores: HashMap<String, (f64, String, f64)> = HashMap::new(); // score, best seed, its part
    for (seed, other, n, weight) in &found {
        let part = weight * co_similarity(*n, plays(seed), plays(other));
        let entry = scores
            .entry(other.clone())
            .or_insert((0.0, seed.clone(), f64::MIN));
        entry.0 += part;
        if part > entry.2 {
            entry.1 = seed.clone();
            entry.2 = part;
        }
    }
    let excluded = excluded(db, user_id, now)?;
    let mut list: Vec<Candidate> = scores
        .into_iter()
        .filter(|(id, (score, _, _))| {
            *score > 0.0 && !excluded.contains(id) && metas.contains_key(id)
        })
        .map(|(id, (score, because, _))| Candidate {
            id,
            score,
            reason: json!({ "kind": "similar", "becauseOf": because }),
        })
        .collect();
    ranked::sort(&mut list);

    // Thin history: trending songs of the genres the user listens to fill the list.
    if list.len() < CANDIDATES {
        let mut genres: HashMap<&str, usize> = HashMap::new();
        for (seed, w) in &seeds {
            if *w > 0.0
                && let Some(g) = metas.get(*seed).and_then(|m| m.genre.as_deref())
            {
                *genres.entry(g).or_default() += 1;
            }
        }
        let mut top: Vec<(&str, usize)> = genres.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let mut fill = Vec::new();
        for (genre, _) in top.iter().take(3) {
            fill.extend(trending::list(db, Some(genre), now)?);
        }
        fill.extend(trending::list(db, None, now)?);
        let have: HashSet<String> = list.iter().map(|c| c.id.clone()).collect();
        let floor = list.last().map_or(1.0, |c| c.score);
        let mut seen = have;
        for (i, c) in fill.into_iter().enumerate() {
            if list.len() >= CANDIDATES * 2 {
                break;
            }
            if excluded.contains(&c.id) || !seen.insert(c.id.clone()) {
                continue;
            }
            list.push(Candidate {
                id: c.id,
                score: floor * 0.5 / (i + 2) as f64,
                reason: c.reason,
            });
        }
    }
    diversify(db, list)
}

/// Songs the user skips more than plays, and those played to death lately.
fn excluded(db: &Db, user_id: &str, now: u64) -> Result<HashSet<String>, Problem> {
    Ok(db
        .rows(
            "SELECT song_id FROM user_songs WHERE user_id = ?
               AND (skips > plays OR (plays >= ? AND last_at > ?))",
            &[
                text(user_id),
                int(PLAYED_OUT),
                int(now.saturating_sub(PLAYED_OUT_WINDOW_MS) as i64),
            ],
            |row| get_text(row, 0),
        )?
        .into_iter()
        .collect())
}

/// At most [`PER_ARTIST`] songs of one artist, best first.
fn diversify(db: &Db, list: Vec<Candidate>) -> Result<Vec<Candidate>, Problem> {
    let ids: Vec<String> = list.iter().map(|c| c.id.clone()).collect();
    let artists: HashMap<String, String> = store::songs_meta(db, &ids)?
        .into_iter()
        .map(|m| (m.id, m.artist_id))
        .collect();
    let mut per_artist: HashMap<String, usize> = HashMap::new();
    Ok(list
        .into_iter()
        .filter(|c| {
            let artist = artists.get(&c.id).cloned().unwrap_or_default();
            let n = per_artist.entry(artist).or_default();
            *n += 1;
            *n <= PER_ARTIST
        })
        .take(CANDIDATES)
        .collect())
}

/// No listens yet: trending songs of the genres the user chose, else of everything.
fn cold_start(db: &Db, user_id: &str, now: u64) -> Result<(&'static str, Vec<Candidate>), Problem> {
    let genres = crate::profile::taste(db, user_id)?;
    // Someone whose only listens were skips: those songs stay out here too.
    let excluded = excluded(db, user_id, now)?;
    let mut list: Vec<Candidate> = Vec::new();
    for genre in &genres {
        list.extend(trending::list(db, Some(genre), now)?);
    }
    list.retain(|c| !excluded.contains(&c.id));
    if list.is_empty() {
        let mut all = trending::list(db, None, now)?;
        all.retain(|c| !excluded.contains(&c.id));
        return Ok(("trending", diversify(db, all)?));
    }
    ranked::sort(&mut list);
    let mut seen = HashSet::new();
    list.retain(|c| seen.insert(c.id.clone()));
    Ok(("taste", diversify(db, list)?))
}

/// Puts up to two recent songs of followed artists the user has not heard near the top.
fn add_new_releases(
    db: &Db,
    user_id: &str,
    req: &Request,
    now: u64,
    list: &mut Vec<Candidate>,
) -> Result<(), Problem> {
    let followed = crate::catalog::followed_artists(req);
    if followed.is_empty() {
        return Ok(());
    }
    let releases = db.rows(
        "SELECT id, artist_id FROM songs
         WHERE artist_id IN (SELECT value FROM json_each(?)) AND published_at > ? AND deleted = 0
           AND id NOT IN (SELECT song_id FROM user_songs WHERE user_id = ?)
         ORDER BY published_at DESC, id LIMIT ?",
        &[
            json_list(&followed),
            int(now.saturating_sub(NEW_RELEASE_MS) as i64),
            text(user_id),
            int(NEW_RELEASE_SLOTS.len() as i64),
        ],
        |row| (get_text(row, 0), get_text(row, 1)),
    )?;
    for ((id, artist), slot) in releases.into_iter().zip(NEW_RELEASE_SLOTS) {
        list.retain(|c| c.id != id);
        let score = list.get(slot).map_or(0.0, |c| c.score);
        let at = slot.min(list.len());
        list.insert(
            at,
            Candidate {
                id,
                score,
                reason: json!({ "kind": "new_release", "artistId": artist }),
            },
        );
    }
    Ok(())
}
