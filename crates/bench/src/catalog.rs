//! `--suite catalog`: the `catalog` component under a realistic catalogue. The real
//! `spin.toml` runs in-process (the test harness's `TestApp`, with its private `redis-server`)
//! with every SQLite database in a temporary directory, and rate limits lifted.
//!
//! * **Seeding**: `--catalog-songs` songs (100,000 by default) by `--catalog-artists` artists
//!   are written straight into the catalog's database before the app starts — the schema of
//!   `migrations/catalog/0001_init.sql` (recorded as applied, as the catalog does), the
//!   `songs` and `artists` rows, and the FTS `search` rows exactly as
//!   `components/catalog/src/search.rs` (`index_song`, `index_artist`) writes them.
//! * **Search**: sequential `GET /api/search?q=…` over one keep-alive connection, cycling
//!   through a mix of queries: whole words, prefixes, two words, an artist's name, a genre.
//! * **Song reads**: anonymous `GET /api/songs/:id`, uncached (the first read of ids never
//!   read before: a cache miss, the database read and the cache fill) and cached (repeated
//!   reads of ids read once already).
//! * **Streaming**: a generated WAV of `--media-mib` MiB is uploaded through the API; its
//!   signed URL (`GET /api/songs/:id/stream`) is downloaded over `--stream-connections`
//!   keep-alive connections for `--duration` seconds, and the same bytes from Debian's nginx
//!   (sendfile, no access log) on loopback in the same run: MB/s and the ratio.

use crate::auth::expect;
use crate::generate::{Rng, title_case, ulid};
use crate::load::{connect, timed_gets};
use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::{Value, json};
use spindle_shared::http::percent_encode;
use spindle_tests::TestApp;
use spindle_tests::accounts::register_named;
use spindle_tests::media::{self, Form, wav};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const LIFTED_LIMITS: &str =
    "login-address=1000000/60,login-failures-email=1000000/60,register-address=1000000/60";
const EMAIL: &str = "bench-artist@example.com";
const ARTIST_NAME: &str = "Bench Artist";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The target: the catalog streams at least this share of nginx's throughput.
pub const MIN_STREAM_RATIO_PERCENT: f64 = 50.0;
/// Reads of the cached ids before the cached phase is timed.
const WARM_IDS: usize = 200;

pub struct Config {
    pub songs: usize,
    pub artists: usize,
    pub searches: usize,
    pub song_reads: usize,
    pub media_mib: usize,
    pub connections: usize,
    /// Streaming rounds, each measuring the catalog then nginx.
    pub rounds: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

#[derive(Default)]
pub struct Throughput {
    pub bytes: u64,
    pub responses: u64,
    pub window: Duration,
}

impl Throughput {
    fn add(&mut self, other: &Throughput) {
        self.bytes += other.bytes;
        self.responses += other.responses;
        self.window += other.window;
    }

    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.window.as_secs_f64()
    }
}

pub struct CatalogResult {
    pub seed_secs: f64,
    pub search: Histogram<u64>,
    pub search_hits: f64,
    /// Each search query and its median latency (µs), slowest first.
    pub by_query: Vec<(String, u64)>,
    pub uncached: Histogram<u64>,
    pub cached: Histogram<u64>,
    pub media_bytes: u64,
    pub catalog: Throughput,
    pub nginx: Throughput,
}

impl CatalogResult {
    pub fn ratio_percent(&self) -> f64 {
        100.0 * self.catalog.mb_per_sec() / self.nginx.mb_per_sec()
    }
}

pub fn run(
    root: &Path,
    config: &Config,
    server_rt: &Runtime,
    load_rt: &Runtime,
) -> Result<CatalogResult> {
    let dir = tempfile::Builder::new()
        .prefix("spindle-bench-catalog-")
        .tempdir()?;
    eprintln!(
        "catalog: seeding {} songs by {} artists...",
        config.songs, config.artists
    );
    let started = Instant::now();
    let seeded = seed(
        root,
        &database(dir.path(), "catalog"),
        config.songs,
        config.artists,
    )?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("  seeded in {seed_secs:.1}s");

    let app = start_app(root, dir.path(), server_rt)?;
    let addr = app.addr;

    // 8 kHz mono 16-bit: 16 bytes a millisecond.
    let media = wav(((config.media_mib << 20) / 16) as u32, 7);
    eprintln!(
        "catalog: uploading a {} byte WAV as an artist...",
        media.len()
    );
    let media_url = server_rt.block_on(upload(&app, &media))?;

    let result = load_rt.block_on(async {
        eprintln!("search: {} sequential queries...", config.searches);
        let queries = queries(&seeded);
        let paths: Vec<String> = (0..config.searches)
            .map(|i| {
                format!(
                    "/api/search?q={}",
                    percent_encode(&queries[i % queries.len()])
                )
            })
            .collect();
        // Untimed: one round of every query first.
        let warm: Vec<String> = queries
            .iter()
            .map(|q| format!("/api/search?q={}", percent_encode(q)))
            .collect();
        timed_gets(addr, &warm, None, |_, _, _| Ok(())).await?;
        let mut stats = SearchStats::default();
        let search = timed_gets(addr, &paths, None, |path, body, micros| {
            stats.count(path, body, micros)
        })
        .await?;
        let search_hits = stats.hits as f64 / paths.len() as f64;
        // The slowest queries, by their median.
        let mut by_query: Vec<(String, u64)> = stats
            .by_path
            .into_iter()
            .map(|(path, mut micros)| {
                micros.sort_unstable();
                let query = queries
                    .iter()
                    .find(|q| path == format!("/api/search?q={}", percent_encode(q)))
                    .cloned()
                    .unwrap_or(path);
                (query, micros[micros.len() / 2])
            })
            .collect();
        by_query.sort_by_key(|(_, micros)| std::cmp::Reverse(*micros));

        // Ids spread over the catalogue: the first WARM_IDS are read until cached, the others
        // once each (never read before).
        let stride = (seeded.song_ids.len() / (config.song_reads + WARM_IDS)).max(1);
        let mut ids = seeded.song_ids.iter().step_by(stride);
        let warm_ids: Vec<&String> = ids.by_ref().take(WARM_IDS).collect();
        let cold: Vec<String> = ids
            .take(config.song_reads)
            .map(|id| format!("/api/songs/{id}"))
            .collect();
        if cold.len() < config.song_reads {
            bail!(
                "--catalog-songs {} is too few for {} uncached reads",
                config.songs,
                config.song_reads
            );
        }
        eprintln!(
            "songs: {} uncached reads, {} cached...",
            cold.len(),
            config.song_reads
        );
        let uncached = timed_gets(addr, &cold, None, |_, _, _| Ok(())).await?;
        let warm: Vec<String> = warm_ids
            .iter()
            .map(|id| format!("/api/songs/{id}"))
            .collect();
        timed_gets(addr, &warm, None, |_, _, _| Ok(())).await?;
        let hot: Vec<String> = (0..config.song_reads)
            .map(|i| warm[i % warm.len()].clone())
            .collect();
        let cached = timed_gets(addr, &hot, None, |_, _, _| Ok(())).await?;

        // The same bytes from both servers, checked once.
        let www = dir.path().join("www");
        std::fs::create_dir_all(&www)?;
        std::fs::write(www.join("song.wav"), &media)?;
        let nginx = Nginx::start(dir.path(), &www)?;
        for (server, at, path) in [
            ("catalog", addr, media_url.as_str()),
            ("nginx", nginx.addr, "/song.wav"),
        ] {
            let (status, body) = crate::load::get(at, path).await?;
            if status != StatusCode::OK || body != media {
                bail!(
                    "{server}: GET {path} answered {status} with {} bytes, not the {} uploaded",
                    body.len(),
                    media.len()
                );
            }
        }
        eprintln!(
            "streaming: {} connections, {} round(s) of {}s warm-up + {}s each...",
            config.connections,
            config.rounds,
            config.warmup.as_secs_f64(),
            config.duration.as_secs_f64()
        );
        // Alternating rounds, so that other load on the machine falls on both alike.
        let mut catalog = Throughput::default();
        let mut nginx_total = Throughput::default();
        for round in 1..=config.rounds {
            eprintln!("  round {round}/{}: catalog...", config.rounds);
            catalog.add(&throughput(addr, &media_url, config).await?);
            eprintln!(
                "  round {round}/{}: nginx on {}...",
                config.rounds, nginx.addr
            );
            nginx_total.add(&throughput(nginx.addr, "/song.wav", config).await?);
        }
        drop(nginx);
        Ok(CatalogResult {
            seed_secs,
            search,
            search_hits,
            by_query,
            uncached,
            cached,
            media_bytes: media.len() as u64,
            catalog,
            nginx: nginx_total,
        })
    });
    server_rt.block_on(app.stop());
    result
}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// Where the app started by [`start_app`] keeps the SQLite database `label`.
pub(crate) fn database(dir: &Path, label: &str) -> PathBuf {
    dir.join(format!("{label}.db"))
}

/// The repository's `runtime-config.toml` with every SQLite database at
/// [`database`]`(dir, label)`.
pub(crate) fn isolated_runtime_config(root: &Path, dir: &Path) -> Result<String> {
    let config = std::fs::read_to_string(root.join("runtime-config.toml"))
        .context("cannot read runtime-config.toml")?;
    let mut runtime_config = String::new();
    for label in config.lines().filter_map(|line| {
        line.trim()
            .strip_prefix("[sqlite_database.")
            .and_then(|rest| rest.strip_suffix(']'))
    }) {
        runtime_config.push_str(&format!(
            "[sqlite_database.{label}]\ntype = \"spin\"\npath = {:?}\n\n",
            database(dir, label).display().to_string()
        ));
    }
    Ok(runtime_config)
}

/// The real `spin.toml` in-process (the test harness's `TestApp`, its own `redis-server`), every
/// SQLite database of the repository's `runtime-config.toml` at [`database`]`(dir, label)`,
/// rate limits lifted and streaming URLs valid for an hour.
pub(crate) fn start_app(root: &Path, dir: &Path, server_rt: &Runtime) -> Result<TestApp> {
    start_app_with(root, dir, &[], server_rt)
}

/// [`start_app`] with more application variables.
pub(crate) fn start_app_with(
    root: &Path,
    dir: &Path,
    variables: &[(&str, &str)],
    server_rt: &Runtime,
) -> Result<TestApp> {
    let runtime_config = isolated_runtime_config(root, dir)?;
    server_rt
        .block_on(
            TestApp::builder(root.join("spin.toml"))
                .variable("auth_rate_limits", LIFTED_LIMITS)
                .variable("stream_url_ttl_secs", "3600")
                .variables(variables)
                .runtime_config(runtime_config)
                .start(),
        )
        .context(
            "failed to start the app (are the components built? run `target/host/spindle build`)",
        )
}

// ---------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------

const FIRST_NAMES: &str = "\
    Ava Liam Noor Mateo Yuki Amara Felix Ines Kofi Saoirse Dmitri Lucia Tariq Freya Hiro \
    Zara Emeka Clara Rafael Signe Omar Beatriz Jonas Mei Aurelien Priya Lars Chloé Kwame \
    Elena";
const LAST_NAMES: &str = "\
    Lindqvist Okafor Moreau Tanaka Rossi Haddad Novak Fernández Kowalski Nakamura Byrne \
    Petrov Mensah Larsen Dubois Ibrahim Schmidt Costa Sato Quinn Varga Okoye Bergström Silva \
    Achterberg Delacroix Hale Mwangi Ortega Yilmaz Ferreira Kaur Andersen Whitlock Reyes \
    Nilsen Abara Castellano Forsberg Gallagher";
const BANDS: &str = "\
    Electric Velvet Neon Paper Glass Crimson Silver Hollow Wild Golden Midnight Lunar Static \
    Northern Copper Echo";
const BAND_NOUNS: &str = "\
    Owls Tigers Harbour Collective Machines Foxes Lanterns Orchestra Ghosts Parade Rivers \
    Satellites Wolves Society";
const TITLE_WORDS: &str = "\
    love night heart fire river summer midnight dream light rain city lonely golden blue \
    wild forever dance shadow ocean highway stars moon sunrise winter electric paradise \
    broken home memory silence thunder velvet echo desert morning falling whisper storm \
    garden neon satellite mountain letters gravity kingdom horizon ghost honey lullaby \
    carousel harbour lantern mirror paper runaway saturday tonight yesterday wonder wildfire \
    blossom diamond emerald fever glory hurricane island jasmine kaleidoscope labyrinth \
    meadow nostalgia orbit phoenix quiet rhapsody serenade tide universe vertigo waves youth \
    zenith avenue ballad canyon daylight embers frontier glow heaven indigo journey kiss \
    lost magic north october promise rebel secret together under violet wander crystal \
    dancing sugar cherry bloom coastline afterglow starlight streets fading running waiting \
    burning calling holding chasing dreaming shining slow";
const GENRES: &str = "\
    pop rock jazz electronic hip-hop folk classical ambient soul indie metal reggae blues \
    country techno house r&b punk";
const TAGS: &str = "\
    chill upbeat acoustic live remix instrumental lofi summer workout focus sad romantic \
    party cover demo";

/// What the seeding wrote that the queries need.
struct Seeded {
    /// The public songs (anyone may read them).
    song_ids: Vec<String>,
    artist_names: Vec<String>,
}

/// Creates the catalog database at `path` with its migration applied and `songs` songs by
/// `artists` generated artists (one song in 20 private).
fn seed(root: &Path, path: &Path, songs: usize, artists: usize) -> Result<Seeded> {
    let mut rng = Rng(0x5eed_5eed);
    let start = seed_start()?;
    let artists: Vec<(String, String)> = (0..artists)
        .map(|i| {
            let id = ulid(start + i as u64, &mut rng);
            let name = if rng.below(3) == 0 {
                format!("The {} {}", rng.pick(BANDS), rng.pick(BAND_NOUNS))
            } else {
                format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES))
            };
            (id, name)
        })
        .collect();
    let song_ids = seed_songs(root, path, &artists, songs, Some(20), &mut rng)?;
    Ok(Seeded {
        song_ids,
        artist_names: artists.into_iter().map(|(_, name)| name).collect(),
    })
}

/// Writes `songs` public songs of the artist `(id, name)` (a user auth knows) into the catalog
/// database at `path`, as [`seed`] does: their ids.
pub(crate) fn seed_artist_songs(
    root: &Path,
    path: &Path,
    artist: (&str, &str),
    songs: usize,
) -> Result<Vec<String>> {
    let artists = [(artist.0.to_string(), artist.1.to_string())];
    seed_songs(root, path, &artists, songs, None, &mut Rng(0x5eed_5eed))
}

/// A year before now, in ms: the seeded songs were made since then.
fn seed_start() -> Result<u64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    Ok(now - 365 * 24 * 3600 * 1000)
}

/// Writes `artists` (id, name) and `songs` songs spread over them into the catalog database at
/// `path` — created with `migrations/catalog/0001_init.sql` applied (recorded as the catalog
/// records it) unless the catalog made it already — with the FTS `search` rows as
/// `components/catalog/src/search.rs` writes them. With `private_one_in: Some(n)` one song in
/// about `n` is private. The public songs' ids.
fn seed_songs(
    root: &Path,
    path: &Path,
    artists: &[(String, String)],
    songs: usize,
    private_one_in: Option<usize>,
    rng: &mut Rng,
) -> Result<Vec<String>> {
    let mut conn = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // The app may be running and using the database.
    conn.busy_timeout(Duration::from_secs(10))?;
    let migrated: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'",
        [],
        |row| row.get(0),
    )?;
    if migrated == 0 {
        let schema = std::fs::read_to_string(root.join("migrations/catalog/0001_init.sql"))
            .context("cannot read migrations/catalog/0001_init.sql")?;
        conn.execute_batch(&schema)
            .context("applying 0001_init.sql")?;
        // As crates/shared/src/migrations.rs records it: the catalog sees version 1 applied.
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations (version, applied_at) VALUES (1, datetime('now'));",
        )?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let start = seed_start()?;
    let tx = conn.transaction()?;
    {
        let mut insert_artist = tx.prepare(
            "INSERT INTO artists (id, name, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        )?;
        let mut index = tx.prepare(
            "INSERT INTO search (kind, ref_id, name, extra) VALUES ('artist', ?1, ?2, '')",
        )?;
        for (id, name) in artists {
            insert_artist.execute(rusqlite::params![id, name, start as i64])?;
            index.execute(rusqlite::params![id, name])?;
        }
    }
    let mut song_ids = Vec::with_capacity(songs);
    {
        let mut insert_song = tx.prepare(
            "INSERT INTO songs (id, artist_id, title, genre, tags, is_public, is_visible,
               published_at, duration_ms, bitrate_kbps, sample_rate, channels, codec, mime,
               size_bytes, sha256, media_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 320, 44100, 2, 'mp3', 'audio/mpeg', ?9,
               ?10, ?11, ?12, ?12)",
        )?;
        let mut index = tx.prepare(
            "INSERT INTO search (kind, ref_id, name, extra) VALUES ('song', ?1, ?2, ?3)",
        )?;
        let step = (now - start) / songs.max(1) as u64;
        for i in 0..songs {
            let created = start + i as u64 * step.max(1);
            let id = ulid(created, rng);
            let (artist_id, artist_name) = &artists[rng.below(artists.len())];
            let words = 1 + rng.below(3);
            let title = (0..words)
                .map(|_| title_case(rng.pick(TITLE_WORDS)))
                .collect::<Vec<_>>()
                .join(" ");
            let genre = rng.pick(GENRES);
            let tags: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(TAGS)).collect();
            // Search must filter the private ones out.
            let public = private_one_in.is_none_or(|n| rng.below(n) != 0);
            let duration = 90_000 + rng.below(240_000) as i64;
            let sha256 = format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.next(),
                rng.next(),
                rng.next(),
                i
            );
            insert_song.execute(rusqlite::params![
                id,
                artist_id,
                title,
                genre,
                serde_json::to_string(&tags)?,
                public,
                public.then_some(created as i64),
                duration,
                duration * 40,
                sha256,
                ulid(created, rng),
                created as i64,
            ])?;
            // As search::index_song: artist name, genre and tags, space-separated.
            let extra = [artist_name.as_str(), genre]
                .into_iter()
                .chain(tags.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            index.execute(rusqlite::params![id, title, extra])?;
            if public {
                song_ids.push(id);
            }
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA optimize;")?;
    Ok(song_ids)
}

/// What people type: whole words, prefixes, two words, artist names, a genre.
fn queries(seeded: &Seeded) -> Vec<String> {
    let mut queries: Vec<String> = [
        "love",
        "midnight",
        "river",
        "summer rain",
        "golden hour",
        "electric dreams",
        "lov",
        "mid",
        "rhaps",
        "thund",
        "kalei",
        "neon lights",
        "broken heart",
        "jazz",
        "lofi",
        "ocean w",
        "star",
        "dancing in the",
        "winter",
        "hurricane",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let mut rng = Rng(7);
    for _ in 0..5 {
        let name = &seeded.artist_names[rng.below(seeded.artist_names.len())];
        queries.push(name.clone());
        // The surname (or band noun) alone.
        queries.push(name.rsplit(' ').next().unwrap_or(name).to_string());
    }
    queries
}

// ---------------------------------------------------------------------------------------------
// The artist's upload
// ---------------------------------------------------------------------------------------------

/// Registers an artist, uploads `media` and returns its signed media URL.
async fn upload(app: &TestApp, media: &[u8]) -> Result<String> {
    let artist = register_named(app, EMAIL, "artist", ARTIST_NAME).await;
    let form = Form::new()
        .text("title", "Bench Stream")
        .file("audio", "bench.wav", media.to_vec());
    let started = Instant::now();
    let uploaded = media::upload(app, artist.bearer(), &form).await;
    expect(&uploaded, 201, "upload")?;
    eprintln!("  uploaded in {:.2}s", started.elapsed().as_secs_f64());
    let song_id = uploaded.json::<Value>()["id"]
        .as_str()
        .context("no song id")?
        .to_string();
    let stream = app
        .send_as(
            &artist.token,
            reqwest::Method::GET,
            &format!("/api/songs/{song_id}/stream"),
            None,
        )
        .await;
    expect(&stream, 200, "stream URL")?;
    Ok(stream.json::<Value>()["url"]
        .as_str()
        .context("no url")?
        .to_string())
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

/// What the searches answered: songs and artists in all, and each path's latencies (µs).
#[derive(Default)]
struct SearchStats {
    hits: usize,
    by_path: std::collections::HashMap<String, Vec<u64>>,
}

impl SearchStats {
    /// Counts what one search answered.
    fn count(&mut self, path: &str, body: &[u8], micros: u64) -> Result<()> {
        let found: Value = serde_json::from_slice(body)?;
        self.hits += found["songs"].as_array().map_or(0, Vec::len)
            + found["artists"].as_array().map_or(0, Vec::len);
        self.by_path
            .entry(path.to_string())
            .or_default()
            .push(micros);
        Ok(())
    }
}

/// Downloads `path` over `config.connections` connections, again and again; the body bytes
/// received inside the measured window.
async fn throughput(addr: SocketAddr, path: &str, config: &Config) -> Result<Throughput> {
    let measure_from = tokio::time::Instant::now() + config.warmup;
    let until = measure_from + config.duration;
    let tasks: Vec<_> = (0..config.connections)
        .map(|_| {
            let path = path.to_string();
            tokio::spawn(async move {
                let host = HeaderValue::from_str(&addr.to_string())?;
                let mut sender = connect::<Empty<bytes::Bytes>>(addr).await?;
                let (mut bytes, mut responses) = (0u64, 0u64);
                while tokio::time::Instant::now() < until {
                    if sender.is_closed() {
                        sender = connect(addr).await?;
                    }
                    sender.ready().await?;
                    let request = Request::get(path.as_str())
                        .header(HOST, host.clone())
                        .body(Empty::new())?;
                    let response =
                        tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(request))
                            .await??;
                    if response.status() != StatusCode::OK {
                        bail!("GET {path} answered {}", response.status());
                    }
                    let mut body = response.into_body();
                    while let Some(frame) =
                        tokio::time::timeout(REQUEST_TIMEOUT, body.frame()).await?
                    {
                        let now = tokio::time::Instant::now();
                        if let Ok(data) = frame?.into_data()
                            && now >= measure_from
                            && now < until
                        {
                            bytes += data.len() as u64;
                        }
                    }
                    let now = tokio::time::Instant::now();
                    if now >= measure_from && now < until {
                        responses += 1;
                    }
                }
                anyhow::Ok((bytes, responses))
            })
        })
        .collect();
    let mut total = Throughput {
        bytes: 0,
        responses: 0,
        window: config.duration,
    };
    for task in tasks {
        let (bytes, responses) = task.await.context("a streaming task panicked")??;
        total.bytes += bytes;
        total.responses += responses;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------------

/// Debian's nginx serving `root` on a free loopback port, in the foreground; stopped (and its
/// workers with it) when dropped, or when this thread dies.
struct Nginx {
    child: Child,
    addr: SocketAddr,
}

impl Nginx {
    fn start(dir: &Path, root: &Path) -> Result<Self> {
        let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .context("nginx is not installed (scripts/bench installs Debian's nginx)")?;
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(&prefix)?;
        // The workers may run as another user (nobody): let them read the file.
        for path in [dir, root] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
        }
        for entry in std::fs::read_dir(root)? {
            std::fs::set_permissions(entry?.path(), std::fs::Permissions::from_mode(0o644))?;
        }
        let port = spindle_tests::free_loopback_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let p = prefix.display();
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes auto;\n\
                 pid {p}/nginx.pid;\n\
                 error_log {p}/error.log warn;\n\
                 events {{ worker_connections 1024; }}\n\
                 http {{\n\
                 \x20   access_log off;\n\
                 \x20   sendfile on;\n\
                 \x20   tcp_nopush on;\n\
                 \x20   keepalive_requests 100000;\n\
                 \x20   default_type application/octet-stream;\n\
                 \x20   client_body_temp_path {p}/client_body;\n\
                 \x20   proxy_temp_path {p}/proxy;\n\
                 \x20   fastcgi_temp_path {p}/fastcgi;\n\
                 \x20   uwsgi_temp_path {p}/uwsgi;\n\
                 \x20   scgi_temp_path {p}/scgi;\n\
                 \x20   server {{\n\
                 \x20       listen {addr};\n\
                 \x20       root {};\n\
                 \x20   }}\n\
                 }}\n",
                root.display()
            ),
        )?;
        let mut command = Command::new(&binary);
        command
            .arg("-p")
            .arg(&prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // SAFETY: only async-signal-safe calls between fork and exec. SIGTERM is nginx's fast
        // shutdown: the master stops its workers too.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut nginx = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = nginx.child.try_wait()? {
                let log = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
                bail!("nginx exited with {status}: {log}");
            }
            if StdTcpStream::connect(addr).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                bail!("nginx did not listen on {addr} within 10s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

pub fn print(result: &CatalogResult, config: &Config) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!(
        "catalog: {} songs, {} artists (seeded in {:.1}s)",
        config.songs, config.artists, result.seed_secs
    );
    println!("| request                        | count | p50 ms | p99 ms |");
    println!("|--------------------------------|------:|-------:|-------:|");
    for (name, h) in [
        ("GET /api/search?q=…", &result.search),
        ("GET /api/songs/:id uncached", &result.uncached),
        ("GET /api/songs/:id cached", &result.cached),
    ] {
        println!(
            "| {name:<30} | {:>5} | {:>6.2} | {:>6.2} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99)
        );
    }
    println!(
        "search: {:.1} results per query on average; slowest queries (median):",
        result.search_hits
    );
    for (query, micros) in result.by_query.iter().take(5) {
        println!("  {query:?}: {:.1} ms", *micros as f64 / 1000.0);
    }
    println!();
    println!(
        "streaming a {:.1} MiB WAV over {} connections ({} × {}s each):",
        result.media_bytes as f64 / (1u64 << 20) as f64,
        config.connections,
        config.rounds,
        config.duration.as_secs_f64()
    );
    println!("| server  |   MB/s | responses |");
    println!("|---------|-------:|----------:|");
    for (name, t) in [("catalog", &result.catalog), ("nginx", &result.nginx)] {
        println!(
            "| {name:<7} | {:>6.1} | {:>9} |",
            t.mb_per_sec(),
            t.responses
        );
    }
    let ratio = result.ratio_percent();
    println!(
        "ratio catalog/nginx: {ratio:.1}% (target ≥ {MIN_STREAM_RATIO_PERCENT}%: {})",
        if ratio >= MIN_STREAM_RATIO_PERCENT {
            "ok"
        } else {
            "MISSED"
        }
    );
}

pub fn to_json(result: &CatalogResult, config: &Config) -> Value {
    let summary = crate::load::latency_json;
    let stream = |t: &Throughput| {
        json!({
            "bytes": t.bytes,
            "responses": t.responses,
            "seconds": t.window.as_secs_f64(),
            "mb_per_sec": t.mb_per_sec(),
        })
    };
    json!({
        "songs": config.songs,
        "artists": config.artists,
        "seed_secs": result.seed_secs,
        "search": summary(&result.search),
        "search_results_per_query": result.search_hits,
        "search_median_us_by_query": result
            .by_query
            .iter()
            .map(|(q, us)| json!({ "q": q, "p50_us": us }))
            .collect::<Vec<_>>(),
        "song_uncached": summary(&result.uncached),
        "song_cached": summary(&result.cached),
        "stream": {
            "media_bytes": result.media_bytes,
            "connections": config.connections,
            "rounds": config.rounds,
            "warmup_secs": config.warmup.as_secs_f64(),
            "catalog": stream(&result.catalog),
            "nginx": stream(&result.nginx),
            "ratio_percent": result.ratio_percent(),
        },
        "targets": { "min_stream_ratio_percent": MIN_STREAM_RATIO_PERCENT },
    })
}
