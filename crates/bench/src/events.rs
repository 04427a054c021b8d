//! `--suite events`: the event bus end to end. A private `redis-server` on loopback, the
//! fixture app `tests/fixtures/events.toml` started in-process (its `event-consumer` drains the
//! `notification-test` group on every wake-up and its handler records each handled id with
//! `RPUSH handled:TOPIC ID`), and a native publisher that writes exactly what
//! `Publisher::publish` writes: `XADD spindle:events:TOPIC * e <JSON envelope>`, then
//! `PUBLISH spindle.events.TOPIC`.
//!
//! Two measurements:
//!
//! * **Latency** (`user.created`): events published one at a time on a fixed schedule (open
//!   loop, one every `--event-interval-ms`, each with its own wake-up, as a producer would
//!   publish them), each timed from just before its `XADD` until the benchmark sees its id in
//!   `handled:user.created` — see [`collect`] for how that moment is observed.
//! * **Throughput** (`track.published`): a burst of `--event-burst` events appended in one
//!   pipeline that ends with a single wake-up; timed from sending the pipeline until
//!   `handled:track.published` holds every id.
//!
//! Every phase checks that each published id was handled exactly once, and gives up with an
//! error after its publishing schedule plus `--events-timeout`.

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};
use spindle_host::UpOptions;
use spindle_shared::events::{
    Envelope, Event, TrackPublished, UserCreated, new_envelope, stream_key, wake_channel,
};
use spindle_tests::RedisServer;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const MANIFEST: &str = "tests/fixtures/events.toml";
const LATENCY_TOPIC: &str = "user.created";
const BURST_TOPIC: &str = "track.published";
const PRODUCER: &str = "spindle-bench";
/// How long one `BLPOP` waits before the collector looks at its deadline again.
const BLPOP_SECS: f64 = 0.5;
/// How often the throughput phase looks at how many events were handled.
const POLL: Duration = Duration::from_millis(1);

pub struct Config {
    /// Events timed one by one (after `warmup` untimed ones).
    pub events: usize,
    pub warmup: usize,
    /// Time between two publishes in the latency phase.
    pub interval: Duration,
    /// Events in the throughput burst.
    pub burst: usize,
    /// Allowed per phase beyond its publishing schedule.
    pub timeout: Duration,
}

pub struct LatencyResult {
    pub events: usize,
    /// Publish → handled, µs.
    pub latency: Histogram<u64>,
    /// First publish → last publish.
    pub publishing: Duration,
    /// First publish → last event seen handled.
    pub window: Duration,
}

impl LatencyResult {
    pub fn publish_rate(&self) -> f64 {
        self.events.saturating_sub(1) as f64 / self.publishing.as_secs_f64()
    }
}

pub struct ThroughputResult {
    pub events: usize,
    /// Sending the pipeline (every `XADD` and the wake-up) until its replies arrived.
    pub publishing: Duration,
    /// Sending the pipeline until every event was handled.
    pub elapsed: Duration,
}

impl ThroughputResult {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

pub struct EventsResult {
    pub redis_version: String,
    pub latency: LatencyResult,
    pub throughput: ThroughputResult,
}

/// Starts Redis and the fixture app, measures, and stops both again (also on errors).
pub fn run(
    root: &Path,
    config: &Config,
    server_rt: &Runtime,
    load_rt: &Runtime,
) -> Result<EventsResult> {
    // On this (the main) thread: see `RedisServer::start`.
    let redis = RedisServer::start()?;
    let url = redis.url();
    let state_dir = tempfile::Builder::new()
        .prefix("spindle-bench-events-")
        .tempdir()?;
    let mut opts = UpOptions::new(root.join(MANIFEST));
    opts.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.state_dir = Some(state_dir.path().to_path_buf());
    opts.env = Some(HashMap::new());
    opts.follow_logs = false;
    opts.variables = vec![("redis_url".into(), url.clone())];
    let running = server_rt
        .block_on(spindle_host::up(opts))
        .with_context(|| {
            format!(
                "failed to start {MANIFEST} (are the fixtures built? `cargo build --target \
             wasm32-wasip2 --release -p fixture-event-consumer -p fixture-event-admin`)"
            )
        })?;
    eprintln!("events: {MANIFEST} running against {url}");

    let result = load_rt.block_on(measure(&url, config));

    // A handler stuck in Redis would hold the shutdown; the process ends soon anyway.
    let shutdown =
        async { tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await };
    match server_rt.block_on(shutdown) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("events: the app did not shut down cleanly: {e:#}"),
        Err(_) => eprintln!("events: the app did not shut down within 10s"),
    }
    drop(redis);
    result
}

async fn measure(url: &str, config: &Config) -> Result<EventsResult> {
    let client = redis::Client::open(url)?;
    let mut publisher = connect(&client).await?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut publisher)
        .await?;
    let redis_version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .to_string();

    if config.warmup > 0 {
        eprintln!(
            "events: warm-up, {} events one every {:?}...",
            config.warmup, config.interval
        );
        latency(&client, &mut publisher, config.warmup, config)
            .await
            .context("warm-up")?;
    }
    eprintln!(
        "events: latency, {} events one every {:?}...",
        config.events, config.interval
    );
    let latency = latency(&client, &mut publisher, config.events, config).await?;
    eprintln!("events: throughput, a burst of {} events...", config.burst);
    let throughput = throughput(&client, &mut publisher, config).await?;
    Ok(EventsResult {
        redis_version,
        latency,
        throughput,
    })
}

async fn connect(client: &redis::Client) -> Result<MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Duration::from_secs(5))
        .set_response_timeout(Duration::from_secs(30));
    Ok(client
        .get_multiplexed_async_connection_with_config(&config)
        .await?)
}

fn envelope(payload: Event) -> Envelope {
    new_envelope(payload, PRODUCER, "bench")
}

/// `(id, JSON)` of `count` events of `topic`, built before anything is timed.
fn events(topic: &str, count: usize) -> Result<Vec<(String, Vec<u8>)>> {
    (0..count)
        .map(|i| {
            let payload = match topic {
                LATENCY_TOPIC => Event::UserCreated(UserCreated {
                    user_id: format!("bench-user-{i}"),
                    email: format!("listener{i}@example.com"),
                    display_name: format!("Listener {i}"),
                    role: "listener".into(),
                }),
                _ => Event::TrackPublished(TrackPublished {
                    song_id: format!("bench-song-{i}"),
                    artist_id: "bench-artist".into(),
                    artist_name: "The Benchmarks".into(),
                    title: format!("Track {i}"),
                    genre: None,
                    tags: None,
                }),
            };
            let envelope = envelope(payload);
            Ok((envelope.id.clone(), serde_json::to_vec(&envelope)?))
        })
        .collect()
}

/// Publishes `count` events one at a time on a fixed schedule while [`collect`] watches them
/// being handled; returns the publish → handled latency of each.
async fn latency(
    client: &redis::Client,
    publisher: &mut MultiplexedConnection,
    count: usize,
    config: &Config,
) -> Result<LatencyResult> {
    let events = events(LATENCY_TOPIC, count)?;
    let stream = stream_key(LATENCY_TOPIC);
    let channel = wake_channel(LATENCY_TOPIC);
    let deadline = Instant::now() + config.interval * count as u32 + config.timeout;
    let collector = tokio::spawn(collect(
        connect(client).await?,
        format!("handled:{LATENCY_TOPIC}"),
        count,
        deadline,
    ));

    let mut sent = HashMap::with_capacity(count);
    let mut ticker = tokio::time::interval(config.interval);
    let mut first = None;
    let mut last = Instant::now();
    for (id, json) in &events {
        ticker.tick().await;
        if collector.is_finished() {
            break; // It failed (or saw more than it should have): its error says why.
        }
        let at = Instant::now();
        // One round trip, in `Publisher::publish`'s order: append, then wake.
        redis::pipe()
            .cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("e")
            .arg(json)
            .ignore()
            .cmd("PUBLISH")
            .arg(&channel)
            .arg(id)
            .ignore()
            .query_async::<()>(publisher)
            .await
            .context("publish")?;
        first.get_or_insert(at);
        last = at;
        sent.insert(id.as_str(), at);
    }
    let seen = collector.await.context("collector")??;

    let first = first.context("nothing published")?;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut distinct = HashSet::with_capacity(count);
    let mut handled_last = first;
    for (id, at) in &seen {
        let Some(&sent_at) = sent.get(id.as_str()) else {
            bail!("handled:{LATENCY_TOPIC} holds {id}, which this phase did not publish");
        };
        if !distinct.insert(id.as_str()) {
            bail!("event {id} was handled twice");
        }
        let us = at.saturating_duration_since(sent_at).as_micros() as u64;
        histogram.saturating_record(us.max(1));
        handled_last = handled_last.max(*at);
    }
    if distinct.len() != count {
        bail!("{} of {count} events handled", distinct.len());
    }
    Ok(LatencyResult {
        events: count,
        latency: histogram,
        publishing: last - first,
        window: handled_last - first,
    })
}

/// Watches `key` (`handled:TOPIC`, which only the fixture's handler pushes to and only this
/// collector pops from) until `count` ids were seen, and returns each id with the moment it was
/// seen.
///
/// How "handled" is observed: the collector sits in `BLPOP` on its own connection, so Redis
/// answers the instant the handler's `RPUSH` lands — no polling interval is added to the
/// latency. When several ids were pushed together (one drain handling a few events), the
/// rest are taken with one `LPOP key COUNT` and stamped with the time that reply arrived: an
/// upper bound, late by at most one loopback round trip. Every time thus lies between the
/// handler's `RPUSH` and one or two loopback round trips (tens of µs) after it, so the
/// measured latency is the real one plus that small, bounded overhead. The collector runs on
/// the load runtime, apart from the host's.
async fn collect(
    mut conn: MultiplexedConnection,
    key: String,
    count: usize,
    deadline: Instant,
) -> Result<Vec<(String, Instant)>> {
    let mut seen = Vec::with_capacity(count);
    while seen.len() < count {
        if Instant::now() > deadline {
            bail!("timed out: {} of {count} events handled", seen.len());
        }
        let popped: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(&key)
            .arg(BLPOP_SECS)
            .query_async(&mut conn)
            .await?;
        let Some((_, id)) = popped else { continue };
        seen.push((id, Instant::now()));
        let left = count - seen.len();
        if left > 0 {
            let rest: Option<Vec<String>> = redis::cmd("LPOP")
                .arg(&key)
                .arg(left)
                .query_async(&mut conn)
                .await?;
            let at = Instant::now();
            seen.extend(rest.unwrap_or_default().into_iter().map(|id| (id, at)));
        }
    }
    // Anything beyond `count` means an event was handled twice.
    let extra: usize = redis::cmd("LLEN").arg(&key).query_async(&mut conn).await?;
    if extra > 0 {
        bail!("{extra} more ids in {key} than events published");
    }
    Ok(seen)
}

/// Appends the whole burst in one pipeline ending with one wake-up, then polls
/// `LLEN handled:TOPIC` every millisecond until all are handled (±1 ms on a window of
/// seconds), and checks every id was handled exactly once.
async fn throughput(
    client: &redis::Client,
    publisher: &mut MultiplexedConnection,
    config: &Config,
) -> Result<ThroughputResult> {
    let count = config.burst;
    let events = events(BURST_TOPIC, count)?;
    let key = format!("handled:{BURST_TOPIC}");
    let stream = stream_key(BURST_TOPIC);
    let mut pipe = redis::pipe();
    for (_, json) in &events {
        pipe.cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("e")
            .arg(json)
            .ignore();
    }
    pipe.cmd("PUBLISH")
        .arg(wake_channel(BURST_TOPIC))
        .arg("burst")
        .ignore();
    let mut poll = connect(client).await?;

    let start = Instant::now();
    pipe.query_async::<()>(publisher)
        .await
        .context("publish the burst")?;
    let publishing = start.elapsed();
    let deadline = start + config.timeout;
    let elapsed = loop {
        let handled: usize = redis::cmd("LLEN").arg(&key).query_async(&mut poll).await?;
        if handled >= count {
            break start.elapsed();
        }
        if Instant::now() > deadline {
            bail!(
                "timed out after {:?}: {handled} of {count} events handled",
                config.timeout
            );
        }
        tokio::time::sleep(POLL).await;
    };

    let handled: Vec<String> = redis::cmd("LRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(&mut poll)
        .await?;
    let distinct: HashSet<&str> = handled.iter().map(String::as_str).collect();
    if distinct.len() != handled.len() {
        bail!(
            "{} events were handled twice",
            handled.len() - distinct.len()
        );
    }
    let published: HashSet<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
    if distinct != published {
        bail!(
            "{} handled ids were not published in the burst",
            distinct.difference(&published).count()
        );
    }
    Ok(ThroughputResult {
        events: count,
        publishing,
        elapsed,
    })
}

/// The table.
pub fn print(result: &EventsResult) {
    let l = &result.latency;
    let t = &result.throughput;
    println!();
    println!("| events     | count | seconds | events/s | p50 µs | p90 µs | p99 µs | max µs |");
    println!("|------------|------:|--------:|---------:|-------:|-------:|-------:|-------:|");
    println!(
        "| latency    | {:>5} | {:>7.2} | {:>8.0} | {:>6} | {:>6} | {:>6} | {:>6} |",
        l.events,
        l.window.as_secs_f64(),
        l.publish_rate(),
        l.latency.value_at_quantile(0.50),
        l.latency.value_at_quantile(0.90),
        l.latency.value_at_quantile(0.99),
        l.latency.max(),
    );
    println!(
        "| throughput | {:>5} | {:>7.2} | {:>8.0} | {:>6} | {:>6} | {:>6} | {:>6} |",
        t.events,
        t.elapsed.as_secs_f64(),
        t.events_per_sec(),
        "-",
        "-",
        "-",
        "-",
    );
    println!();
    println!(
        "latency: publish (XADD+PUBLISH) → id in handled:{LATENCY_TOPIC}, published at {:.0}/s; \
         throughput: one pipelined burst ({:.1} ms to publish) → all handled",
        l.publish_rate(),
        t.publishing.as_secs_f64() * 1e3,
    );
}

/// What goes into `target/bench/events.json`.
pub fn to_json(result: &EventsResult, config: &Config) -> Value {
    let l = &result.latency;
    let t = &result.throughput;
    json!({
        "manifest": MANIFEST,
        "redis_version": result.redis_version,
        "latency": {
            "topic": LATENCY_TOPIC,
            "events": l.events,
            "warmup_events": config.warmup,
            "interval_ms": config.interval.as_secs_f64() * 1e3,
            "publish_rate_per_sec": l.publish_rate(),
            "seconds": l.window.as_secs_f64(),
            "p50_us": l.latency.value_at_quantile(0.50),
            "p90_us": l.latency.value_at_quantile(0.90),
            "p99_us": l.latency.value_at_quantile(0.99),
            "max_us": l.latency.max(),
            "min_us": l.latency.min(),
            "mean_us": l.latency.mean(),
        },
        "throughput": {
            "topic": BURST_TOPIC,
            "events": t.events,
            "publish_seconds": t.publishing.as_secs_f64(),
            "seconds": t.elapsed.as_secs_f64(),
            "events_per_sec": t.events_per_sec(),
        },
        "timeout_secs": config.timeout.as_secs_f64(),
    })
}
