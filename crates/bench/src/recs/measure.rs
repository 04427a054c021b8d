//! The recommendations suite's requests: the token check, the rebuild, latency, the offline
//! evaluation and the ingest through the tracking API.

use super::tokens::Minter;
use super::{Config, K, Rng, Split};
use crate::load::{Client, connect, new_histogram};
use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long the rebuild may take.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(3600);

/// One request as a user (minted now, untimed) that must answer 200: its JSON and latency.
async fn get_json(
    client: &mut Client,
    minter: &Minter,
    user: Option<&str>,
    path: &str,
) -> Result<(Value, u64)> {
    let token = user.map(|u| minter.token(u, "listener")).transpose()?;
    let answer = client
        .send(Method::GET, path, token.as_deref(), None)
        .await?;
    if answer.status != StatusCode::OK {
        bail!(
            "GET {path} answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok((serde_json::from_slice(&answer.body)?, answer.micros))
}

/// A minted token works: `GET /api/me/taste` as a user, before the big runs.
pub async fn check_token(addr: SocketAddr, minter: &Minter, split: &Split) -> Result<()> {
    let mut client = Client::connect(addr).await?;
    let user = &split.data.users[0].id;
    let (answer, micros) = get_json(&mut client, minter, Some(user), "/api/me/taste")
        .await
        .context("a minted token was refused")?;
    eprintln!(
        "recs: a minted token works: GET /api/me/taste → 200 {answer} ({:.1} ms)",
        micros as f64 / 1000.0
    );
    Ok(())
}

/// `POST /api/admin/activity/rebuild` as `admin` (no 30 s limit: it reads every listen).
pub async fn rebuild(addr: SocketAddr, admin: &str) -> Result<Value> {
    let mut sender = connect::<Full<Bytes>>(addr).await?;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/admin/activity/rebuild")
        .header(HOST, HeaderValue::from_str(&addr.to_string())?)
        .header(AUTHORIZATION, format!("Bearer {admin}"))
        .body(Full::new(Bytes::new()))?;
    let (status, body) = tokio::time::timeout(REBUILD_TIMEOUT, async {
        let response = sender.send_request(request).await?;
        let status = response.status();
        anyhow::Ok((status, response.into_body().collect().await?.to_bytes()))
    })
    .await
    .context("the rebuild timed out")??;
    if status != StatusCode::OK {
        bail!(
            "the rebuild answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(serde_json::from_slice(&body)?)
}

/// One request made while the rebuild runs.
pub struct Probe {
    pub what: String,
    /// 0: no answer (timed out or failed).
    pub status: u16,
    pub ms: f64,
    pub detail: String,
}

/// The rebuild (as [`rebuild`]; its answer and seconds), and [`PROBE_AFTER`] into it, one read and one tracking call
/// (of a user outside the dataset, so nobody's history changes): do they wait, or fail?
pub async fn rebuild_with_probes(
    addr: SocketAddr,
    minter: &Arc<Minter>,
    split: &Split,
    admin: &str,
) -> Result<(Value, f64, Vec<Probe>)> {
    let admin = admin.to_string();
    let rebuilding = tokio::spawn(async move {
        let started = Instant::now();
        let answer = rebuild(addr, &admin).await?;
        anyhow::Ok((answer, started.elapsed().as_secs_f64()))
    });
    tokio::time::sleep(PROBE_AFTER).await;
    let song = &split.data.songs[split.data.genre_songs[0][0] as usize];
    let token = minter.token("bench-probe-user", "listener")?;
    let body = serde_json::to_vec(&json!({ "listenId": "probe-1", "positionMs": 30_000 }))?;
    let mut probes = Vec::new();
    for (what, method, path, token, body) in [
        (
            "GET /api/songs/:id/stats (a read)",
            Method::GET,
            format!("/api/songs/{}/stats", song.id),
            None,
            None,
        ),
        (
            "POST /api/songs/:id/track/play (a write)",
            Method::POST,
            format!("/api/songs/{}/track/play", song.id),
            Some(token.as_str()),
            Some(body),
        ),
    ] {
        let mut client = Client::connect(addr).await?;
        let started = Instant::now();
        let answer = client.send(method, &path, token, body).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        probes.push(match answer {
            Ok(a) => Probe {
                what: what.into(),
                status: a.status.as_u16(),
                ms,
                detail: String::from_utf8_lossy(&a.body).chars().take(400).collect(),
            },
            Err(e) => Probe {
                what: what.into(),
                status: 0,
                ms,
                detail: format!("{e:#}"),
            },
        });
    }
    let (answer, secs) = rebuilding.await.context("the rebuild task panicked")??;
    Ok((answer, secs, probes))
}

/// When the probes of [`rebuild_with_probes`] are sent.
pub const PROBE_AFTER: Duration = Duration::from_secs(5);

/// The song ids of a list answer's `items[].song.id`.
fn ids(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["song"]["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `requests` (path, user id or anonymous) over `concurrency` connections, each expected
/// to answer 200; their latencies.
async fn timed(
    addr: SocketAddr,
    minter: &Arc<Minter>,
    requests: Vec<(String, Option<String>)>,
    concurrency: usize,
) -> Result<Histogram<u64>> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (requests, next, minter) = (requests.clone(), next.clone(), minter.clone());
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await?;
                let mut histogram = new_histogram();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, user)) = requests.get(i) else {
                        break;
                    };
                    let (_, micros) = get_json(&mut client, &minter, user.as_deref(), path).await?;
                    histogram.record(micros)?;
                }
                anyhow::Ok(histogram)
            })
        })
        .collect();
    let mut total = new_histogram();
    for task in tasks {
        total.add(&task.await.context("a request task panicked")??)?;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// Latency
// ---------------------------------------------------------------------------------------------

pub struct Latencies {
    pub for_you_cold: Histogram<u64>,
    pub for_you_warm: Histogram<u64>,
    pub similar_cold: Histogram<u64>,
    pub similar_warm: Histogram<u64>,
    pub trending_cold: Histogram<u64>,
    pub trending_warm: Histogram<u64>,
}

impl Latencies {
    pub fn rows(&self) -> Vec<(&'static str, &Histogram<u64>)> {
        vec![
            ("for-you?limit=10 cold", &self.for_you_cold),
            ("for-you?limit=10 warm", &self.for_you_warm),
            ("/api/songs/:id/similar?limit=10 cold", &self.similar_cold),
            ("/api/songs/:id/similar?limit=10 warm", &self.similar_warm),
            ("trending?limit=20 (± genre) cold", &self.trending_cold),
            ("trending?limit=20 (± genre) warm", &self.trending_warm),
        ]
    }
}

/// Trending of every genre and overall, cold, then warm; the users at the end of `order`
/// (evaluated last, if at all): for-you cold then warm; seed songs (other users' last training
/// listens): similar cold then warm.
pub async fn latencies(
    addr: SocketAddr,
    minter: &Arc<Minter>,
    split: &Arc<Split>,
    order: &[usize],
    config: &Config,
) -> Result<Latencies> {
    let n = config.latency_requests.min(order.len() / 2);
    let users: Vec<usize> = order[order.len() - n..].to_vec();
    let id = |u: usize| Some(split.data.users[u].id.clone());
    let mut trending: Vec<(String, Option<String>)> =
        vec![("/api/songs/trending?limit=20".into(), id(users[0]))];
    for genre in super::GENRES {
        trending.push((
            format!(
                "/api/songs/trending?limit=20&genre={}",
                spindle_shared::http::percent_encode(genre)
            ),
            id(users[0]),
        ));
    }
    let warm: Vec<(String, Option<String>)> = (0..n)
        .map(|i| (trending[i % trending.len()].0.clone(), id(users[i])))
        .collect();
    eprintln!(
        "latency: trending, {} lists cold, {n} requests warm...",
        trending.len()
    );
    // First: for-you may fill its list with trending ones (and cache them).
    let trending_cold = timed(addr, minter, trending, config.concurrency).await?;
    let trending_warm = timed(addr, minter, warm, config.concurrency).await?;
    let for_you: Vec<(String, Option<String>)> = users
        .iter()
        .map(|&u| {
            (
                format!("/api/songs/recommendations/for-you?limit={K}"),
                id(u),
            )
        })
        .collect();
    eprintln!("latency: for-you, {n} users cold then warm...");
    let for_you_cold = timed(addr, minter, for_you.clone(), config.concurrency).await?;
    let for_you_warm = timed(addr, minter, for_you, config.concurrency).await?;

    let mut seen = HashSet::new();
    let similar: Vec<(String, Option<String>)> = order[..order.len() - n]
        .iter()
        .rev()
        .filter_map(|&u| {
            let song = split.training(u).last()?.song;
            seen.insert(song).then(|| {
                (
                    format!(
                        "/api/songs/{}/similar?limit={K}",
                        split.data.songs[song as usize].id
                    ),
                    id(u),
                )
            })
        })
        .take(n)
        .collect();
    eprintln!(
        "latency: similar, {} seed songs cold then warm...",
        similar.len()
    );
    let similar_cold = timed(addr, minter, similar.clone(), config.concurrency).await?;
    let similar_warm = timed(addr, minter, similar, config.concurrency).await?;

    Ok(Latencies {
        for_you_cold,
        for_you_warm,
        similar_cold,
        similar_warm,
        trending_cold,
        trending_warm,
    })
}

// ---------------------------------------------------------------------------------------------
// Quality
// ---------------------------------------------------------------------------------------------

/// Hit rate and NDCG at [`K`] over users.
#[derive(Default, Clone)]
pub struct Metric {
    pub users: usize,
    pub hits: usize,
    pub ndcg_sum: f64,
}

impl Metric {
    /// Adds one user's list against their held-out songs (distinct).
    fn add(&mut self, list: &[u32], held: &[u32]) {
        self.users += 1;
        let mut dcg = 0.0;
        let mut hit = false;
        for (i, song) in list.iter().take(K).enumerate() {
            if held.contains(song) {
                hit = true;
                dcg += 1.0 / ((i + 2) as f64).log2();
            }
        }
        let ideal: f64 = (0..held.len().min(K))
            .map(|i| 1.0 / ((i + 2) as f64).log2())
            .sum();
        self.hits += usize::from(hit);
        if ideal > 0.0 {
            self.ndcg_sum += dcg / ideal;
        }
    }

    pub fn hit_rate(&self) -> f64 {
        self.hits as f64 / self.users.max(1) as f64
    }

    pub fn ndcg(&self) -> f64 {
        self.ndcg_sum / self.users.max(1) as f64
    }
}

#[derive(Default)]
pub struct EvalResult {
    pub users: usize,
    pub secs: f64,
    pub for_you: Metric,
    pub similar: Metric,
    pub baseline: Metric,
    /// Context: the 10 most played songs of the user's primary genre.
    pub genre_popular: Metric,
    /// Context: the user's own 10 most played training songs.
    pub own_top: Metric,
    /// Context: for-you without the songs the user already heard in training.
    pub for_you_unheard: Metric,
    // What the lists hold.
    pub for_you_items: usize,
    pub for_you_primary: usize,
    pub for_you_taste: usize,
    pub for_you_heard: usize,
    pub for_you_short: usize,
    pub basis: BTreeMap<String, usize>,
    pub reasons: BTreeMap<String, usize>,
    pub similar_items: usize,
    pub similar_same_genre: usize,
    pub similar_same_artist: usize,
    pub similar_co_listened: usize,
    pub similar_empty: usize,
    pub held: usize,
    pub held_heard: usize,
    pub held_primary: usize,
    /// Held-out songs the user played 5 times or more in training (for-you leaves those out).
    pub held_played_out: usize,
    pub baseline_genres: Vec<String>,
    /// Popularity ranks within their genre (1: the genre's most popular song) of what the
    /// lists hold and of the held-out songs.
    pub for_you_ranks: Vec<u32>,
    pub similar_ranks: Vec<u32>,
    pub held_ranks: Vec<u32>,
}

/// The median and the share in the top 100 of `ranks`.
fn rank_summary(ranks: &[u32]) -> String {
    let mut sorted = ranks.to_vec();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let top = sorted.iter().filter(|&&r| r <= 100).count();
    format!(
        "median {median}, {:.1}% in the top 100",
        100.0 * top as f64 / sorted.len().max(1) as f64
    )
}

impl EvalResult {
    pub fn rows(&self) -> Vec<(&'static str, &Metric)> {
        vec![
            ("for-you", &self.for_you),
            ("similar (seed: last training listen)", &self.similar),
            ("most popular (baseline)", &self.baseline),
            ("context: top 10 of the primary genre", &self.genre_popular),
            ("context: the user's own top 10 plays", &self.own_top),
            ("context: for-you minus songs heard", &self.for_you_unheard),
        ]
    }

    pub fn findings(&self) -> Vec<String> {
        let share = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        let per_user = |a: usize| a as f64 / self.users.max(1) as f64;
        vec![
            format!(
                "for-you: {:.1} items a user ({} lists shorter than {K}); {:.1}% in the user's \
                 primary genre, {:.1}% in the primary or secondary; {:.1}% already heard by the \
                 user in training; basis {:?}; item reasons {:?}",
                per_user(self.for_you_items),
                self.for_you_short,
                share(self.for_you_primary, self.for_you_items),
                share(self.for_you_taste, self.for_you_items),
                share(self.for_you_heard, self.for_you_items),
                self.basis,
                self.reasons
            ),
            format!(
                "similar: {:.1} items a seed ({} empty); {:.1}% of the seed's genre, {:.1}% of its \
                 artist, {:.1}% listened_together",
                per_user(self.similar_items),
                self.similar_empty,
                share(self.similar_same_genre, self.similar_items),
                share(self.similar_same_artist, self.similar_items),
                share(self.similar_co_listened, self.similar_items)
            ),
            format!(
                "held out: {:.2} distinct songs a user; {:.1}% of them heard by the user in \
                 training ({:.1}% played 5 times or more: for-you leaves those out), {:.1}% in \
                 the user's primary genre",
                per_user(self.held),
                share(self.held_heard, self.held),
                share(self.held_played_out, self.held),
                share(self.held_primary, self.held)
            ),
            format!(
                "the baseline's 10 songs are of the genres {:?}",
                self.baseline_genres
            ),
            format!(
                "popularity rank within the genre (of its songs; 1 = most played): for-you items \
                 {}; similar items {}; held-out songs {}",
                rank_summary(&self.for_you_ranks),
                rank_summary(&self.similar_ranks),
                rank_summary(&self.held_ranks)
            ),
        ]
    }
}

/// One user's answers.
struct Answers {
    user: usize,
    for_you: Value,
    similar: Value,
}

/// For-you and similar of every user of `order` in turn (as many as the budget allows, at
/// least the minimum), `config.concurrency` at a time; scored against the held-out listens.
pub async fn evaluate(
    addr: SocketAddr,
    minter: &Arc<Minter>,
    split: &Arc<Split>,
    order: &[usize],
    config: &Config,
) -> Result<EvalResult> {
    let max = if config.eval_users == 0 {
        order.len()
    } else {
        config.eval_users.min(order.len())
    };
    let min = config.eval_min_users.min(max);
    eprintln!(
        "quality: for-you and similar of up to {max} users (at least {min}; new users until \
         {:.0}s)...",
        config.eval_secs
    );
    let order = Arc::new(order[..max].to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let budget = Duration::from_secs_f64(config.eval_secs);
    let tasks: Vec<_> = (0..config.concurrency)
        .map(|_| {
            let (order, next, minter, split) =
                (order.clone(), next.clone(), minter.clone(), split.clone());
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await?;
                let mut answers = Vec::new();
                loop {
                    // Claimed in order, so the users evaluated are a prefix of `order`.
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= order.len() || (i >= min && started.elapsed() > budget) {
                        break;
                    }
                    if i > 0 && i % 500 == 0 {
                        eprintln!("  {i} users, {:.0}s", started.elapsed().as_secs_f64());
                    }
                    let u = order[i];
                    let user = split.data.users[u].id.as_str();
                    let (for_you, _) = get_json(
                        &mut client,
                        &minter,
                        Some(user),
                        &format!("/api/songs/recommendations/for-you?limit={K}"),
                    )
                    .await?;
                    let seed = split
                        .training(u)
                        .last()
                        .context("no training listens")?
                        .song;
                    let (similar, _) = get_json(
                        &mut client,
                        &minter,
                        Some(user),
                        &format!(
                            "/api/songs/{}/similar?limit={K}",
                            split.data.songs[seed as usize].id
                        ),
                    )
                    .await?;
                    answers.push(Answers {
                        user: u,
                        for_you,
                        similar,
                    });
                }
                anyhow::Ok(answers)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.context("an evaluation task panicked")??);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("  {} users in {secs:.1}s", answers.len());
    Ok(score(split, answers, secs))
}

fn score(split: &Split, answers: Vec<Answers>, secs: f64) -> EvalResult {
    let data = &split.data;
    let top = |songs: &mut dyn Iterator<Item = u32>| -> Vec<u32> {
        let mut songs: Vec<u32> = songs.collect();
        songs.sort_by_key(|&s| (std::cmp::Reverse(split.plays[s as usize]), s));
        songs.truncate(K);
        songs
    };
    let baseline = top(&mut (0..data.songs.len() as u32));
    let genre_top: Vec<Vec<u32>> = data
        .genre_songs
        .iter()
        .map(|songs| top(&mut songs.iter().copied()))
        .collect();
    let index = |id: &str| split.song_index.get(id).copied();
    // The generator's popularity order within each genre (1-based).
    let mut rank = vec![0u32; data.songs.len()];
    for songs in &data.genre_songs {
        for (r, &s) in songs.iter().enumerate() {
            rank[s as usize] = r as u32 + 1;
        }
    }

    let mut r = EvalResult {
        users: answers.len(),
        secs,
        baseline_genres: baseline
            .iter()
            .map(|&s| super::GENRES[data.songs[s as usize].genre as usize].to_string())
            .collect(),
        ..EvalResult::default()
    };
    for a in answers {
        let user = &data.users[a.user];
        let mut held: Vec<u32> = split.held_out(a.user).iter().map(|l| l.song).collect();
        held.sort_unstable();
        held.dedup();
        let mut heard_plays: HashMap<u32, u32> = HashMap::new();
        for l in split.training(a.user) {
            *heard_plays.entry(l.song).or_default() += u32::from(l.played());
        }
        r.held += held.len();
        r.held_ranks.extend(held.iter().map(|&s| rank[s as usize]));
        r.held_heard += held.iter().filter(|s| heard_plays.contains_key(s)).count();
        r.held_played_out += held
            .iter()
            .filter(|s| heard_plays.get(s).is_some_and(|&p| p >= 5))
            .count();
        r.held_primary += held
            .iter()
            .filter(|&&s| data.songs[s as usize].genre == user.primary)
            .count();

        let for_you: Vec<u32> = ids(&a.for_you).iter().filter_map(|id| index(id)).collect();
        r.for_you.add(&for_you, &held);
        let unheard: Vec<u32> = for_you
            .iter()
            .copied()
            .filter(|s| !heard_plays.contains_key(s))
            .collect();
        r.for_you_unheard.add(&unheard, &held);
        r.for_you_items += for_you.len();
        r.for_you_ranks
            .extend(for_you.iter().map(|&s| rank[s as usize]));
        r.for_you_short += usize::from(for_you.len() < K);
        for &s in &for_you {
            let genre = data.songs[s as usize].genre;
            r.for_you_primary += usize::from(genre == user.primary);
            r.for_you_taste += usize::from(genre == user.primary || Some(genre) == user.secondary);
            r.for_you_heard += usize::from(heard_plays.contains_key(&s));
        }
        *r.basis
            .entry(a.for_you["basis"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        for item in a.for_you["items"].as_array().into_iter().flatten() {
            let kind = item["reason"]["kind"].as_str().unwrap_or("?").to_string();
            *r.reasons.entry(kind).or_default() += 1;
        }

        let similar: Vec<u32> = ids(&a.similar).iter().filter_map(|id| index(id)).collect();
        r.similar.add(&similar, &held);
        let seed = &data.songs[split.training(a.user).last().map_or(0, |l| l.song) as usize];
        r.similar_items += similar.len();
        r.similar_ranks
            .extend(similar.iter().map(|&s| rank[s as usize]));
        r.similar_empty += usize::from(similar.is_empty());
        for &s in &similar {
            let song = &data.songs[s as usize];
            r.similar_same_genre += usize::from(song.genre == seed.genre);
            r.similar_same_artist += usize::from(song.artist == seed.artist);
        }
        for item in a.similar["items"].as_array().into_iter().flatten() {
            let together = item["reason"]
                .as_array()
                .is_some_and(|r| r.iter().any(|v| v == "listened_together"));
            r.similar_co_listened += usize::from(together);
        }

        r.baseline.add(&baseline, &held);
        r.genre_popular
            .add(&genre_top[user.primary as usize], &held);
        let mut own: Vec<(u32, u32)> = heard_plays.into_iter().collect();
        own.sort_by_key(|&(s, p)| (std::cmp::Reverse(p), s));
        let own: Vec<u32> = own.into_iter().take(K).map(|(s, _)| s).collect();
        r.own_top.add(&own, &held);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------------------------

pub struct IngestResult {
    pub listens: usize,
    pub users: usize,
    pub completes: usize,
    pub skips: usize,
    pub secs: f64,
    pub play: Histogram<u64>,
    pub finish: Histogram<u64>,
}

impl IngestResult {
    pub fn calls(&self) -> usize {
        self.listens + self.completes + self.skips
    }
}

/// One listen to send: the user, the song and how it ends.
#[derive(Clone)]
struct NewListen {
    user: usize,
    song: u32,
    end: End,
}

#[derive(Clone, Copy)]
enum End {
    Played,
    Completed,
    Skipped,
}

/// `config.ingest_listens` new listens, `config.ingest_per_user` a user (distinct songs of
/// their primary genre, by popularity), each a play then (60 %) a complete or (20 %) a skip;
/// the users' listens one after another, users spread over the connections.
pub async fn ingest(
    addr: SocketAddr,
    minter: &Arc<Minter>,
    split: &Arc<Split>,
    order: &[usize],
    config: &Config,
) -> Result<IngestResult> {
    let per_user = config.ingest_per_user.clamp(1, 25);
    let users = config.ingest_listens.div_ceil(per_user);
    if users > order.len() {
        bail!("--recs-ingest-listens needs more users than the dataset has");
    }
    let mut rng = Rng(0x1a6e57);
    let mut plan: Vec<Vec<NewListen>> = Vec::new();
    let mut left = config.ingest_listens;
    for &u in order.iter().take(users) {
        let genre = &split.data.genre_songs[split.data.users[u].primary as usize];
        let mut songs = HashSet::new();
        let mut listens = Vec::new();
        while listens.len() < per_user.min(left) {
            // Popular songs more often: the square of a uniform rank.
            let rank = (rng.unit().powi(2) * genre.len() as f64) as usize;
            let song = genre[rank.min(genre.len() - 1)];
            if !songs.insert(song) {
                continue;
            }
            let r = rng.unit();
            let end = if r < 0.6 {
                End::Completed
            } else if r < 0.8 {
                End::Skipped
            } else {
                End::Played
            };
            listens.push(NewListen { user: u, song, end });
        }
        left -= listens.len();
        plan.push(listens);
    }
    let completes = plan
        .iter()
        .flatten()
        .filter(|l| matches!(l.end, End::Completed))
        .count();
    let skips = plan
        .iter()
        .flatten()
        .filter(|l| matches!(l.end, End::Skipped))
        .count();
    let listens = plan.iter().map(Vec::len).sum();
    eprintln!(
        "ingest: {listens} listens by {users} users ({completes} completes, {skips} skips) over {} \
         connections...",
        config.concurrency
    );
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let run = format!("{:x}", super::now_ms());
    let started = Instant::now();
    let tasks: Vec<_> = (0..config.concurrency)
        .map(|_| {
            let (plan, next, minter, split, run) = (
                plan.clone(),
                next.clone(),
                minter.clone(),
                split.clone(),
                run.clone(),
            );
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await?;
                let (mut play, mut finish) = (new_histogram(), new_histogram());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(listens) = plan.get(i) else {
                        break;
                    };
                    for (n, l) in listens.iter().enumerate() {
                        let user = &split.data.users[l.user];
                        let song = &split.data.songs[l.song as usize];
                        let token = minter.token(&user.id, "listener")?;
                        let listen_id = format!("bench-{run}-{i}-{n}");
                        let mut send = async |kind: &str, position: u32, expect: u16| {
                            let path = format!("/api/songs/{}/track/{kind}", song.id);
                            let body = json!({
                                "listenId": listen_id,
                                "positionMs": position,
                                "deviceId": "bench-device",
                            });
                            let answer = client
                                .send(
                                    Method::POST,
                                    &path,
                                    Some(&token),
                                    Some(serde_json::to_vec(&body)?),
                                )
                                .await?;
                            if answer.status.as_u16() != expect {
                                bail!(
                                    "POST {path} answered {} (expected {expect}): {}",
                                    answer.status,
                                    String::from_utf8_lossy(&answer.body)
                                );
                            }
                            anyhow::Ok(answer.micros)
                        };
                        play.record(send("play", 30_000, 201).await?)?;
                        match l.end {
                            End::Completed => {
                                finish.record(send("complete", song.duration_ms, 200).await?)?
                            }
                            End::Skipped => finish.record(send("skip", 40_000, 200).await?)?,
                            End::Played => {}
                        }
                    }
                }
                anyhow::Ok((play, finish))
            })
        })
        .collect();
    let (mut play, mut finish) = (new_histogram(), new_histogram());
    for task in tasks {
        let (p, f) = task.await.context("an ingest task panicked")??;
        play.add(&p)?;
        finish.add(&f)?;
    }
    Ok(IngestResult {
        listens,
        users,
        completes,
        skips,
        secs: started.elapsed().as_secs_f64(),
        play,
        finish,
    })
}
