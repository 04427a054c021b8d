//! Helpers shared by the host's own tests (`tests/tests/host_*.rs`): the fixture manifests in
//! `tests/fixtures`, the probe component's JSON answers, a raw HTTP/1.1 client (to know the
//! client's own address and send exact headers), a loopback HTTP server for outbound requests,
//! and starting an app on a state directory of the test's choosing (to restart it).

#![allow(dead_code)]

use serde_json::{Value, json};
use spindle_tests::wire::{RawRequest, dechunk, read_request};
use spindle_tests::{TestApp, TestAppBuilder, TestResponse};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    spindle_tests::repo_root()
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// A builder for the fixture manifest `name` (e.g. `"routing.toml"`).
pub fn builder(name: &str) -> TestAppBuilder {
    TestApp::builder(fixture(name))
}

/// Starts the fixture manifest `name` with no runtime config.
pub async fn start(name: &str) -> TestApp {
    builder(name)
        .start()
        .await
        .unwrap_or_else(|e| panic!("failed to start {name}: {e:?}"))
}

/// Expects `up` to fail; returns the whole error chain as one string.
pub async fn start_error(builder: TestAppBuilder) -> String {
    match builder.start().await {
        Ok(_) => panic!("the app started, but it should have failed to"),
        Err(e) => format!("{e:#}"),
    }
}

/// The probe's JSON answer; panics unless the status is 200 and the body is JSON.
#[track_caller]
pub fn probe_json(response: &TestResponse) -> Value {
    assert_eq!(
        response.status,
        200,
        "the probe answers 200; body: {}",
        response.text()
    );
    response.json()
}

pub async fn probe_get(app: &TestApp, path: &str) -> Value {
    probe_json(&app.get(path).await)
}

pub async fn probe_post(app: &TestApp, path: &str, body: Value) -> Value {
    probe_json(&app.post_json(path, &body).await)
}

/// All values of header `name` in an echo answer, in order.
pub fn header_values(echo: &Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("not an echo answer: {echo}"))
        .iter()
        .filter(|pair| {
            pair[0]
                .as_str()
                .unwrap_or_default()
                .eq_ignore_ascii_case(name)
        })
        .map(|pair| pair[1].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The single value of header `name`; panics if it is absent or repeated.
#[track_caller]
pub fn header(echo: &Value, name: &str) -> String {
    let values = header_values(echo, name);
    assert_eq!(
        values.len(),
        1,
        "expected exactly one `{name}` header in {echo}"
    );
    values[0].clone()
}

/// The names of the headers starting with `prefix`, sorted.
pub fn header_names_with_prefix(echo: &Value, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = echo["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("not an echo answer: {echo}"))
        .iter()
        .filter_map(|pair| pair[0].as_str())
        .filter(|n| n.to_ascii_lowercase().starts_with(prefix))
        .map(|n| n.to_ascii_lowercase())
        .collect();
    names.sort();
    names
}

/// Asserts a probe answer reports the WIT error `variant`; returns its message (or "").
#[track_caller]
pub fn assert_error(answer: &Value, variant: &str) -> String {
    assert_eq!(
        answer["error"], variant,
        "expected the error `{variant}`, got {answer}"
    );
    answer["message"].as_str().unwrap_or_default().to_string()
}

/// Asserts a probe answer succeeded; returns its `ok` value.
#[track_caller]
pub fn ok(answer: &Value) -> Value {
    assert!(
        answer.get("error").is_none() && answer.get("ok").is_some(),
        "expected success, got {answer}"
    );
    answer["ok"].clone()
}

/// Whether `text` mentions `word` as a whole identifier (not inside a longer name such as
/// `SPIN_VARIABLE_NAME` or `username`).
pub fn mentions(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

/// A response read off a raw connection, with the client's own address.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The local (client) address of the connection that carried the request.
    pub client_addr: SocketAddr,
}

impl RawResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends `head` (request line and headers, `\r\n`-separated, without the final blank line) on
/// a fresh connection to `addr`, adds `connection: close` unless `head` has a `connection`
/// header, and reads the whole response (chunked or not).
pub async fn raw_request(addr: SocketAddr, head: &str) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect to the app");
    let client_addr = stream.local_addr().unwrap();
    let mut request = head.trim_end().to_string();
    if !head.to_ascii_lowercase().contains("\nconnection:") {
        request.push_str("\r\nconnection: close");
    }
    request.push_str("\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("the response arrives within 30s")
        .expect("read the response");
    let (status, headers, body) = parse_response(&raw);
    RawResponse {
        status,
        headers,
        body,
        client_addr,
    }
}

/// Sends `head` (plus the blank line) on a fresh connection and returns every byte the server
/// sends back until it closes the connection (empty if it closes without answering).
pub async fn raw_exchange(addr: SocketAddr, head: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect to the app");
    let request = format!("{}\r\n\r\n", head.trim_end());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection within 30s")
        .unwrap_or_default();
    raw
}

fn parse_response(raw: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    (status, headers, body)
}

// ---------------------------------------------------------------------------------------------
// A loopback HTTP server, the destination of outbound requests
// ---------------------------------------------------------------------------------------------

/// One request the [`EchoServer`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 server on `127.0.0.1:<free port>` that answers every request with 200 and a
/// JSON body `{"served_by": "echo-server", "method", "target"}` and records what it received.
pub struct EchoServer {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl EchoServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve_one(stream, log).await;
                });
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_one(mut stream: TcpStream, log: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    // The whole body is read, so the test can see it and the client sees a clean exchange.
    let Some(RawRequest {
        method,
        target,
        headers,
        body,
    }) = read_request(&mut stream).await?
    else {
        return Ok(());
    };
    log.lock().unwrap().push(Received {
        method: method.clone(),
        target: target.clone(),
        headers,
        body,
    });
    let body =
        json!({ "served_by": "echo-server", "method": method, "target": target }).to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Apps on a state directory of the test's choosing
// ---------------------------------------------------------------------------------------------

/// An app started directly with `spindle_host::up`, on a given state directory (so a test can
/// stop it and start it again on the same state, which [`TestApp`] does not offer).
pub struct DirectApp {
    pub running: spindle_host::RunningApp,
    pub client: reqwest::Client,
}

impl DirectApp {
    pub async fn start(
        manifest: &Path,
        state_dir: &Path,
        log_dir: &Path,
        runtime_config: Option<&Path>,
        variables: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let opts = spindle_host::UpOptions {
            runtime_config: runtime_config.map(Path::to_path_buf),
            listen: "127.0.0.1:0".parse().unwrap(),
            state_dir: Some(state_dir.to_path_buf()),
            log_dir: Some(log_dir.to_path_buf()),
            variables: variables
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            env: Some(HashMap::new()),
            follow_logs: false,
            ..spindle_host::UpOptions::new(manifest)
        };
        let running = spindle_host::up(opts).await?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { running, client })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.http_addr())
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("JSON answer")
    }

    pub async fn stop(self) {
        self.running.shutdown().await.expect("clean shutdown");
    }
}
