//! `--suite playlists`: reading and editing a long playlist (issue 6). The real `spin.toml`
//! runs in-process as in the catalog suite ([`start_app`]: the test harness's
//! `TestApp` with its own `redis-server`, every SQLite database in a temporary directory, rate
//! limits lifted).
//!
//! * **Set-up**: an artist and a listener register; `--playlist-tracks` (1,000) public songs of
//!   the artist are written straight into the catalog's database the way the catalog suite
//!   seeds it ([`seed_artist_songs`]); the listener creates a public playlist and adds
//!   them through the API, 100 a request (`POST /api/playlists/:id/songs {songIds}`, timed).
//! * **Reads**: `--playlist-gets` sequential `GET /api/playlists/:id`, each on one keep-alive
//!   connection, as the owner and as many anonymous; every answer must be 200 with every track
//!   available. For comparison, as many reads of a one-track playlist (what does not grow with
//!   the tracks) and of the catalog's own `POST /api/songs/batch` with 100 ids, with the
//!   listener's token and without (what the playlist asks the catalog, ten calls at once, for
//!   1,000 tracks). The kinds take turns in alternating rounds, so that other load on the
//!   machine falls on all of them alike.
//! * **Writes**: `--playlist-writes` pairs of `POST /api/playlists/:id/songs {songId,
//!   position: 0}` and `DELETE /api/playlists/:id/songs/:entryId` of that entry, as the
//!   owner: each shifts the position of every entry of the full playlist.

use crate::catalog::{database, seed_artist_songs, start_app};
use crate::load::{Client, new_histogram, timed_gets};
use anyhow::{Context, Result, bail, ensure};
use hdrhistogram::Histogram;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use spindle_tests::accounts::register_named;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;
use tokio::runtime::Runtime;

/// Songs a request adds while filling the playlist (the API's limit).
const FILL_CHUNK: usize = 100;
/// The catalog's batch limit (ids a call).
const BATCH_IDS: usize = 100;
/// Untimed requests of each kind before the timed ones.
const WARMUP: usize = 10;
/// The reads are measured in this many rounds, each of every kind in turn, so that other load
/// on the machine falls on every kind alike.
const ROUNDS: usize = 4;

pub struct Config {
    /// Tracks of the long playlist.
    pub tracks: usize,
    /// Timed reads of each kind.
    pub gets: usize,
    /// Timed add + remove pairs.
    pub writes: usize,
}

pub struct PlaylistsResult {
    pub seed_secs: f64,
    /// The `POST …/songs {songIds: [100]}` requests that filled the playlist.
    pub fill: Histogram<u64>,
    /// Bytes of one answer to `GET /api/playlists/:id` (the owner's).
    pub view_bytes: usize,
    pub owner: Histogram<u64>,
    pub anonymous: Histogram<u64>,
    /// `GET` of a one-track playlist, as its owner.
    pub one_track: Histogram<u64>,
    /// The catalog's `POST /api/songs/batch` with 100 ids, as the listener and anonymous.
    pub batch: Histogram<u64>,
    pub batch_anonymous: Histogram<u64>,
    pub add: Histogram<u64>,
    pub remove: Histogram<u64>,
    pub pair: Histogram<u64>,
}

pub fn run(
    root: &Path,
    config: &Config,
    server_rt: &Runtime,
    load_rt: &Runtime,
) -> Result<PlaylistsResult> {
    let dir = tempfile::Builder::new()
        .prefix("spindle-bench-playlists-")
        .tempdir()?;
    let app = start_app(root, dir.path(), server_rt)?;
    let addr = app.addr;
    let (artist, listener) = server_rt.block_on(async {
        (
            register_named(&app, "bench-artist@example.com", "artist", "Bench Artist").await,
            register_named(
                &app,
                "bench-listener@example.com",
                "listener",
                "Bench Listener",
            )
            .await,
        )
    });

    eprintln!(
        "playlists: seeding {} songs of {} into the catalog...",
        config.tracks, artist.name
    );
    let started = Instant::now();
    let song_ids = seed_artist_songs(
        root,
        &database(dir.path(), "catalog"),
        (&artist.id, &artist.name),
        config.tracks,
    )?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("  seeded in {seed_secs:.2}s");

    let result = load_rt.block_on(async {
        let token = listener.token.as_str();
        let mut client = Client::connect(addr).await?;

        // The long playlist, filled through the API 100 songs a request.
        let id = create(&mut client, token, "Bench: a long playlist").await?;
        let base = format!("/api/playlists/{id}");
        eprintln!(
            "playlists: adding {} songs to {base}, {FILL_CHUNK} a request...",
            song_ids.len()
        );
        let mut fill = new_histogram();
        for chunk in song_ids.chunks(FILL_CHUNK) {
            let body = json!({ "songIds": chunk });
            let answer = send(
                &mut client,
                Method::POST,
                &format!("{base}/songs"),
                Some(token),
                Some(body),
                201,
            )
            .await?;
            fill.record(answer.1)?;
            let added = answer.0["entries"].as_array().map_or(0, Vec::len);
            ensure!(
                added == chunk.len(),
                "{added} entries added, not {}",
                chunk.len()
            );
        }

        // A one-track playlist, for what a read costs whatever the length.
        let short = create(&mut client, token, "Bench: one track").await?;
        send(
            &mut client,
            Method::POST,
            &format!("/api/playlists/{short}/songs"),
            Some(token),
            Some(json!({ "songId": song_ids[0] })),
            201,
        )
        .await?;

        let check = |tracks: usize| {
            move |path: &str, body: &[u8], _micros: u64| check_view(path, body, tracks)
        };
        let paths = |path: &str, n: usize| vec![path.to_string(); n];

        let short_path = format!("/api/playlists/{short}");
        let first = get_body(addr, &base, Some(token)).await?;
        check_view(&base, &first, song_ids.len())?;
        let view_bytes = first.len();
        eprintln!(
            "reads: {} sequential GET {base} each as the owner and anonymous, and of a \
             one-track playlist; {} catalog batches of {BATCH_IDS} ids each with a token and \
             without; in {ROUNDS} alternating rounds...",
            config.gets, config.gets
        );
        // Owner, anonymous, one track, batch with a token, batch without.
        let mut reads: [Histogram<u64>; 5] = std::array::from_fn(|_| new_histogram());
        // Untimed: a round of WARMUP each first.
        for round in 0..=ROUNDS {
            let n = if round == 0 {
                WARMUP
            } else {
                config.gets / ROUNDS + usize::from(round <= config.gets % ROUNDS)
            };
            let long = paths(&base, n);
            let one = paths(&short_path, n);
            let measured = [
                timed_gets(addr, &long, Some(token), check(song_ids.len())).await?,
                timed_gets(addr, &long, None, check(song_ids.len())).await?,
                timed_gets(addr, &one, Some(token), check(1)).await?,
                catalog_batches(addr, Some(token), &song_ids, n).await?,
                catalog_batches(addr, None, &song_ids, n).await?,
            ];
            if round > 0 {
                for (total, h) in reads.iter_mut().zip(&measured) {
                    total.add(h)?;
                }
            }
        }

        eprintln!(
            "writes: {} add (at 0) + remove pairs on {base}...",
            config.writes
        );
        let (mut add, mut remove, mut pair) = (new_histogram(), new_histogram(), new_histogram());
        for i in 0..WARMUP + config.writes {
            let song = &song_ids[i % song_ids.len()];
            let (added, add_us) = send(
                &mut client,
                Method::POST,
                &format!("{base}/songs"),
                Some(token),
                Some(json!({ "songId": song, "position": 0 })),
                201,
            )
            .await?;
            let entry = added["entry"]["entryId"]
                .as_str()
                .context("no entry.entryId")?;
            ensure!(
                added["entry"]["position"] == 0,
                "the entry was added at {}",
                added["entry"]["position"]
            );
            let (_, remove_us) = send(
                &mut client,
                Method::DELETE,
                &format!("{base}/songs/{entry}"),
                Some(token),
                None,
                204,
            )
            .await?;
            if i >= WARMUP {
                add.record(add_us)?;
                remove.record(remove_us)?;
                pair.record(add_us + remove_us)?;
            }
        }
        // The playlist is as it was: every track, positions 0.. without a gap.
        let after = get_body(addr, &base, Some(token)).await?;
        check_view(&base, &after, song_ids.len())?;
        let view: Value = serde_json::from_slice(&after)?;
        let in_order = view["tracks"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .all(|(i, t)| t["position"] == i && t["songId"] == song_ids[i].as_str());
        ensure!(
            in_order,
            "after the writes the tracks are not the songs added, at 0.."
        );

        let [owner, anonymous, one_track, batch, batch_anonymous] = reads;
        anyhow::Ok(PlaylistsResult {
            seed_secs,
            fill,
            view_bytes,
            owner,
            anonymous,
            one_track,
            batch,
            batch_anonymous,
            add,
            remove,
            pair,
        })
    });
    server_rt.block_on(app.stop());
    result
}

/// Creates a public playlist as `token`'s holder: its id.
async fn create(client: &mut Client, token: &str, title: &str) -> Result<String> {
    let body = json!({ "title": title, "isPublic": true });
    let (view, _) = send(
        client,
        Method::POST,
        "/api/playlists",
        Some(token),
        Some(body),
        201,
    )
    .await?;
    Ok(view["id"].as_str().context("no playlist id")?.to_string())
}

/// One request expected to answer `status`: its JSON body (`null` when empty) and latency (µs).
async fn send(
    client: &mut Client,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    status: u16,
) -> Result<(Value, u64)> {
    let json = body.map(|b| serde_json::to_vec(&b)).transpose()?;
    let answer = client.send(method.clone(), path, token, json).await?;
    if answer.status.as_u16() != status {
        bail!(
            "{method} {path}: expected {status}, got {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    let value = if answer.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&answer.body)
            .with_context(|| format!("{method} {path}: the answer is not JSON"))?
    };
    Ok((value, answer.micros))
}

/// One untimed `GET` on a connection of its own, expected to answer 200: the body.
async fn get_body(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<bytes::Bytes> {
    let answer = Client::connect(addr)
        .await?
        .send(Method::GET, path, token, None)
        .await?;
    if answer.status != StatusCode::OK {
        bail!(
            "GET {path} answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(answer.body)
}

/// A playlist view with `tracks` tracks, every one available with its song.
fn check_view(path: &str, body: &[u8], tracks: usize) -> Result<()> {
    let view: Value =
        serde_json::from_slice(body).with_context(|| format!("GET {path}: not JSON"))?;
    let list = view["tracks"]
        .as_array()
        .with_context(|| format!("GET {path}: no tracks"))?;
    ensure!(
        list.len() == tracks && view["trackCount"] == tracks,
        "GET {path}: {} tracks (trackCount {}), not {tracks}",
        list.len(),
        view["trackCount"]
    );
    if let Some(missing) = list
        .iter()
        .find(|t| t["available"] != true || !t["song"].is_object())
    {
        bail!("GET {path}: a track without its song: {missing}");
    }
    Ok(())
}

/// `count` `POST /api/songs/batch` of 100 of `song_ids`, as `token`'s holder (anonymous
/// when `None`), each expected to answer every song.
async fn catalog_batches(
    addr: SocketAddr,
    token: Option<&str>,
    song_ids: &[String],
    count: usize,
) -> Result<Histogram<u64>> {
    let mut client = Client::connect(addr).await?;
    let chunks: Vec<&[String]> = song_ids.chunks(BATCH_IDS).collect();
    let mut histogram = new_histogram();
    for i in 0..count {
        let ids = chunks[i % chunks.len()];
        let (answer, micros) = send(
            &mut client,
            Method::POST,
            "/api/songs/batch",
            token,
            Some(json!({ "ids": ids })),
            200,
        )
        .await?;
        let found = answer["items"].as_array().map_or(0, Vec::len);
        ensure!(
            found == ids.len(),
            "the catalog answered {found} of {} songs",
            ids.len()
        );
        histogram.record(micros)?;
    }
    Ok(histogram)
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

/// The rows of the table: name and latencies.
fn rows<'a>(result: &'a PlaylistsResult, config: &Config) -> Vec<(String, &'a Histogram<u64>)> {
    let n = config.tracks;
    vec![
        (format!("GET /api/playlists/:id ({n}) owner"), &result.owner),
        (
            format!("GET /api/playlists/:id ({n}) anon"),
            &result.anonymous,
        ),
        (
            "GET /api/playlists/:id (1) owner".to_string(),
            &result.one_track,
        ),
        (
            format!("POST /api/songs/batch ({BATCH_IDS} ids) token"),
            &result.batch,
        ),
        (
            format!("POST /api/songs/batch ({BATCH_IDS} ids) anon"),
            &result.batch_anonymous,
        ),
        (
            format!("POST …/songs {{songIds: {FILL_CHUNK}}}"),
            &result.fill,
        ),
        (format!("POST …/songs {{songId}} at 0 ({n})"), &result.add),
        (format!("DELETE …/songs/:entryId ({n})"), &result.remove),
        ("  add + remove pair".to_string(), &result.pair),
    ]
}

/// Requests a second on one connection, one after another: 1 / mean latency.
fn per_sec(h: &Histogram<u64>) -> f64 {
    1e6 / h.mean()
}

pub fn print(result: &PlaylistsResult, config: &Config) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!(
        "playlists: {} tracks (songs seeded in {:.2}s), one answer {} bytes",
        config.tracks, result.seed_secs, result.view_bytes
    );
    println!(
        "| request                                  | count | p50 ms | p99 ms | mean ms | req/s |"
    );
    println!(
        "|------------------------------------------|------:|-------:|-------:|--------:|------:|"
    );
    for (name, h) in rows(result, config) {
        println!(
            "| {name:<40} | {:>5} | {:>6.2} | {:>6.2} | {:>7.2} | {:>5.0} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99),
            h.mean() / 1000.0,
            per_sec(h)
        );
    }
    println!("(sequential, one keep-alive connection; req/s = 1 / mean)");
}

pub fn to_json(result: &PlaylistsResult, config: &Config) -> Value {
    let summary = |h: &Histogram<u64>| {
        let mut summary = crate::load::latency_json(h);
        summary["requests_per_sec"] = json!(per_sec(h));
        summary
    };
    json!({
        "tracks": config.tracks,
        "seed_secs": result.seed_secs,
        "view_bytes": result.view_bytes,
        "get_owner": summary(&result.owner),
        "get_anonymous": summary(&result.anonymous),
        "get_one_track_owner": summary(&result.one_track),
        "catalog_batch_100": summary(&result.batch),
        "catalog_batch_100_anonymous": summary(&result.batch_anonymous),
        "fill_add_100": summary(&result.fill),
        "add_at_0": summary(&result.add),
        "remove": summary(&result.remove),
        "add_remove_pair": summary(&result.pair),
    })
}
