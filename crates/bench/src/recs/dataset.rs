//! The synthetic listening dataset of the recommendations suite, with planted taste groups, and
//! writing it straight into the catalog's and the activity component's SQLite databases.
//!
//! Everything follows from one seed (splitmix64):
//!
//! * **Genres and songs**: 20 genres, each with the same share of the songs and of the
//!   artists; every artist has one genre, and a song belongs to an artist of its genre (artists
//!   drawn with a mild power law, so some have many songs). Within a genre, song popularity
//!   follows a power law (weight `1 / rank^0.8`, the ranks shuffled over the songs).
//! * **Users**: a primary genre each (genres themselves unequally popular, weight
//!   `1 / rank^0.5`), three in four also a secondary genre; a personal rotation of favourite
//!   songs (15 of the primary genre, 5 of the secondary, drawn by popularity); activity
//!   log-normal (σ 0.9), at least 15 listens each.
//! * **Listens**: sessions (length 1 + ⌊Exp(mean 7)⌋) of one genre each: the primary genre 80 %,
//!   the secondary 15 % (the primary again without one), any genre 5 %. In a session each song
//!   is, 30 % of the time, one of the user's favourites of that genre; 20 %, another song of the
//!   previous song's artist (album listening); otherwise a draw from the genre's popularity. Songs
//!   follow each other as they end (the listened part plus 2–15 s); sessions are spread over the
//!   last 30 days with exponential gaps. Outcomes depend on the taste match: completions 65 % /
//!   50 % / 25 % in the primary / secondary / another genre (+15 points for a favourite),
//!   skips 12 % / 20 % / 50 % (−7 points for a favourite), plays without either otherwise. A
//!   third of the skips happen before 3 s (no play counted).

use crate::generate::{Rng, title_case, ulid};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Duration;

pub const GENRES: [&str; 20] = [
    "Pop",
    "Rock",
    "Jazz",
    "Electronic",
    "Hip-Hop",
    "Folk",
    "Classical",
    "Ambient",
    "Soul",
    "Indie",
    "Metal",
    "Reggae",
    "Blues",
    "Country",
    "Techno",
    "House",
    "R&B",
    "Punk",
    "Latin",
    "K-Pop",
];
const TAGS: [&str; 16] = [
    "chill",
    "upbeat",
    "acoustic",
    "live",
    "remix",
    "instrumental",
    "lofi",
    "summer",
    "workout",
    "focus",
    "sad",
    "romantic",
    "party",
    "cover",
    "demo",
    "night",
];
const TITLE_WORDS: &str = "\
    love night heart fire river summer midnight dream light rain city lonely golden blue \
    wild forever dance shadow ocean highway stars moon sunrise winter electric paradise \
    broken home memory silence thunder velvet echo desert morning falling whisper storm \
    garden neon satellite mountain letters gravity kingdom horizon ghost honey lullaby";
const FIRST_NAMES: &str = "\
    Ava Liam Noor Mateo Yuki Amara Felix Ines Kofi Saoirse Dmitri Lucia Tariq Freya Hiro \
    Zara Emeka Clara Rafael Signe Omar Beatriz Jonas Mei Aurelien Priya Lars Kwame Elena";
const LAST_NAMES: &str = "\
    Lindqvist Okafor Moreau Tanaka Rossi Haddad Novak Kowalski Nakamura Byrne Petrov Mensah \
    Larsen Dubois Ibrahim Schmidt Costa Sato Quinn Varga Okoye Silva Hale Mwangi Ortega";

const SONG_ALPHA: f64 = 0.8;
const ARTIST_ALPHA: f64 = 0.6;
const GENRE_ALPHA: f64 = 0.5;
const DAY_MS: u64 = 24 * 3600 * 1000;
/// Listens are spread over this window, ending this long before now.
const WINDOW_MS: u64 = 30 * DAY_MS;
const WINDOW_END_BEFORE_NOW_MS: u64 = 10 * 60 * 1000;
pub const MIN_LISTENS_PER_USER: usize = 15;

pub struct Shape {
    pub songs: usize,
    pub artists: usize,
    pub users: usize,
    pub listens: usize,
    pub seed: u64,
}

pub struct Artist {
    pub id: String,
    pub name: String,
}

pub struct Song {
    pub id: String,
    pub artist: u32,
    pub genre: u8,
    pub title: String,
    pub tags: Vec<&'static str>,
    pub duration_ms: u32,
    pub published_at: u64,
}

pub struct User {
    pub id: String,
    pub primary: u8,
    pub secondary: Option<u8>,
}

#[derive(Clone, Copy)]
pub struct Listen {
    pub user: u32,
    pub song: u32,
    pub started_at: u64,
    pub position_ms: u32,
    pub device: u8,
    pub completed: bool,
    pub skipped: bool,
}

impl Listen {
    pub fn played(&self) -> bool {
        self.position_ms >= 3000
    }
}

pub struct Dataset {
    pub artists: Vec<Artist>,
    pub songs: Vec<Song>,
    pub users: Vec<User>,
    /// Every listen, grouped by user (in user order), each user's in time order.
    pub listens: Vec<Listen>,
    /// Where each user's listens start in `listens` (and `listens.len()` at the end).
    pub user_start: Vec<usize>,
    /// Per genre: its songs, by popularity (most popular first).
    pub genre_songs: Vec<Vec<u32>>,
}

impl Dataset {
    pub fn user_listens(&self, user: usize) -> &[Listen] {
        &self.listens[self.user_start[user]..self.user_start[user + 1]]
    }
}

/// Draws from a discrete distribution by its cumulative weights.
struct Sampler {
    cumulative: Vec<f64>,
}

impl Sampler {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Self { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().expect("a non-empty distribution");
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

fn power_law(n: usize, alpha: f64) -> impl Iterator<Item = f64> {
    (1..=n).map(move |rank| 1.0 / (rank as f64).powf(alpha))
}

pub fn generate(shape: &Shape, now: u64) -> Dataset {
    let mut rng = Rng(shape.seed);
    let genres = GENRES.len();

    // Artists: artist a has genre a % 20.
    let artists: Vec<Artist> = (0..shape.artists)
        .map(|i| Artist {
            id: ulid(now - 400 * DAY_MS + i as u64, &mut rng),
            name: format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)),
        })
        .collect();
    let genre_artists: Vec<Vec<u32>> = (0..genres)
        .map(|g| {
            (0..shape.artists)
                .filter(|a| a % genres == g)
                .map(|a| a as u32)
                .collect()
        })
        .collect();
    let artist_samplers: Vec<Sampler> = genre_artists
        .iter()
        .map(|list| Sampler::new(power_law(list.len(), ARTIST_ALPHA)))
        .collect();

    // Songs: song i has genre i % 20, published over the last two years.
    let mut songs = Vec::with_capacity(shape.songs);
    for i in 0..shape.songs {
        let genre = i % genres;
        let published_at = now - 730 * DAY_MS + (i as u64 * (729 * DAY_MS / shape.songs as u64));
        let artist = genre_artists[genre][artist_samplers[genre].draw(&mut rng)];
        let words = 1 + rng.below(3);
        let title = (0..words)
            .map(|_| title_case(rng.pick(TITLE_WORDS)))
            .collect::<Vec<_>>()
            .join(" ");
        let mut tags: Vec<&'static str> = (0..rng.below(3))
            .map(|_| TAGS[(genre * 3 + rng.below(6)) % TAGS.len()])
            .collect();
        tags.sort_unstable();
        tags.dedup();
        songs.push(Song {
            id: ulid(published_at, &mut rng),
            artist,
            genre: genre as u8,
            title,
            tags,
            duration_ms: 120_000 + rng.below(240_000) as u32,
            published_at,
        });
    }
    // Popularity: shuffled ranks within each genre.
    let mut genre_songs: Vec<Vec<u32>> = (0..genres)
        .map(|g| {
            (0..shape.songs)
                .filter(|i| i % genres == g)
                .map(|i| i as u32)
                .collect()
        })
        .collect();
    for list in &mut genre_songs {
        rng.shuffle(list);
    }
    let song_samplers: Vec<Sampler> = genre_songs
        .iter()
        .map(|list| Sampler::new(power_law(list.len(), SONG_ALPHA)))
        .collect();
    // Per artist: their songs and a popularity sampler over them.
    let mut artist_songs: Vec<Vec<(u32, f64)>> = vec![Vec::new(); shape.artists];
    for list in &genre_songs {
        for (rank, &song) in list.iter().enumerate() {
            let weight = 1.0 / ((rank + 1) as f64).powf(SONG_ALPHA);
            artist_songs[songs[song as usize].artist as usize].push((song, weight));
        }
    }
    let artist_song_samplers: Vec<Sampler> = artist_songs
        .iter()
        .map(|list| Sampler::new(list.iter().map(|(_, w)| *w)))
        .collect();

    // Users.
    let genre_sampler = Sampler::new(power_law(genres, GENRE_ALPHA));
    let genre_order = {
        let mut order: Vec<u8> = (0..genres as u8).collect();
        rng.shuffle(&mut order);
        order
    };
    let users: Vec<User> = (0..shape.users)
        .map(|i| {
            let id = ulid(now - 365 * DAY_MS + i as u64 * 1000, &mut rng);
            let primary = genre_order[genre_sampler.draw(&mut rng)];
            let secondary = (rng.unit() < 0.75).then(|| {
                loop {
                    let g = genre_order[genre_sampler.draw(&mut rng)];
                    if g != primary {
                        break g;
                    }
                }
            });
            User {
                id,
                primary,
                secondary,
            }
        })
        .collect();

    // Activity: log-normal, exactly `shape.listens` in all, at least MIN_LISTENS_PER_USER each.
    let weights: Vec<f64> = (0..shape.users)
        .map(|_| (0.9 * rng.normal()).exp())
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let spare = shape
        .listens
        .saturating_sub(MIN_LISTENS_PER_USER * shape.users);
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|w| MIN_LISTENS_PER_USER + (spare as f64 * w / total_weight) as usize)
        .collect();
    let left = shape.listens.saturating_sub(counts.iter().sum());
    for i in 0..left {
        counts[i % shape.users] += 1;
    }

    let draw_song =
        |genre: usize, rng: &mut Rng| -> u32 { genre_songs[genre][song_samplers[genre].draw(rng)] };
    let window_end = now - WINDOW_END_BEFORE_NOW_MS;
    let window_start = window_end - WINDOW_MS;
    let mut listens = Vec::with_capacity(shape.listens);
    let mut user_start = Vec::with_capacity(shape.users + 1);
    for (u, user) in users.iter().enumerate() {
        user_start.push(listens.len());
        let (p, s) = (user.primary as usize, user.secondary.map(usize::from));
        let mut favourites: Vec<u32> = Vec::new();
        for (genre, n) in [(Some(p), 15), (s, 5)] {
            if let Some(genre) = genre {
                for _ in 0..n {
                    let song = draw_song(genre, &mut rng);
                    if !favourites.contains(&song) {
                        favourites.push(song);
                    }
                }
            }
        }
        let favourite_artists: Vec<u32> = favourites
            .iter()
            .map(|&f| songs[f as usize].artist)
            .collect();

        // Sessions: their listens (times relative to the session start), then spread out.
        let mut sessions: Vec<(Vec<Listen>, u64)> = Vec::new();
        let mut remaining = counts[u];
        while remaining > 0 {
            let len = (1 + (-rng.unit().max(1e-12).ln() * 7.0) as usize).min(remaining);
            remaining -= len;
            let r = rng.unit();
            let genre = if r < 0.80 {
                p
            } else if r < 0.95 {
                s.unwrap_or(p)
            } else {
                rng.below(genres)
            };
            let session_favourites: Vec<u32> = favourites
                .iter()
                .copied()
                .filter(|&f| songs[f as usize].genre as usize == genre)
                .collect();
            let device = rng.below(3) as u8;
            let mut t = 0u64;
            let mut session = Vec::with_capacity(len);
            let mut previous: Option<u32> = None;
            for _ in 0..len {
                let mut song = 0;
                for _ in 0..4 {
                    let r = rng.unit();
                    song = if r < 0.30 && !session_favourites.is_empty() {
                        session_favourites[rng.below(session_favourites.len())]
                    } else if r < 0.50
                        && let Some(prev) = previous
                    {
                        let artist = songs[prev as usize].artist as usize;
                        artist_songs[artist][artist_song_samplers[artist].draw(&mut rng)].0
                    } else {
                        draw_song(genre, &mut rng)
                    };
                    if Some(song) != previous {
                        break;
                    }
                }
                let meta = &songs[song as usize];
                let favourite =
                    favourites.contains(&song) || favourite_artists.contains(&meta.artist);
                let (mut complete, mut skip) = if genre == p {
                    (0.65, 0.12)
                } else if Some(genre) == s {
                    (0.50, 0.20)
                } else {
                    (0.25, 0.50)
                };
                if favourite {
                    complete += 0.15;
                    skip -= 0.07;
                }
                let duration = meta.duration_ms;
                let r = rng.unit();
                let (position, completed, skipped) = if r < complete {
                    let share = 0.9 + 0.1 * rng.unit();
                    ((duration as f64 * share) as u32, true, false)
                } else if r < complete + skip {
                    let position = if rng.unit() < 1.0 / 3.0 {
                        500 + rng.below(2500) as u32
                    } else {
                        3000 + rng.below((duration as f64 * 0.45) as usize - 3000) as u32
                    };
                    (position, false, true)
                } else {
                    let share = 0.5 + 0.29 * rng.unit();
                    ((duration as f64 * share) as u32, false, false)
                };
                session.push(Listen {
                    user: u as u32,
                    song,
                    started_at: t,
                    position_ms: position,
                    device,
                    completed,
                    skipped,
                });
                t += u64::from(position) + 2000 + rng.below(13_000) as u64;
                previous = Some(song);
            }
            sessions.push((session, t));
        }
        let busy: u64 = sessions.iter().map(|(_, d)| d).sum();
        let free = WINDOW_MS.saturating_sub(busy);
        let gaps: Vec<f64> = (0..=sessions.len())
            .map(|_| -rng.unit().max(1e-12).ln())
            .collect();
        let gap_total: f64 = gaps.iter().sum();
        let mut at = window_start;
        for ((session, duration), gap) in sessions.into_iter().zip(gaps) {
            at += (free as f64 * gap / gap_total) as u64;
            for mut listen in session {
                listen.started_at += at;
                listens.push(listen);
            }
            at += duration;
        }
    }
    user_start.push(listens.len());
    Dataset {
        artists,
        songs,
        users,
        listens,
        user_start,
        genre_songs,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Opens (creating) the SQLite database at `path` with every `migrations/{component}/*.sql`
/// applied, in order, and recorded in `schema_migrations` as crates/shared/src/migrations.rs
/// records them, so the component sees them applied.
fn open_migrated(root: &Path, path: &Path, component: &str) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);",
    )?;
    let dir = root.join("migrations").join(component);
    let mut files: Vec<(i64, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let version = name.strip_suffix(".sql")?.split('_').next()?.parse().ok()?;
            Some((version, path))
        })
        .collect();
    files.sort();
    let applied: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    for (version, file) in files.into_iter().filter(|(v, _)| *v > applied) {
        let sql = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        conn.execute_batch(&format!("BEGIN;\n{sql}\n;COMMIT;"))
            .with_context(|| format!("applying {}", file.display()))?;
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, datetime('now'))",
            [version],
        )?;
    }
    conn.execute_batch("PRAGMA synchronous = OFF;")?;
    Ok(conn)
}

/// The catalog's database: the artists and their public, visible songs, with the FTS `search`
/// rows as components/catalog/src/search.rs writes them (as the catalog suite seeds it).
pub fn write_catalog(root: &Path, path: &Path, data: &Dataset, now: u64) -> Result<()> {
    let mut conn = open_migrated(root, path, "catalog")?;
    let tx = conn.transaction()?;
    {
        let mut artist =
            tx.prepare("INSERT INTO artists (id, name, updated_at) VALUES (?1, ?2, ?3)")?;
        let mut index = tx.prepare(
            "INSERT INTO search (kind, ref_id, name, extra) VALUES ('artist', ?1, ?2, '')",
        )?;
        for a in &data.artists {
            artist.execute(rusqlite::params![a.id, a.name, now as i64])?;
            index.execute(rusqlite::params![a.id, a.name])?;
        }
        let mut song = tx.prepare(
            "INSERT INTO songs (id, artist_id, title, genre, tags, is_public, is_visible,
               published_at, duration_ms, bitrate_kbps, sample_rate, channels, codec, mime,
               size_bytes, sha256, media_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, 1, ?6, ?7, 320, 44100, 2, 'mp3', 'audio/mpeg', ?8,
               ?9, ?10, ?6, ?6)",
        )?;
        let mut index = tx.prepare(
            "INSERT INTO search (kind, ref_id, name, extra) VALUES ('song', ?1, ?2, ?3)",
        )?;
        for (i, s) in data.songs.iter().enumerate() {
            let artist = &data.artists[s.artist as usize];
            let genre = GENRES[s.genre as usize];
            song.execute(rusqlite::params![
                s.id,
                artist.id,
                s.title,
                genre,
                serde_json::to_string(&s.tags)?,
                s.published_at as i64,
                i64::from(s.duration_ms),
                i64::from(s.duration_ms) * 40,
                format!("{:064x}", i + 1),
                format!("media-{}", s.id),
            ])?;
            let extra = [artist.name.as_str(), genre]
                .into_iter()
                .chain(s.tags.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            index.execute(rusqlite::params![s.id, s.title, extra])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA optimize;")?;
    Ok(())
}

/// The activity component's database: its song mirror (genre and tags lower-cased, as it keeps
/// them) and the training listens (in time order, as they would have arrived).
pub fn write_activity(root: &Path, path: &Path, data: &Dataset, training: &[Listen]) -> Result<()> {
    let mut conn = open_migrated(root, path, "activity")?;
    let tx = conn.transaction()?;
    {
        let mut song = tx.prepare(
            "INSERT INTO songs (id, artist_id, genre, tags, published_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for s in &data.songs {
            let tags: Vec<String> = s.tags.iter().map(|t| t.to_lowercase()).collect();
            song.execute(rusqlite::params![
                s.id,
                data.artists[s.artist as usize].id,
                GENRES[s.genre as usize].to_lowercase(),
                serde_json::to_string(&tags)?,
                s.published_at as i64,
            ])?;
        }
        let mut listen = tx.prepare(
            "INSERT INTO listens (user_id, listen_id, song_id, device_id, started_at, position_ms,
               played, completed, skipped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut order: Vec<usize> = (0..training.len()).collect();
        order.sort_by_key(|&i| (training[i].started_at, i));
        for (n, &i) in order.iter().enumerate() {
            let l = &training[i];
            let user = &data.users[l.user as usize];
            listen.execute(rusqlite::params![
                user.id,
                format!("seed-{n:x}"),
                data.songs[l.song as usize].id,
                format!("device-{}", l.device),
                l.started_at as i64,
                i64::from(l.position_ms),
                l.played(),
                l.completed,
                l.skipped,
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA optimize;")?;
    Ok(())
}
