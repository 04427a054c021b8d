//! The component's database, the song mirror, and the cache of ranked lists.

use serde_json::Value;
use spindle_shared::Problem;
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{Db, get_int, get_opt_text, get_text, int, json_list, opt_text, text};

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../../migrations/activity/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../../migrations/activity/0002_song_tags.sql"),
    },
];

pub fn open() -> Result<Db, Problem> {
    Db::open("activity", MIGRATIONS)
}

/// What this component knows of a song.
#[derive(Debug, Clone)]
pub struct SongMeta {
    pub id: String,
    pub artist_id: String,
    pub genre: Option<String>,
    pub tags: Vec<String>,
    pub plays: i64,
}

/// Genres and tags are matched without regard to case.
pub fn genre_key(genre: &str) -> String {
    genre.trim().to_lowercase()
}

/// Records (or refreshes) a song's metadata.
pub fn remember_song(
    db: &Db,
    id: &str,
    artist_id: &str,
    genre: Option<&str>,
    tags: &[String],
    published_at: u64,
) -> Result<(), Problem> {
    let genre = genre.map(genre_key).filter(|g| !g.is_empty());
    let tags: Vec<String> = tags.iter().map(|t| genre_key(t)).collect();
    let tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
    // Most calls bring nothing new: read first, so they take no write lock.
    let known = db.rows(
        "SELECT artist_id, genre, tags FROM songs WHERE id = ?",
        &[text(id)],
        |row| (get_text(row, 0), get_opt_text(row, 1), get_text(row, 2)),
    )?;
    if known.first() == Some(&(artist_id.to_string(), genre.clone(), tags.clone())) {
        return Ok(());
    }
    db.transaction(|| {
        db.run(
            "INSERT INTO songs (id, artist_id, genre, tags, published_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET artist_id = excluded.artist_id, genre = excluded.genre,
           tags = excluded.tags",
            &[
                text(id),
                text(artist_id),
                opt_text(genre.as_deref()),
                text(&tags),
                int(published_at as i64),
            ],
        )?;
        db.run("DELETE FROM song_tags WHERE song_id = ?", &[text(id)])?;
        db.run(
            "INSERT OR IGNORE INTO song_tags (tag, song_id) SELECT value, ? FROM json_each(?)",
            &[text(id), text(&tags)],
        )?;
        Ok(())
    })
}

/// Records a song from the catalog's JSON of it.
pub fn remember_catalog_song(db: &Db, song: &Value, now: u64) -> Result<(), Problem> {
    let (Some(id), Some(artist)) = (song["id"].as_str(), song["artistId"].as_str()) else {
        return Ok(());
    };
    let tags: Vec<String> = song["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    remember_song(db, id, artist, song["genre"].as_str(), &tags, now)
}

/// The metadata and play counts of `ids` (those it knows and that are not deleted).
pub fn songs_meta(db: &Db, ids: &[String]) -> Result<Vec<SongMeta>, Problem> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    db.rows(
        "SELECT g.id, g.artist_id, g.genre, g.tags, COALESCE(s.plays, 0)
         FROM songs g LEFT JOIN song_stats s ON s.song_id = g.id
         WHERE g.id IN (SELECT value FROM json_each(?)) AND g.deleted = 0",
        &[json_list(ids)],
        |row| SongMeta {
            id: get_text(row, 0),
            artist_id: get_text(row, 1),
            genre: get_opt_text(row, 2),
            tags: serde_json::from_str(&get_text(row, 3)).unwrap_or_default(),
            plays: get_int(row, 4),
        },
    )
}

/// A cached ranked list, if it has not expired.
pub fn cached(db: &Db, key: &str, now: u64) -> Result<Option<Value>, Problem> {
    let rows = db.rows(
        "SELECT value FROM caches WHERE key = ? AND expires_at > ?",
        &[text(key), int(now as i64)],
        |row| get_text(row, 0),
    )?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|v| serde_json::from_str(&v).ok()))
}

pub fn cache(db: &Db, key: &str, value: &Value, expires_at: u64) -> Result<(), Problem> {
    db.run(
        "INSERT INTO caches (key, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
        &[text(key), text(value.to_string()), int(expires_at as i64)],
    )?;
    Ok(())
}

pub fn uncache(db: &Db, key: &str) -> Result<(), Problem> {
    db.run("DELETE FROM caches WHERE key = ?", &[text(key)])?;
    Ok(())
}
