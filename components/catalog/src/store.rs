//! The catalog's SQLite database (label `catalog`): songs, artists, follows and the albums
//! it learns of from `playlists`.

use serde::Serialize;
use spin_sdk::sqlite::Value;
use spindle_shared::Problem;
use spindle_shared::migrations::Migration;
use spindle_shared::sql::{Db, get_int, get_opt_int, get_opt_text, get_text, int, opt_text, text};
use spindle_shared::time::{now_ms, rfc3339};

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../../migrations/catalog/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../../migrations/catalog/0002_albums.sql"),
    },
];

/// The component's database; [`Db`]'s `run` and `transaction` through `Deref`.
pub struct Store {
    db: Db,
}

impl std::ops::Deref for Store {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

/// A song as stored.
#[derive(Debug, Clone)]
pub struct Song {
    pub id: String,
    pub artist_id: String,
    pub artist_name: String,
    pub title: String,
    pub album_id: Option<String>,
    pub genre: Option<String>,
    pub tags: Vec<String>,
    pub is_public: bool,
    pub is_visible: bool,
    pub published_at: Option<u64>,
    pub duration_ms: u64,
    pub bitrate_kbps: Option<i64>,
    pub sample_rate: Option<i64>,
    pub channels: Option<i64>,
    pub codec: String,
    pub mime: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub media_id: String,
    pub cover_media_id: Option<String>,
    pub play_count: i64,
    pub created_at: u64,
    pub updated_at: u64,
}

const SONG_COLUMNS: &str = "s.id, s.artist_id, COALESCE(a.name, ''), s.title, s.album_id, s.genre, s.tags, s.is_public, s.is_visible, s.published_at, s.duration_ms, s.bitrate_kbps, s.sample_rate, s.channels, s.codec, s.mime, s.size_bytes, s.sha256, s.media_id, s.cover_media_id, s.play_count, s.created_at, s.updated_at";
const SONG_FROM: &str = "songs s LEFT JOIN artists a ON a.id = s.artist_id";

/// A song as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SongView {
    pub id: String,
    pub title: String,
    pub artist_id: String,
    pub artist_name: String,
    pub album_id: Option<String>,
    pub genre: Option<String>,
    pub tags: Vec<String>,
    pub is_public: bool,
    pub is_visible: bool,
    pub duration_ms: u64,
    pub bitrate_kbps: Option<i64>,
    pub sample_rate: Option<i64>,
    pub channels: Option<i64>,
    pub codec: String,
    pub mime_type: String,
    pub size_bytes: u64,
    pub has_cover: bool,
    pub play_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Song {
    pub fn view(&self) -> SongView {
        SongView {
            id: self.id.clone(),
            title: self.title.clone(),
            artist_id: self.artist_id.clone(),
            artist_name: self.artist_name.clone(),
            album_id: self.album_id.clone(),
            genre: self.genre.clone(),
            tags: self.tags.clone(),
            is_public: self.is_public,
            is_visible: self.is_visible,
            duration_ms: self.duration_ms,
            bitrate_kbps: self.bitrate_kbps,
            sample_rate: self.sample_rate,
            channels: self.channels,
            codec: self.codec.clone(),
            mime_type: self.mime.clone(),
            size_bytes: self.size_bytes,
            has_cover: self.cover_media_id.is_some(),
            play_count: self.play_count,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }

    /// Listeners see it: public by its owner and not hidden by an admin.
    pub fn is_listed(&self) -> bool {
        self.is_public && self.is_visible
    }

    fn from_row(row: &[Value]) -> Self {
        Self {
            id: get_text(row, 0),
            artist_id: get_text(row, 1),
            artist_name: get_text(row, 2),
            title: get_text(row, 3),
            album_id: get_opt_text(row, 4),
            genre: get_opt_text(row, 5),
            tags: serde_json::from_str(&get_text(row, 6)).unwrap_or_default(),
            is_public: get_int(row, 7) != 0,
            is_visible: get_int(row, 8) != 0,
            published_at: get_opt_int(row, 9).map(|v| v as u64),
            duration_ms: get_int(row, 10) as u64,
            bitrate_kbps: get_opt_int(row, 11),
            sample_rate: get_opt_int(row, 12),
            channels: get_opt_int(row, 13),
            codec: get_text(row, 14),
            mime: get_text(row, 15),
            size_bytes: get_int(row, 16) as u64,
            sha256: get_text(row, 17),
            media_id: get_text(row, 18),
            cover_media_id: get_opt_text(row, 19),
            play_count: get_int(row, 20),
            created_at: get_int(row, 21) as u64,
            updated_at: get_int(row, 22) as u64,
        }
    }
}

/// Which songs a list shows and how.
pub struct SongQuery {
    /// Only songs listeners see (else every song: the admin list).
    pub listed_only: bool,
    pub artist_id: Option<String>,
    pub genre: Option<String>,
    pub album_id: Option<String>,
    pub sort: Sort,
    /// Where the previous page ended (keyset pagination: a page never shifts when songs are
    /// added or removed before it).
    pub after: Option<After>,
    pub limit: u32,
}

/// The sort key of the last song of a page, as its cursor carries it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct After {
    /// `n`, `t` or `p`: the sort the cursor was made for.
    pub s: String,
    /// `created_at`, `play_count`, title and id of the song.
    pub c: i64,
    pub p: i64,
    pub t: String,
    pub i: String,
}

impl After {
    pub fn of(song: &Song, sort: Sort) -> Self {
        Self {
            s: sort.tag().into(),
            c: song.created_at as i64,
            p: song.play_count,
            t: song.title.clone(),
            i: song.id.clone(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Sort {
    Newest,
    Title,
    Popular,
}

impl Sort {
    pub fn tag(self) -> &'static str {
        match self {
            Sort::Newest => "n",
            Sort::Title => "t",
            Sort::Popular => "p",
        }
    }
}

impl Store {
    pub fn open() -> Result<Self, Problem> {
        Ok(Self {
            db: Db::open("catalog", MIGRATIONS)?,
        })
    }

    pub fn upsert_artist(&self, id: &str, name: &str) -> Result<(), Problem> {
        self.run(
            "INSERT INTO artists (id, name, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            &[text(id), text(name), int(now_ms() as i64)],
        )?;
        Ok(())
    }

    pub fn artist_name(&self, id: &str) -> Result<Option<String>, Problem> {
        let result = self.run("SELECT name FROM artists WHERE id = ?", &[text(id)])?;
        Ok(result.rows.first().map(|r| get_text(&r.values, 0)))
    }

    pub fn song(&self, id: &str) -> Result<Option<Song>, Problem> {
        let sql = format!("SELECT {SONG_COLUMNS} FROM {SONG_FROM} WHERE s.id = ?");
        let result = self.run(&sql, &[text(id)])?;
        Ok(result.rows.first().map(|r| Song::from_row(&r.values)))
    }

    /// The songs among `ids` that exist, in one query (any order).
    pub fn songs_by_ids(&self, ids: &[String]) -> Result<Vec<Song>, Problem> {
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "SELECT {SONG_COLUMNS} FROM {SONG_FROM} WHERE s.id IN (SELECT value FROM json_each(?))"
        );
        self.rows(&sql, &[text(ids)], Song::from_row)
    }

    /// The song of `artist_id` with these bytes, if any.
    pub fn song_by_digest(&self, artist_id: &str, sha256: &str) -> Result<Option<String>, Problem> {
        let result = self.run(
            "SELECT id FROM songs WHERE artist_id = ? AND sha256 = ?",
            &[text(artist_id), text(sha256)],
        )?;
        Ok(result.rows.first().map(|r| get_text(&r.values, 0)))
    }

    pub fn insert_song(&self, song: &Song) -> Result<(), Problem> {
        self.run(
            "INSERT INTO songs (id, artist_id, title, album_id, genre, tags, is_public, is_visible,
               published_at, duration_ms, bitrate_kbps, sample_rate, channels, codec, mime,
               size_bytes, sha256, media_id, cover_media_id, cover_mime, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                text(&song.id),
                text(&song.artist_id),
                text(&song.title),
                opt_text(song.album_id.as_deref()),
                opt_text(song.genre.as_deref()),
                text(serde_json::to_string(&song.tags).unwrap_or_else(|_| "[]".into())),
                int(song.is_public),
                song.published_at.map_or(Value::Null, |v| int(v as i64)),
                int(song.duration_ms as i64),
                song.bitrate_kbps.map_or(Value::Null, int),
                song.sample_rate.map_or(Value::Null, int),
                song.channels.map_or(Value::Null, int),
                text(&song.codec),
                text(&song.mime),
                int(song.size_bytes as i64),
                text(&song.sha256),
                text(&song.media_id),
                opt_text(song.cover_media_id.as_deref()),
                Value::Null,
                int(song.created_at as i64),
                int(song.updated_at as i64),
            ],
        )?;
        Ok(())
    }

    /// Sets one column of a song (the name comes from this crate, never from input).
    pub fn set_song(&self, id: &str, column: &str, value: Value) -> Result<(), Problem> {
        let sql = format!("UPDATE songs SET {column} = ?, updated_at = ? WHERE id = ?");
        self.run(&sql, &[value, int(now_ms() as i64), text(id)])?;
        Ok(())
    }

    pub fn delete_song(&self, id: &str) -> Result<(), Problem> {
        self.run("DELETE FROM songs WHERE id = ?", &[text(id)])?;
        Ok(())
    }

    pub fn songs(&self, q: &SongQuery) -> Result<Vec<Song>, Problem> {
        // ?5 created_at, ?6 play_count, ?7 title, ?8 id of the song the previous page ended on.
        let (order, after) = match q.sort {
            Sort::Newest => (
                "s.created_at DESC, s.id DESC",
                "(s.created_at < ?5 OR (s.created_at = ?5 AND s.id < ?8))",
            ),
            Sort::Title => (
                "s.title COLLATE NOCASE, s.id",
                "(s.title > ?7 COLLATE NOCASE OR (s.title = ?7 COLLATE NOCASE AND s.id > ?8))",
            ),
            Sort::Popular => (
                "s.play_count DESC, s.created_at DESC, s.id DESC",
                "(s.play_count < ?6 OR (s.play_count = ?6 AND (s.created_at < ?5
                  OR (s.created_at = ?5 AND s.id < ?8))))",
            ),
        };
        let after = if q.after.is_some() { after } else { "1" };
        let sql = format!(
            "SELECT {SONG_COLUMNS} FROM {SONG_FROM}
             WHERE (?1 = 0 OR (s.is_public = 1 AND s.is_visible = 1))
               AND (?2 IS NULL OR s.artist_id = ?2) AND (?3 IS NULL OR s.genre = ?3 COLLATE NOCASE)
               AND (?4 IS NULL OR s.album_id = ?4) AND {after}
             ORDER BY {order} LIMIT ?9"
        );
        let cursor = q.after.clone().unwrap_or(After {
            s: String::new(),
            c: 0,
            p: 0,
            t: String::new(),
            i: String::new(),
        });
        self.rows(
            &sql,
            &[
                int(q.listed_only),
                opt_text(q.artist_id.as_deref()),
                opt_text(q.genre.as_deref()),
                opt_text(q.album_id.as_deref()),
                int(cursor.c),
                int(cursor.p),
                text(cursor.t),
                text(cursor.i),
                int(q.limit),
            ],
            Song::from_row,
        )
    }

    /// Every song of an artist, newest first (their own view: hidden ones too).
    pub fn songs_of(&self, artist_id: &str) -> Result<Vec<Song>, Problem> {
        let sql = format!(
            "SELECT {SONG_COLUMNS} FROM {SONG_FROM} WHERE s.artist_id = ? ORDER BY s.created_at DESC, s.id DESC"
        );
        self.rows(&sql, &[text(artist_id)], Song::from_row)
    }
}
