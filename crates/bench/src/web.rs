//! `--suite web`: the `web` component serving the built player (`web/dist`) through the host:
//! the page (`index.html`, revalidated on every load), the app's script (a hashed asset, the
//! largest file a visit needs) and an app path answered by the SPA fallback, each loaded by
//! `--connections` connections for `--duration` seconds. Writes `target/bench/web.json`.

use crate::load::{self, LoadResult};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::runtime::Runtime;

pub struct Config {
    pub connections: Vec<usize>,
    pub warmup: Duration,
    pub duration: Duration,
}

pub struct Row {
    what: &'static str,
    path: String,
    bytes: usize,
    connections: usize,
    result: LoadResult,
}

/// Loads the app at `addr` (see the module documentation).
pub fn run(addr: SocketAddr, config: &Config, load_rt: &Runtime) -> Result<Vec<Row>> {
    let page = fetch(load_rt, addr, "/")?;
    let script = entry_script(&String::from_utf8_lossy(&page))?;
    let targets = [
        ("page (index.html)", "/".to_string()),
        ("script (hashed asset)", script.clone()),
        (
            "app path (fallback)",
            "/songs/01JAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        ),
    ];
    let mut rows = Vec::new();
    for (what, path) in targets {
        let bytes = fetch(load_rt, addr, &path)?.len();
        for &connections in &config.connections {
            eprintln!("web: GET {path} with {connections} connection(s)...");
            let result = load_rt.block_on(load::run(
                addr,
                &path,
                connections,
                config.warmup,
                config.duration,
            ))?;
            rows.push(Row {
                what,
                path: path.clone(),
                bytes,
                connections,
                result,
            });
        }
    }
    Ok(rows)
}

/// The body of a 200 answer to `GET path`.
fn fetch(load_rt: &Runtime, addr: SocketAddr, path: &str) -> Result<Vec<u8>> {
    let (status, body) = load_rt.block_on(load::get(addr, path))?;
    if !status.is_success() {
        bail!(
            "GET {path} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(body.to_vec())
}

/// The script `index.html` loads (Vite names it after a hash of its content).
fn entry_script(html: &str) -> Result<String> {
    let start = html.find("/assets/").context("index.html loads no asset")?;
    let end = start + html[start..].find('"').context("an unquoted asset path")?;
    Ok(html[start..end].to_string())
}

pub fn print(rows: &[Row]) {
    println!("| what | bytes | conns | req/s | MB/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let rps = r.result.requests_per_sec();
        let ms = |q: f64| r.result.latency.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.2} | {:.2} | {} |",
            r.what,
            r.bytes,
            r.connections,
            rps,
            rps * r.bytes as f64 / 1e6,
            ms(0.5),
            ms(0.99),
            r.result.errors
        );
    }
    println!("(identity encoding: the load generator sends no Accept-Encoding)");
}

pub fn to_json(rows: &[Row], config: &Config) -> Value {
    json!({
        "suite": "web",
        "warmup_secs": config.warmup.as_secs_f64(),
        "duration_secs": config.duration.as_secs_f64(),
        "rows": rows.iter().map(|r| json!({
            "what": r.what,
            "path": r.path,
            "bytes": r.bytes,
            "connections": r.connections,
            "requests_per_sec": r.result.requests_per_sec(),
            "errors": r.result.errors,
            "latency": load::latency_json(&r.result.latency),
        })).collect::<Vec<_>>(),
    })
}
