//! Search over songs, artists and albums with SQLite FTS5: every word of the query is a
//! prefix, case and accents fold (`unicode61 remove_diacritics 2`), results rank by bm25, and
//! only what the caller may see comes back (albums: only listed ones, kept up to date from the
//! `album.changed` and `album.deleted` events, see `albums.rs`).

use crate::caller;
use crate::store::{Song, Store};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::http::{json, query_pairs};
use spindle_shared::sql::{get_opt_text, get_text, int, text};

const MAX_QUERY_CHARS: usize = 200;
const DEFAULT_LIMIT: u32 = 20;

/// Re-indexes a song (after it was stored or changed); removes it when it is gone.
pub fn index_song(store: &Store, song_id: &str) -> Result<(), Problem> {
    store.run(
        "DELETE FROM search WHERE kind = 'song' AND ref_id = ?",
        &[text(song_id)],
    )?;
    if let Some(song) = store.song(song_id)? {
        let extra = [
            song.artist_name.as_str(),
            song.genre.as_deref().unwrap_or(""),
        ]
        .into_iter()
        .chain(song.tags.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
        store.run(
            "INSERT INTO search (kind, ref_id, name, extra) VALUES ('song', ?, ?, ?)",
            &[text(&song.id), text(&song.title), text(extra)],
        )?;
    }
    Ok(())
}

/// Re-indexes an artist's name (and their songs, which carry it).
pub fn index_artist(store: &Store, artist_id: &str, name: &str) -> Result<(), Problem> {
    store.run(
        "DELETE FROM search WHERE kind = 'artist' AND ref_id = ?",
        &[text(artist_id)],
    )?;
    store.run(
        "INSERT INTO search (kind, ref_id, name, extra) VALUES ('artist', ?, ?, '')",
        &[text(artist_id), text(name)],
    )?;
    Ok(())
}

/// Re-indexes a listed album: its title, and its artist's name and description.
pub fn index_album(store: &Store, album_id: &str, title: &str, extra: &str) -> Result<(), Problem> {
    remove(store, "album", album_id)?;
    store.run(
        "INSERT INTO search (kind, ref_id, name, extra) VALUES ('album', ?, ?, ?)",
        &[text(album_id), text(title), text(extra)],
    )?;
    Ok(())
}

pub fn remove(store: &Store, kind: &str, id: &str) -> Result<(), Problem> {
    store.run(
        "DELETE FROM search WHERE kind = ? AND ref_id = ?",
        &[text(kind), text(id)],
    )?;
    Ok(())
}

/// The FTS5 query for what a person typed: each word quoted (so no FTS syntax gets through)
/// and made a prefix; `None` when nothing searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric() && !is_combining_mark(c))
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// `GET /api/search?q=&limit=`: `{songs, artists, albums}`, best first; albums
/// `{id, title, artistId, artistName, description}`, only listed ones.
pub fn search(req: Request, _params: Params) -> Response {
    crate::respond(|| {
        let claims = caller::optional(&req)?;
        let mut q = String::new();
        let mut limit = DEFAULT_LIMIT;
        for (key, value) in query_pairs(req.query())? {
            match key.as_str() {
                "q" => q = value,
                "limit" => {
                    limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=50).contains(n))
                        .ok_or_else(|| {
                            Problem::invalid(vec![Problem::field(
                                "limit",
                                "must be a whole number from 1 to 50",
                            )])
                        })?
                }
                _ => {}
            }
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Problem::invalid(vec![Problem::field(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            )]));
        }
        let Some(query) = fts_query(&q) else {
            return Ok(json(
                200,
                &serde_json::json!({ "songs": [], "artists": [], "albums": [] }),
            ));
        };
        let store = Store::open()?;
        let (user, admin) = match &claims {
            Some(c) => (c.user_id.clone(), c.role == Role::Admin),
            None => (String::new(), false),
        };
        let found = store.run(
            "SELECT x.ref_id FROM search x JOIN songs s ON s.id = x.ref_id
             WHERE search MATCH ?1 AND x.kind = 'song'
               AND ((s.is_public = 1 AND s.is_visible = 1) OR s.artist_id = ?2 OR ?3 = 1)
             ORDER BY bm25(search, 0, 0, 10.0, 2.0) LIMIT ?4",
            &[text(&query), text(&user), int(admin), int(limit)],
        )?;
        let mut songs = Vec::new();
        for row in &found.rows {
            if let Some(song) = store.song(&get_text(&row.values, 0))? {
                songs.push(Song::view(&song));
            }
        }
        let found = store.run(
            "SELECT x.ref_id, x.name FROM search x
             WHERE search MATCH ?1 AND x.kind = 'artist'
               AND EXISTS (SELECT 1 FROM songs s WHERE s.artist_id = x.ref_id
                           AND s.is_public = 1 AND s.is_visible = 1)
             ORDER BY bm25(search, 0, 0, 10.0, 2.0) LIMIT ?2",
            &[text(&query), int(limit)],
        )?;
        let artists: Vec<_> = found
            .rows
            .iter()
            .map(|r| serde_json::json!({ "id": get_text(&r.values, 0), "name": get_text(&r.values, 1) }))
            .collect();
        let found = store.run(
            "SELECT al.id, al.title, al.artist_id, COALESCE(a.name, ''), al.description
             FROM search x JOIN albums al ON al.id = x.ref_id
               LEFT JOIN artists a ON a.id = al.artist_id
             WHERE search MATCH ?1 AND x.kind = 'album' AND al.listed = 1 AND al.deleted = 0
             ORDER BY bm25(search, 0, 0, 10.0, 2.0) LIMIT ?2",
            &[text(&query), int(limit)],
        )?;
        let albums: Vec<_> = found
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": get_text(&r.values, 0),
                    "title": get_text(&r.values, 1),
                    "artistId": get_text(&r.values, 2),
                    "artistName": get_text(&r.values, 3),
                    "description": get_opt_text(&r.values, 4),
                })
            })
            .collect();
        Ok(json(
            200,
            &serde_json::json!({ "songs": songs, "artists": artists, "albums": albums }),
        ))
    })
}

/// Combining marks (an accent typed as its own code point, `e` + U+0301): part of the word,
/// for the tokenizer to fold like the precomposed letter.
fn is_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn queries_are_quoted_prefixes_without_fts_syntax() {
        assert_eq!(
            fts_query("Bohem rhaps").as_deref(),
            Some("\"Bohem\"* \"rhaps\"*")
        );
        assert_eq!(
            fts_query("a\" OR b* NEAR(c)").as_deref(),
            Some("\"a\"* \"OR\"* \"b\"* \"NEAR\"* \"c\"*")
        );
        assert_eq!(fts_query("Beyoncé").as_deref(), Some("\"Beyoncé\"*"));
        assert_eq!(
            fts_query("cre\u{300}me").as_deref(),
            Some("\"cre\u{300}me\"*")
        );
        assert_eq!(fts_query("  -- ** "), None);
    }
}
