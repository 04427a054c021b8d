//! The integration-test harness: start a real Spindle app in-process, the way `spin up` would,
//! against its own real `redis-server`, and talk to it over HTTP.
//!
//! ```no_run
//! # async fn story() {
//! let app = spindle_tests::spawn_app().await;
//! let response = app.get("/health").await;
//! assert_eq!(response.status, 200);
//! # }
//! ```
//!
//! Every [`TestApp`] is isolated: a fresh state and log directory, its own Redis, an empty
//! process environment for `SPIN_VARIABLE_*`, and an ephemeral port. Tests can run in parallel.
//!
//! Run everything with `scripts/test`: it installs `redis-server` and builds the components
//! (and the test fixtures) before `cargo test`.

pub mod accounts;
pub mod activity;
pub mod bus;
pub mod media;
pub mod oidc;
pub mod playlists;
pub mod s3;
pub mod sync;
pub mod wire;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use spindle_host::{RunningApp, UpOptions};
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// What to run when something the tests need is missing.
pub const TEST_COMMAND: &str = "scripts/test";

/// How long one request may take before the test fails instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Paths and prerequisites
// ---------------------------------------------------------------------------------------------

/// The repository root (the workspace holding `spin.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The real application's manifest, `<repo>/spin.toml`.
pub fn app_manifest() -> PathBuf {
    repo_root().join("spin.toml")
}

/// Parses a `spin.toml` (or any TOML file) into a table, for tests that compare what the app
/// reports with what the manifest declares.
pub fn read_toml(path: impl AsRef<Path>) -> toml::Table {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// `[application] version` of the real app's `spin.toml`.
pub fn app_version() -> String {
    read_toml(app_manifest())["application"]
        .get("version")
        .and_then(|v| v.as_str())
        .expect("spin.toml has [application] version")
        .to_string()
}

/// The local `source` files of every component of a manifest that are missing.
fn missing_component_sources(manifest: &Path) -> Vec<PathBuf> {
    let manifest = if manifest.is_dir() {
        manifest.join("spin.toml")
    } else {
        manifest.to_path_buf()
    };
    let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let table = read_toml(&manifest);
    let Some(components) = table.get("component").and_then(|c| c.as_table()) else {
        return Vec::new();
    };
    let sources = components
        .values()
        .filter_map(|c| c.get("source").and_then(|s| s.as_str()))
        .map(|source| dir.join(source))
        .filter(|path| !path.is_file());
    // `files` mounts that a build makes, such as the web player's `web/dist`.
    let mounts = components
        .values()
        .filter_map(|c| c.get("files").and_then(|f| f.as_array()))
        .flatten()
        .filter_map(|m| m.get("source").and_then(|s| s.as_str()))
        .map(|source| dir.join(source))
        .filter(|path| !path.exists());
    sources.chain(mounts).collect()
}

/// Panics unless every component of the real app has been built.
pub fn components_built() {
    assert_components_built(&app_manifest());
}

/// Panics unless every local component `source` of `manifest` exists.
#[track_caller]
pub fn assert_components_built(manifest: &Path) {
    let missing = missing_component_sources(manifest);
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|p| format!("  {}", p.display()))
            .collect();
        panic!(
            "the components of {} are not built:\n{}\nrun {TEST_COMMAND} (it builds the components first)",
            manifest.display(),
            list.join("\n")
        );
    }
}

/// Host logs (`tracing`) go to the test's captured output, shown when a test fails.
/// `RUST_LOG` overrides the default filter.
fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("spindle_host=info,warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/// A real `redis-server` on a free loopback port, with its data in a temporary directory and
/// no persistence (or, from [`start_persistent`](Self::start_persistent), an append-only file
/// synced on every write, kept across [`restart`](Self::restart)). Killed on drop; and, through `PR_SET_PDEATHSIG`, killed by the kernel if
/// the test process dies first.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that spawned the server exits, so start (and
/// restart) servers from the test's own thread or the runtime it drives, never from a
/// short-lived thread such as `spawn_blocking`'s.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    persistent: bool,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers `PING`.
    pub fn start() -> Result<Self> {
        Self::start_with(false)
    }

    /// Like [`start`](Self::start), but the server persists every write before answering
    /// (`--appendonly yes --appendfsync always`) in its directory, which
    /// [`restart`](Self::restart) reuses: what a client saw acknowledged survives a crash.
    pub fn start_persistent() -> Result<Self> {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Result<Self> {
        let binary = redis_server_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("spindle-redis-")
            .tempdir()?;
        let mut last_error = None;
        // Another process may take the port between our probe and the server's bind: retry.
        for _ in 0..8 {
            let port = free_port()?;
            match spawn_redis(&binary, port, dir.path(), persistent) {
                Ok(child) => {
                    return Ok(Self {
                        child: Some(child),
                        port,
                        dir,
                        persistent,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap()).context("could not start redis-server on a free port")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server (as a crash would: no shutdown; without persistence all data is lost,
    /// with it what was acknowledged is on disk). The port stays reserved for [`restart`](Self::restart) only as long as nobody
    /// else takes it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs, then starts a new one on the same port and directory
    /// (empty without persistence; with it, loading the append-only file) and waits until it
    /// answers `PING`.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let binary = redis_server_binary()?;
        let mut last_error = None;
        // The old listener may take a moment to go away.
        for _ in 0..20 {
            match spawn_redis(&binary, self.port, self.dir.path(), self.persistent) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) => last_error = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last_error.unwrap())
            .with_context(|| format!("could not restart redis-server on port {}", self.port))
    }

    /// Sends one command (inline syntax, e.g. `"SET key value"`) and returns the raw RESP reply:
    /// a quick way for a test to look at or prepare what the app sees in Redis.
    pub fn command(&self, command: &str) -> Result<String> {
        redis_command(self.port, command)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn redis_server_binary() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!(
                "`redis-server` is not on PATH: the integration tests need a real Redis. \
                 Run the tests with {TEST_COMMAND} (from the repository root), which installs it"
            )
        })
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Spawns `redis-server` on `port` and waits until *this* server answers (a server that lost
/// the port to someone else exits, and an answer from someone else's server is told apart by
/// its `process_id`).
fn spawn_redis(binary: &Path, port: u16, dir: &Path, persistent: bool) -> Result<Child> {
    let log = dir.join(format!("redis-{port}.log"));
    let _ = std::fs::remove_file(&log);
    let mut command = Command::new(binary);
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
        .args(if persistent {
            ["--appendonly", "yes", "--appendfsync", "always"].as_slice()
        } else {
            ["--appendonly", "no"].as_slice()
        })
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    die_with_this_thread(&mut command);
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run {}", binary.display()))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!(
                "redis-server on port {port} exited ({status}):\n{}",
                tail(&log, 20)
            );
        }
        if let Ok(info) = redis_command(port, "INFO server") {
            if info.contains(&format!("process_id:{pid}\r\n")) {
                return Ok(child);
            }
            // Someone else's server holds the port; ours will exit.
            let _ = child.kill();
            let _ = child.wait();
            bail!("port {port} is already served by another Redis");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!(
                "redis-server on port {port} did not answer within 10s:\n{}",
                tail(&log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A minimal RESP client: one inline command, one reply (simple, error, integer or bulk
/// string; arrays are returned as their raw text).
fn redis_command(port: u16, command: &str) -> Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(format!("{command}\r\n").as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    match line.as_bytes().first() {
        Some(b'$') => {
            let len: i64 = line[1..].trim().parse().context("malformed bulk length")?;
            if len < 0 {
                return Ok(String::new());
            }
            let mut body = vec![0; len as usize + 2];
            reader.read_exact(&mut body)?;
            body.truncate(len as usize);
            Ok(String::from_utf8_lossy(&body).into_owned())
        }
        Some(b'-') => bail!("redis error: {}", line[1..].trim_end()),
        Some(b'+' | b':') => Ok(line[1..].trim_end().to_string()),
        Some(_) => Ok(line),
        None => bail!("redis closed the connection"),
    }
}

// ---------------------------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------------------------

/// The SMTP server [`SmtpServer`] runs: Debian's `aiosmtpd` on 127.0.0.1, appending every
/// message it accepts as one JSON line (before it answers `250`, so a client that saw the
/// message accepted finds it in the file), then writing the ready file once it listens.
const SMTP_SERVER_SCRIPT: &str = r#"
import email, email.policy, json, os, sys, threading
from aiosmtpd.controller import Controller

port, messages, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def part(message, kind):
    body = message.get_body(preferencelist=(kind,))
    return None if body is None else body.get_content()

class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "content": raw.decode("utf-8", "replace"),
            "subject": str(message["subject"] or ""),
            "to": str(message["to"] or ""),
            "text": part(message, "plain"),
            "html": part(message, "html"),
        }
        line = (json.dumps(record) + "\n").encode("utf-8")
        fd = os.open(messages, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return "250 Message accepted for delivery"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
with open(ready + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
threading.Event().wait()
"#;

/// The Python that has `aiosmtpd` (Debian's, installed by `scripts/setup.sh`; a `python3`
/// earlier on PATH, such as a pyenv one, may lack it).
const SMTP_PYTHON: &str = "/usr/bin/python3";

/// One message an [`SmtpServer`] accepted: the envelope, the raw RFC 5322 text, and (parsed by
/// Python's `email` package) the decoded subject, `To:` header and text and HTML parts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SmtpMessage {
    /// `MAIL FROM`.
    pub mail_from: String,
    /// Every `RCPT TO`.
    pub rcpt_tos: Vec<String>,
    /// The message as received (after the dot-unstuffing of `DATA`).
    pub content: String,
    pub subject: String,
    pub to: String,
    /// The `text/plain` part, decoded; `None` when there is none.
    pub text: Option<String>,
    /// The `text/html` part, decoded; `None` when there is none.
    pub html: Option<String>,
}

/// A real SMTP server (`aiosmtpd`) on a loopback port that records every message it accepts in
/// a temporary directory; [`messages`](Self::messages) reads them back. Messages survive
/// [`stop`](Self::stop) and [`restart`](Self::restart) (same port, same file). Killed on drop
/// and, through `PR_SET_PDEATHSIG`, when the thread that started it exits (see [`RedisServer`]:
/// start it from the test's own thread).
pub struct SmtpServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl SmtpServer {
    /// Starts a server on a free port and waits until it greets connections.
    pub fn start() -> Result<Self> {
        let dir = smtp_dir()?;
        let mut last_error = None;
        // Another process may take the port between our probe and the server's bind: retry.
        for _ in 0..8 {
            let port = free_port()?;
            match spawn_smtp(port, dir.path()) {
                Ok(child) => {
                    return Ok(Self {
                        child: Some(child),
                        port,
                        dir,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap()).context("could not start the SMTP server on a free port")
    }

    /// Starts a server on `port` (one a test kept free, say [`free_loopback_port`]), retrying
    /// for a moment while the port is still taken.
    pub fn start_on(port: u16) -> Result<Self> {
        let mut server = Self {
            child: None,
            port,
            dir: smtp_dir()?,
        };
        server.restart()?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `tcp://127.0.0.1:PORT`: the value for the `smtp_relay` variable.
    pub fn relay(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Every message accepted so far, in order of arrival.
    pub fn messages(&self) -> Vec<SmtpMessage> {
        let text =
            std::fs::read_to_string(self.dir.path().join("messages.jsonl")).unwrap_or_default();
        text.split_inclusive('\n')
            // A line still being written has no newline yet: it is read next time.
            .filter(|line| line.ends_with('\n') && !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad line in the SMTP server's log ({e}): {line}"))
            })
            .collect()
    }

    /// Kills the server (connections are refused until [`restart`](Self::restart)); the
    /// messages it accepted are kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs, then starts a new one on the same port and waits until
    /// it greets connections.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let mut last_error = None;
        for _ in 0..20 {
            match spawn_smtp(self.port, self.dir.path()) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) => last_error = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last_error.unwrap())
            .with_context(|| format!("could not start the SMTP server on port {}", self.port))
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nobody listens on right now (it may be taken later by someone else).
pub fn free_loopback_port() -> u16 {
    free_port().expect("a free loopback port")
}

fn smtp_dir() -> Result<TempDir> {
    if !Path::new(SMTP_PYTHON).is_file() {
        bail!("{SMTP_PYTHON} is missing: run {TEST_COMMAND}, which installs python3-aiosmtpd");
    }
    Ok(tempfile::Builder::new().prefix("spindle-smtp-").tempdir()?)
}

/// Spawns the SMTP server on `port` and waits until *this* server is ready (it writes its
/// ready file only after its own listener answered) and greets with `220`.
fn spawn_smtp(port: u16, dir: &Path) -> Result<Child> {
    let ready = dir.join(format!("ready-{port}"));
    let log = dir.join(format!("smtp-{port}.log"));
    let _ = std::fs::remove_file(&ready);
    let mut command = Command::new(SMTP_PYTHON);
    command
        .arg("-c")
        .arg(SMTP_SERVER_SCRIPT)
        .arg(port.to_string())
        .arg(dir.join("messages.jsonl"))
        .arg(&ready)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    die_with_this_thread(&mut command);
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run {SMTP_PYTHON}"))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!(
                "the SMTP server on port {port} exited ({status}):\n{}",
                tail(&log, 20)
            );
        }
        if ready.is_file() && smtp_greets(port) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!(
                "the SMTP server on port {port} was not ready within 15s:\n{}",
                tail(&log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a connection to `port` is greeted with `220`.
fn smtp_greets(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let greeted = BufReader::new(&stream).read_line(&mut line).is_ok() && line.starts_with("220");
    let _ = (&stream).write_all(b"QUIT\r\n");
    greeted
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// A whole HTTP response, read eagerly so that assertions can look at it any number of times.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub async fn from_reqwest(response: reqwest::Response) -> Result<Self> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .context("failed to read the response body")?;
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The body as JSON; panics with the body's text when it is not.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!(
                "response body is not the expected JSON ({e}); status {}, body:\n{}",
                self.status,
                self.text()
            ),
        }
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and valid UTF-8 (the first one if repeated).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The media type of `content-type`, without parameters (`application/json`).
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// Polls `check` every 50 ms until it gives a value; panics after `timeout`, naming `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts `response` is an `application/problem+json` answer with `status` (in the status
/// line and the body) and a `title` and `type`; answers the body.
#[track_caller]
pub fn assert_problem(response: &TestResponse, status: u16, what: &str) -> serde_json::Value {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    assert_eq!(
        response.content_type().as_deref(),
        Some("application/problem+json"),
        "{what}: {}",
        response.text()
    );
    let body: serde_json::Value = response.json();
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(body["title"].is_string(), "{what}: a title: {body}");
    assert!(body["type"].is_string(), "{what}: a type: {body}");
    body
}

/// Asserts `response` is a 422 problem whose `errors` name exactly `fields`, each with a
/// message.
#[track_caller]
pub fn assert_invalid(response: &TestResponse, fields: &[&str], what: &str) {
    let body = assert_problem(response, 422, what);
    let named: BTreeSet<String> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: a 422 lists its errors: {body}"))
        .iter()
        .map(|e| {
            assert!(e["message"].is_string(), "{what}: {body}");
            e["field"].as_str().expect("errors[].field").to_string()
        })
        .collect();
    assert_eq!(named, string_set(fields), "{what}: {body}");
}

/// The keys of a JSON object (panics on anything else).
pub fn object_keys(value: &serde_json::Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

/// `names` as a set of owned strings, to compare with [`object_keys`] and the like.
pub fn string_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// An RFC 3339 time (`2026-12-07T13:40:26Z`, `…26.123456+00:00`) in ms since the epoch
/// (panics on anything else).
#[track_caller]
pub fn rfc3339_ms(text: &str) -> f64 {
    fn bad(text: &str) -> ! {
        panic!("not an RFC 3339 time: {text:?}")
    }
    if text.len() < 20 || text.as_bytes()[10] != b'T' {
        bad(text);
    }
    let num = |range: std::ops::Range<usize>| -> i64 {
        text.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| bad(text))
    };
    let days = days_from_civil(num(0..4), num(5..7), num(8..10));
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    let rest = &text[19..];
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(tail) => {
            let digits = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or_else(|| bad(text));
            let value: f64 = format!("0.{}", &tail[..digits]).parse().unwrap();
            (value, &tail[digits..])
        }
        None => (0.0, rest),
    };
    let offset_minutes = zone_offset_minutes(zone).unwrap_or_else(|| bad(text));
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    secs as f64 * 1000.0 + fraction * 1000.0
}

/// The offset of an RFC 3339 zone (`Z`, `+02:00`, `-05:30`) in minutes east of UTC.
fn zone_offset_minutes(zone: &str) -> Option<i64> {
    if zone == "Z" || zone == "z" {
        return Some(0);
    }
    if zone.len() != 6 {
        return None;
    }
    let sign = match &zone[..1] {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let h: i64 = zone[1..3].parse().ok()?;
    let m: i64 = zone[4..6].parse().ok()?;
    Some(sign * (h * 60 + m))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------------
// The app under test
// ---------------------------------------------------------------------------------------------

/// An application running in this process on `127.0.0.1:<ephemeral>`, with its own Redis
/// (the `redis_url` variable points at it), state and log directories.
pub struct TestApp {
    pub addr: SocketAddr,
    pub redis: RedisServer,
    pub client: reqwest::Client,
    running: Option<RunningApp>,
    dir: TempDir,
    /// What [`restart`](Self::restart) starts again: the manifest (absolute), the runtime
    /// config file in `dir`, the variables (`redis_url` first) and the environment.
    manifest: PathBuf,
    runtime_config: Option<PathBuf>,
    variables: Vec<(String, String)>,
    env: HashMap<String, String>,
}

/// Sends a request and reads the whole response; panics if no response comes back.
pub async fn send(request: reqwest::RequestBuilder) -> TestResponse {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e:?}"));
    TestResponse::from_reqwest(response)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// Starts the real app: the repository's `spin.toml` with its `runtime-config.toml`.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with application variables set (`spin up --variable NAME=VALUE`).
pub async fn spawn_app_with(variables: &[(&str, &str)]) -> TestApp {
    TestApp::builder(app_manifest())
        .variables(variables)
        .start()
        .await
        .unwrap_or_else(|e| panic!("failed to start the app: {e:?}"))
}

impl TestApp {
    /// A builder for `manifest` (a `spin.toml` or the directory that holds one). For the
    /// repository's own manifest the repository's `runtime-config.toml` is used unless
    /// [`runtime_config`](TestAppBuilder::runtime_config) says otherwise.
    pub fn builder(manifest: impl Into<PathBuf>) -> TestAppBuilder {
        TestAppBuilder {
            manifest: manifest.into(),
            variables: Vec::new(),
            env: HashMap::new(),
            runtime_config: None,
            persistent_redis: false,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Where the app keeps its default key-value store and SQLite database.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Where component stdout/stderr go, as `<component>_stdout.txt` / `_stderr.txt`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// What `component` wrote to `stream` (`"stdout"` or `"stderr"`) so far; empty if nothing.
    pub fn component_log(&self, component: &str, stream: &str) -> String {
        assert!(
            matches!(stream, "stdout" | "stderr"),
            "stream is \"stdout\" or \"stderr\", not {stream:?}"
        );
        std::fs::read_to_string(self.log_dir().join(format!("{component}_{stream}.txt")))
            .unwrap_or_default()
    }

    /// The running host (for `app().routes()` and the like).
    pub fn running(&self) -> &RunningApp {
        self.running.as_ref().expect("the app is running")
    }

    /// A request to build further (headers, body); send it with [`send`](Self::send).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends a request and reads the whole response; panics if no response comes back.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        send(request).await
    }

    /// A request as the holder of the access token `token`, with an optional JSON body.
    pub async fn send_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> TestResponse {
        self.call(Some(token), method, path, body).await
    }

    /// A request as `token`'s holder, or anonymous when `None`, with an optional JSON body.
    pub async fn call(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> TestResponse {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> TestResponse {
        self.send(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> TestResponse {
        self.send(self.request(reqwest::Method::PUT, path).json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Graceful shutdown: stops accepting requests, ends the triggers, and panics if one of
    /// them ended with an error.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running
                .shutdown()
                .await
                .unwrap_or_else(|e| panic!("the app did not shut down cleanly: {e:?}"));
        }
    }

    /// Stops the app gracefully (as [`stop`](Self::stop)) and starts the same manifest again,
    /// as a redeploy would: same address, state and log directories, runtime config, Redis
    /// and environment. `variables` replace the earlier ones of the same name (the others
    /// stay) and are kept for later restarts. The client is new: no connection to the old
    /// server is reused. Panics if the app does not shut down cleanly or does not come back.
    pub async fn restart(&mut self, variables: Vec<(String, String)>) {
        if let Some(running) = self.running.take() {
            running
                .shutdown()
                .await
                .unwrap_or_else(|e| panic!("the app did not shut down cleanly: {e:?}"));
        }
        for (name, value) in variables {
            set_variable(&mut self.variables, name, value);
        }
        let mut last_error = None;
        // The old listener may take a moment to go away.
        for _ in 0..20 {
            match self.up(self.addr).await {
                Ok(running) => {
                    self.running = Some(running);
                    self.client = http_client()
                        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e:?}"));
                    return;
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the app did not start again on {}: {:?}",
            self.addr,
            last_error.unwrap()
        );
    }

    /// `spindle_host::up` with this app's manifest, directories, variables and environment.
    async fn up(&self, listen: SocketAddr) -> Result<RunningApp> {
        let opts = UpOptions {
            runtime_config: self.runtime_config.clone(),
            listen,
            state_dir: Some(self.state_dir()),
            log_dir: Some(self.log_dir()),
            variables: self.variables.clone(),
            env: Some(self.env.clone()),
            follow_logs: false,
            ..UpOptions::new(&self.manifest)
        };
        spindle_host::up(opts)
            .await
            .with_context(|| format!("spindle_host::up failed for {}", self.manifest.display()))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Without `stop`, cancel the triggers; their tasks end with the test's runtime. The
        // Redis server is killed and the temporary directory removed by their own drops.
        if let Some(running) = self.running.take() {
            running.shutdown_token().cancel();
        }
    }
}

/// How to start a [`TestApp`].
pub struct TestAppBuilder {
    manifest: PathBuf,
    variables: Vec<(String, String)>,
    env: HashMap<String, String>,
    runtime_config: Option<RuntimeConfig>,
    persistent_redis: bool,
}

enum RuntimeConfig {
    Text(String),
    None,
}

impl TestAppBuilder {
    /// Sets an application variable with the highest precedence (`spin up --variable`).
    /// Overrides `redis_url`, which otherwise points at the app's own Redis.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    /// [`variable`](Self::variable) for each pair.
    pub fn variables(mut self, variables: &[(&str, &str)]) -> Self {
        for (name, value) in variables {
            self = self.variable(*name, *value);
        }
        self
    }

    /// Adds a variable to the (otherwise empty) environment the app sees, for
    /// `SPIN_VARIABLE_*` tests.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// A runtime config, as TOML text, written into the app's temporary directory. Spin
    /// resolves a relative SQLite `path` against the working directory, and so does the host:
    /// give SQLite databases absolute paths (in a directory of the test's own).
    pub fn runtime_config(mut self, toml_text: impl Into<String>) -> Self {
        self.runtime_config = Some(RuntimeConfig::Text(toml_text.into()));
        self
    }

    /// No runtime config at all, even for the repository's manifest.
    pub fn no_runtime_config(mut self) -> Self {
        self.runtime_config = Some(RuntimeConfig::None);
        self
    }

    /// The app's Redis persists every write ([`RedisServer::start_persistent`]), so that
    /// `app.redis.restart()` keeps its data, as a crashed and restarted server would.
    pub fn persistent_redis(mut self) -> Self {
        self.persistent_redis = true;
        self
    }

    pub async fn start(self) -> Result<TestApp> {
        init_tracing();
        let manifest = std::path::absolute(&self.manifest)?;
        assert_components_built(&manifest);

        let dir = tempfile::Builder::new().prefix("spindle-test-").tempdir()?;
        let state_dir = dir.path().join("state");
        let log_dir = dir.path().join("logs");
        std::fs::create_dir_all(&state_dir)?;
        std::fs::create_dir_all(&log_dir)?;

        let runtime_config_text = match self.runtime_config {
            Some(RuntimeConfig::Text(text)) => Some(text),
            Some(RuntimeConfig::None) => None,
            None if is_repo_manifest(&manifest) => {
                let path = repo_root().join("runtime-config.toml");
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Some(isolate_sqlite_paths(&text, &state_dir)?)
            }
            None => None,
        };
        let runtime_config = match runtime_config_text {
            Some(text) => {
                let path = dir.path().join("runtime-config.toml");
                std::fs::write(&path, text)?;
                Some(path)
            }
            None => None,
        };

        let redis = if self.persistent_redis {
            RedisServer::start_persistent()?
        } else {
            RedisServer::start()?
        };
        let mut variables = vec![("redis_url".to_string(), redis.url())];
        for (name, value) in self.variables {
            set_variable(&mut variables, name, value);
        }

        let mut app = TestApp {
            addr: "127.0.0.1:0".parse().unwrap(),
            redis,
            client: http_client()?,
            running: None,
            dir,
            manifest,
            runtime_config,
            variables,
            env: self.env,
        };
        let running = app.up(app.addr).await?;
        app.addr = running.http_addr();
        app.running = Some(running);
        Ok(app)
    }
}

/// Sets `name` in a variable list: a later value replaces an earlier one.
fn set_variable(variables: &mut Vec<(String, String)>, name: String, value: String) {
    variables.retain(|(n, _)| *n != name);
    variables.push((name, value));
}

/// The tests' HTTP client: no proxy, no redirects followed, a timeout per request.
fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn is_repo_manifest(manifest: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let manifest = if manifest.is_dir() {
        manifest.join("spin.toml")
    } else {
        manifest.to_path_buf()
    };
    canonical(&manifest).is_some() && canonical(&manifest) == canonical(&app_manifest())
}

/// Spin resolves a relative `[sqlite_database.NAME] path` against the working directory, which
/// every test shares; each test's databases go under its own state directory instead.
fn isolate_sqlite_paths(text: &str, state_dir: &Path) -> Result<String> {
    let mut config: toml::Table = toml::from_str(text).context("runtime config")?;
    if let Some(toml::Value::Table(databases)) = config.get_mut("sqlite_database") {
        let labels: Vec<String> = databases.keys().cloned().collect();
        for label in labels {
            let Some(toml::Value::Table(database)) = databases.get_mut(&label) else {
                continue;
            };
            let relative = match database.get("path") {
                Some(toml::Value::String(path)) if Path::new(path).is_relative() => path.clone(),
                _ => continue,
            };
            let absolute = state_dir.join(relative).display().to_string();
            database.insert("path".into(), toml::Value::String(absolute));
        }
    }
    Ok(toml::to_string(&config)?)
}

/// Has the kernel kill the child when the thread that spawns it exits (a killed test process
/// included), so no server outlives its test.
fn die_with_this_thread(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}
