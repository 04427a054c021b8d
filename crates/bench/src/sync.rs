//! `--suite sync`: many devices long-polling the `sync` component (issue 7), and how fast a
//! command from one device reaches the others.
//!
//! For each size in `--sync-devices` (100 and 1,000) a fresh `redis-server` and a fresh host run
//! the real `spin.toml`; the host runs as a **separate process** (`spindle up`, next to this
//! binary, with `SPIN_MAX_INSTANCE_COUNT` raised: every held poll holds an instance), so that
//! its memory can be read alone from `/proc/<pid>/status`.
//!
//! * **Set-up**: `devices / --sync-devices-per-user` listeners register (rate limits lifted),
//!   each registers its devices (`POST /api/sync/devices`).
//! * **Polls**: every device gets its own keep-alive HTTP/1.1 connection and polls
//!   `GET /api/sync/state` (first without `since`, then `?since=V&wait=--sync-wait`) with its
//!   `X-Device-Id`, polling again right after each answer. Each user's first device then sends
//!   `set_queue` (untimed), and the suite waits until every device saw it.
//! * **Memory**: `VmRSS`, `VmHWM`, `RssAnon` and the open sockets of the host process when it
//!   has started, when the users and devices are registered (before the devices connect),
//!   while every device's poll is held (no commands), the highest `VmRSS` sampled while the
//!   commands run, and `VmHWM` at the end.
//! * **Commands**: `--sync-warmup` untimed, then `--sync-commands` timed commands, one every
//!   1/`--sync-rate` s (open loop), going round the users; each user's commands are sent one
//!   after another by its devices in turn, alternately `pause` and `play`, never two in flight
//!   for one user: the next waits until every other device of the user has been notified (or
//!   `--sync-timeout` passed). Latency: from just before the `POST /api/sync/commands` is sent
//!   until each *other* device of the user has read the poll answer that carries the command
//!   (its `lastCommandId`). Every such answer is checked to have a version above the one seen
//!   before the command was sent and `playing` as the command left it (the rest count as
//!   unexpected), and whether its version is exactly the next one (the rest count as gaps: an
//!   earlier command that missed its timeout was applied in between).

use crate::load::{connect, new_histogram};
use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};
use spindle_tests::RedisServer;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// The goal of issue 7: p99 command → other device notified at 1,000 devices.
pub const GOAL_P99_MS: f64 = 50.0;
pub const GOAL_DEVICES: usize = 1000;
/// `SPIN_MAX_INSTANCE_COUNT` for the host: every held poll holds an instance.
const MAX_INSTANCES: u32 = 4000;
const LIFTED_LIMITS: &str =
    "login-address=1000000/60,login-failures-email=1000000/60,register-address=1000000/60";
const PASSWORD: &str = "a long benchmark passphrase";
/// Connections used to register users and devices.
const SETUP_CONNECTIONS: usize = 8;
/// Devices connecting (and sending their first poll) at once.
const CONNECT_CONCURRENCY: usize = 64;
/// How long the host may take to start (it may compile the components first).
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// A set-up request (register, add a device, a command) may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long every device may take to have its first answer and its long poll sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
/// After every long poll was sent, before the memory is read: the host takes them up.
const SETTLE: Duration = Duration::from_secs(2);
/// How often the memory is sampled while the commands run.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// A command sent this much after its slot counts as late (the schedule slipped).
const LATE: Duration = Duration::from_millis(100);
/// Songs of the queue every user starts with (ids are not checked against the catalog).
const QUEUE: [&str; 3] = ["bench-song-1", "bench-song-2", "bench-song-3"];
/// Users whose queues are set at once before the measurement, and how long every other device
/// may take to see one.
const QUEUE_CONCURRENCY: usize = 4;
const QUEUE_TIMEOUT: Duration = Duration::from_secs(60);
/// Sample error messages kept for the report.
const KEEP_ERRORS: usize = 5;

static X_DEVICE_ID: HeaderName = HeaderName::from_static("x-device-id");

pub struct Config {
    /// Devices of each run (a fresh host each).
    pub sizes: Vec<usize>,
    pub devices_per_user: usize,
    /// Timed commands of each run.
    pub commands: usize,
    /// Untimed commands before them.
    pub warmup: usize,
    /// Commands a second, over all users.
    pub rate: f64,
    /// `wait` of every poll, in seconds.
    pub wait_secs: u64,
    /// How long every other device may take to be notified of a command.
    pub timeout: Duration,
}

/// The host process's memory at one moment (KiB) and its open sockets.
#[derive(Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub anon_kib: u64,
    pub sockets: usize,
}

pub struct SizeResult {
    pub devices: usize,
    pub users: usize,
    /// Registering the users and their devices.
    pub setup_secs: f64,
    /// Every device's first answer and long poll sent.
    pub connect_secs: f64,
    /// Command → each other device notified, µs (one sample per command and other device).
    pub notified: Histogram<u64>,
    /// Command → the last other device notified, µs (one sample per command).
    pub all_notified: Histogram<u64>,
    /// `POST /api/sync/commands` → 202, µs.
    pub post: Histogram<u64>,
    /// Timed commands sent (answered 202 or not).
    pub commands: usize,
    /// First timed command sent → last one finished.
    pub send_secs: f64,
    /// (command, other device) pairs not notified within the timeout.
    pub missed: u64,
    /// Notifying answers with no newer version or another `playing` than expected.
    pub unexpected: u64,
    /// Notifying answers more than one version past the one seen before the command.
    pub gaps: u64,
    /// Commands not answered 202 (or failed).
    pub command_errors: u64,
    /// Commands sent more than [`LATE`] after their slot.
    pub late: u64,
    /// Poll answers 200, 304, and the rest (other statuses, failures, timeouts).
    pub polls_200: u64,
    pub polls_304: u64,
    pub poll_errors: u64,
    /// Answers carrying `rejections`.
    pub rejections: u64,
    /// Sample error messages.
    pub errors: Vec<String>,
    /// Polls in flight when the held memory was read, and the fewest while commands ran.
    pub held_polls: usize,
    pub min_polls_during: usize,
    pub started: Memory,
    pub registered: Memory,
    pub held: Memory,
    /// Highest `VmRSS` sampled while the commands ran.
    pub peak_rss_kib: u64,
    pub end: Memory,
    /// CPU used while the commands ran.
    pub cpu: Cpu,
}

/// CPU used over a window, in percent of one core: the host process, this benchmark, and the
/// whole machine (every core; the rest is Redis and anything else running).
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub host: f64,
    pub bench: f64,
    pub redis: f64,
    pub machine: f64,
    pub secs: f64,
}

/// Clock ticks used so far: by the host, by this process, and by the machine (busy, total).
struct CpuTicks {
    at: Instant,
    host: u64,
    bench: u64,
    redis: u64,
    busy: u64,
    total: u64,
}

impl CpuTicks {
    fn read(pid: u32, redis: Option<u32>) -> Self {
        // utime and stime: the 14th and 15th fields, counted after the `(comm)` field.
        let process = |path: String| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| {
                    let rest = text.rsplit_once(')')?.1.to_string();
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    Some(
                        fields.get(11)?.parse::<u64>().ok()?
                            + fields.get(12)?.parse::<u64>().ok()?,
                    )
                })
                .unwrap_or(0)
        };
        // The first line of /proc/stat: user nice system idle iowait irq softirq steal ...
        let (busy, total) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| {
                let line = text.lines().next()?.strip_prefix("cpu ")?.to_string();
                let ticks: Vec<u64> = line
                    .split_whitespace()
                    .take(8)
                    .filter_map(|t| t.parse().ok())
                    .collect();
                let total: u64 = ticks.iter().sum();
                let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
                Some((total - idle, total))
            })
            .unwrap_or((0, 0));
        Self {
            at: Instant::now(),
            host: process(format!("/proc/{pid}/stat")),
            bench: process("/proc/self/stat".to_string()),
            redis: redis.map_or(0, |pid| process(format!("/proc/{pid}/stat"))),
            busy,
            total,
        }
    }

    fn since(&self, before: &CpuTicks) -> Cpu {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let secs = (self.at - before.at).as_secs_f64().max(1e-9);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let percent = |ticks: u64| 100.0 * ticks as f64 / hz / secs;
        let machine = if self.total > before.total {
            100.0 * cores * (self.busy - before.busy) as f64 / (self.total - before.total) as f64
        } else {
            0.0
        };
        Cpu {
            host: percent(self.host.saturating_sub(before.host)),
            bench: percent(self.bench.saturating_sub(before.bench)),
            redis: percent(self.redis.saturating_sub(before.redis)),
            machine,
            secs,
        }
    }
}

pub fn run(root: &Path, config: &Config, load_rt: &Runtime) -> Result<Vec<SizeResult>> {
    prime(root)?;
    let mut results = Vec::new();
    for &devices in &config.sizes {
        match run_size(root, config, devices, load_rt) {
            Ok(result) => results.push(result),
            Err(e) => {
                if !results.is_empty() {
                    eprintln!("sync: the runs that completed before the failure:");
                    print(&results, config);
                }
                return Err(e);
            }
        }
    }
    Ok(results)
}

/// Starts and stops the host once, so that a component rebuilt since the last start is
/// compiled (and cached) now rather than in a measured host, whose memory it would inflate.
fn prime(root: &Path) -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::Builder::new()
        .prefix("spindle-bench-sync-")
        .tempdir()?;
    let started = Instant::now();
    let host = Host::start(root, dir.path(), &redis.url())?;
    eprintln!(
        "sync: the host started once unmeasured ({:.1}s; compiles what changed)",
        started.elapsed().as_secs_f64()
    );
    host.stop()
}

fn run_size(root: &Path, config: &Config, devices: usize, load_rt: &Runtime) -> Result<SizeResult> {
    let per_user = config.devices_per_user;
    ensure!(
        devices.is_multiple_of(per_user) && devices >= per_user && per_user >= 2,
        "{devices} devices do not make users of {per_user} devices (at least 2 each)"
    );
    let users = devices / per_user;
    // On this (the main) thread: see `RedisServer::start`.
    let redis = RedisServer::start()?;
    let dir = tempfile::Builder::new()
        .prefix("spindle-bench-sync-")
        .tempdir()?;
    let host = Host::start(root, dir.path(), &redis.url())?;
    eprintln!(
        "sync: {devices} devices ({users} users × {per_user}): host pid {} on {} \
         (SPIN_MAX_INSTANCE_COUNT={MAX_INSTANCES}), redis {}",
        host.pid(),
        host.addr,
        redis.url()
    );
    let redis_pid = redis_pid(redis.port());
    let result = load_rt.block_on(measure(config, &host, redis_pid, users, per_user));
    let stopped = host.stop();
    let result = result.with_context(|| {
        format!(
            "the sync run with {devices} devices failed; the host's stderr ends with:\n{}\n\
             the sync component's stderr ends with:\n{}",
            tail(&dir.path().join("host.stderr"), 30),
            tail(&dir.path().join("logs/sync_stderr.txt"), 30)
        )
    })?;
    stopped?;
    drop(redis);
    Ok(result)
}

async fn measure(
    config: &Config,
    host: &Host,
    redis_pid: Option<u32>,
    users: usize,
    per_user: usize,
) -> Result<SizeResult> {
    let addr = host.addr;
    let pid = host.pid();
    let devices = users * per_user;
    let started = memory(pid)?;

    // Set-up: users and their devices.
    eprintln!("  registering {users} users and {devices} devices...");
    let setup_started = Instant::now();
    let accounts = register(addr, users, per_user).await?;
    let setup_secs = setup_started.elapsed().as_secs_f64();
    eprintln!("  registered in {setup_secs:.1}s");
    let registered = memory(pid)?;

    let shared = Arc::new(Shared {
        users: accounts
            .into_iter()
            .map(|(token, device_ids)| User {
                token,
                device_ids,
                log: Mutex::new(Log::default()),
                changed: watch::channel(0).0,
            })
            .collect(),
        in_flight: AtomicUsize::new(0),
        answered: AtomicUsize::new(0),
        polls_200: AtomicU64::new(0),
        polls_304: AtomicU64::new(0),
        poll_errors: AtomicU64::new(0),
        rejections: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });

    // Every device connects and polls.
    eprintln!(
        "  {devices} devices polling GET /api/sync/state?since=V&wait={}...",
        config.wait_secs
    );
    let connect_started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECT_CONCURRENCY));
    let mut pollers = Vec::with_capacity(devices);
    for user in 0..users {
        for device in 0..per_user {
            pollers.push(tokio::spawn(poll(
                shared.clone(),
                addr,
                user,
                device,
                config.wait_secs,
                gate.clone(),
            )));
        }
    }
    let all_polling = || {
        shared.answered.load(Ordering::SeqCst) == devices
            && shared.in_flight.load(Ordering::SeqCst) == devices
    };
    let measured = async {
        wait_for(CONNECT_TIMEOUT, "every device polling", all_polling).await?;
        let connect_secs = connect_started.elapsed().as_secs_f64();
        eprintln!("  every device polls ({connect_secs:.1}s); each user's queue set...");

        // Each user's queue, from its first device (untimed; a warm-up too), a few users at
        // once.
        let queue_started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..QUEUE_CONCURRENCY.min(users) {
            let shared = shared.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut slowest = 0;
                for user in (w..users).step_by(QUEUE_CONCURRENCY) {
                    let body = json!({
                        "commandId": format!("bench-queue-{user}"),
                        "type": "set_queue",
                        "arguments": { "songIds": QUEUE, "startIndex": 0 },
                    });
                    let outcome =
                        command(&shared, &mut conn, user, 0, &body, true, QUEUE_TIMEOUT).await?;
                    if !outcome.posted || outcome.missed > 0 || outcome.unexpected > 0 {
                        let seen = diagnose(&shared, &mut conn, user, "bench-queue").await;
                        bail!(
                            "user {user}: set_queue was not seen as expected by every other \
                             device within {QUEUE_TIMEOUT:?} (answered 202: {}, devices not \
                             notified: {}, unexpected answers: {}; {}){seen}",
                            outcome.posted,
                            outcome.missed,
                            outcome.unexpected,
                            outcome.error.unwrap_or_default(),
                        );
                    }
                    slowest = slowest.max(
                        outcome
                            .latencies
                            .iter()
                            .flatten()
                            .copied()
                            .max()
                            .unwrap_or(0),
                    );
                }
                anyhow::Ok(slowest)
            }));
        }
        let mut slowest_queue = 0;
        for task in tasks {
            slowest_queue = slowest_queue.max(task.await.context("a set_queue task panicked")??);
        }
        eprintln!(
            "  {users} queues set in {:.1}s (slowest: every other device notified after {:.1} ms)",
            queue_started.elapsed().as_secs_f64(),
            slowest_queue as f64 / 1000.0
        );

        // Every poll held, nothing happening: the memory.
        wait_for(CONNECT_TIMEOUT, "every device polling again", all_polling).await?;
        tokio::time::sleep(SETTLE).await;
        let held_polls = shared.in_flight.load(Ordering::SeqCst);
        let held = memory(pid)?;
        eprintln!(
            "  {held_polls} polls held: host VmRSS {:.1} MiB (registered: {:.1} MiB), {} sockets",
            mib(held.rss_kib),
            mib(registered.rss_kib),
            held.sockets
        );

        // The commands, on a fixed schedule going round the users.
        let total = config.warmup + config.commands;
        eprintln!(
            "  {} + {} commands (pause/play) at {}/s over {users} users...",
            config.warmup, config.commands, config.rate
        );
        let cpu_before = CpuTicks::read(pid, redis_pid);
        let t0 = Instant::now() + Duration::from_millis(500);
        let slot = |k: usize| t0 + Duration::from_secs_f64(k as f64 / config.rate);
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                let (mut peak, mut fewest) = (0, usize::MAX);
                while sampling.load(Ordering::SeqCst) {
                    if let Ok(m) = status(pid) {
                        peak = peak.max(m.rss_kib);
                    }
                    fewest = fewest.min(shared.in_flight.load(Ordering::SeqCst));
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
                (peak, fewest)
            })
        };
        let mut tasks = Vec::new();
        for user in 0..users {
            let slots: Vec<(usize, Instant)> =
                (user..total).step_by(users).map(|k| (k, slot(k))).collect();
            tasks.push(tokio::spawn(commander(
                shared.clone(),
                addr,
                user,
                slots,
                config.warmup,
                config.timeout,
            )));
        }
        let mut totals = Commands::new();
        for task in tasks {
            totals.add(task.await.context("a commander panicked")??)?;
        }
        let send_secs = totals
            .last_done
            .zip(totals.first_sent)
            .map_or(0.0, |(end, start)| (end - start).as_secs_f64());
        sampling.store(false, Ordering::SeqCst);
        let (peak_rss_kib, min_polls_during) = sampler.await.context("the sampler panicked")?;
        let cpu = CpuTicks::read(pid, redis_pid).since(&cpu_before);
        let end = memory(pid)?;
        anyhow::Ok((
            cpu,
            connect_secs,
            held_polls,
            held,
            totals,
            send_secs,
            peak_rss_kib,
            min_polls_during,
            end,
        ))
    }
    .await;
    shared.stop.store(true, Ordering::SeqCst);
    for poller in &pollers {
        poller.abort();
    }
    for poller in pollers {
        let _ = poller.await;
    }
    let (
        cpu,
        connect_secs,
        held_polls,
        held,
        totals,
        send_secs,
        peak_rss_kib,
        min_polls_during,
        end,
    ) = measured.map_err(|e| {
        let errors = shared.errors.lock().unwrap();
        if errors.is_empty() {
            e
        } else {
            e.context(format!("poll errors seen: {}", errors.join("; ")))
        }
    })?;
    let errors = shared.errors.lock().unwrap().clone();
    Ok(SizeResult {
        devices,
        users,
        setup_secs,
        connect_secs,
        notified: totals.notified,
        all_notified: totals.all_notified,
        post: totals.post,
        commands: config.commands,
        send_secs,
        missed: totals.missed,
        unexpected: totals.unexpected,
        command_errors: totals.errors,
        late: totals.late,
        gaps: totals.gaps,
        polls_200: shared.polls_200.load(Ordering::SeqCst),
        polls_304: shared.polls_304.load(Ordering::SeqCst),
        poll_errors: shared.poll_errors.load(Ordering::SeqCst),
        rejections: shared.rejections.load(Ordering::SeqCst),
        errors: errors
            .into_iter()
            .chain(totals.messages)
            .take(KEEP_ERRORS * 2)
            .collect(),
        held_polls,
        min_polls_during,
        started,
        registered,
        held,
        peak_rss_kib,
        end,
        cpu,
    })
}

/// Waits (polling every 10 ms) until `done` holds; an error after `timeout`.
async fn wait_for(timeout: Duration, what: &str, done: impl Fn() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            bail!("{what}: not reached within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// For an error message: what the server says of `user`'s command `{prefix}-{user}` and of the
/// user's state (plain reads as the user's second device), and what each device saw last.
async fn diagnose(shared: &Shared, conn: &mut Conn, user: usize, prefix: &str) -> String {
    let u = &shared.users[user];
    let mut out = String::new();
    for path in [
        format!("/api/sync/commands/{prefix}-{user}"),
        "/api/sync/state".to_string(),
    ] {
        let answer = conn
            .send(
                Method::GET,
                &path,
                &u.token,
                Some(&u.device_ids[1]),
                None,
                REQUEST_TIMEOUT,
            )
            .await;
        out.push_str(&match answer {
            Ok((status, body)) => {
                let text = String::from_utf8_lossy(&body);
                format!(
                    "\n  GET {path}: {status}: {}",
                    text.chars().take(600).collect::<String>()
                )
            }
            Err(e) => format!("\n  GET {path}: {e:#}"),
        });
    }
    let log = u.log.lock().unwrap();
    out.push_str(&format!(
        "\n  the devices saw (device, version, lastCommandId): {:?}",
        log.seen
            .iter()
            .map(|s| (s.device, s.version, s.last_command.clone()))
            .collect::<Vec<_>>()
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// Users, devices and what they saw
// ---------------------------------------------------------------------------------------------

struct Shared {
    users: Vec<User>,
    /// Polls sent and not answered yet.
    in_flight: AtomicUsize,
    /// Devices that had their first answer.
    answered: AtomicUsize,
    polls_200: AtomicU64,
    polls_304: AtomicU64,
    poll_errors: AtomicU64,
    rejections: AtomicU64,
    errors: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn error(&self, message: String) {
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < KEEP_ERRORS {
            errors.push(message);
        }
    }
}

struct User {
    token: String,
    device_ids: Vec<String>,
    log: Mutex<Log>,
    /// Bumped after every answer a device of this user put into `log`.
    changed: watch::Sender<u64>,
}

/// What the devices of one user saw since the user's last command was sent.
#[derive(Default)]
struct Log {
    /// The highest version any of its devices saw.
    latest: u64,
    seen: Vec<Seen>,
}

/// One poll answer with a state (200).
struct Seen {
    device: usize,
    version: u64,
    last_command: Option<String>,
    playing: Option<bool>,
    at: Instant,
}

/// One device: polls on its own connection until the run stops, recording every state it is
/// answered into its user's log.
async fn poll(
    shared: Arc<Shared>,
    addr: SocketAddr,
    user: usize,
    device: usize,
    wait: u64,
    gate: Arc<tokio::sync::Semaphore>,
) {
    let u = &shared.users[user];
    let id = u.device_ids[device].as_str();
    let mut conn = Conn::new(addr);
    let mut since: Option<u64> = None;
    // Held while connecting and until the first answer, so that devices connect a few at once.
    let mut permit = gate.acquire().await.ok();
    while !shared.stop.load(Ordering::SeqCst) {
        let path = match since {
            None => "/api/sync/state".to_string(),
            Some(v) => format!("/api/sync/state?since={v}&wait={wait}"),
        };
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = conn
            .send(
                Method::GET,
                &path,
                &u.token,
                Some(id),
                None,
                Duration::from_secs(wait + 15),
            )
            .await;
        let at = Instant::now();
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        let failed = match answer {
            Ok((StatusCode::OK, body)) => match serde_json::from_slice::<Value>(&body) {
                Ok(state) if state["version"].is_u64() => {
                    let version = state["version"].as_u64().unwrap_or(0);
                    if state["rejections"]
                        .as_array()
                        .is_some_and(|list| !list.is_empty())
                    {
                        shared.rejections.fetch_add(1, Ordering::SeqCst);
                        shared.error(format!(
                            "device {id}: rejections in a poll answer: {}",
                            state["rejections"]
                        ));
                    }
                    {
                        let mut log = u.log.lock().unwrap();
                        log.latest = log.latest.max(version);
                        log.seen.push(Seen {
                            device,
                            version,
                            last_command: state["lastCommandId"].as_str().map(str::to_string),
                            playing: state["playing"].as_bool(),
                            at,
                        });
                    }
                    u.changed.send_modify(|n| *n += 1);
                    shared.polls_200.fetch_add(1, Ordering::SeqCst);
                    if since.is_none() {
                        shared.answered.fetch_add(1, Ordering::SeqCst);
                        permit = None;
                    }
                    since = Some(version);
                    None
                }
                _ => Some(format!(
                    "GET {path}: 200 without a version: {}",
                    String::from_utf8_lossy(&body)
                )),
            },
            Ok((StatusCode::NOT_MODIFIED, _)) if since.is_some() => {
                shared.polls_304.fetch_add(1, Ordering::SeqCst);
                None
            }
            Ok((status, body)) => Some(format!(
                "GET {path}: {status}: {}",
                String::from_utf8_lossy(&body)
            )),
            Err(e) => Some(format!("GET {path}: {e:#}")),
        };
        if let Some(message) = failed {
            shared.poll_errors.fetch_add(1, Ordering::SeqCst);
            shared.error(format!("device {id}: {message}"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    drop(permit);
}

/// What became of one command.
struct Outcome {
    /// Answered 202.
    posted: bool,
    post_us: u64,
    /// Per other device of the user: µs until it was notified (None: not within the timeout).
    latencies: Vec<Option<u64>>,
    missed: u64,
    /// Answers carrying the command with a version not above the one seen before it was sent,
    /// or with `playing` not as the command left it.
    unexpected: u64,
    /// Answers carrying the command at a version other than the one after that seen before it
    /// was sent (an earlier command applied late in between).
    gaps: u64,
    error: Option<String>,
}

/// Sends `body` as `user`'s device `sender` and waits until every other device of the user
/// read a poll answer carrying it (or `timeout` passed). The command is expected to leave the
/// state at the version after the highest seen so far, `playing` as `playing`.
async fn command(
    shared: &Shared,
    conn: &mut Conn,
    user: usize,
    sender: usize,
    body: &Value,
    playing: bool,
    timeout: Duration,
) -> Result<Outcome> {
    let u = &shared.users[user];
    let command_id = body["commandId"].as_str().context("no commandId")?;
    let mut changed = u.changed.subscribe();
    let before = {
        let mut log = u.log.lock().unwrap();
        log.seen.clear();
        log.latest
    };
    let others = u.device_ids.len() - 1;
    let sent = Instant::now();
    let answer = conn
        .send(
            Method::POST,
            "/api/sync/commands",
            &u.token,
            Some(&u.device_ids[sender]),
            Some(body),
            REQUEST_TIMEOUT,
        )
        .await;
    let post_us = micros(sent.elapsed());
    let error = match answer {
        Ok((StatusCode::ACCEPTED, _)) => None,
        Ok((status, answer)) => Some(format!(
            "POST /api/sync/commands {body}: {status}: {}",
            String::from_utf8_lossy(&answer)
        )),
        Err(e) => Some(format!("POST /api/sync/commands: {e:#}")),
    };
    if let Some(error) = error {
        return Ok(Outcome {
            posted: false,
            post_us,
            latencies: vec![None; others],
            missed: 0,
            unexpected: 0,
            gaps: 0,
            error: Some(error),
        });
    }
    let deadline = sent + timeout;
    loop {
        // Per device (the sender's own answer aside): its first answer carrying the command.
        let (latencies, unexpected, gaps) = {
            let log = u.log.lock().unwrap();
            let mut latencies = vec![None; u.device_ids.len()];
            let (mut unexpected, mut gaps) = (0, 0);
            for seen in &log.seen {
                let carries = seen.last_command.as_deref() == Some(command_id);
                if seen.device == sender || latencies[seen.device].is_some() || !carries {
                    continue;
                }
                latencies[seen.device] = Some(micros(seen.at.saturating_duration_since(sent)));
                if seen.version <= before || seen.playing != Some(playing) {
                    unexpected += 1;
                } else if seen.version != before + 1 {
                    gaps += 1;
                }
            }
            latencies.remove(sender);
            (latencies, unexpected, gaps)
        };
        let waiting = latencies.iter().filter(|l| l.is_none()).count();
        let now = Instant::now();
        if waiting == 0 || now >= deadline {
            return Ok(Outcome {
                posted: true,
                post_us,
                missed: waiting as u64,
                latencies,
                unexpected,
                gaps,
                error: None,
            });
        }
        // A closed channel cannot happen (the user owns the sender); the deadline ends it.
        let _ = tokio::time::timeout(deadline - now, changed.changed()).await;
    }
}

/// What the commanders measured.
struct Commands {
    notified: Histogram<u64>,
    all_notified: Histogram<u64>,
    post: Histogram<u64>,
    missed: u64,
    unexpected: u64,
    gaps: u64,
    errors: u64,
    late: u64,
    messages: Vec<String>,
    first_sent: Option<Instant>,
    last_done: Option<Instant>,
}

impl Commands {
    fn new() -> Self {
        Self {
            notified: new_histogram(),
            all_notified: new_histogram(),
            post: new_histogram(),
            missed: 0,
            unexpected: 0,
            gaps: 0,
            errors: 0,
            late: 0,
            messages: Vec::new(),
            first_sent: None,
            last_done: None,
        }
    }

    fn add(&mut self, other: Commands) -> Result<()> {
        self.notified.add(&other.notified)?;
        self.all_notified.add(&other.all_notified)?;
        self.post.add(&other.post)?;
        self.missed += other.missed;
        self.unexpected += other.unexpected;
        self.gaps += other.gaps;
        self.errors += other.errors;
        self.late += other.late;
        for message in other.messages {
            if self.messages.len() < KEEP_ERRORS {
                self.messages.push(message);
            }
        }
        self.first_sent = match (self.first_sent, other.first_sent) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_done = self.last_done.max(other.last_done);
        Ok(())
    }
}

/// One user's commands, at its `slots` (the global slot number and when): alternately `pause`
/// and `play` (the state plays after `set_queue`), from its devices in turn; the slots before
/// `warmup` untimed.
async fn commander(
    shared: Arc<Shared>,
    addr: SocketAddr,
    user: usize,
    slots: Vec<(usize, Instant)>,
    warmup: usize,
    timeout: Duration,
) -> Result<Commands> {
    let mut result = Commands::new();
    let mut conn = Conn::new(addr);
    let devices = shared.users[user].device_ids.len();
    for (n, (k, at)) in slots.into_iter().enumerate() {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        let timed = k >= warmup;
        let late = Instant::now().saturating_duration_since(at) > LATE;
        // Device 0 set the queue: the next command comes from device 1, and so on.
        let sender = (n + 1) % devices;
        let pause = n % 2 == 0;
        let body = json!({
            "commandId": format!("bench-{user}-{k}"),
            "type": if pause { "pause" } else { "play" },
        });
        if timed && result.first_sent.is_none() {
            result.first_sent = Some(Instant::now());
        }
        let outcome = command(&shared, &mut conn, user, sender, &body, !pause, timeout).await?;
        if !timed {
            continue;
        }
        result.last_done = Some(Instant::now());
        result.late += u64::from(late);
        if let Some(error) = outcome.error {
            result.errors += 1;
            if result.messages.len() < KEEP_ERRORS {
                result.messages.push(error);
            }
            continue;
        }
        result.post.record(outcome.post_us)?;
        result.missed += outcome.missed;
        result.unexpected += outcome.unexpected;
        result.gaps += outcome.gaps;
        if outcome.missed > 0 && result.messages.len() < KEEP_ERRORS {
            result.messages.push(format!(
                "user {user}: command bench-{user}-{k}: {} of {} other devices not notified \
                 within {timeout:?}",
                outcome.missed,
                devices - 1
            ));
        }
        for us in outcome.latencies.iter().flatten() {
            result.notified.record(*us)?;
        }
        if outcome.missed == 0
            && let Some(last) = outcome.latencies.iter().flatten().max()
        {
            result.all_notified.record(*last)?;
        }
    }
    Ok(result)
}

/// Registers `users` listeners, each with `per_user` devices: each user's access token and
/// device ids.
async fn register(
    addr: SocketAddr,
    users: usize,
    per_user: usize,
) -> Result<Vec<(String, Vec<String>)>> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut workers = Vec::new();
    for w in 0..SETUP_CONNECTIONS.min(users) {
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut mine = Vec::new();
            for user in (w..users).step_by(SETUP_CONNECTIONS) {
                let body = json!({
                    "email": format!("bench-sync-{stamp}-{user}@example.com"),
                    "password": PASSWORD,
                    "displayName": format!("Sync listener {user}"),
                    "role": "listener",
                });
                let answer = expect(
                    conn.send(
                        Method::POST,
                        "/api/auth/register",
                        "",
                        None,
                        Some(&body),
                        REQUEST_TIMEOUT,
                    )
                    .await,
                    "POST /api/auth/register",
                    StatusCode::CREATED,
                )?;
                let token = answer["accessToken"]
                    .as_str()
                    .context("register: no accessToken")?
                    .to_string();
                let mut ids = Vec::with_capacity(per_user);
                for device in 0..per_user {
                    let kinds = ["phone", "desktop", "web", "tablet", "speaker", "tv", "car"];
                    let body = json!({
                        "name": format!("Device {device} of listener {user}"),
                        "kind": kinds[device % kinds.len()],
                    });
                    let answer = expect(
                        conn.send(
                            Method::POST,
                            "/api/sync/devices",
                            &token,
                            None,
                            Some(&body),
                            REQUEST_TIMEOUT,
                        )
                        .await,
                        "POST /api/sync/devices",
                        StatusCode::CREATED,
                    )?;
                    ids.push(
                        answer["id"]
                            .as_str()
                            .context("POST /api/sync/devices: no id")?
                            .to_string(),
                    );
                }
                mine.push((user, (token, ids)));
            }
            anyhow::Ok(mine)
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.context("a registering task panicked")??);
    }
    all.sort_by_key(|(user, _)| *user);
    Ok(all.into_iter().map(|(_, account)| account).collect())
}

/// The JSON body of an answer expected to have `status`.
fn expect(answer: Result<(StatusCode, Bytes)>, what: &str, status: StatusCode) -> Result<Value> {
    let (got, body) = answer.with_context(|| format!("{what} failed"))?;
    if got != status {
        bail!(
            "{what}: expected {status}, got {got}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    serde_json::from_slice(&body).with_context(|| format!("{what}: the answer is not JSON"))
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, 60_000_000)
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// One keep-alive HTTP/1.1 connection, made again after a failure or when the server closed it.
struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a header value"),
            sender: None,
        }
    }

    /// One request (bearer `token` unless empty, `X-Device-Id: device`, `json` as the body):
    /// the status and the whole body.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        device: Option<&str>,
        json: Option<&Value>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes)> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.clone());
        if !token.is_empty() {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(device) = device {
            request = request.header(&X_DEVICE_ID, device);
        }
        let body = match json {
            Some(json) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(json)?)
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(body))?;
        let addr = self.addr;
        let slot = &mut self.sender;
        let answer = tokio::time::timeout(timeout, async {
            if slot.as_ref().is_none_or(|s| s.is_closed()) {
                *slot = Some(connect(addr).await?);
            }
            let sender = slot.as_mut().expect("connected above");
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        })
        .await;
        match answer {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                bail!("no answer within {timeout:?}")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The host process
// ---------------------------------------------------------------------------------------------

/// `spindle up` of the repository's `spin.toml` as a child process on a loopback port, its
/// databases and state in `dir`; killed when dropped or when this thread dies.
struct Host {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Host {
    fn start(root: &Path, dir: &Path, redis_url: &str) -> Result<Self> {
        let binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("spindle")))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| root.join("target/host/spindle"));
        ensure!(
            binary.is_file(),
            "{} is missing: build it with `cargo build --profile host -p spindle-host`",
            binary.display()
        );
        let runtime_config = dir.join("runtime-config.toml");
        std::fs::write(&runtime_config, runtime_config_text(root, dir)?)?;
        let stderr = std::fs::File::create(dir.join("host.stderr"))?;
        let mut command = Command::new(&binary);
        command
            .current_dir(root)
            .arg("up")
            .arg("--from")
            .arg(root.join("spin.toml"))
            .args(["--listen", "127.0.0.1:0", "--quiet"])
            .arg("--runtime-config-file")
            .arg(&runtime_config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--log-dir")
            .arg(dir.join("logs"))
            .arg("--variable")
            .arg(format!("redis_url={redis_url}"))
            .arg("--variable")
            .arg(format!("auth_rate_limits={LIFTED_LIMITS}"))
            .env("SPIN_MAX_INSTANCE_COUNT", MAX_INSTANCES.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        // The app's variables come from the command line only.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(name);
            }
        }
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        // It prints `Serving http://ADDR`, then its routes; the rest of its output is read
        // (and dropped) so that it never blocks on a full pipe.
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.trim().strip_prefix("Serving http://") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let mut host = Self {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => {
                    host.addr = addr
                        .parse()
                        .with_context(|| format!("the host serves on {addr:?}"))?;
                    break;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
            }
            let child = host.child.as_mut().expect("running");
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the host exited with {status}:\n{}",
                    tail(&dir.join("host.stderr"), 30)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "the host did not serve within {START_TIMEOUT:?}:\n{}",
                    tail(&dir.join("host.stderr"), 30)
                );
            }
        }
        Ok(host)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM (a graceful shutdown), then SIGKILL after 10 s.
    fn stop(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    eprintln!("  (the host exited with {status})");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("the host did not stop within 10 s of SIGTERM (killed)")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The repository's runtime config with every SQLite database (and `sync`'s, should the file
/// not name it yet) in `dir`.
fn runtime_config_text(root: &Path, dir: &Path) -> Result<String> {
    let config = std::fs::read_to_string(root.join("runtime-config.toml"))
        .context("cannot read runtime-config.toml")?;
    let mut labels: Vec<&str> = config
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("[sqlite_database.")
                .and_then(|rest| rest.strip_suffix(']'))
        })
        .collect();
    if !labels.contains(&"sync") {
        labels.push("sync");
    }
    let mut text = String::new();
    for label in labels {
        text.push_str(&format!(
            "[sqlite_database.{label}]\ntype = \"spin\"\npath = {:?}\n\n",
            dir.join(format!("{label}.db")).display().to_string()
        ));
    }
    Ok(text)
}

/// The pid of the `redis-server` listening on `port` (a child of this process).
fn redis_pid(port: u16) -> Option<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(')')?;
        let parent = rest.split_whitespace().nth(1)?;
        // redis-server rewrites its command line to `redis-server 127.0.0.1:PORT`.
        let cmdline = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).ok()?)
            .replace('\0', " ");
        let on_port =
            cmdline.contains(&format!(":{port}")) || cmdline.contains(&format!("--port {port}"));
        (head.ends_with("(redis-server") && parent == me && on_port).then_some(pid)
    })
}

/// The last `lines` lines of a file (for error messages).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `VmRSS`, `VmHWM`, `RssAnon` of `pid` (KiB), without the sockets.
fn status(pid: u32) -> Result<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        sockets: 0,
    })
}

/// [`status`] and the sockets `pid` has open.
fn memory(pid: u32) -> Result<Memory> {
    let mut memory = status(pid)?;
    memory.sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("socket:"))
                .count()
        })
        .unwrap_or(0);
    Ok(memory)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Host memory per held poll: (held − registered) / devices, KiB.
fn per_poll_kib(r: &SizeResult) -> f64 {
    (r.held.rss_kib as f64 - r.registered.rss_kib as f64) / r.devices as f64
}

pub fn print(results: &[SizeResult], config: &Config) {
    println!();
    println!(
        "sync: command → other devices notified ({} devices a user, each holding \
         GET /api/sync/state?since=V&wait={}; pause/play at {}/s over the users, {} warm-up)",
        config.devices_per_user, config.wait_secs, config.rate, config.warmup
    );
    println!(
        "| devices | users | commands | samples | p50 ms | p99 ms | max ms | all p99 ms | \
         POST p50 ms | missed | unexpected | errors |"
    );
    println!(
        "|--------:|------:|---------:|--------:|-------:|-------:|-------:|-----------:|\
         ------------:|-------:|-----------:|-------:|"
    );
    for r in results {
        println!(
            "| {:>7} | {:>5} | {:>8} | {:>7} | {:>6.2} | {:>6.2} | {:>6.2} | {:>10.2} | {:>11.2} | \
             {:>6} | {:>10} | {:>6} |",
            r.devices,
            r.users,
            r.commands,
            r.notified.len(),
            ms(&r.notified, 0.5),
            ms(&r.notified, 0.99),
            r.notified.max() as f64 / 1000.0,
            ms(&r.all_notified, 0.99),
            ms(&r.post, 0.5),
            r.missed,
            r.unexpected,
            r.command_errors + r.poll_errors,
        );
    }
    println!(
        "(samples: one per command and other device; all p99: until the last other device of \
         the user was notified; POST: the 202)"
    );
    println!();
    println!(
        "host process memory (MiB; a separate process, SPIN_MAX_INSTANCE_COUNT={MAX_INSTANCES})"
    );
    println!(
        "| devices | started | registered | polls held | held RSS | held anon | per poll KiB | \
         peak RSS cmds | VmHWM | host sockets |"
    );
    println!(
        "|--------:|--------:|-----------:|-----------:|---------:|----------:|-------------:|\
         --------------:|------:|-------------:|"
    );
    for r in results {
        println!(
            "| {:>7} | {:>7.1} | {:>10.1} | {:>10} | {:>8.1} | {:>9.1} | {:>12.1} | {:>13.1} | \
             {:>5.1} | {:>12} |",
            r.devices,
            mib(r.started.rss_kib),
            mib(r.registered.rss_kib),
            r.held_polls,
            mib(r.held.rss_kib),
            mib(r.held.anon_kib),
            per_poll_kib(r),
            mib(r.peak_rss_kib),
            mib(r.end.hwm_kib),
            r.held.sockets,
        );
    }
    println!(
        "(VmRSS when started, when users and devices were registered, and while every poll was \
         held; per poll: (held − registered) / devices; peak: the highest VmRSS sampled every \
         {} ms while the commands ran; VmHWM: the peak since the host started, the \
         registrations' password hashing included)",
        SAMPLE_EVERY.as_millis()
    );
    for r in results {
        println!(
            "{} devices: CPU while the commands ran ({:.1}s), in % of one core: host {:.0}%, \
             benchmark {:.0}%, redis-server {:.0}%, whole machine {:.0}% of {:.0}% (the rest: \
             anything else running)",
            r.devices,
            r.cpu.secs,
            r.cpu.host,
            r.cpu.bench,
            r.cpu.redis,
            r.cpu.machine,
            100.0 * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
        );
        println!(
            "{} devices: set-up {:.1}s, connect {:.1}s, commands over {:.1}s ({} late, {} \
             answers with a version gap), polls 200/304/failed {}/{}/{}, fewest polls in flight \
             while commanding {}, rejections {}",
            r.devices,
            r.setup_secs,
            r.connect_secs,
            r.send_secs,
            r.late,
            r.gaps,
            r.polls_200,
            r.polls_304,
            r.poll_errors,
            r.min_polls_during,
            r.rejections,
        );
        for error in &r.errors {
            println!("  error: {error}");
        }
    }
    if let Some(r) = results.iter().find(|r| r.devices == GOAL_DEVICES) {
        let p99 = ms(&r.notified, 0.99);
        println!(
            "goal: p99 < {GOAL_P99_MS} ms at {GOAL_DEVICES} devices: {p99:.2} ms, {}",
            if p99 < GOAL_P99_MS && r.missed == 0 {
                "ok"
            } else {
                "MISSED"
            }
        );
    }
}

pub fn to_json(results: &[SizeResult], config: &Config) -> Value {
    let summary = crate::load::latency_json;
    let mem = |m: &Memory| {
        json!({
            "vm_rss_kib": m.rss_kib,
            "vm_hwm_kib": m.hwm_kib,
            "rss_anon_kib": m.anon_kib,
            "sockets": m.sockets,
        })
    };
    let runs: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "devices": r.devices,
                "users": r.users,
                "commands": r.commands,
                "notified": summary(&r.notified),
                "all_notified": summary(&r.all_notified),
                "post_command": summary(&r.post),
                "missed": r.missed,
                "unexpected": r.unexpected,
                "command_errors": r.command_errors,
                "late_commands": r.late,
                "version_gaps": r.gaps,
                "commands_secs": r.send_secs,
                "polls_200": r.polls_200,
                "polls_304": r.polls_304,
                "poll_errors": r.poll_errors,
                "rejections": r.rejections,
                "errors": r.errors,
                "setup_secs": r.setup_secs,
                "connect_secs": r.connect_secs,
                "cpu_percent_of_a_core_during_commands": {
                    "host": r.cpu.host,
                    "bench": r.cpu.bench,
                    "redis": r.cpu.redis,
                    "machine": r.cpu.machine,
                    "secs": r.cpu.secs,
                },
                "memory": {
                    "started": mem(&r.started),
                    "registered": mem(&r.registered),
                    "held": mem(&r.held),
                    "held_polls": r.held_polls,
                    "per_held_poll_kib": per_poll_kib(r),
                    "peak_vm_rss_during_commands_kib": r.peak_rss_kib,
                    "min_polls_in_flight_during_commands": r.min_polls_during,
                    "end": mem(&r.end),
                },
            })
        })
        .collect();
    json!({
        "host": "separate process (spindle up)",
        "spin_max_instance_count": MAX_INSTANCES,
        "devices_per_user": config.devices_per_user,
        "warmup_commands": config.warmup,
        "rate_per_sec": config.rate,
        "wait_secs": config.wait_secs,
        "timeout_secs": config.timeout.as_secs_f64(),
        "goal": { "devices": GOAL_DEVICES, "max_p99_ms": GOAL_P99_MS },
        "runs": runs,
    })
}
