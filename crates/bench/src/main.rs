//! `spindle-bench`: measures spindle-host serving `GET /health` against a native hyper
//! hello-world server on loopback, in one run and with the same load generator, plus the
//! cost of one instantiation of the `health` component. Prints a table and writes
//! `target/bench/host.json`.
//!
//! `--suite events` measures the event bus instead (publish → handled latency and burst
//! throughput through the fixture `tests/fixtures/events.toml` against a private
//! `redis-server`; see [`events`]) and writes `target/bench/events.json`. `--suite auth`
//! measures login latency and token verification inside a component ([`auth`]) and writes
//! `target/bench/auth.json`. `--suite catalog` measures the catalog component with 100,000
//! seeded songs (search, song reads cached and not, media streaming against nginx; see
//! [`catalog`]) and writes `target/bench/catalog.json`. `--suite playlists` measures the
//! playlists component with a 1,000-track playlist (`GET /api/playlists/:id` as the owner and
//! anonymous, and adding and removing tracks that shift every position; see [`playlists`]) and
//! writes `target/bench/playlists.json`. `--suite sync` measures the sync component with 100
//! and 1,000 devices long-polling (command → other device notified latency, and the memory of
//! the host, run as a separate process; see [`sync`]) and writes `target/bench/sync.json`;
//! `--suite web` measures the web component serving the built player (the page, the app's
//! script, an app path; see [`web`]) and writes `target/bench/web.json`. `--suite all` runs
//! them all.
//!
//! `--suite recs` measures the activity component's recommendations on a generated dataset
//! with planted tastes (100,000 songs, 10,000 users, 1,000,000 listens): hit rate and NDCG at
//! 10 of for-you and similar against a most-popular baseline, their latency and trending's,
//! and ingesting 10,000 listens through the tracking API (see [`recs`]); it writes
//! `target/bench/recs.json` and is part of `--suite all` too.
//!
//! The server under test and the load generator each get their own tokio runtime (2 worker
//! threads each), so both servers are measured the same way.

mod auth;
mod catalog;
mod events;
mod generate;
mod load;
mod native;
mod playlists;
mod recs;
mod sync;
mod web;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use load::LoadResult;
use native::NativeServer;
use serde_json::json;
use spindle_host::{RunningApp, UpOptions};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;

const PATH: &str = "/health";
const COMPONENT: &str = "health";
const INSTANTIATION_WARMUP: u32 = 200;
const INSTANTIATION_ITERATIONS: u32 = 2000;
/// The targets the run is checked against.
const MIN_RATIO_PERCENT: f64 = 8.0;
const MAX_INSTANTIATION_US: f64 = 100.0;

#[derive(Parser)]
#[command(
    name = "spindle-bench",
    about = "Benchmark spindle-host's /health against a native hyper server, and the event bus"
)]
struct Args {
    /// What to measure: HTTP serving, the event bus, or both.
    #[arg(long, value_enum, default_value_t = Suite::Http)]
    suite: Suite,
    /// Measured seconds per (server, connections) pair, after the warm-up.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Warm-up seconds before each measurement.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Connection counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    connections: Vec<usize>,
    /// Measure only one of the servers.
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Events suite: events timed one by one for the publish → handled latency.
    #[arg(long, default_value_t = 2000)]
    event_count: usize,
    /// Events suite: untimed events published the same way first.
    #[arg(long, default_value_t = 100)]
    event_warmup: usize,
    /// Events suite: milliseconds between two publishes in the latency phase.
    #[arg(long, default_value_t = 2.0)]
    event_interval_ms: f64,
    /// Events suite: events in the throughput burst.
    #[arg(long, default_value_t = 10_000)]
    event_burst: usize,
    /// Events suite: seconds each phase may take beyond its publishing schedule before the
    /// run stops with an error.
    #[arg(long, default_value_t = 120.0)]
    event_timeout: f64,
    /// Auth suite: timed logins of each kind (existing account, unknown email).
    #[arg(long, default_value_t = 200)]
    login_count: usize,
    /// Auth suite: token verifications timed inside the component.
    #[arg(long, default_value_t = 5000)]
    verify_count: u32,
    /// Catalog suite: songs seeded into the catalog's database.
    #[arg(long, default_value_t = 100_000)]
    catalog_songs: usize,
    /// Catalog suite: artists the seeded songs belong to.
    #[arg(long, default_value_t = 2_000)]
    catalog_artists: usize,
    /// Catalog suite: timed searches (sequential, one connection).
    #[arg(long, default_value_t = 1_000)]
    search_count: usize,
    /// Catalog suite: timed song reads of each kind (uncached, cached).
    #[arg(long, default_value_t = 2_000)]
    song_reads: usize,
    /// Catalog suite: size of the streamed WAV in MiB.
    #[arg(long, default_value_t = 8)]
    media_mib: usize,
    /// Catalog suite: concurrent connections downloading the media (from the catalog, then
    /// from nginx); measured for --duration seconds after --warmup.
    #[arg(long, default_value_t = 4)]
    stream_connections: usize,
    /// Catalog suite: streaming rounds, each the catalog then nginx (the totals compared).
    #[arg(long, default_value_t = 3)]
    stream_rounds: usize,
    /// Playlists suite: tracks of the measured playlist (songs seeded into the catalog, then
    /// added through the API 100 a request).
    #[arg(long, default_value_t = 1_000)]
    playlist_tracks: usize,
    /// Playlists suite: timed `GET /api/playlists/:id` of each kind (owner, anonymous; and the
    /// comparisons), sequential over one connection.
    #[arg(long, default_value_t = 200)]
    playlist_gets: usize,
    /// Playlists suite: timed add-at-0 + remove pairs on the measured playlist.
    #[arg(long, default_value_t = 200)]
    playlist_writes: usize,
    /// Sync suite: devices of each run (a fresh host each), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    sync_devices: Vec<usize>,
    /// Sync suite: devices of each user.
    #[arg(long, default_value_t = 10)]
    sync_devices_per_user: usize,
    /// Sync suite: timed commands of each run.
    #[arg(long, default_value_t = 300)]
    sync_commands: usize,
    /// Sync suite: untimed commands before them.
    #[arg(long, default_value_t = 30)]
    sync_warmup: usize,
    /// Sync suite: commands a second, spread over the users (open loop).
    #[arg(long, default_value_t = 20.0)]
    sync_rate: f64,
    /// Sync suite: `wait` of every poll, in seconds (at most 30).
    #[arg(long, default_value_t = 25)]
    sync_wait: u64,
    /// Sync suite: seconds every other device of a user may take to be notified of a command
    /// (a device not notified by then counts as missed).
    #[arg(long, default_value_t = 10.0)]
    sync_timeout: f64,
    /// Recs suite: songs of the generated dataset (written into the catalog and activity).
    #[arg(long, default_value_t = 100_000)]
    recs_songs: usize,
    /// Recs suite: artists (each of one genre).
    #[arg(long, default_value_t = 5_000)]
    recs_artists: usize,
    /// Recs suite: users (tokens minted by the benchmark).
    #[arg(long, default_value_t = 10_000)]
    recs_users: usize,
    /// Recs suite: listens in all (each user's last 5 held out for the evaluation).
    #[arg(long, default_value_t = 1_000_000)]
    recs_listens: usize,
    /// Recs suite: the dataset's seed.
    #[arg(long, default_value_t = 8)]
    recs_seed: u64,
    /// Recs suite: users evaluated at most (0: all, within --recs-eval-secs).
    #[arg(long, default_value_t = 0)]
    recs_eval_users: usize,
    /// Recs suite: seconds after which no new user is evaluated (once the minimum is done).
    #[arg(long, default_value_t = 180.0)]
    recs_eval_secs: f64,
    /// Recs suite: users evaluated at least, whatever the time.
    #[arg(long, default_value_t = 2_000)]
    recs_eval_min_users: usize,
    /// Recs suite: concurrent connections of the evaluation, latency and ingest phases.
    #[arg(long, default_value_t = 4)]
    recs_concurrency: usize,
    /// Recs suite: timed requests of each latency kind (cold, then warm).
    #[arg(long, default_value_t = 300)]
    recs_latency_requests: usize,
    /// Recs suite: listens sent through the tracking API.
    #[arg(long, default_value_t = 10_000)]
    recs_ingest_listens: usize,
    /// Recs suite: listens of each user in the ingest (at most 25: 30 a minute is the limit).
    #[arg(long, default_value_t = 10)]
    recs_ingest_per_user: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Suite {
    Http,
    Events,
    Auth,
    Catalog,
    Playlists,
    Sync,
    Recs,
    Web,
    All,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Only {
    Host,
    Native,
}

struct Row {
    server: &'static str,
    connections: usize,
    result: LoadResult,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(args.duration > 0.0 && args.warmup >= 0.0) || args.connections.contains(&0) {
        bail!("--duration must be > 0, --warmup >= 0 and every connection count >= 1");
    }
    if !(args.event_interval_ms > 0.0 && args.event_timeout > 0.0)
        || args.event_count == 0
        || args.event_burst == 0
    {
        bail!(
            "--event-interval-ms and --event-timeout must be > 0, --event-count and \
             --event-burst >= 1"
        );
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let server_rt = runtime("server")?;
    let load_rt = runtime("load")?;
    let all = args.suite == Suite::All;
    if all || args.suite == Suite::Http {
        http_suite(&args, &root, &server_rt, &load_rt)?;
    }
    if all || args.suite == Suite::Events {
        events_suite(&args, &root, &server_rt, &load_rt)?;
    }
    if all || args.suite == Suite::Auth {
        auth_suite(&args, &root, &server_rt)?;
    }
    if all || args.suite == Suite::Catalog {
        catalog_suite(&args, &root, &server_rt, &load_rt)?;
    }
    if all || args.suite == Suite::Playlists {
        playlists_suite(&args, &root, &server_rt, &load_rt)?;
    }
    if all || args.suite == Suite::Sync {
        sync_suite(&args, &root, &load_rt)?;
    }
    if all || args.suite == Suite::Web {
        web_suite(&args, &root, &server_rt, &load_rt)?;
    }
    if all || args.suite == Suite::Recs {
        recs_suite(&args, &root, &server_rt, &load_rt)?;
    }
    Ok(())
}

fn web_suite(args: &Args, root: &Path, server_rt: &Runtime, load_rt: &Runtime) -> Result<()> {
    let config = web::Config {
        connections: args.connections.clone(),
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
    };
    let (running, _state_dir) = start_host(root, server_rt)?;
    let rows = web::run(running.http_addr(), &config, load_rt);
    server_rt.block_on(running.shutdown())?;
    let rows = rows?;
    web::print(&rows);
    let mut report = web::to_json(&rows, &config);
    stamp(&mut report);
    write_json(root, "web.json", &report)
}

fn auth_suite(args: &Args, root: &Path, server_rt: &Runtime) -> Result<()> {
    if args.login_count == 0 || args.verify_count == 0 {
        bail!("--login-count and --verify-count must be >= 1");
    }
    let config = auth::Config {
        logins: args.login_count,
        verifications: args.verify_count,
    };
    let result = auth::run(root, &config, server_rt)?;
    auth::print(&result);
    let mut report = auth::to_json(&result, &config);
    stamp(&mut report);
    write_json(root, "auth.json", &report)
}

fn catalog_suite(args: &Args, root: &Path, server_rt: &Runtime, load_rt: &Runtime) -> Result<()> {
    if args.catalog_songs == 0
        || args.catalog_artists == 0
        || args.search_count == 0
        || args.song_reads == 0
        || args.media_mib == 0
        || args.stream_connections == 0
        || args.stream_rounds == 0
    {
        bail!(
            "--catalog-songs, --catalog-artists, --search-count, --song-reads, --media-mib, \
             --stream-connections and --stream-rounds must be >= 1"
        );
    }
    let config = catalog::Config {
        songs: args.catalog_songs,
        artists: args.catalog_artists,
        searches: args.search_count,
        song_reads: args.song_reads,
        media_mib: args.media_mib,
        connections: args.stream_connections,
        rounds: args.stream_rounds,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
    };
    let result = catalog::run(root, &config, server_rt, load_rt)?;
    catalog::print(&result, &config);
    let mut report = catalog::to_json(&result, &config);
    stamp(&mut report);
    write_json(root, "catalog.json", &report)
}

fn playlists_suite(args: &Args, root: &Path, server_rt: &Runtime, load_rt: &Runtime) -> Result<()> {
    if args.playlist_tracks == 0 || args.playlist_gets == 0 || args.playlist_writes == 0 {
        bail!("--playlist-tracks, --playlist-gets and --playlist-writes must be >= 1");
    }
    let config = playlists::Config {
        tracks: args.playlist_tracks,
        gets: args.playlist_gets,
        writes: args.playlist_writes,
    };
    let result = playlists::run(root, &config, server_rt, load_rt)?;
    playlists::print(&result, &config);
    let mut report = playlists::to_json(&result, &config);
    stamp(&mut report);
    write_json(root, "playlists.json", &report)
}

/// The host runs as a child process here (its memory is measured alone), so only the load
/// runtime is used.
fn sync_suite(args: &Args, root: &Path, load_rt: &Runtime) -> Result<()> {
    if args.sync_devices.is_empty()
        || args.sync_commands == 0
        || args.sync_devices_per_user < 2
        || !(args.sync_rate > 0.0 && args.sync_timeout > 0.0)
        || !(1..=30).contains(&args.sync_wait)
    {
        bail!(
            "--sync-devices must name at least one size, --sync-commands >= 1, \
             --sync-devices-per-user >= 2, --sync-rate and --sync-timeout > 0, --sync-wait 1..=30"
        );
    }
    let config = sync::Config {
        sizes: args.sync_devices.clone(),
        devices_per_user: args.sync_devices_per_user,
        commands: args.sync_commands,
        warmup: args.sync_warmup,
        rate: args.sync_rate,
        wait_secs: args.sync_wait,
        timeout: Duration::from_secs_f64(args.sync_timeout),
    };
    let results = sync::run(root, &config, load_rt)?;
    sync::print(&results, &config);
    let mut report = sync::to_json(&results, &config);
    stamp(&mut report);
    write_json(root, "sync.json", &report)
}

fn recs_suite(args: &Args, root: &Path, server_rt: &Runtime, load_rt: &Runtime) -> Result<()> {
    if args.recs_songs < 20
        || args.recs_artists < 20
        || args.recs_users < 2
        || args.recs_listens < 15 * args.recs_users
        || args.recs_concurrency == 0
        || args.recs_latency_requests == 0
        || args.recs_ingest_listens == 0
    {
        bail!(
            "--recs-songs and --recs-artists must be >= 20 (one genre each), --recs-users >= 2, \
             --recs-listens >= 15 per user, --recs-concurrency, --recs-latency-requests and \
             --recs-ingest-listens >= 1"
        );
    }
    let config = recs::Config {
        songs: args.recs_songs,
        artists: args.recs_artists,
        users: args.recs_users,
        listens: args.recs_listens,
        seed: args.recs_seed,
        eval_users: args.recs_eval_users,
        eval_secs: args.recs_eval_secs,
        eval_min_users: args.recs_eval_min_users,
        concurrency: args.recs_concurrency,
        latency_requests: args.recs_latency_requests,
        ingest_listens: args.recs_ingest_listens,
        ingest_per_user: args.recs_ingest_per_user,
    };
    let result = recs::run(root, &config, server_rt, load_rt)?;
    recs::print(&result, &config);
    let mut report = recs::to_json(&result, &config);
    stamp(&mut report);
    write_json(root, "recs.json", &report)
}

/// When and on how many CPUs a report was made.
fn stamp(report: &mut serde_json::Value) {
    report["unix_time"] = json!(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    report["cpus"] = json!(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
}

fn events_suite(args: &Args, root: &Path, server_rt: &Runtime, load_rt: &Runtime) -> Result<()> {
    let config = events::Config {
        events: args.event_count,
        warmup: args.event_warmup,
        interval: Duration::from_secs_f64(args.event_interval_ms / 1e3),
        burst: args.event_burst,
        timeout: Duration::from_secs_f64(args.event_timeout),
    };
    let result = events::run(root, &config, server_rt, load_rt)?;
    events::print(&result);
    let mut report = events::to_json(&result, &config);
    stamp(&mut report);
    write_json(root, "events.json", &report)
}

fn write_json(root: &Path, name: &str, report: &serde_json::Value) -> Result<()> {
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("failed to write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn http_suite(args: &Args, root: &Path, server_rt: &Runtime, load_rt: &Runtime) -> Result<()> {
    let mut rows = Vec::new();

    if args.only != Some(Only::Host) {
        let server = server_rt.block_on(NativeServer::start())?;
        measure(load_rt, args, "native", server.addr, &mut rows)?;
        server.stop();
    }

    let mut instantiation = None;
    if args.only != Some(Only::Native) {
        let (running, _state_dir) = start_host(root, server_rt)?;
        measure(load_rt, args, "host", running.http_addr(), &mut rows)?;

        eprintln!(
            "measuring instantiation of `{COMPONENT}` ({INSTANTIATION_ITERATIONS} instances)..."
        );
        let app = running.app().clone();
        let per_instance = server_rt.block_on(async {
            app.measure_instantiation(COMPONENT, INSTANTIATION_WARMUP)
                .await?;
            app.measure_instantiation(COMPONENT, INSTANTIATION_ITERATIONS)
                .await
        })?;
        instantiation = Some(per_instance.as_secs_f64() * 1e6);
        server_rt.block_on(running.shutdown())?;
    }

    report(args, &rows, instantiation, root)
}

/// The app of `spin.toml` in-process on a free loopback port, with its databases in a
/// temporary directory and its own `redis-server` (both kept as long as the returned guard).
fn start_host(root: &Path, server_rt: &Runtime) -> Result<(RunningApp, HostGuard)> {
    // On this (the main) thread: see `RedisServer::start`.
    let redis = spindle_tests::RedisServer::start()?;
    let state_dir = tempfile::Builder::new()
        .prefix("spindle-bench-")
        .tempdir()?;
    // Every database of the app's runtime config, in the temporary directory.
    let runtime_config = state_dir.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        catalog::isolated_runtime_config(root, state_dir.path())?,
    )?;
    let mut opts = UpOptions::new(root.join("spin.toml"));
    opts.runtime_config = Some(runtime_config);
    opts.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.state_dir = Some(state_dir.path().to_path_buf());
    opts.variables = vec![("redis_url".into(), redis.url())];
    opts.env = Some(HashMap::new());
    opts.follow_logs = false;
    let running = server_rt.block_on(spindle_host::up(opts)).context(
        "failed to start the host (are the components built? run `target/host/spindle build`)",
    )?;
    Ok((
        running,
        HostGuard {
            _state_dir: state_dir,
            _redis: redis,
        },
    ))
}

/// What a host from [`start_host`] needs while it runs.
struct HostGuard {
    _state_dir: tempfile::TempDir,
    _redis: spindle_tests::RedisServer,
}

fn runtime(name: &str) -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("bench-{name}"))
        .enable_all()
        .build()?)
}

/// Checks `server` answers `GET /health` with 200, then loads it at each connection count.
fn measure(
    load_rt: &Runtime,
    args: &Args,
    server: &'static str,
    addr: SocketAddr,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let (status, body) = load_rt
        .block_on(load::get(addr, PATH))
        .with_context(|| format!("{server}: GET {PATH} failed"))?;
    if !status.is_success() {
        bail!(
            "{server}: GET {PATH} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    eprintln!(
        "{server} on {addr}: GET {PATH} → {status}, {} bytes: {}",
        body.len(),
        String::from_utf8_lossy(&body)
    );
    for &connections in &args.connections {
        eprintln!(
            "  {server}, {connections} connection(s): {}s warm-up + {}s...",
            args.warmup, args.duration
        );
        let result = load_rt.block_on(load::run(
            addr,
            PATH,
            connections,
            Duration::from_secs_f64(args.warmup),
            Duration::from_secs_f64(args.duration),
        ))?;
        rows.push(Row {
            server,
            connections,
            result,
        });
    }
    Ok(())
}

/// host req/s as a percentage of native's, at the largest connection count both were run at.
fn ratio(rows: &[Row]) -> Option<(usize, f64)> {
    let rps = |server: &str, c: usize| {
        rows.iter()
            .find(|r| r.server == server && r.connections == c)
            .map(|r| r.result.requests_per_sec())
    };
    rows.iter()
        .map(|r| r.connections)
        .filter(|&c| rps("host", c).is_some() && rps("native", c).is_some())
        .max()
        .map(|c| {
            (
                c,
                100.0 * rps("host", c).unwrap_or(0.0) / rps("native", c).unwrap_or(f64::NAN),
            )
        })
}

fn report(args: &Args, rows: &[Row], instantiation_us: Option<f64>, root: &Path) -> Result<()> {
    println!();
    println!("| server | connections |    req/s | p50 µs | p99 µs | errors |");
    println!("|--------|------------:|---------:|-------:|-------:|-------:|");
    for row in rows {
        let r = &row.result;
        println!(
            "| {:<6} | {:>11} | {:>8.0} | {:>6} | {:>6} | {:>6} |",
            row.server,
            row.connections,
            r.requests_per_sec(),
            r.latency.value_at_quantile(0.50),
            r.latency.value_at_quantile(0.99),
            r.errors,
        );
    }
    println!();
    let ratio = ratio(rows);
    if let Some((c, percent)) = ratio {
        println!("ratio host/native @{c}: {percent:.1}%");
    }
    if let Some(us) = instantiation_us {
        println!("instantiation: {us:.1} µs");
    }
    let errors: u64 = rows.iter().map(|r| r.result.errors).sum();
    let mut verdicts = Vec::new();
    if let Some((c, percent)) = ratio {
        let ok = percent >= MIN_RATIO_PERCENT;
        verdicts.push(format!(
            "ratio @{c} ≥ {MIN_RATIO_PERCENT}%: {}",
            if ok { "ok" } else { "MISSED" }
        ));
    }
    if let Some(us) = instantiation_us {
        let ok = us < MAX_INSTANTIATION_US;
        verdicts.push(format!(
            "instantiation < {MAX_INSTANTIATION_US} µs: {}",
            if ok { "ok" } else { "MISSED" }
        ));
    }
    if errors > 0 {
        verdicts.push(format!("{errors} error(s)"));
    }
    if !verdicts.is_empty() {
        println!("targets: {}", verdicts.join(", "));
    }

    let results: Vec<_> = rows
        .iter()
        .map(|row| {
            let r = &row.result;
            json!({
                "server": row.server,
                "connections": row.connections,
                "requests": r.requests,
                "errors": r.errors,
                "seconds": r.window.as_secs_f64(),
                "requests_per_sec": r.requests_per_sec(),
                "p50_us": r.latency.value_at_quantile(0.50),
                "p99_us": r.latency.value_at_quantile(0.99),
                "max_us": r.latency.max(),
                "mean_us": r.latency.mean(),
            })
        })
        .collect();
    let report = json!({
        "path": PATH,
        "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "duration_secs": args.duration,
        "warmup_secs": args.warmup,
        "results": results,
        "ratio_host_native": ratio.map(|(c, percent)| json!({ "connections": c, "percent": percent })),
        "instantiation_us": instantiation_us,
        "instantiation_iterations": instantiation_us.map(|_| INSTANTIATION_ITERATIONS),
        "targets": { "min_ratio_percent": MIN_RATIO_PERCENT, "max_instantiation_us": MAX_INSTANTIATION_US },
    });
    write_json(root, "host.json", &report)
}
