//! The `catalog` component, end to end: the real `spin.toml` started in-process against its own
//! `redis-server`, with real accounts from the `auth` component (artists, listeners, an admin
//! verified with a one-time code read from Redis), driven over HTTP as the web app drives it:
//! multipart uploads of the media fixtures in `tests/fixtures/media/`, signed streaming URLs
//! with byte ranges, covers, visibility, lists, edits and deletion, and the events it
//! publishes read back from Redis (`spindle:events:TOPIC`, field `e`).
//!
//! Every test starts its own app.

use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{Envelope, Event, TrackDeleted, TrackPublished};
use spindle_tests::accounts::{User, register, register_admin};
use spindle_tests::bus::EventBus;
use spindle_tests::media::{Form, assert_song_shape, fixture, upload, wav};
use spindle_tests::{
    TestApp, TestResponse, assert_invalid, assert_problem, eventually, object_keys, spawn_app_with,
    string_set,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const ADMIN_EMAIL: &str = "boss@example.com";

// ---------------------------------------------------------------------------------------------
// The app and its users
// ---------------------------------------------------------------------------------------------

async fn start(variables: &[(&str, &str)]) -> TestApp {
    spawn_app_with(variables).await
}

/// An app with `admin_emails`, an artist, a second artist, a listener and the admin.
async fn cast(app: &TestApp) -> (User, User, User, User) {
    let artist = register(app, "ann@example.com", "artist").await;
    let other = register(app, "bob@example.com", "artist").await;
    let listener = register(app, "lee@example.com", "listener").await;
    let admin = register_admin(app, ADMIN_EMAIL).await;
    (artist, other, listener, admin)
}

// ---------------------------------------------------------------------------------------------
// Media and multipart bodies
// ---------------------------------------------------------------------------------------------

fn mp3() -> Form {
    Form::new().fixture("audio", "tone.mp3")
}

fn flac() -> Form {
    Form::new().fixture("audio", "tone.flac")
}

/// A generated WAV (see [`wav`]) titled `title`.
fn wav_song(title: &str, seed: u8) -> Form {
    Form::new()
        .file("audio", &format!("{seed}.wav"), wav(500, seed))
        .text("title", title)
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// Uploads `form` as `artist`: a 201 SongView of theirs.
async fn upload_ok(app: &TestApp, artist: &User, form: &Form) -> Value {
    let response = upload(app, Some(&artist.token), form).await;
    assert_eq!(response.status, 201, "upload: {}", response.text());
    assert_eq!(response.content_type().as_deref(), Some("application/json"));
    let song: Value = response.json();
    assert_song_shape(&song);
    assert_eq!(song["artistId"], artist.id.as_str(), "{song}");
    assert_eq!(song["artistName"], artist.name.as_str(), "{song}");
    song
}

fn id(song: &Value) -> String {
    song["id"].as_str().expect("song.id").to_string()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id).collect()
}

async fn get_song(app: &TestApp, token: Option<&str>, song_id: &str) -> TestResponse {
    app.call(token, Method::GET, &format!("/api/songs/{song_id}"), None)
        .await
}

/// The song as `token` sees it: 200.
async fn song_ok(app: &TestApp, token: Option<&str>, song_id: &str) -> Value {
    let response = get_song(app, token, song_id).await;
    assert_eq!(response.status, 200, "GET {song_id}: {}", response.text());
    let song: Value = response.json();
    assert_song_shape(&song);
    song
}

/// `GET /api/songs/artist/my-songs`: the ids.
async fn my_songs(app: &TestApp, artist: &User) -> Vec<String> {
    let response = app
        .call(
            Some(&artist.token),
            Method::GET,
            "/api/songs/artist/my-songs",
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    let items = body["items"].as_array().expect("items");
    items.iter().for_each(assert_song_shape);
    ids(items)
}

/// `GET path?query` (a list): (items, nextCursor).
async fn list_at(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    query: &str,
) -> (Vec<Value>, Option<String>) {
    let response = app
        .call(token, Method::GET, &format!("{path}?{query}"), None)
        .await;
    assert_eq!(response.status, 200, "{path}?{query}: {}", response.text());
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["items", "nextCursor"]),
        "{body}"
    );
    let items = body["items"].as_array().expect("items").clone();
    items.iter().for_each(assert_song_shape);
    let cursor = match &body["nextCursor"] {
        Value::Null => None,
        Value::String(cursor) => Some(cursor.clone()),
        other => panic!("nextCursor is a string or null: {other}"),
    };
    (items, cursor)
}

async fn list(app: &TestApp, token: Option<&str>, query: &str) -> (Vec<Value>, Option<String>) {
    list_at(app, token, "/api/songs", query).await
}

/// Every song of `GET /api/songs?query` (all pages) as `token`.
async fn listed(app: &TestApp, token: Option<&str>, query: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("{query}&cursor={cursor}"),
            None => query.to_string(),
        };
        let (items, next) = list(app, token, &query).await;
        all.extend(ids(&items));
        match next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
        assert!(all.len() < 1000, "the pages never end");
    }
}

async fn batch(app: &TestApp, token: Option<&str>, song_ids: &[String]) -> TestResponse {
    app.call(
        token,
        Method::POST,
        "/api/songs/batch",
        Some(json!({ "ids": song_ids })),
    )
    .await
}

/// `POST /api/songs/batch` as `token`: the ids answered.
async fn batch_ids(app: &TestApp, token: Option<&str>, song_ids: &[String]) -> Vec<String> {
    let response = batch(app, token, song_ids).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    let items = body["items"].as_array().expect("items");
    items.iter().for_each(assert_song_shape);
    ids(items)
}

async fn patch(app: &TestApp, user: &User, path: &str, body: Value) -> TestResponse {
    app.call(Some(&user.token), Method::PATCH, path, Some(body))
        .await
}

async fn stream(app: &TestApp, token: Option<&str>, song_id: &str) -> TestResponse {
    let path = format!("/api/songs/{song_id}/stream");
    app.call(token, Method::GET, &path, None).await
}

/// A signed media URL for the song, as `user` asks for it.
async fn stream_url(app: &TestApp, user: &User, song_id: &str) -> String {
    let response = stream(app, Some(&user.token), song_id).await;
    assert_eq!(
        response.status,
        200,
        "stream {song_id}: {}",
        response.text()
    );
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["url", "expiresAt"]),
        "{body}"
    );
    let url = body["url"].as_str().expect("url").to_string();
    assert!(url.starts_with("/api/media/"), "{url}");
    url
}

/// GETs (or HEADs) a media URL with extra headers.
async fn fetch(app: &TestApp, method: Method, url: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = app.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request).await
}

/// The query parameter `name` of a relative URL.
fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("{url} has no {name}"))
}

/// `url` with the query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').expect("a query");
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// Media and chunk rows in the `media` database (0 before it exists).
fn media_rows(app: &TestApp) -> (i64, i64) {
    let db = app.state_dir().join(".spin/media.db");
    if !db.exists() {
        return (0, 0);
    }
    let conn =
        rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let count = |sql: &str| -> i64 {
        conn.query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    (
        count("SELECT COUNT(*) FROM media"),
        count("SELECT COUNT(*) FROM chunks"),
    )
}

// ---------------------------------------------------------------------------------------------
// Shapes and problems
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_duration(song: &Value, expected_ms: u64) {
    let got = song["durationMs"].as_u64().expect("durationMs");
    assert!(
        got.abs_diff(expected_ms) <= 100,
        "durationMs {got}, expected {expected_ms} ± 100: {song}"
    );
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Every event on `topic`'s stream so far, oldest first.
async fn events(app: &TestApp, topic: &str) -> Vec<Envelope> {
    EventBus::connect(&app.redis.url())
        .await
        .envelopes(topic)
        .await
}

async fn published(app: &TestApp) -> Vec<TrackPublished> {
    events(app, "track.published")
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.producer, "catalog");
            match e.payload {
                Event::TrackPublished(track) => track,
                other => panic!("on track.published: {other:?}"),
            }
        })
        .collect()
}

async fn deleted(app: &TestApp) -> Vec<TrackDeleted> {
    events(app, "track.deleted")
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.producer, "catalog");
            match e.payload {
                Event::TrackDeleted(track) => track,
                other => panic!("on track.deleted: {other:?}"),
            }
        })
        .collect()
}

/// Waits for the `track.published` of `song_id`; answers how many there are of it.
async fn wait_published(app: &TestApp, song_id: &str) -> usize {
    eventually(WAIT, &format!("track.published of {song_id}"), || async {
        let count = published(app)
            .await
            .iter()
            .filter(|t| t.song_id == song_id)
            .count();
        (count > 0).then_some(count)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Upload
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_mp3_upload_reads_duration_format_and_tags_from_the_file() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let bytes = fixture("tone.mp3");

    let song = upload_ok(&app, &artist, &mp3()).await;
    assert_eq!(song["title"], "Test Tone", "the tag's title: {song}");
    assert_eq!(song["genre"], "Electronic", "the tag's genre: {song}");
    assert_duration(&song, 2000);
    assert_eq!(song["codec"], "mp3", "{song}");
    assert_eq!(song["mimeType"], "audio/mpeg", "{song}");
    assert_eq!(song["sampleRate"], 44100, "{song}");
    assert_eq!(song["channels"], 1, "{song}");
    assert!(
        song["bitrateKbps"].as_u64().is_some_and(|b| b > 0),
        "{song}"
    );
    assert_eq!(song["sizeBytes"], bytes.len(), "{song}");
    assert_eq!(song["isPublic"], true, "{song}");
    assert_eq!(song["isVisible"], true, "{song}");
    assert_eq!(song["hasCover"], false, "{song}");
    assert_eq!(song["playCount"], 0, "{song}");
    assert_eq!(song["tags"], json!([]), "{song}");
    assert_eq!(song["albumId"], Value::Null, "{song}");
    assert_eq!(song["createdAt"], song["updatedAt"], "{song}");

    // The artist's name is their display name at auth.
    let profile = app.get(&format!("/api/users/{}", artist.id)).await;
    assert_eq!(profile.status, 200, "{}", profile.text());
    assert_eq!(song["artistName"], profile.json::<Value>()["displayName"]);

    // Anyone reads it back as it was answered.
    assert_eq!(song_ok(&app, None, &id(&song)).await, song);
    assert_eq!(my_songs(&app, &artist).await, vec![id(&song)]);
}

#[tokio::test]
async fn a_flac_upload_takes_the_form_fields_over_the_tags() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    // albumId names one of the artist's albums (at the playlists component).
    let album = spindle_tests::playlists::album(&app, &artist.token, "Dawn").await;

    let form = flac()
        .text("title", "Morning Light")
        .text("genre", "Ambient")
        .text("tags", "Calm, night ,calm")
        .text("albumId", &album)
        .text("isPublic", "true");
    let song = upload_ok(&app, &artist, &form).await;
    assert_eq!(song["title"], "Morning Light", "the form wins: {song}");
    assert_eq!(song["genre"], "Ambient", "{song}");
    assert_eq!(song["tags"], json!(["calm", "night"]), "{song}");
    assert_eq!(song["albumId"], album.as_str(), "{song}");
    assert_eq!(song["isPublic"], true, "{song}");
    assert_duration(&song, 1500);
    assert_eq!(song["codec"], "flac", "{song}");
    assert_eq!(song["mimeType"], "audio/flac", "{song}");
    assert_eq!(song["sampleRate"], 16000, "{song}");
    assert_eq!(song["channels"], 1, "{song}");
    assert_eq!(song["sizeBytes"], fixture("tone.flac").len(), "{song}");

    // Without a form title, the tag's; tags also as a JSON array.
    let other = register(&app, "bob@example.com", "artist").await;
    let form = flac().text("tags", r#"["Folk", "live"]"#);
    let song = upload_ok(&app, &other, &form).await;
    assert_eq!(song["title"], "Flac Tone", "{song}");
    assert_eq!(song["tags"], json!(["folk", "live"]), "{song}");
}

#[tokio::test]
async fn the_other_formats_upload_with_their_durations() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    for (file, ms, codec, mime, rate) in [
        ("tone.ogg", 1000, "vorbis", "audio/ogg", 22050),
        ("tone.opus", 1000, "opus", "audio/ogg", 48000),
        ("tone.m4a", 1000, "aac", "audio/mp4", 44100),
        ("tone.wav", 500, "pcm", "audio/wav", 8000),
    ] {
        let form = Form::new().fixture("audio", file).text("title", file);
        let song = upload_ok(&app, &artist, &form).await;
        assert_duration(&song, ms);
        assert_eq!(song["codec"], codec, "{file}: {song}");
        assert_eq!(song["mimeType"], mime, "{file}: {song}");
        assert_eq!(song["sampleRate"], rate, "{file}: {song}");
        assert_eq!(song["channels"], 1, "{file}: {song}");
        assert_eq!(song["sizeBytes"], fixture(file).len(), "{file}: {song}");
    }
    // Their own titles, from their tags.
    let form = Form::new().fixture("audio", "tone.ogg");
    let other = register(&app, "bob@example.com", "artist").await;
    assert_eq!(upload_ok(&app, &other, &form).await["title"], "Vorbis Tone");
    // A generated WAV: 8 kHz mono.
    let song = upload_ok(&app, &artist, &wav_song("Silence", 1)).await;
    assert_duration(&song, 500);
    assert_eq!(song["sampleRate"], 8000, "{song}");
    assert_eq!(song["channels"], 1, "{song}");
}

/// What an artist has stored: their songs and the rows of the media database.
struct Stored {
    songs: Vec<String>,
    rows: (i64, i64),
}

impl Stored {
    async fn of(app: &TestApp, artist: &User) -> Self {
        Self {
            songs: my_songs(app, artist).await,
            rows: media_rows(app),
        }
    }

    /// Asserts `response` is a `status` problem (naming `field` for a 422) and nothing changed.
    async fn refused(
        &self,
        app: &TestApp,
        artist: &User,
        response: TestResponse,
        status: u16,
        field: Option<&str>,
        what: &str,
    ) -> Value {
        let body = assert_problem(&response, status, what);
        if let Some(field) = field {
            assert_invalid(&response, &[field], what);
        }
        assert_eq!(
            my_songs(app, artist).await,
            self.songs,
            "{what}: nothing stored"
        );
        assert_eq!(media_rows(app), self.rows, "{what}: no media left behind");
        body
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let other = register(&app, "bob@example.com", "artist").await;
    let listener = register(&app, "lee@example.com", "listener").await;
    let first = upload_ok(&app, &artist, &mp3()).await;
    let before = Stored::of(&app, &artist).await;
    assert_eq!(before.rows.0, 1, "one stored file");
    let token = Some(artist.token.as_str());
    let (app, artist_ref) = (&app, &artist);
    let refused = |response, status, field, what| {
        before.refused(app, artist_ref, response, status, field, what)
    };

    let response = upload(app, Some(&listener.token), &flac()).await;
    refused(response, 403, None, "a listener").await;
    let response = upload(app, None, &flac()).await;
    refused(response, 401, None, "no token").await;
    let request = app
        .request(Method::POST, "/api/songs")
        .bearer_auth(&artist.token)
        .json(&json!({ "title": "x" }));
    refused(app.send(request).await, 415, None, "not multipart").await;
    let response = upload(app, token, &Form::new().fixture("audio", "not-audio.txt")).await;
    refused(response, 415, None, "text as audio").await;
    let response = upload(app, token, &Form::new().fixture("audio", "cover.png")).await;
    refused(response, 415, None, "a PNG as audio").await;
    let form = flac().file("cover", "cover.mp3", fixture("tone.mp3"));
    let response = upload(app, token, &form).await;
    refused(response, 415, None, "an MP3 as cover").await;
    let response = upload(app, token, &Form::new().fixture("audio", "corrupt.mp3")).await;
    refused(response, 422, Some("audio"), "a corrupt MP3").await;
    let response = upload(app, token, &Form::new().fixture("audio", "fake.flac")).await;
    refused(response, 422, Some("audio"), "a fake FLAC").await;
    let response = upload(app, token, &Form::new().text("title", "No audio")).await;
    refused(response, 422, Some("audio"), "no audio field").await;
    let response = upload(app, token, &flac().text("mood", "happy")).await;
    refused(response, 422, Some("mood"), "an unknown field").await;
    let response = upload(app, token, &flac().text("isPublic", "maybe")).await;
    refused(response, 422, Some("isPublic"), "a bad isPublic").await;
    let response = upload(app, token, &flac().text("title", &"x".repeat(201))).await;
    refused(response, 422, Some("title"), "a title of 201 characters").await;

    // The same bytes again, by the same artist: a conflict naming the first song.
    let response = upload(app, token, &mp3().text("title", "Again")).await;
    let body = refused(response, 409, None, "the same file twice").await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&id(&first)), "names {}: {body}", id(&first));

    // Another artist may upload the same bytes.
    let theirs = upload_ok(app, &other, &mp3()).await;
    assert_ne!(id(&theirs), id(&first));
    assert_eq!(my_songs(app, &artist).await, before.songs);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_with_413() {
    let app = start(&[("max_upload_bytes", "20000")]).await;
    let artist = register(&app, "ann@example.com", "artist").await;

    // Under the limit: fine.
    let small = wav(1000, 1);
    assert!(small.len() < 20_000);
    let song = upload_ok(
        &app,
        &artist,
        &Form::new()
            .file("audio", "small.wav", small)
            .text("title", "Small"),
    )
    .await;
    assert_duration(&song, 1000);
    let songs = my_songs(&app, &artist).await;
    let rows = media_rows(&app);

    // Over it.
    let big = wav(4000, 2);
    assert!(big.len() > 20_000);
    let form = Form::new()
        .file("audio", "big.wav", big)
        .text("title", "Big");
    let response = upload(&app, Some(&artist.token), &form).await;
    assert_problem(&response, 413, "a WAV over max_upload_bytes");
    assert_eq!(my_songs(&app, &artist).await, songs, "nothing stored");
    assert_eq!(media_rows(&app), rows, "no media left behind");

    // The MP3 fixture, when it is over the limit too.
    let mp3_bytes = fixture("tone.mp3");
    if mp3_bytes.len() > 20_000 {
        let response = upload(&app, Some(&artist.token), &mp3()).await;
        assert_problem(&response, 413, "an MP3 over max_upload_bytes");
        assert_eq!(my_songs(&app, &artist).await, songs, "nothing stored");
        assert_eq!(media_rows(&app), rows, "no media left behind");
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_signed_url_streams_the_exact_bytes_with_ranges() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let bytes = fixture("tone.mp3");
    let size = bytes.len();
    assert!(size > 1000, "the MP3 fixture has {size} bytes");
    let song = upload_ok(&app, &artist, &mp3()).await;

    // {url, expiresAt}, about five minutes ahead.
    let before = spindle_shared::time::now_ms() / 1000;
    let response = stream(&app, Some(&artist.token), &id(&song)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["url", "expiresAt"]),
        "{body}"
    );
    let url = body["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/api/media/"), "{url}");
    let exp: u64 = param(&url, "exp").parse().expect("exp is seconds");
    assert!(
        (before + 295..=before + 302).contains(&exp),
        "exp {exp}, now {before}"
    );
    let expires_at = body["expiresAt"].as_str().expect("expiresAt");
    assert!(
        expires_at.ends_with('Z') && expires_at.contains('T'),
        "{expires_at}"
    );
    assert_eq!(param(&url, "u"), artist.id);
    assert!(!param(&url, "sig").is_empty());

    // The whole file.
    let whole = fetch(&app, Method::GET, &url, &[]).await;
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert!(whole.body[..] == bytes[..], "the exact uploaded bytes");
    assert_eq!(whole.header("accept-ranges").as_deref(), Some("bytes"));
    assert_eq!(whole.content_type().as_deref(), Some("audio/mpeg"));
    assert_eq!(
        whole.header("content-length"),
        Some(size.to_string()),
        "content-length"
    );
    let etag = whole.header("etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let cache = whole.header("cache-control").unwrap_or_default();
    assert!(cache.starts_with("private"), "Cache-Control: {cache}");

    // Ranges.
    let last = size - 1;
    for (range, start, end) in [
        ("bytes=0-0".to_string(), 0, 1),
        (format!("bytes={last}-{last}"), last, size),
        ("bytes=-500".to_string(), size - 500, size),
        ("bytes=100-".to_string(), 100, size),
    ] {
        let part = fetch(&app, Method::GET, &url, &[("range", &range)]).await;
        assert_eq!(part.status, 206, "{range}: {}", part.text());
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {start}-{}/{size}", end - 1)),
            "{range}"
        );
        assert!(part.body[..] == bytes[start..end], "{range}: the bytes");
        assert_eq!(part.body.len(), end - start, "{range}");
        assert_eq!(part.header("etag").as_deref(), Some(etag.as_str()));
        assert_eq!(part.content_type().as_deref(), Some("audio/mpeg"));
    }

    // Past the end.
    let range = format!("bytes={size}-");
    let past = fetch(&app, Method::GET, &url, &[("range", &range)]).await;
    assert_eq!(past.status, 416, "{range}: {}", past.text());
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{size}"))
    );

    // HEAD: the headers without the body.
    let head = fetch(&app, Method::HEAD, &url, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-length"), Some(size.to_string()));
    assert_eq!(head.header("etag").as_deref(), Some(etag.as_str()));
    assert_eq!(head.content_type().as_deref(), Some("audio/mpeg"));

    // Conditional requests.
    let cached = fetch(&app, Method::GET, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status, 304, "{}", cached.text());
    assert!(cached.body.is_empty());
    let stale = fetch(
        &app,
        Method::GET,
        &url,
        &[("range", "bytes=0-0"), ("if-range", "\"not-the-etag\"")],
    )
    .await;
    assert_eq!(stale.status, 200, "a wrong If-Range: the whole file");
    assert!(stale.body[..] == bytes[..]);
    let fresh = fetch(
        &app,
        Method::GET,
        &url,
        &[("range", "bytes=0-0"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(fresh.status, 206, "the right If-Range: the range");
    assert_eq!(fresh.body.len(), 1);

    // ?redirect=true: a 302 to the same kind of URL.
    let path = format!("/api/songs/{}/stream?redirect=true", id(&song));
    let redirect = app
        .call(Some(&artist.token), Method::GET, &path, None)
        .await;
    assert_eq!(redirect.status, 302, "{}", redirect.text());
    let location = redirect.header("location").expect("a Location");
    assert!(location.starts_with("/api/media/"), "{location}");
    assert_eq!(
        location.split('?').next(),
        url.split('?').next(),
        "the same media"
    );
    assert_eq!(param(&location, "u"), artist.id);
    let followed = fetch(&app, Method::GET, &location, &[]).await;
    assert_eq!(followed.status, 200, "{}", followed.text());
    assert!(followed.body[..] == bytes[..]);
}

#[tokio::test]
async fn a_file_of_several_chunks_streams_whole_and_in_ranges() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    // 2.5 MB: three chunks of the media store (1 MiB each).
    let bytes = wav(160_000, 3);
    let size = bytes.len();
    let form = Form::new()
        .file("audio", "long.wav", bytes.clone())
        .text("title", "Long");
    let song = upload_ok(&app, &artist, &form).await;
    assert_eq!(song["sizeBytes"], size);
    assert_duration(&song, 160_000);
    let url = stream_url(&app, &artist, &id(&song)).await;

    let whole = fetch(&app, Method::GET, &url, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body.len(), size);
    assert!(whole.body[..] == bytes[..], "the exact bytes");
    assert_eq!(whole.content_type().as_deref(), Some("audio/wav"));

    const MIB: usize = 1 << 20;
    for (start, end) in [
        (MIB - 10, MIB + 10),
        (MIB, MIB + 1),
        (MIB - 1, MIB),
        (10, 2 * MIB + 10),
        (2 * MIB - 3, size),
        (size - 1, size),
    ] {
        let range = format!("bytes={start}-{}", end - 1);
        let part = fetch(&app, Method::GET, &url, &[("range", &range)]).await;
        assert_eq!(part.status, 206, "{range}");
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {start}-{}/{size}", end - 1)),
            "{range}"
        );
        assert_eq!(part.body.len(), end - start, "{range}");
        assert!(part.body[..] == bytes[start..end], "{range}: the bytes");
    }
    let tail = fetch(&app, Method::GET, &url, &[("range", "bytes=-1500000")]).await;
    assert_eq!(tail.status, 206);
    assert!(tail.body[..] == bytes[size - 1_500_000..]);
}

#[tokio::test]
async fn signed_urls_are_bearer_urls_that_cannot_be_forged() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let listener = register(&app, "lee@example.com", "listener").await;
    let song = upload_ok(&app, &artist, &mp3()).await;
    let url = stream_url(&app, &artist, &id(&song)).await;

    // Anyone holding the URL may use it: with another user's token, or none.
    let theirs = app
        .send(app.request(Method::GET, &url).bearer_auth(&listener.token))
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.text());
    assert_eq!(fetch(&app, Method::GET, &url, &[]).await.status, 200);

    // A listener may ask for their own.
    let own = stream_url(&app, &listener, &id(&song)).await;
    assert_eq!(param(&own, "u"), listener.id);
    assert_eq!(fetch(&app, Method::GET, &own, &[]).await.status, 200);

    // But nothing in it may change.
    let sig = param(&url, "sig");
    let flipped = match sig.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", &sig[1..]),
    };
    let exp: u64 = param(&url, "exp").parse().unwrap();
    let later = (exp + 3600).to_string();
    for (tampered, what) in [
        (with_param(&url, "sig", &flipped), "a forged sig"),
        (with_param(&url, "sig", ""), "an empty sig"),
        (with_param(&url, "u", &listener.id), "another u"),
        (with_param(&url, "exp", &later), "a later exp"),
        (with_param(&url, "exp", "soon"), "a bad exp"),
    ] {
        let response = fetch(&app, Method::GET, &tampered, &[]).await;
        assert_problem(&response, 403, what);
    }
    let (_, query) = url.split_once('?').unwrap();
    let other_media = format!("/api/media/01ARZ3NDEKTSV4RRFFQ69G5FAV?{query}");
    let response = fetch(&app, Method::GET, &other_media, &[]).await;
    assert_problem(&response, 403, "the signature of another media id");
    let bare = url.split('?').next().unwrap();
    let response = fetch(&app, Method::GET, bare, &[]).await;
    assert_problem(&response, 403, "no signature at all");

    // Asking for a URL needs a token that may see the song.
    let response = stream(&app, Some("not-a-token"), &id(&song)).await;
    assert_problem(&response, 401, "a bad token");
    let response = stream(&app, Some(&listener.token), "01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_problem(&response, 404, "an unknown song");
}

#[tokio::test]
async fn a_signed_url_expires() {
    let app = start(&[("stream_url_ttl_secs", "1")]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let song = upload_ok(&app, &artist, &mp3()).await;
    let url = stream_url(&app, &artist, &id(&song)).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = fetch(&app, Method::GET, &url, &[]).await;
    assert_problem(&response, 403, "an expired URL");
    // A new one works.
    let url = stream_url(&app, &artist, &id(&song)).await;
    let response = fetch(&app, Method::GET, &url, &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
}

// ---------------------------------------------------------------------------------------------
// Covers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn covers_are_served_to_whoever_may_see_the_song() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let listener = register(&app, "lee@example.com", "listener").await;

    for (audio, cover, mime, public) in [
        (mp3(), "cover.png", "image/png", true),
        (flac(), "cover.jpg", "image/jpeg", true),
        (wav_song("Webp", 7), "cover.webp", "image/webp", false),
    ] {
        let form = audio
            .fixture("cover", cover)
            .text("isPublic", &public.to_string());
        let song = upload_ok(&app, &artist, &form).await;
        assert_eq!(song["hasCover"], true, "{song}");
        let path = format!("/api/songs/{}/cover", id(&song));
        let viewers: Vec<(Option<&str>, u16)> = vec![
            (None, if public { 200 } else { 404 }),
            (Some(&listener.token), if public { 200 } else { 404 }),
            (Some(&artist.token), 200),
        ];
        for (token, status) in viewers {
            let response = app.call(token, Method::GET, &path, None).await;
            if status == 404 {
                assert_problem(&response, 404, &format!("{cover} of a private song"));
                continue;
            }
            assert_eq!(response.status, 200, "{cover}: {}", response.text());
            assert_eq!(response.content_type().as_deref(), Some(mime), "{cover}");
            assert!(
                response.body[..] == fixture(cover)[..],
                "{cover}: the bytes"
            );
            assert!(response.header("etag").is_some(), "{cover}: an ETag");
        }
        let head = app
            .call(Some(&artist.token), Method::HEAD, &path, None)
            .await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(head.content_type().as_deref(), Some(mime));
    }

    // A song without a cover, and no song at all.
    let song = upload_ok(&app, &artist, &wav_song("Bare", 8)).await;
    assert_eq!(song["hasCover"], false);
    let response = app.get(&format!("/api/songs/{}/cover", id(&song))).await;
    assert_problem(&response, 404, "no cover");
    let response = app.get("/api/songs/01ARZ3NDEKTSV4RRFFQ69G5FAV/cover").await;
    assert_problem(&response, 404, "no song");
}

// ---------------------------------------------------------------------------------------------
// Visibility
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_private_song_is_seen_only_by_its_owner_and_admins() {
    let app = start(&[("admin_emails", ADMIN_EMAIL)]).await;
    let (artist, other, listener, admin) = cast(&app).await;
    let private = upload_ok(&app, &artist, &flac().text("isPublic", "false")).await;
    assert_eq!(private["isPublic"], false);
    assert_eq!(private["isVisible"], true);
    let public = upload_ok(&app, &artist, &mp3()).await;
    let (p, q) = (id(&private), id(&public));
    let both = vec![p.clone(), q.clone()];

    let outsiders: Vec<(Option<&str>, &str)> = vec![
        (None, "anonymous"),
        (Some(&listener.token), "a listener"),
        (Some(&other.token), "another artist"),
    ];
    for (token, who) in outsiders {
        let response = get_song(&app, token, &p).await;
        assert_problem(&response, 404, &format!("{who} and a private song"));
        song_ok(&app, token, &q).await;
        assert_eq!(
            listed(&app, token, "limit=100").await,
            vec![q.clone()],
            "{who}"
        );
        assert_eq!(
            batch_ids(&app, token, &both).await,
            vec![q.clone()],
            "{who}"
        );
        let cover = app
            .call(token, Method::GET, &format!("/api/songs/{p}/cover"), None)
            .await;
        assert_problem(&cover, 404, &format!("{who}: the cover of a private song"));
        if token.is_some() {
            let response = stream(&app, token, &p).await;
            assert_problem(&response, 404, &format!("{who} streams a private song"));
        }
    }

    for (user, who) in [(&artist, "the owner"), (&admin, "an admin")] {
        let seen = song_ok(&app, Some(&user.token), &p).await;
        assert_eq!(seen["isPublic"], false, "{who}");
        assert_eq!(
            batch_ids(&app, Some(&user.token), &both).await,
            both,
            "{who}"
        );
        stream_url(&app, user, &p).await;
    }
    let (all, _) = list_at(&app, Some(&admin.token), "/api/admin/songs", "limit=100").await;
    assert!(ids(&all).contains(&p), "the admin list has it");
    assert!(my_songs(&app, &artist).await.contains(&p));
}

#[tokio::test]
async fn an_admin_hides_a_song_from_everyone_but_its_owner() {
    let app = start(&[("admin_emails", ADMIN_EMAIL)]).await;
    let (artist, other, listener, admin) = cast(&app).await;
    let song = upload_ok(&app, &artist, &mp3()).await;
    let s = id(&song);
    let visible = format!("/api/admin/songs/{s}/visible");

    let hidden = patch(&app, &admin, &visible, json!({ "isVisible": false })).await;
    assert_eq!(hidden.status, 200, "{}", hidden.text());
    let hidden: Value = hidden.json();
    assert_song_shape(&hidden);
    assert_eq!(hidden["isVisible"], false, "{hidden}");
    assert_eq!(hidden["isPublic"], true, "{hidden}");

    for (token, who) in [
        (None, "anonymous"),
        (Some(listener.token.as_str()), "a listener"),
        (Some(other.token.as_str()), "another artist"),
    ] {
        let response = get_song(&app, token, &s).await;
        assert_problem(&response, 404, &format!("{who} and a hidden song"));
        assert!(listed(&app, token, "").await.is_empty(), "{who}");
        let batch = batch_ids(&app, token, std::slice::from_ref(&s)).await;
        assert!(batch.is_empty(), "{who}");
    }
    let own = song_ok(&app, Some(&artist.token), &s).await;
    assert_eq!(own["isVisible"], false, "the owner sees it hidden: {own}");
    assert!(my_songs(&app, &artist).await.contains(&s));
    let (all, _) = list_at(&app, Some(&admin.token), "/api/admin/songs", "").await;
    let listed_hidden = all.iter().find(|x| x["id"] == s.as_str());
    assert_eq!(
        listed_hidden.map(|x| x["isVisible"].clone()),
        Some(json!(false)),
        "the admin list has it hidden: {all:?}"
    );

    // Admin routes are for admins.
    for (user, who) in [(&listener, "a listener"), (&artist, "an artist")] {
        let response = app
            .call(Some(&user.token), Method::GET, "/api/admin/songs", None)
            .await;
        assert_problem(&response, 403, &format!("{who} lists admin songs"));
        let response = patch(&app, user, &visible, json!({ "isVisible": true })).await;
        assert_problem(&response, 403, &format!("{who} shows a song"));
    }
    let response = app.get("/api/admin/songs").await;
    assert_problem(&response, 401, "anonymous lists admin songs");
    let response = patch(&app, &admin, &visible, json!({ "isVisible": "yes" })).await;
    assert_invalid(&response, &["isVisible"], "a bad isVisible");
    let response = patch(
        &app,
        &admin,
        "/api/admin/songs/01ARZ3NDEKTSV4RRFFQ69G5FAV/visible",
        json!({ "isVisible": false }),
    )
    .await;
    assert_problem(&response, 404, "an unknown song");
    assert_eq!(
        song_ok(&app, Some(&artist.token), &s).await["isVisible"],
        false
    );

    // Shown again.
    let shown = patch(&app, &admin, &visible, json!({ "isVisible": true })).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_eq!(
        song_ok(&app, Some(&listener.token), &s).await["isVisible"],
        true
    );
    assert_eq!(listed(&app, None, "").await, vec![s]);
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lists_page_sort_and_filter() {
    let app = start(&[]).await;
    let ann = register(&app, "ann@example.com", "artist").await;
    let bob = register(&app, "bob@example.com", "artist").await;
    let mut uploaded = Vec::new();
    for (n, (artist, title, genre)) in [
        (&ann, "delta", "Jazz"),
        (&ann, "Alpha", "Rock"),
        (&bob, "charlie", "Rock"),
        (&ann, "Echo", "Jazz"),
        (&bob, "bravo", "Pop"),
        (&ann, "foxtrot", "Jazz"),
        (&ann, "Golf", "Pop"),
    ]
    .into_iter()
    .enumerate()
    {
        let form = wav_song(title, n as u8 + 1).text("genre", genre);
        uploaded.push(id(&upload_ok(&app, artist, &form).await));
    }
    // A private song is never listed.
    let private = upload_ok(
        &app,
        &ann,
        &wav_song("aaa private", 99).text("isPublic", "false"),
    )
    .await;
    let newest_first: Vec<String> = uploaded.iter().rev().cloned().collect();

    // Pages of 2: 2, 2, 2, 1; the last without a cursor.
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_string(),
        };
        let (items, next) = list(&app, None, &query).await;
        pages.push(ids(&items));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "the pages never end");
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 2, 1], "{pages:?}");
    assert_eq!(pages.concat(), newest_first, "newest first, each once");
    assert!(!pages.concat().contains(&id(&private)));

    // One page exactly: no cursor. The default page holds them all.
    let (items, next) = list(&app, None, "limit=7").await;
    assert_eq!(ids(&items), newest_first);
    assert_eq!(next, None, "no cursor to an empty page");
    let (items, next) = list(&app, None, "").await;
    assert_eq!((ids(&items), next), (newest_first.clone(), None));

    // Sorted by title, whatever the case.
    let (items, _) = list(&app, None, "sort=title").await;
    let titles: Vec<&str> = items.iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        vec![
            "Alpha", "bravo", "charlie", "delta", "Echo", "foxtrot", "Golf"
        ]
    );
    let by_title = listed(&app, None, "sort=title&limit=3").await;
    assert_eq!(by_title, ids(&items), "pages keep the order");
    let (items, _) = list(&app, None, "sort=newest").await;
    assert_eq!(ids(&items), newest_first);
    let (items, _) = list(&app, None, "sort=popular").await;
    assert_eq!(items.len(), 7);

    // Filters.
    let (items, _) = list(&app, None, &format!("artist={}", bob.id)).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items.iter().all(|s| s["artistId"] == bob.id.as_str()));
    let (items, _) = list(&app, None, "genre=Jazz").await;
    let titles: BTreeSet<&str> = items.iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles, BTreeSet::from(["delta", "Echo", "foxtrot"]));
    let (items, _) = list(&app, None, &format!("artist={}&genre=Pop", ann.id)).await;
    assert_eq!(ids(&items), vec![uploaded[6].clone()]);
    let (items, next) = list(&app, None, "genre=Polka").await;
    assert!(items.is_empty() && next.is_none());

    // Bad parameters.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("sort=loudest", "sort"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let response = app.get(&format!("/api/songs?{query}")).await;
        assert_invalid(&response, &[field], query);
    }
    let response = app
        .call(Some("not-a-token"), Method::GET, "/api/songs", None)
        .await;
    assert_problem(&response, 401, "a bad token on a list");

    // A cursor belongs to its sort.
    let (_, Some(newest_cursor)) = list(&app, None, "limit=2").await else {
        panic!("a second page");
    };
    let response = app
        .get(&format!("/api/songs?sort=title&cursor={newest_cursor}"))
        .await;
    assert_invalid(&response, &["cursor"], "a newest cursor with sort=title");
}

#[tokio::test]
async fn pages_do_not_shift_when_songs_arrive_or_go_meanwhile() {
    let app = start(&[]).await;
    let ann = register(&app, "ann@example.com", "artist").await;
    let mut songs = Vec::new();
    for (i, title) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        songs.push(id(&upload_ok(&app, &ann, &wav_song(title, i as u8)).await));
    }
    let (first, Some(cursor)) = list(&app, None, "limit=2").await else {
        panic!("a second page");
    };
    assert_eq!(ids(&first), vec![songs[4].clone(), songs[3].clone()]);

    // A new song goes first: the next page still starts where the first ended (an offset
    // would repeat the first page's last song).
    upload_ok(&app, &ann, &wav_song("six", 9)).await;
    let (second, _) = list(&app, None, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), vec![songs[2].clone(), songs[1].clone()]);

    // The song a cursor points at may go: the page after it is the same.
    let deleted = app
        .call(
            Some(&ann.token),
            Method::DELETE,
            &format!("/api/songs/{}", songs[3]),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let (again, _) = list(&app, None, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&again), vec![songs[2].clone(), songs[1].clone()]);
}

#[tokio::test]
async fn a_batch_keeps_the_order_and_leaves_out_unknown_ids() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let mut songs = Vec::new();
    for n in 1..=3u8 {
        songs.push(id(&upload_ok(
            &app,
            &artist,
            &wav_song(&format!("Song {n}"), n),
        )
        .await));
    }
    let asked = vec![
        songs[2].clone(),
        "01ARZ3NDEKTSV4RRFFQ69G5FAV".to_string(),
        songs[0].clone(),
        "nope".to_string(),
        songs[1].clone(),
    ];
    let answered = batch_ids(&app, None, &asked).await;
    assert_eq!(
        answered,
        vec![songs[2].clone(), songs[0].clone(), songs[1].clone()]
    );
    assert!(batch_ids(&app, None, &[]).await.is_empty());

    let hundred: Vec<String> = (0..100).map(|n| format!("unknown-{n}")).collect();
    assert!(
        batch_ids(&app, None, &hundred).await.is_empty(),
        "100 ids are fine"
    );
    let too_many: Vec<String> = (0..101).map(|n| format!("unknown-{n}")).collect();
    let response = batch(&app, None, &too_many).await;
    assert_invalid(&response, &["ids"], "101 ids");
}

// ---------------------------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_owner_edits_a_song() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let other = register(&app, "bob@example.com", "artist").await;
    let listener = register(&app, "lee@example.com", "listener").await;
    let song = upload_ok(&app, &artist, &mp3()).await;
    let path = format!("/api/songs/{}", id(&song));

    let response = patch(
        &app,
        &artist,
        &path,
        json!({ "title": "Renamed", "genre": "Techno", "tags": ["Night", "drive", "night"] }),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let edited: Value = response.json();
    assert_song_shape(&edited);
    assert_eq!(edited["title"], "Renamed");
    assert_eq!(edited["genre"], "Techno");
    assert_eq!(edited["tags"], json!(["night", "drive"]));
    assert_eq!(edited["id"], song["id"]);
    assert_eq!(edited["durationMs"], song["durationMs"]);
    assert_eq!(edited["createdAt"], song["createdAt"]);
    assert_eq!(song_ok(&app, None, &id(&song)).await, edited, "as stored");

    // Only what is sent changes; a null genre clears it.
    let response = patch(&app, &artist, &path, json!({ "genre": null })).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let cleared: Value = response.json();
    assert_eq!(cleared["genre"], Value::Null);
    assert_eq!(cleared["title"], "Renamed");
    assert_eq!(cleared["tags"], json!(["night", "drive"]));

    // Nobody else.
    let response = patch(&app, &other, &path, json!({ "title": "Mine now" })).await;
    assert_problem(&response, 403, "another artist edits");
    let response = patch(&app, &listener, &path, json!({ "title": "Mine now" })).await;
    assert_problem(&response, 403, "a listener edits");
    let response = app
        .call(None, Method::PATCH, &path, Some(json!({ "title": "x" })))
        .await;
    assert_problem(&response, 401, "anonymous edits");
    let response = patch(
        &app,
        &artist,
        "/api/songs/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        json!({ "title": "x" }),
    )
    .await;
    assert_problem(&response, 404, "an unknown song");

    // Bad fields.
    for (body, fields) in [
        (json!({ "title": "" }), vec!["title"]),
        (json!({ "title": "x".repeat(201) }), vec!["title"]),
        (json!({ "title": 42 }), vec!["title"]),
        (json!({ "genre": "g".repeat(65) }), vec!["genre"]),
        (json!({ "tags": "rock" }), vec!["tags"]),
        (json!({ "tags": ["t".repeat(33)] }), vec!["tags"]),
        (json!({ "playCount": 1000 }), vec!["playCount"]),
        (
            json!({ "title": "", "artistId": "me" }),
            vec!["title", "artistId"],
        ),
    ] {
        let response = patch(&app, &artist, &path, body.clone()).await;
        assert_invalid(&response, &fields, &body.to_string());
    }
    assert_eq!(song_ok(&app, None, &id(&song)).await, cleared, "unchanged");
}

#[tokio::test]
async fn the_owner_makes_a_song_private_and_public() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let other = register(&app, "bob@example.com", "artist").await;
    let song = upload_ok(&app, &artist, &mp3()).await;
    let s = id(&song);
    let path = format!("/api/songs/{s}/visibility");

    let response = patch(&app, &other, &path, json!({ "isPublic": false })).await;
    assert_problem(&response, 403, "another artist");
    let response = patch(&app, &artist, &path, json!({ "isPublic": "no" })).await;
    assert_invalid(&response, &["isPublic"], "a string");
    let response = patch(&app, &artist, &path, json!({})).await;
    assert_invalid(&response, &["isPublic"], "nothing");

    let response = patch(&app, &artist, &path, json!({ "isPublic": false })).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let private: Value = response.json();
    assert_song_shape(&private);
    assert_eq!(private["isPublic"], false);
    assert_problem(&get_song(&app, None, &s).await, 404, "now private");
    assert!(listed(&app, None, "").await.is_empty());
    assert_eq!(song_ok(&app, Some(&artist.token), &s).await, private);

    let response = patch(&app, &artist, &path, json!({ "isPublic": true })).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>()["isPublic"], true);
    assert_eq!(song_ok(&app, None, &s).await["isPublic"], true);
    assert_eq!(listed(&app, None, "").await, vec![s]);
}

// ---------------------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_owner_or_an_admin_deletes_a_song_and_its_media() {
    let app = start(&[("admin_emails", ADMIN_EMAIL)]).await;
    let (artist, other, listener, admin) = cast(&app).await;
    let song = upload_ok(&app, &artist, &mp3().fixture("cover", "cover.png")).await;
    let second = upload_ok(&app, &artist, &flac()).await;
    let (s, t) = (id(&song), id(&second));
    let url = stream_url(&app, &artist, &s).await;
    assert_eq!(fetch(&app, Method::GET, &url, &[]).await.status, 200);
    assert_eq!(media_rows(&app).0, 3, "two songs and a cover");

    // Not by others.
    for (user, who) in [(&other, "another artist"), (&listener, "a listener")] {
        let path = format!("/api/songs/{t}");
        let response = app
            .call(Some(&user.token), Method::DELETE, &path, None)
            .await;
        assert_problem(&response, 403, &format!("{who} deletes"));
    }
    let response = app.delete(&format!("/api/songs/{t}")).await;
    assert_problem(&response, 401, "anonymous deletes");
    song_ok(&app, None, &t).await;

    // The owner.
    let path = format!("/api/songs/{s}");
    let response = app
        .call(Some(&artist.token), Method::DELETE, &path, None)
        .await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());
    let response = get_song(&app, Some(&artist.token), &s).await;
    assert_problem(&response, 404, "a deleted song");
    assert_eq!(my_songs(&app, &artist).await, vec![t.clone()]);
    let response = fetch(&app, Method::GET, &url, &[]).await;
    assert_problem(&response, 404, "the media of a deleted song");
    let response = app.get(&format!("/api/songs/{s}/cover")).await;
    assert_problem(&response, 404, "the cover of a deleted song");
    let response = app
        .call(Some(&artist.token), Method::DELETE, &path, None)
        .await;
    assert_problem(&response, 404, "deleted twice");
    assert_eq!(media_rows(&app).0, 1, "the media went too");

    // An admin, anyone's.
    let path = format!("/api/songs/{t}");
    let response = app
        .call(Some(&admin.token), Method::DELETE, &path, None)
        .await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(my_songs(&app, &artist).await.is_empty());
    assert_eq!(media_rows(&app), (0, 0), "no media left");
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn publishing_and_deleting_songs_announce_events() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;

    // A public upload is published at once.
    let song = upload_ok(&app, &artist, &mp3()).await;
    let s = id(&song);
    assert_eq!(wait_published(&app, &s).await, 1);
    let event = published(&app)
        .await
        .into_iter()
        .find(|t| t.song_id == s)
        .unwrap();
    assert_eq!(
        event,
        TrackPublished {
            song_id: s.clone(),
            artist_id: artist.id.clone(),
            artist_name: artist.name.clone(),
            title: "Test Tone".into(),
            genre: Some("Electronic".into()),
            tags: Some(vec![]),
        }
    );

    // A private one is not, until it is made public; then once.
    let private = upload_ok(&app, &artist, &flac().text("isPublic", "false")).await;
    let p = id(&private);
    let marker = upload_ok(&app, &artist, &wav_song("Marker", 1)).await;
    wait_published(&app, &id(&marker)).await;
    assert!(
        published(&app).await.iter().all(|t| t.song_id != p),
        "no event for a private song"
    );
    let path = format!("/api/songs/{p}/visibility");
    for flag in [true, false, true] {
        let response = patch(&app, &artist, &path, json!({ "isPublic": flag })).await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    assert_eq!(wait_published(&app, &p).await, 1);
    let marker = upload_ok(&app, &artist, &wav_song("Marker 2", 2)).await;
    wait_published(&app, &id(&marker)).await;
    let all = published(&app).await;
    let counts: HashMap<&str, usize> = all.iter().fold(HashMap::new(), |mut counts, t| {
        *counts.entry(t.song_id.as_str()).or_default() += 1;
        counts
    });
    assert_eq!(counts.get(p.as_str()), Some(&1), "{all:?}");
    assert_eq!(counts.get(s.as_str()), Some(&1), "{all:?}");
    let event = all.iter().find(|t| t.song_id == p).unwrap();
    assert_eq!(event.title, "Flac Tone");
    assert_eq!(event.artist_id, artist.id);

    // Deleted.
    let response = app
        .call(
            Some(&artist.token),
            Method::DELETE,
            &format!("/api/songs/{s}"),
            None,
        )
        .await;
    assert_eq!(response.status, 204, "{}", response.text());
    let gone = eventually(WAIT, "track.deleted", || async {
        deleted(&app).await.into_iter().find(|t| t.song_id == s)
    })
    .await;
    assert_eq!(
        gone,
        TrackDeleted {
            song_id: s.clone(),
            artist_id: artist.id.clone(),
        }
    );
    let ids: HashSet<String> = deleted(&app).await.into_iter().map(|t| t.song_id).collect();
    assert_eq!(ids, HashSet::from([s]), "only the deleted song");
}

// ---------------------------------------------------------------------------------------------
// Caching
// ---------------------------------------------------------------------------------------------

/// The catalog's cache entries in the app's default key-value store (`.spin`-style layout in
/// the test's state directory).
fn cached_keys(app: &TestApp) -> Vec<String> {
    let db = app.state_dir().join("sqlite_key_value.db");
    let conn =
        rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut statement = conn
        .prepare("SELECT key FROM spin_key_value WHERE key LIKE 'catalog:cache:%' ORDER BY key")
        .unwrap();
    statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn cached_reads_never_serve_a_hidden_changed_or_deleted_song() {
    let app = start(&[("admin_emails", ADMIN_EMAIL)]).await;
    let (artist, _other, listener, admin) = cast(&app).await;
    let a = id(&upload_ok(&app, &artist, &mp3()).await);
    let b = id(&upload_ok(&app, &artist, &flac()).await);

    // Warm the caches: each song, the first page, the artist's public profile.
    for s in [&a, &b] {
        song_ok(&app, None, s).await;
    }
    assert_eq!(listed(&app, None, "").await.len(), 2);
    let profile = format!("/api/artists/{}", artist.id);
    assert_eq!(app.get(&profile).await.status, 200);
    let keys = cached_keys(&app);
    assert!(
        keys.contains(&format!("catalog:cache:song:{a}")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("catalog:cache:list:")),
        "{keys:?}"
    );
    assert!(
        keys.contains(&format!("catalog:cache:artist:{}", artist.id)),
        "{keys:?}"
    );
    // A second read is the cached one, and says the same.
    assert_eq!(song_ok(&app, None, &a).await["id"], a.as_str());

    // Hidden by an admin: gone for everyone else at once, from the song, list and profile.
    let visible = format!("/api/admin/songs/{a}/visible");
    let hidden = patch(&app, &admin, &visible, json!({ "isVisible": false })).await;
    assert_eq!(hidden.status, 200, "{}", hidden.text());
    for token in [None, Some(listener.token.as_str())] {
        assert_problem(&get_song(&app, token, &a).await, 404, "a hidden song");
        assert_eq!(listed(&app, token, "").await, vec![b.clone()]);
    }
    let profile_now: Value = app.get(&profile).await.json();
    assert_eq!(
        profile_now["songs"].as_array().unwrap().len(),
        1,
        "{profile_now}"
    );

    // Changed by its artist: the new title, not the cached one.
    let renamed = patch(
        &app,
        &artist,
        &format!("/api/songs/{b}"),
        json!({ "title": "Renamed" }),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    assert_eq!(song_ok(&app, None, &b).await["title"], "Renamed");

    // Deleted: 404, and the list is empty.
    let deleted = app
        .call(
            Some(&artist.token),
            Method::DELETE,
            &format!("/api/songs/{b}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert_problem(&get_song(&app, None, &b).await, 404, "a deleted song");
    assert!(listed(&app, None, "").await.is_empty());
}

#[tokio::test]
async fn json_reads_carry_an_etag_and_answer_304_while_it_holds() {
    let app = start(&[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let s = id(&upload_ok(&app, &artist, &mp3()).await);

    for path in [
        format!("/api/songs/{s}"),
        "/api/songs".to_string(),
        format!("/api/artists/{}", artist.id),
    ] {
        let first = app.get(&path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text());
        let etag = first
            .header("etag")
            .unwrap_or_else(|| panic!("{path}: an ETag"));
        // Twice: once from the database, once from the cache; the same ETag.
        let again = app.get(&path).await;
        assert_eq!(
            again.header("etag").as_deref(),
            Some(etag.as_str()),
            "{path}"
        );
        let revalidated = app
            .send(
                app.request(Method::GET, &path)
                    .header("if-none-match", &etag),
            )
            .await;
        assert_eq!(revalidated.status, 304, "{path}");
        assert!(revalidated.body.is_empty(), "{path}: a 304 has no body");
        assert_eq!(revalidated.header("etag").as_deref(), Some(etag.as_str()));
        let other = app
            .send(
                app.request(Method::GET, &path)
                    .header("if-none-match", "\"stale\""),
            )
            .await;
        assert_eq!(other.status, 200, "{path}");
    }

    // A change makes a new ETag.
    let song_path = format!("/api/songs/{s}");
    let before = app.get(&song_path).await.header("etag").unwrap();
    let renamed = patch(&app, &artist, &song_path, json!({ "title": "Another" })).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    let after = app
        .send(
            app.request(Method::GET, &song_path)
                .header("if-none-match", &before),
        )
        .await;
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag"), Some(before));
}
