//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, one request in flight on
//! each, a warm-up, then a measured window whose latencies go into an HDR histogram (µs).

use anyhow::{Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// No single request may take longer than this; one that does counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Latencies above this (60 s) are clamped.
const MAX_LATENCY_US: u64 = 60_000_000;

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

fn new_histogram() -> Histogram<u64> {
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
pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Empty<Bytes>>> {
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
    let mut sender = connect(addr).await?;
    let request = Request::get(path)
        .header(HOST, HeaderValue::from_str(&addr.to_string())?)
        .body(Empty::new())?;
    let response = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(request)).await??;
    let status = response.status();
    let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect()).await??;
    Ok((status, body.to_bytes()))
}
