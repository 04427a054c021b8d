//! Listening activity (the `activity` component) for tests: songs uploaded to the catalog as
//! generated WAVs with a genre and tags, listens tracked with fresh listen ids, and the
//! component's answers (history, counts, trending, similar, for-you) read back with their
//! shapes checked.

use crate::accounts::User;
use crate::bus::EventBus;
use crate::media::{Form, assert_song_shape, upload_ok, wav};
use crate::{TestApp, TestResponse, eventually, object_keys, string_set};
use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{Event, TrackPublished};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long tests wait for an event to be handled.
pub const WAIT: Duration = Duration::from_secs(20);

/// The consumer group of the component.
pub const GROUP: &str = "activity";

/// The length of the songs most tests upload: 10 s, so that the thresholds are round numbers
/// (a play from 3,000 ms, a completion from 8,000, a skip below 5,000, at most 20,000).
pub const SONG_MS: u32 = 10_000;

/// The fields of a listen as tracking answers it.
pub const LISTEN_FIELDS: &[&str] = &[
    "listenId",
    "songId",
    "deviceId",
    "startedAt",
    "positionMs",
    "played",
    "completed",
    "skipped",
    "counted",
];

/// The fields of a history item: the listen (without `counted`) and the song.
pub const HISTORY_FIELDS: &[&str] = &[
    "listenId",
    "songId",
    "deviceId",
    "startedAt",
    "positionMs",
    "played",
    "completed",
    "skipped",
    "song",
];

/// The fields of the counts of one song.
pub const STATS_FIELDS: &[&str] = &["songId", "plays", "completions", "skips", "listeners"];

// ---------------------------------------------------------------------------------------------
// Accounts and songs
// ---------------------------------------------------------------------------------------------

/// A song to upload: a generated WAV `ms` long, public unless made [`private`](Self::private).
#[derive(Debug, Clone)]
pub struct SongSpec {
    pub title: String,
    pub ms: u32,
    pub genre: Option<String>,
    pub tags: Option<String>,
    pub public: bool,
}

/// A public [`SongSpec`] of [`SONG_MS`] titled `title`, without genre or tags.
pub fn song(title: &str) -> SongSpec {
    SongSpec {
        title: title.to_string(),
        ms: SONG_MS,
        genre: None,
        tags: None,
        public: true,
    }
}

impl SongSpec {
    pub fn genre(mut self, genre: &str) -> Self {
        self.genre = Some(genre.to_string());
        self
    }

    /// Tags as the catalog takes them (comma-separated).
    pub fn tags(mut self, tags: &str) -> Self {
        self.tags = Some(tags.to_string());
        self
    }

    pub fn private(mut self) -> Self {
        self.public = false;
        self
    }

    pub fn ms(mut self, ms: u32) -> Self {
        self.ms = ms;
        self
    }

    pub fn form(&self) -> Form {
        static SEED: AtomicU64 = AtomicU64::new(1);
        let seed = SEED.fetch_add(1, Ordering::Relaxed) as u8;
        let mut form = Form::new()
            .file("audio", &format!("{seed}.wav"), wav(self.ms, seed))
            .text("title", &self.title);
        if let Some(genre) = &self.genre {
            form = form.text("genre", genre);
        }
        if let Some(tags) = &self.tags {
            form = form.text("tags", tags);
        }
        if !self.public {
            form = form.text("isPublic", "false");
        }
        form
    }
}

/// Uploads `spec` as `artist` (201 checked): the song's id.
pub async fn upload(app: &TestApp, artist: &User, spec: SongSpec) -> String {
    let song = upload_ok(app, artist, &spec.form()).await;
    assert_eq!(song["durationMs"], u64::from(spec.ms), "{song}");
    assert_eq!(song["isPublic"], spec.public, "{song}");
    song["id"].as_str().expect("song id").to_string()
}

/// Uploads `n` public songs of `artist` titled `{prefix} {i}` (with `genre`, if any).
pub async fn upload_many(
    app: &TestApp,
    artist: &User,
    prefix: &str,
    n: usize,
    genre: Option<&str>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut spec = song(&format!("{prefix} {i}"));
        if let Some(genre) = genre {
            spec = spec.genre(genre);
        }
        ids.push(upload(app, artist, spec).await);
    }
    ids
}

/// An admin hides (`visible` false) or shows a song.
pub async fn set_visible(app: &TestApp, admin: &User, song_id: &str, visible: bool) {
    let path = format!("/api/admin/songs/{song_id}/visible");
    let response = app
        .send_as(
            &admin.token,
            Method::PATCH,
            &path,
            Some(json!({ "isVisible": visible })),
        )
        .await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
}

/// `user` follows `artist_id` through the catalog (204).
pub async fn follow(app: &TestApp, user: &User, artist_id: &str) {
    let path = format!("/api/artists/{artist_id}/follow");
    let response = app.send_as(&user.token, Method::POST, &path, None).await;
    assert_eq!(response.status, 204, "{path}: {}", response.text());
}

/// The artist deletes their song (204).
pub async fn delete_song(app: &TestApp, owner: &User, song_id: &str) {
    let path = format!("/api/songs/{song_id}");
    let response = app.send_as(&owner.token, Method::DELETE, &path, None).await;
    assert_eq!(response.status, 204, "{path}: {}", response.text());
}

// ---------------------------------------------------------------------------------------------
// Tracking
// ---------------------------------------------------------------------------------------------

/// A listen id no other call of this process made: `{prefix}-{n}`.
pub fn listen_id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `POST /api/songs/:id/track/:kind` with `body`, as `token` (anonymous when `None`).
pub async fn track_raw(
    app: &TestApp,
    token: Option<&str>,
    song_id: &str,
    kind: &str,
    body: Value,
) -> TestResponse {
    let path = format!("/api/songs/{song_id}/track/{kind}");
    app.call(token, Method::POST, &path, Some(body)).await
}

/// `kind` (play, complete, skip) of the listen `listen_id` at `position_ms`, as `user`.
pub async fn track(
    app: &TestApp,
    user: &User,
    song_id: &str,
    kind: &str,
    listen_id: &str,
    position_ms: u64,
) -> TestResponse {
    let body = json!({ "listenId": listen_id, "positionMs": position_ms });
    track_raw(app, user.bearer(), song_id, kind, body).await
}

/// Like [`track`], which must answer `status` (201 or 200) with a listen: the listen.
#[track_caller]
pub fn listen_of(response: &TestResponse, status: u16, what: &str) -> Value {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    let listen: Value = response.json();
    assert_listen_shape(&listen);
    listen
}

/// [`track`], which must make a new listen (201 with a listen): the listen.
pub async fn track_new(
    app: &TestApp,
    user: &User,
    song_id: &str,
    kind: &str,
    listen_id: &str,
    position_ms: u64,
    what: &str,
) -> Value {
    let response = track(app, user, song_id, kind, listen_id, position_ms).await;
    listen_of(&response, 201, what)
}

/// [`track`] of a listen that exists already, which must answer 200 with the listen: it.
pub async fn track_existing(
    app: &TestApp,
    user: &User,
    song_id: &str,
    kind: &str,
    listen_id: &str,
    position_ms: u64,
    what: &str,
) -> Value {
    let response = track(app, user, song_id, kind, listen_id, position_ms).await;
    listen_of(&response, 200, what)
}

/// A new listen of `song_id` by `user`: `kind` at `position_ms` under a fresh listen id, which
/// must answer 201 and count: the listen.
pub async fn listen(
    app: &TestApp,
    user: &User,
    song_id: &str,
    kind: &str,
    position_ms: u64,
) -> Value {
    let id = listen_id(&user.name);
    let response = track(app, user, song_id, kind, &id, position_ms).await;
    let what = format!("{} {kind} of {song_id} at {position_ms}", user.name);
    let listen = listen_of(&response, 201, &what);
    assert_eq!(listen["listenId"], id.as_str(), "{what}: {listen}");
    assert_eq!(listen["songId"], song_id, "{what}: {listen}");
    assert_eq!(listen["counted"], true, "{what}: {listen}");
    listen
}

/// A counted play (at 3 s) of a new listen.
pub async fn play(app: &TestApp, user: &User, song_id: &str) -> Value {
    listen(app, user, song_id, "play", 3_000).await
}

/// `user` plays each of `songs`, in order (new listens).
pub async fn play_all(app: &TestApp, user: &User, songs: &[&String]) {
    for song in songs {
        play(app, user, song).await;
    }
}

#[track_caller]
pub fn assert_listen_shape(listen: &Value) {
    assert_eq!(
        object_keys(listen),
        string_set(LISTEN_FIELDS),
        "listen fields: {listen}"
    );
    assert_time(&listen["startedAt"], listen);
    assert!(listen["positionMs"].is_u64(), "{listen}");
    for flag in ["played", "completed", "skipped", "counted"] {
        assert!(listen[flag].is_boolean(), "{flag}: {listen}");
    }
}

#[track_caller]
fn assert_time(value: &Value, whole: &Value) {
    let text = value.as_str().unwrap_or_default();
    assert!(
        text.len() >= 20 && text.contains('T') && text.ends_with('Z'),
        "an RFC 3339 UTC time: {whole}"
    );
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// `GET path` as `token`, which must answer 200 with JSON: the body.
pub async fn get_ok(app: &TestApp, token: Option<&str>, path: &str) -> Value {
    let response = app.call(token, Method::GET, path, None).await;
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    assert_eq!(
        response.content_type().as_deref(),
        Some("application/json"),
        "GET {path}"
    );
    response.json()
}

/// `GET /api/songs/:id/stats` as `token`: the counts (shape checked).
pub async fn song_stats(app: &TestApp, token: Option<&str>, song_id: &str) -> Value {
    let stats = get_ok(app, token, &format!("/api/songs/{song_id}/stats")).await;
    assert_eq!(object_keys(&stats), string_set(STATS_FIELDS), "{stats}");
    assert_eq!(stats["songId"], song_id, "{stats}");
    stats
}

/// `GET /api/me/stats` as `user`: the body.
pub async fn my_stats(app: &TestApp, user: &User) -> Value {
    get_ok(app, user.bearer(), "/api/me/stats").await
}

/// (plays, completions, skips, listeners) of a stats object.
pub fn counts(stats: &Value) -> (u64, u64, u64, u64) {
    let n = |f: &str| {
        stats[f]
            .as_u64()
            .unwrap_or_else(|| panic!("{f} is a count: {stats}"))
    };
    (n("plays"), n("completions"), n("skips"), n("listeners"))
}

/// The song ids of ranked items (`items[].song.id`), in order.
pub fn song_ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            i["song"]["id"]
                .as_str()
                .expect("items[].song.id")
                .to_string()
        })
        .collect()
}

/// Checks ranked items: a catalog song each, a number score, scores not increasing, no song
/// twice.
#[track_caller]
pub fn assert_ranked(items: &[Value], what: &str) {
    let mut last = f64::INFINITY;
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        assert_song_shape(&item["song"]);
        let score = item["score"]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: a score: {item}"));
        assert!(score <= last, "{what}: scores best first: {items:?}");
        last = score;
        assert!(
            seen.insert(item["song"]["id"].as_str().unwrap_or_default().to_string()),
            "{what}: a song twice: {items:?}"
        );
    }
}

/// `GET /api/songs/trending?{query}` as `token`: the items (ranked, shapes checked).
pub async fn trending(app: &TestApp, token: Option<&str>, query: &str) -> Vec<Value> {
    let path = format!("/api/songs/trending?{query}");
    let body = get_ok(app, token, &path).await;
    assert!(
        body["genre"].is_null() || body["genre"].is_string(),
        "{body}"
    );
    let items = body["items"].as_array().expect("items").clone();
    assert_ranked(&items, &path);
    for item in &items {
        assert_eq!(
            object_keys(item),
            string_set(&["song", "score", "reason"]),
            "{item}"
        );
        assert_eq!(item["reason"], json!({ "kind": "trending" }), "{item}");
    }
    items
}

/// `GET /api/songs/:id/similar?{query}` as `token`: the items (ranked, shapes checked).
pub async fn similar(app: &TestApp, token: Option<&str>, song_id: &str, query: &str) -> Vec<Value> {
    let path = format!("/api/songs/{song_id}/similar?{query}");
    let body = get_ok(app, token, &path).await;
    assert_eq!(body["songId"], song_id, "{body}");
    let items = body["items"].as_array().expect("items").clone();
    assert_ranked(&items, &path);
    for item in &items {
        assert_eq!(
            object_keys(item),
            string_set(&["song", "score", "reason"]),
            "{item}"
        );
        assert!(
            !reasons(item).is_empty(),
            "a neighbour for a reason: {item}"
        );
    }
    items
}

/// The reasons of a similar item: its `reason`, a list of `listened_together`, `same_artist`,
/// `same_genre`, `shared_tags`.
pub fn reasons(item: &Value) -> Vec<String> {
    let list = item["reason"]
        .as_array()
        .unwrap_or_else(|| panic!("reason is a list: {item}"));
    list.iter()
        .map(|r| {
            let r = r.as_str().expect("a reason is a string");
            assert!(
                [
                    "listened_together",
                    "same_artist",
                    "same_genre",
                    "shared_tags"
                ]
                .contains(&r),
                "an unknown reason {r:?}: {item}"
            );
            r.to_string()
        })
        .collect()
}

/// `GET /api/songs/recommendations/for-you?{query}` as `user`: (basis, items).
pub async fn for_you(app: &TestApp, user: &User, query: &str) -> (String, Vec<Value>) {
    let path = format!("/api/songs/recommendations/for-you?{query}");
    let body = get_ok(app, user.bearer(), &path).await;
    let basis = body["basis"]
        .as_str()
        .unwrap_or_else(|| panic!("basis: {body}"))
        .to_string();
    assert!(
        ["history", "taste", "trending"].contains(&basis.as_str()),
        "{body}"
    );
    let items = body["items"].as_array().expect("items").clone();
    for item in &items {
        assert_song_shape(&item["song"]);
        assert!(item["score"].is_number(), "{item}");
        assert!(item.get("reason").is_some(), "{item}");
    }
    (basis, items)
}

/// The item of `song_id` in `items`, if there.
pub fn item_of<'a>(items: &'a [Value], song_id: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["song"]["id"] == song_id)
}

/// `GET /api/me/history?{query}` as `user`: the body (`items`, `nextCursor`).
pub async fn history(app: &TestApp, user: &User, query: &str) -> Value {
    let body = get_ok(app, user.bearer(), &format!("/api/me/history?{query}")).await;
    for item in body["items"].as_array().expect("items") {
        assert_eq!(object_keys(item), string_set(HISTORY_FIELDS), "{item}");
        assert_time(&item["startedAt"], item);
        if !item["song"].is_null() {
            assert_song_shape(&item["song"]);
            assert_eq!(item["song"]["id"], item["songId"], "{item}");
        }
    }
    assert!(
        body["nextCursor"].is_null() || body["nextCursor"].is_string(),
        "{body}"
    );
    body
}

/// Every history item of `user`, page by page (`limit` each): the items, newest first.
pub async fn whole_history(app: &TestApp, user: &User, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut query = format!("limit={limit}");
    for _ in 0..1000 {
        let page = history(app, user, &query).await;
        let got = page["items"].as_array().expect("items");
        assert!(got.len() <= limit, "{page}");
        items.extend(got.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(got.len(), limit, "a page before the last is full: {page}");
                query = format!("limit={limit}&cursor={}", enc(cursor));
            }
            None => return items,
        }
    }
    panic!("history of {} never ends", user.name)
}

/// `value` percent-encoded for a query string.
pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Waits until the activity component has handled the event `event_id`.
pub async fn wait_handled(app: &TestApp, event_id: &str) {
    EventBus::connect(&app.redis.url())
        .await
        .wait_processed(GROUP, &[event_id], WAIT)
        .await
}

/// The id of the first event on `topic` whose payload `matches`, once there is one.
pub async fn event_id(app: &TestApp, topic: &str, matches: impl Fn(&Event) -> bool) -> String {
    let bus = EventBus::connect(&app.redis.url()).await;
    let matches = &matches;
    eventually(WAIT, &format!("an event on {topic}"), || {
        let mut bus = bus.clone();
        async move {
            let envelopes = bus.envelopes(topic).await;
            envelopes
                .into_iter()
                .find(|e| matches(&e.payload))
                .map(|e| e.id)
        }
    })
    .await
}

/// Waits until the activity component has handled the `track.published` of `song_id`.
pub async fn wait_published(app: &TestApp, song_id: &str) {
    let id = event_id(
        app,
        "track.published",
        |e| matches!(e, Event::TrackPublished(TrackPublished { song_id: s, .. }) if s == song_id),
    )
    .await;
    wait_handled(app, &id).await;
}

/// Waits until the activity component has handled the `track.deleted` of `song_id`.
pub async fn wait_track_deleted(app: &TestApp, song_id: &str) {
    let id = event_id(
        app,
        "track.deleted",
        |e| matches!(e, Event::TrackDeleted(t) if t.song_id == song_id),
    )
    .await;
    wait_handled(app, &id).await;
}

/// Waits until the activity component has handled the `user.deleted` of `user_id`.
pub async fn wait_user_deleted(app: &TestApp, user_id: &str) {
    let id = event_id(
        app,
        "user.deleted",
        |e| matches!(e, Event::UserDeleted(u) if u.user_id == user_id),
    )
    .await;
    wait_handled(app, &id).await;
}
