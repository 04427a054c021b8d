//! A listener's own view: their history, their counts, and the genres they chose.

use crate::listen::{self, Listen};
use crate::settings::{MAX_HISTORY_PAGE, MAX_TASTE_GENRES};
use crate::store;
use serde_json::{Value, json};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::body::Body;
use spindle_shared::http::{MAX_JSON_BODY, json, query_pairs};
use spindle_shared::sql::{Db, get_int, get_text, int, json_list, text};

/// `GET /api/me/history?limit=&cursor=`: listens, newest first, each with the song as the
/// catalog shows it to the caller (`null` when they may no longer see it).
pub fn history(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let (limit, after) = page(&query_pairs(req.query())?)?;
        let db = store::open()?;
        let (at, id) = after.unwrap_or((i64::MAX, i64::MAX));
        let rows = db.rows(
            &format!(
                "SELECT {} FROM listens WHERE user_id = ? AND (started_at, id) < (?, ?)
                 ORDER BY started_at DESC, id DESC LIMIT ?",
                listen::COLUMNS
            ),
            &[
                text(&claims.user_id),
                int(at),
                int(id),
                int(limit as i64 + 1),
            ],
            Listen::from_row,
        )?;
        let more = rows.len() > limit;
        let page = &rows[..rows.len().min(limit)];
        let ids: Vec<&str> = page.iter().map(|l| l.song_id.as_str()).collect();
        let songs = crate::catalog::visible(&ids, &req)?;
        let items: Vec<Value> = page
            .iter()
            .map(|l| {
                let mut v = l.view();
                v["song"] = songs
                    .get(&l.song_id)
                    .and_then(|s| serde_json::from_str(s.json.get()).ok())
                    .unwrap_or(Value::Null);
                v
            })
            .collect();
        // As an i64, the way `parse_cursor` reads it back.
        let next = more
            .then(|| {
                page.last()
                    .map(|l| format!("{}.{}", l.started_at as i64, l.row))
            })
            .flatten();
        Ok(json(200, &json!({ "items": items, "nextCursor": next })))
    })
}

/// `limit` and `cursor` of a history page: the page size (20 without one) and the
/// `(started_at, id)` of the last listen already shown.
fn page(query: &[(String, String)]) -> Result<(usize, Option<(i64, i64)>), Problem> {
    let mut limit = 20;
    let mut after = None;
    let mut errors = Vec::new();
    for (key, value) in query {
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_HISTORY_PAGE).contains(&n) => limit = n,
                _ => errors.push(Problem::field(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_HISTORY_PAGE}"),
                )),
            },
            "cursor" => match parse_cursor(value) {
                Some(c) => after = Some(c),
                None => errors.push(Problem::field("cursor", "is not a cursor this API gave")),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    Ok((limit, after))
}

fn parse_cursor(value: &str) -> Option<(i64, i64)> {
    let (at, id) = value.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

/// `GET /api/me/stats`: the caller's counts, top songs and top artists.
pub fn stats(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = store::open()?;
        let user = text(&claims.user_id);
        let totals = db.rows(
            "SELECT COALESCE(SUM(plays), 0), COALESCE(SUM(completions), 0),
                    COALESCE(SUM(skips), 0), COUNT(*)
             FROM user_songs WHERE user_id = ?",
            std::slice::from_ref(&user),
            |row| {
                (
                    get_int(row, 0),
                    get_int(row, 1),
                    get_int(row, 2),
                    get_int(row, 3),
                )
            },
        )?;
        let (plays, completions, skips, songs) = totals.first().copied().unwrap_or_default();
        let top_songs = db.rows(
            "SELECT song_id, plays FROM user_songs WHERE user_id = ? AND plays > 0
             ORDER BY plays DESC, last_at DESC LIMIT 10",
            std::slice::from_ref(&user),
            |row| json!({ "songId": get_text(row, 0), "plays": get_int(row, 1) }),
        )?;
        let top_artists = db.rows(
            "SELECT g.artist_id, SUM(u.plays) AS p FROM user_songs u JOIN songs g ON g.id = u.song_id
             WHERE u.user_id = ? AND u.plays > 0 GROUP BY g.artist_id ORDER BY p DESC LIMIT 10",
            std::slice::from_ref(&user),
            |row| json!({ "artistId": get_text(row, 0), "plays": get_int(row, 1) }),
        )?;
        Ok(json(
            200,
            &json!({
                "plays": plays,
                "completions": completions,
                "skips": skips,
                "songs": songs,
                "topSongs": top_songs,
                "topArtists": top_artists,
            }),
        ))
    })
}

/// The genres a user chose.
pub fn taste(db: &Db, user_id: &str) -> Result<Vec<String>, Problem> {
    Ok(db
        .rows(
            "SELECT genres FROM tastes WHERE user_id = ?",
            &[text(user_id)],
            |row| get_text(row, 0),
        )?
        .first()
        .and_then(|g| serde_json::from_str(g).ok())
        .unwrap_or_default())
}

/// `GET /api/me/taste`
pub fn get_taste(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let db = store::open()?;
        Ok(json(
            200,
            &json!({ "genres": taste(&db, &claims.user_id)? }),
        ))
    })
}

/// `PUT /api/me/taste {genres}`: the genres to start from before there are listens.
pub fn put_taste(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = crate::authenticate(&req)?;
        let mut body = Body::read(&req, MAX_JSON_BODY)?;
        let genres: Option<Vec<String>> = body.required("genres", "a list of genres");
        let mut genres: Vec<String> = genres
            .unwrap_or_default()
            .iter()
            .map(|g| store::genre_key(g))
            .collect();
        let mut seen = std::collections::HashSet::new();
        genres.retain(|g| seen.insert(g.clone()));
        if genres.len() > MAX_TASTE_GENRES
            || genres
                .iter()
                .any(|g| g.is_empty() || g.chars().count() > 64)
        {
            body.error(
                "genres",
                format!("must hold at most {MAX_TASTE_GENRES} genres of 1 to 64 characters"),
            );
        }
        body.finish()?;
        let db = store::open()?;
        db.transaction(|| {
            db.run(
                "INSERT INTO tastes (user_id, genres) VALUES (?, ?)
                 ON CONFLICT (user_id) DO UPDATE SET genres = excluded.genres",
                &[text(&claims.user_id), json_list(&genres)],
            )?;
            store::uncache(&db, &crate::for_you::cache_key(&claims.user_id))
        })?;
        Ok(json(200, &json!({ "genres": genres })))
    })
}
