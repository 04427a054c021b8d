//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, one request in flight on
//! each, a warm-up, then a measured window whose latencies go into an HDR histogram (µs). Also
//! the sequential timing the component suites share: [`Client`] (one keep-alive connection,
//! requests with a bearer token and a JSON body) and [`timed_gets`].

use anyhow::{Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Body;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// No single request may take longer than this; one that does counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Latencies above this (60 s) are clamped.
const MAX_LATENCY_US: u64 = 60_000_000;
/// How long one request of the sequential suites ([`Client`]) may take before the run fails.
const TIMED_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct LoadResult {
    /// Requests that completed inside the measured window, whatever their status.
    pub requests: u64,
    /// Of those, the non-200 answers, plus transport failures and timeouts.
    pub errors: u64,
    pub window: Duration,
    /// Latency of every response received inside the window, in µs.
    pub latency: Histogram<u64>,
}

impl LoadResult {
    pub fn requests_per_sec(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }
}

/// Drives `connections` connections to `GET http://addr{path}` for `warmup` + `duration`.
/// Spawns its connection tasks on the current runtime.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<LoadResult> {
    let measure_from = Instant::now() + warmup;
    let until = measure_from + duration;
    let host = HeaderValue::from_str(&addr.to_string())?;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(connection(
                addr,
                path.to_string(),
                host.clone(),
                measure_from,
                until,
            ))
        })
        .collect();
    let mut total = LoadResult {
        requests: 0,
        errors: 0,
        window: duration,
        latency: new_histogram(),
    };
    for task in tasks {
        let one = task.await.context("load connection task panicked")??;
        total.requests += one.requests;
        total.errors += one.errors;
        total.latency.add(&one.latency)?;
    }
    Ok(total)
}

/// A latency histogram's figures for the JSON reports (µs).
pub fn latency_json(h: &Histogram<u64>) -> serde_json::Value {
    serde_json::json!({
        "count": h.len(),
        "p50_us": h.value_at_quantile(0.5),
        "p99_us": h.value_at_quantile(0.99),
        "max_us": h.max(),
        "mean_us": h.mean(),
    })
}

/// An empty latency histogram (µs, 1 µs to 60 s, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// One client connection's loop; reconnects after a transport failure.
async fn connection(
    addr: SocketAddr,
    path: String,
    host: HeaderValue,
    measure_from: Instant,
    until: Instant,
) -> Result<LoadResult> {
    let mut result = LoadResult {
        requests: 0,
        errors: 0,
        window: until - measure_from,
        latency: new_histogram(),
    };
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    while Instant::now() < until {
        let start = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, async {
            if sender.as_ref().is_none_or(|s| s.is_closed()) {
                sender = Some(connect(addr).await?);
            }
            let sender = sender.as_mut().expect("connected above");
            sender.ready().await?;
            let request = Request::get(path.as_str())
                .header(HOST, host.clone())
                .body(Empty::new())?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            anyhow::Ok(status)
        })
        .await;
        let end = Instant::now();
        let in_window = end >= measure_from && end < until;
        if in_window {
            result.requests += 1;
        }
        match outcome {
            Ok(Ok(status)) if in_window => {
                if status != StatusCode::OK {
                    result.errors += 1;
                }
                let micros = (end - start).as_micros().clamp(1, MAX_LATENCY_US as u128) as u64;
                result.latency.record(micros)?;
            }
            Ok(Ok(_)) => {}
            failed => {
                // Transport failure or timeout: count it, start over on a fresh connection.
                result.errors += u64::from(in_window);
                sender = None;
                if matches!(failed, Ok(Err(_))) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    Ok(result)
}

/// An HTTP/1.1 connection to `addr` (no Nagle), its driver spawned.
pub async fn connect<B>(addr: SocketAddr) -> Result<SendRequest<B>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One `GET`, to check a server answers before loading it: the status and body.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(StatusCode, Bytes)> {
    let mut sender = connect::<Empty<Bytes>>(addr).await?;
    let request = Request::get(path)
        .header(HOST, HeaderValue::from_str(&addr.to_string())?)
        .body(Empty::new())?;
    let response = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(request)).await??;
    let status = response.status();
    let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect()).await??;
    Ok((status, body.to_bytes()))
}

/// One keep-alive connection for timed sequential requests; reconnects when the server closed
/// it.
pub struct Client {
    addr: SocketAddr,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
}

/// A complete answer and how long it took.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    /// From waiting for the connection to be ready to the last byte of the body, in µs.
    pub micros: u64,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        Ok(Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender: connect(addr).await?,
        })
    }

    /// Sends one request (as the holder of `token` when given; `json` as an
    /// `application/json` body) and reads the whole answer; an error when it takes longer than
    /// 30 s or the connection fails.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<Vec<u8>>,
    ) -> Result<Answer> {
        if self.sender.is_closed() {
            self.sender = connect(self.addr).await?;
        }
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(HOST, self.host.clone());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if json.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request.body(Full::new(Bytes::from(json.unwrap_or_default())))?;
        let started = Instant::now();
        let sender = &mut self.sender;
        let (status, body) = tokio::time::timeout(TIMED_REQUEST_TIMEOUT, async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            anyhow::Ok((status, response.into_body().collect().await?.to_bytes()))
        })
        .await
        .with_context(|| format!("{method} {path} timed out"))??;
        let micros = (started.elapsed().as_micros() as u64).clamp(1, MAX_LATENCY_US);
        Ok(Answer {
            status,
            body,
            micros,
        })
    }
}

/// GETs each path in turn over one keep-alive connection (as the holder of `token` when
/// given), each expected to answer 200, and hands each path, body and latency (µs) to `check`
/// (untimed); the latencies.
pub async fn timed_gets(
    addr: SocketAddr,
    paths: &[String],
    token: Option<&str>,
    mut check: impl FnMut(&str, &[u8], u64) -> Result<()>,
) -> Result<Histogram<u64>> {
    let mut histogram = new_histogram();
    let mut client = Client::connect(addr).await?;
    for path in paths {
        let answer = client.send(Method::GET, path, token, None).await?;
        histogram.record(answer.micros)?;
        if answer.status != StatusCode::OK {
            anyhow::bail!(
                "GET {path} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        check(path, &answer.body, answer.micros)?;
    }
    Ok(histogram)
}
