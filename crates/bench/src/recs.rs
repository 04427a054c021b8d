//! `--suite recs`: recommendation quality and speed of the `activity` component (issue 8) at
//! the size: 100,000 songs, 10,000 users, 1,000,000 listens.
//!
//! * **Dataset** ([`dataset`]): generated from `--recs-seed` with planted taste groups (20
//!   genres, power-law popularity, users with a primary and often a secondary genre, listens in
//!   sessions of one genre). Each user's last 5 listens (by time) are held out; the rest are
//!   written straight into the databases before the app starts: the catalog's (artists and
//!   public songs, its migrations applied) and the activity component's (its song mirror and
//!   the listens, its migrations applied and recorded).
//! * **App**: the real `spin.toml` in-process as in the catalog suite (the test harness's
//!   `TestApp`, every SQLite database in a temporary directory), with a known signing key
//!   ([`tokens`]): tokens of 10,000 users are minted here, not registered. `POST
//!   /api/admin/activity/rebuild` as an admin derives counts, trend scores and co-listening
//!   pairs from the listens (timed); 5 s into it, one read and one tracking call show whether
//!   the component still answers meanwhile.
//! * **Latency**: for-you, similar and trending p50/p99 at `--recs-concurrency` connections,
//!   cold (the first request of a user / seed song / genre, which computes and caches the
//!   ranked list) and warm (the same again, from the cache) ([`measure`]).
//! * **Quality**: for every user of a fixed random order (all, or as many as fit in
//!   `--recs-eval-secs` but at least `--recs-eval-min-users`), `GET
//!   /api/songs/recommendations/for-you?limit=10` as that user and `GET
//!   /api/songs/{last training listen}/similar?limit=10`: hit rate at 10 and NDCG at 10 (binary
//!   relevance: the held-out songs), against the 10 songs with the most training plays on the
//!   same users. Goal (issue 8): at least twice the baseline's hit rate. For context, three
//!   more lists on the same users (the top 10 of the user's primary genre, the user's own most
//!   played, for-you without songs already heard), and what the lists hold (genres, songs heard,
//!   popularity ranks).
//! * **Ingest**: `--recs-ingest-listens` new listens through `POST
//!   /api/songs/:id/track/{play,complete,skip}`, spread over enough users that the rate limits
//!   (30 new listens a user a minute, one play of a song a user per 30 s) are not reached.

mod dataset;
mod measure;
mod tokens;

use crate::catalog::database;
use anyhow::{Result, bail};
use dataset::{Dataset, GENRES, Listen, Shape};
use hdrhistogram::Histogram;
use measure::{EvalResult, IngestResult, Latencies};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Runtime;

/// Held-out listens per user.
pub const HELD_OUT: usize = 5;
/// The list length evaluated.
pub const K: usize = 10;
/// The goal: for-you's hit rate at 10 at least this many times the baseline's.
pub const GOAL_RATIO: f64 = 2.0;

pub struct Config {
    pub songs: usize,
    pub artists: usize,
    pub users: usize,
    pub listens: usize,
    pub seed: u64,
    /// Evaluate at most this many users (0: all).
    pub eval_users: usize,
    /// Stop evaluating new users after this many seconds, once `eval_min_users` are done.
    pub eval_secs: f64,
    pub eval_min_users: usize,
    pub concurrency: usize,
    /// Timed requests of each latency kind.
    pub latency_requests: usize,
    pub ingest_listens: usize,
    pub ingest_per_user: usize,
}

pub use crate::generate::Rng;

/// The dataset with its split.
pub struct Split {
    pub data: Dataset,
    /// Per user: the training listens (all but the last [`HELD_OUT`]).
    pub training_end: Vec<usize>,
    /// Song index by id.
    pub song_index: HashMap<String, u32>,
    /// Training plays per song.
    pub plays: Vec<u32>,
}

impl Split {
    pub fn training(&self, user: usize) -> &[Listen] {
        &self.data.listens[self.data.user_start[user]..self.training_end[user]]
    }

    pub fn held_out(&self, user: usize) -> &[Listen] {
        &self.data.listens[self.training_end[user]..self.data.user_start[user + 1]]
    }
}

pub struct RecsResult {
    pub generate_secs: f64,
    pub write_secs: f64,
    pub training_listens: usize,
    pub held_out_listens: usize,
    pub pairs: i64,
    pub rebuild_secs: f64,
    pub rebuild_took_ms: Option<i64>,
    /// Requests made while the rebuild ran.
    pub probes: Vec<measure::Probe>,
    pub latency: Latencies,
    pub eval: EvalResult,
    pub ingest: IngestResult,
}

pub fn run(
    root: &Path,
    config: &Config,
    server_rt: &Runtime,
    load_rt: &Runtime,
) -> Result<RecsResult> {
    let now = now_ms();
    eprintln!(
        "recs: generating {} listens of {} users over {} songs by {} artists (seed {})...",
        config.listens, config.users, config.songs, config.artists, config.seed
    );
    let started = Instant::now();
    let data = dataset::generate(
        &Shape {
            songs: config.songs,
            artists: config.artists,
            users: config.users,
            listens: config.listens,
            seed: config.seed,
        },
        now,
    );
    let split = split(data);
    let generate_secs = started.elapsed().as_secs_f64();
    let training: Vec<Listen> = (0..split.data.users.len())
        .flat_map(|u| split.training(u).iter().copied())
        .collect();
    let held_out_listens = split.data.listens.len() - training.len();
    eprintln!(
        "  generated in {generate_secs:.1}s: {} training listens, {held_out_listens} held out",
        training.len()
    );

    let dir = tempfile::Builder::new()
        .prefix("spindle-bench-recs-")
        .tempdir()?;
    eprintln!("recs: writing the catalog's and the activity component's databases...");
    let started = Instant::now();
    dataset::write_catalog(root, &database(dir.path(), "catalog"), &split.data, now)?;
    dataset::write_activity(
        root,
        &database(dir.path(), "activity"),
        &split.data,
        &training,
    )?;
    let write_secs = started.elapsed().as_secs_f64();
    eprintln!("  written in {write_secs:.1}s");
    drop(training);

    let minter = Arc::new(tokens::Minter::new(*b"spindle-bench-recs-signing-key!!")?);
    let app = crate::catalog::start_app_with(
        root,
        dir.path(),
        &[("auth_signing_key", minter.pem.as_str())],
        server_rt,
    )?;
    let split = Arc::new(split);
    let result = load_rt.block_on(async {
        let addr = app.addr;
        measure::check_token(addr, &minter, &split).await?;
        eprintln!("recs: POST /api/admin/activity/rebuild as an admin...");
        let admin = minter.token("bench-admin", "admin")?;
        let (answer, rebuild_secs, probes) =
            measure::rebuild_with_probes(addr, &minter, &split, &admin).await?;
        for p in &probes {
            eprintln!(
                "  during the rebuild: {} → {} in {:.0} ms",
                p.what, p.status, p.ms
            );
        }
        let rebuild_took_ms = answer["tookMs"].as_i64();
        eprintln!(
            "  rebuilt from {} listens in {rebuild_secs:.1}s (the component says {} ms)",
            answer["listens"], answer["tookMs"]
        );
        if answer["listens"].as_u64() != Some((split.data.listens.len() - held_out_listens) as u64)
        {
            bail!(
                "the rebuild read {} listens, not the training listens",
                answer["listens"]
            );
        }
        let pairs = pair_count(&database(dir.path(), "activity"))?;
        eprintln!("  {pairs} co-listening pairs");

        let order = {
            let mut order: Vec<usize> = (0..split.data.users.len()).collect();
            Rng(config.seed ^ 0xe7a1).shuffle(&mut order);
            order
        };
        let latency = measure::latencies(addr, &minter, &split, &order, config).await?;
        let eval = measure::evaluate(addr, &minter, &split, &order, config).await?;
        let ingest = measure::ingest(addr, &minter, &split, &order, config).await?;
        Ok(RecsResult {
            generate_secs,
            write_secs,
            training_listens: split.data.listens.len() - held_out_listens,
            held_out_listens,
            pairs,
            rebuild_secs,
            rebuild_took_ms,
            probes,
            latency,
            eval,
            ingest,
        })
    });
    server_rt.block_on(app.stop());
    result
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Holds out each user's last [`HELD_OUT`] listens; counts training plays per song.
fn split(data: Dataset) -> Split {
    let training_end: Vec<usize> = (0..data.users.len())
        .map(|u| data.user_start[u + 1] - HELD_OUT.min(data.user_listens(u).len()))
        .collect();
    let mut plays = vec![0u32; data.songs.len()];
    for (u, &end) in training_end.iter().enumerate() {
        for l in &data.listens[data.user_start[u]..end] {
            if l.played() {
                plays[l.song as usize] += 1;
            }
        }
    }
    let song_index = data
        .songs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i as u32))
        .collect();
    Split {
        data,
        training_end,
        song_index,
        plays,
    }
}

fn pair_count(path: &Path) -> Result<i64> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn.query_row("SELECT count(*) FROM pairs", [], |row| row.get(0))?)
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

pub fn print(result: &RecsResult, config: &Config) {
    let e = &result.eval;
    println!();
    println!(
        "recs: {} songs by {} artists in {} genres, {} users, {} listens ({} training, {} held \
         out: each user's last {HELD_OUT}); seed {}",
        config.songs,
        config.artists,
        GENRES.len(),
        config.users,
        config.listens,
        result.training_listens,
        result.held_out_listens,
        config.seed
    );
    println!(
        "generated in {:.1}s, written to SQLite in {:.1}s; rebuild: {:.1}s ({} ms inside the \
         component), {} co-listening pairs",
        result.generate_secs,
        result.write_secs,
        result.rebuild_secs,
        result
            .rebuild_took_ms
            .map_or("?".to_string(), |v| v.to_string()),
        result.pairs
    );
    let probe_note = if result.rebuild_secs > measure::PROBE_AFTER.as_secs_f64() {
        ""
    } else {
        ", when it had ended already"
    };
    for p in &result.probes {
        println!(
            "during the rebuild ({}s in{probe_note}): {} → {} after {:.0} ms{}",
            measure::PROBE_AFTER.as_secs(),
            p.what,
            if p.status == 0 {
                "no answer".to_string()
            } else {
                p.status.to_string()
            },
            p.ms,
            if p.status == 200 || p.status == 201 {
                String::new()
            } else {
                format!(": {}", p.detail)
            }
        );
    }
    println!();
    println!(
        "quality: N = {} users ({} of {}; a fixed random sample{}), lists of {K}",
        e.users,
        e.users,
        config.users,
        if e.users == config.users { ": all" } else { "" }
    );
    println!(
        "| list                                   | users | hit@10 | NDCG@10 | hit ÷ baseline |"
    );
    println!(
        "|----------------------------------------|------:|-------:|--------:|---------------:|"
    );
    let base = e.baseline.hit_rate();
    for (name, m) in e.rows() {
        println!(
            "| {name:<38} | {:>5} | {:>6.4} | {:>7.4} | {:>13.2}× |",
            m.users,
            m.hit_rate(),
            m.ndcg(),
            if base > 0.0 {
                m.hit_rate() / base
            } else {
                f64::NAN
            }
        );
    }
    let ratio = e.for_you.hit_rate() / base;
    println!(
        "goal (issue 8): for-you hit@10 ≥ {GOAL_RATIO}× the most-popular baseline: {ratio:.2}× — {}",
        if ratio >= GOAL_RATIO { "ok" } else { "MISSED" }
    );
    println!("what the lists hold:");
    for line in e.findings() {
        println!("  {line}");
    }
    println!();
    let l = &result.latency;
    println!(
        "latency: {} connections, user tokens; cold = the first request of a user / seed song / \
         genre (computes and caches the list), warm = the same again (cached list, visibility \
         still asked of the catalog)",
        config.concurrency
    );
    println!("| request                                   | count | p50 ms | p99 ms | max ms |");
    println!("|-------------------------------------------|------:|-------:|-------:|-------:|");
    for (name, h) in l.rows() {
        println!(
            "| {name:<41} | {:>5} | {:>6.1} | {:>6.1} | {:>6.1} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    println!();
    let i = &result.ingest;
    println!(
        "ingest: {} listens ({} calls: a play each, then {} completes and {} skips) by {} users \
         over {} connections in {:.1}s: {:.0} listens/s, {:.0} calls/s",
        i.listens,
        i.calls(),
        i.completes,
        i.skips,
        i.users,
        config.concurrency,
        i.secs,
        i.listens as f64 / i.secs,
        i.calls() as f64 / i.secs
    );
    println!("| call                                      | count | p50 ms | p99 ms | max ms |");
    println!("|-------------------------------------------|------:|-------:|-------:|-------:|");
    for (name, h) in [
        ("POST /api/songs/:id/track/play", &i.play),
        ("POST …/track/complete or skip", &i.finish),
    ] {
        println!(
            "| {name:<41} | {:>5} | {:>6.1} | {:>6.1} | {:>6.1} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
}

pub fn to_json(result: &RecsResult, config: &Config) -> Value {
    let summary = crate::load::latency_json;
    let e = &result.eval;
    let base = e.baseline.hit_rate();
    let quality: Vec<Value> = e
        .rows()
        .into_iter()
        .map(|(name, m)| {
            json!({
                "list": name,
                "users": m.users,
                "hit_rate_at_10": m.hit_rate(),
                "ndcg_at_10": m.ndcg(),
                "hit_rate_ratio_to_baseline": m.hit_rate() / base,
            })
        })
        .collect();
    let i = &result.ingest;
    json!({
        "dataset": {
            "songs": config.songs,
            "artists": config.artists,
            "genres": GENRES.len(),
            "users": config.users,
            "listens": config.listens,
            "training_listens": result.training_listens,
            "held_out_listens": result.held_out_listens,
            "held_out_per_user": HELD_OUT,
            "seed": config.seed,
            "generate_secs": result.generate_secs,
            "write_secs": result.write_secs,
        },
        "rebuild": {
            "secs": result.rebuild_secs,
            "component_took_ms": result.rebuild_took_ms,
            "pairs": result.pairs,
            "probes_after_secs": measure::PROBE_AFTER.as_secs(),
            "probes": result
                .probes
                .iter()
                .map(|p| json!({ "request": p.what, "status": p.status, "ms": p.ms, "detail": p.detail }))
                .collect::<Vec<_>>(),
        },
        "quality": {
            "users_evaluated": e.users,
            "k": K,
            "lists": quality,
            "for_you_ratio_to_baseline": e.for_you.hit_rate() / base,
            "goal_ratio": GOAL_RATIO,
            "goal_met": e.for_you.hit_rate() / base >= GOAL_RATIO,
            "findings": e.findings(),
            "eval_secs": e.secs,
        },
        "latency": {
            "concurrency": config.concurrency,
            "requests": result
                .latency
                .rows()
                .into_iter()
                .map(|(name, h)| json!({ "request": name, "latency": summary(h) }))
                .collect::<Vec<_>>(),
        },
        "ingest": {
            "listens": i.listens,
            "users": i.users,
            "calls": i.calls(),
            "completes": i.completes,
            "skips": i.skips,
            "concurrency": config.concurrency,
            "secs": i.secs,
            "listens_per_sec": i.listens as f64 / i.secs,
            "calls_per_sec": i.calls() as f64 / i.secs,
            "play": summary(&i.play),
            "complete_or_skip": summary(&i.finish),
        },
    })
}
