//! Discovery in the `catalog` component, end to end: full-text search (`GET /api/search`),
//! artist profiles, follows and the events they announce, the release alert a follower gets in
//! the `notification` inbox, the erasure of a deleted artist's songs (`user.deleted` from
//! auth), and albums (`album.changed`/`album.deleted` from playlists, published here straight
//! onto the bus) in search and in `GET /api/songs?album=`. The real `spin.toml` runs in-process
//! against its own `redis-server`, with real accounts from the `auth` component and uploads of
//! the media fixtures in `tests/fixtures/media/`; events are read back from Redis
//! (`spindle:events:TOPIC`).
//!
//! Every test starts its own app.

use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{
    AlbumChanged, AlbumDeleted, ArtistFollowed, ArtistUnfollowed, Envelope, Event, TrackDeleted,
    TrackPublished, new_envelope,
};
use spindle_tests::accounts::{User, register_admin, register_named};
use spindle_tests::bus::EventBus;
use spindle_tests::media::{Form, album_song_ids, assert_song_shape, upload, wav};
use spindle_tests::{
    TestApp, TestResponse, assert_invalid, assert_problem, eventually, object_keys, spawn_app_with,
    string_set,
};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const ADMIN_EMAIL: &str = "boss@example.com";
/// A well-formed id nobody has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

// ---------------------------------------------------------------------------------------------
// The app and its users
// ---------------------------------------------------------------------------------------------

async fn start(variables: &[(&str, &str)]) -> TestApp {
    spawn_app_with(variables).await
}

/// An app whose `admin_emails` is [`ADMIN_EMAIL`].
async fn start_with_admin() -> TestApp {
    start(&[("admin_emails", ADMIN_EMAIL)]).await
}

// ---------------------------------------------------------------------------------------------
// Media and multipart bodies
// ---------------------------------------------------------------------------------------------

/// The fixture `file` (tone.mp3, tone.flac, …) titled `title`.
fn song(file: &str, title: &str) -> Form {
    Form::new().fixture("audio", file).text("title", title)
}

/// A generated WAV (see [`wav`]) titled `title`: other bytes for every seed.
fn wav_song(title: &str, seed: u8) -> Form {
    Form::new()
        .file("audio", &format!("{seed}.wav"), wav(500, seed))
        .text("title", title)
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// Uploads `form` as `artist`: the id of the 201 SongView of theirs.
async fn upload_ok(app: &TestApp, artist: &User, form: &Form) -> String {
    let response = upload(app, artist.bearer(), form).await;
    assert_eq!(response.status, 201, "upload: {}", response.text());
    let song: Value = response.json();
    assert_song_shape(&song);
    assert_eq!(song["artistId"], artist.id.as_str(), "{song}");
    assert_eq!(song["artistName"], artist.name.as_str(), "{song}");
    id(&song)
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_string()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id).collect()
}

async fn get_song(app: &TestApp, token: Option<&str>, song_id: &str) -> TestResponse {
    let path = format!("/api/songs/{song_id}");
    app.call(token, Method::GET, &path, None).await
}

async fn patch(app: &TestApp, user: &User, path: &str, body: Value) -> TestResponse {
    app.call(user.bearer(), Method::PATCH, path, Some(body))
        .await
}

/// The owner sets `isPublic`.
async fn set_public(app: &TestApp, owner: &User, song_id: &str, public: bool) {
    let path = format!("/api/songs/{song_id}/visibility");
    let response = patch(app, owner, &path, json!({ "isPublic": public })).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    assert_eq!(response.json::<Value>()["isPublic"], public);
}

/// An admin sets `isVisible`.
async fn set_visible(app: &TestApp, admin: &User, song_id: &str, visible: bool) {
    let path = format!("/api/admin/songs/{song_id}/visible");
    let response = patch(app, admin, &path, json!({ "isVisible": visible })).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    assert_eq!(response.json::<Value>()["isVisible"], visible);
}

/// A signed media URL for the song, as `user` asks for it.
async fn stream_url(app: &TestApp, user: &User, song_id: &str) -> String {
    let path = format!("/api/songs/{song_id}/stream");
    let response = app.call(user.bearer(), Method::GET, &path, None).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    let url = response.json::<Value>()["url"]
        .as_str()
        .expect("url")
        .to_string();
    assert!(url.starts_with("/api/media/"), "{url}");
    url
}

/// Media rows in the `media` database (0 before it exists).
fn media_count(app: &TestApp) -> i64 {
    let db = app.state_dir().join(".spin/media.db");
    if !db.exists() {
        return 0;
    }
    let conn =
        rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row("SELECT COUNT(*) FROM media", [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("count media: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

/// `value` percent-encoded for a query string.
fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /api/search?{query}` (already encoded) as `token`.
async fn search_raw(app: &TestApp, token: Option<&str>, query: &str) -> TestResponse {
    let path = format!("/api/search?{query}");
    app.call(token, Method::GET, &path, None).await
}

/// What a search answered: song ids, (artist id, name) and albums, best first.
#[derive(Debug)]
struct Found {
    songs: Vec<String>,
    artists: Vec<(String, String)>,
    albums: Vec<Value>,
}

impl Found {
    fn song_set(&self) -> BTreeSet<String> {
        self.songs.iter().cloned().collect()
    }
}

/// `GET /api/search?{query}` as `token`: 200 with `{songs, artists, albums}`, shapes checked.
async fn search_with(app: &TestApp, token: Option<&str>, query: &str) -> Found {
    let response = search_raw(app, token, query).await;
    assert_eq!(response.status, 200, "search {query}: {}", response.text());
    assert_eq!(
        response.content_type().as_deref(),
        Some("application/json"),
        "search {query}"
    );
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["songs", "artists", "albums"]),
        "{query}: {body}"
    );
    let songs = body["songs"].as_array().expect("songs");
    songs.iter().for_each(assert_song_shape);
    let artists = body["artists"]
        .as_array()
        .expect("artists")
        .iter()
        .map(|a| {
            assert_eq!(
                object_keys(a),
                string_set(&["id", "name"]),
                "{query}: {body}"
            );
            let name = a["name"].as_str().expect("artists[].name").to_string();
            (id(a), name)
        })
        .collect();
    let albums = body["albums"].as_array().expect("albums").clone();
    for album in &albums {
        assert_eq!(
            object_keys(album),
            string_set(&["id", "title", "artistId", "artistName", "description"]),
            "{query}: {body}"
        );
        for key in ["id", "title", "artistId", "artistName"] {
            assert!(album[key].is_string(), "{query}: albums[].{key}: {body}");
        }
        assert!(
            album["description"].is_string() || album["description"].is_null(),
            "{query}: {body}"
        );
    }
    Found {
        songs: ids(songs),
        artists,
        albums,
    }
}

/// Searches `q` as `token`.
async fn search(app: &TestApp, token: Option<&str>, q: &str) -> Found {
    search_with(app, token, &format!("q={}", enc(q))).await
}

/// Asserts that `q`, searched as `token` (`who`), finds exactly these songs and artists.
async fn assert_finds(
    app: &TestApp,
    token: Option<&str>,
    who: &str,
    q: &str,
    songs: &[&String],
    artists: &[&User],
) {
    let found = search(app, token, q).await;
    let expected: BTreeSet<String> = songs.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        found.song_set(),
        expected,
        "{who} searches {q:?}: {found:?}"
    );
    assert_eq!(
        found.songs.len(),
        expected.len(),
        "{who} searches {q:?}: each song once: {found:?}"
    );
    let expected: Vec<(String, String)> = artists
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    let got: BTreeSet<_> = found.artists.iter().cloned().collect();
    assert_eq!(
        got,
        expected.iter().cloned().collect(),
        "{who} searches {q:?}: artists: {found:?}"
    );
    assert_eq!(
        found.artists.len(),
        expected.len(),
        "{who} searches {q:?}: {found:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Artists and follows
// ---------------------------------------------------------------------------------------------

async fn profile(app: &TestApp, token: Option<&str>, artist_id: &str) -> TestResponse {
    let path = format!("/api/artists/{artist_id}");
    app.call(token, Method::GET, &path, None).await
}

/// The profile as `token` sees it: 200, `{id, name, followers, following, songs}`.
async fn profile_ok(app: &TestApp, token: Option<&str>, artist: &User) -> Value {
    let response = profile(app, token, &artist.id).await;
    assert_eq!(
        response.status,
        200,
        "profile of {}: {}",
        artist.name,
        response.text()
    );
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["id", "name", "followers", "following", "songs"]),
        "{body}"
    );
    assert_eq!(body["id"], artist.id.as_str(), "{body}");
    assert_eq!(body["name"], artist.name.as_str(), "{body}");
    assert!(body["followers"].is_u64(), "{body}");
    assert!(body["following"].is_boolean(), "{body}");
    let songs = body["songs"].as_array().expect("songs");
    songs.iter().for_each(assert_song_shape);
    assert!(
        songs.iter().all(|s| s["artistId"] == artist.id.as_str()),
        "{body}"
    );
    body
}

fn profile_songs(body: &Value) -> BTreeSet<String> {
    ids(body["songs"].as_array().expect("songs"))
        .into_iter()
        .collect()
}

fn song_set(songs: &[&String]) -> BTreeSet<String> {
    songs.iter().map(|s| s.to_string()).collect()
}

async fn follow(app: &TestApp, token: Option<&str>, artist_id: &str) -> TestResponse {
    let path = format!("/api/artists/{artist_id}/follow");
    app.call(token, Method::POST, &path, None).await
}

async fn unfollow(app: &TestApp, token: Option<&str>, artist_id: &str) -> TestResponse {
    let path = format!("/api/artists/{artist_id}/follow");
    app.call(token, Method::DELETE, &path, None).await
}

#[track_caller]
fn assert_no_content(response: &TestResponse, what: &str) {
    assert_eq!(response.status, 204, "{what}: {}", response.text());
    assert!(response.body.is_empty(), "{what}: a 204 has no body");
}

/// `GET /api/me/following` as `user`: the items, their shape checked.
async fn following(app: &TestApp, user: &User) -> Vec<Value> {
    let response = app
        .call(user.bearer(), Method::GET, "/api/me/following", None)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(object_keys(&body), string_set(&["items"]), "{body}");
    let items = body["items"].as_array().expect("items").clone();
    for item in &items {
        assert_eq!(
            object_keys(item),
            string_set(&["id", "name", "followedAt"]),
            "{body}"
        );
        let at = item["followedAt"].as_str().expect("followedAt");
        assert!(
            at.len() >= 20 && at.contains('T') && at.ends_with('Z'),
            "followedAt is an RFC 3339 UTC time: {body}"
        );
    }
    items
}

/// The (id, name) of the artists `user` follows.
async fn followed_artists(app: &TestApp, user: &User) -> BTreeSet<(String, String)> {
    following(app, user)
        .await
        .iter()
        .map(|i| (id(i), i["name"].as_str().expect("name").to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shapes and problems
// ---------------------------------------------------------------------------------------------

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

/// The `artist.followed` (`on`) or `artist.unfollowed` events so far: (artist, follower).
async fn follow_events(app: &TestApp, on: bool) -> Vec<(String, String)> {
    let topic = if on {
        "artist.followed"
    } else {
        "artist.unfollowed"
    };
    events(app, topic)
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.producer, "catalog", "{e:?}");
            assert_eq!(e.topic, topic, "{e:?}");
            assert_eq!(e.version, 1, "{e:?}");
            match e.payload {
                Event::ArtistFollowed(ArtistFollowed {
                    artist_id,
                    follower_id,
                }) if on => (artist_id, follower_id),
                Event::ArtistUnfollowed(ArtistUnfollowed {
                    artist_id,
                    follower_id,
                }) if !on => (artist_id, follower_id),
                other => panic!("on {topic}: {other:?}"),
            }
        })
        .collect()
}

/// Waits until a follow event (`on`) of `artist` by `follower` is on the stream; answers how
/// many such events there are.
async fn wait_follow_event(app: &TestApp, on: bool, artist: &User, follower: &User) -> usize {
    let pair = (artist.id.clone(), follower.id.clone());
    eventually(
        WAIT,
        &format!("the follow event ({on}) of {}", artist.name),
        || async {
            let count = follow_events(app, on)
                .await
                .iter()
                .filter(|p| **p == pair)
                .count();
            (count > 0).then_some(count)
        },
    )
    .await
}

fn pair(artist: &User, follower: &User) -> (String, String) {
    (artist.id.clone(), follower.id.clone())
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

/// The envelope id of the `track.published` of `song_id`, once it is on the stream.
async fn published_event(app: &TestApp, song_id: &str) -> String {
    eventually(WAIT, &format!("track.published of {song_id}"), || async {
        events(app, "track.published")
            .await
            .into_iter()
            .find_map(|e| match &e.payload {
                Event::TrackPublished(TrackPublished { song_id: s, .. }) if s == song_id => {
                    Some(e.id.clone())
                }
                _ => None,
            })
    })
    .await
}

/// The envelope id of the last event on `topic`, once there is one.
async fn last_event(app: &TestApp, topic: &str) -> String {
    eventually(WAIT, &format!("an event on {topic}"), || async {
        events(app, topic).await.last().map(|e| e.id.clone())
    })
    .await
}

/// Waits until the consumer group `group` has handled the event `event_id` (its processed set).
async fn wait_processed(app: &TestApp, group: &str, event_id: &str) {
    EventBus::connect(&app.redis.url())
        .await
        .wait_processed(group, &[event_id], WAIT)
        .await
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn search_matches_prefixes_case_accents_artist_names_genres_and_tags() {
    let app = start(&[]).await;
    let zoe = register_named(&app, "zoe@example.com", "artist", "Zoë Brûlée").await;
    let bart = register_named(&app, "bart@example.com", "artist", "Bartholomew Vale").await;
    let listener = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;

    // "Test Tone", genre "Electronic" from the MP3's tags.
    let tone = upload_ok(&app, &zoe, &Form::new().fixture("audio", "tone.mp3")).await;
    let cafe = upload_ok(
        &app,
        &zoe,
        &song("tone.flac", "Café Crème")
            .text("genre", "Shoegaze")
            .text("tags", "dreamy, nocturne"),
    )
    .await;
    let harbor = upload_ok(
        &app,
        &bart,
        &song("tone.ogg", "Harbor Lights").text("genre", "Folk"),
    )
    .await;

    let anon = (None, "anonymous");
    let lee = (listener.bearer(), "a listener");
    for (token, who) in [anon, lee] {
        // Prefixes and case.
        for q in ["Tes", "test tone", "TEST TONE", "tEsT", "te to", "tone"] {
            assert_finds(&app, token, who, q, &[&tone], &[]).await;
        }
        // Accents fold both ways.
        for q in [
            "cafe creme",
            "CAFÉ",
            "café",
            "Crème",
            "CREME",
            "caf",
            "café crème",
            "cafe crè",
        ] {
            assert_finds(&app, token, who, q, &[&cafe], &[]).await;
        }
        // The artist's name finds their songs and them.
        for q in ["zoe", "ZOË", "brulee", "Brûlée", "zoe brul", "Zoë Brûlée"] {
            assert_finds(&app, token, who, q, &[&tone, &cafe], &[&zoe]).await;
        }
        for q in ["vale", "barth", "bartholomew vale"] {
            assert_finds(&app, token, who, q, &[&harbor], &[&bart]).await;
        }
        // Genres (the form's, and the tag's) and tags.
        assert_finds(&app, token, who, "shoegaze", &[&cafe], &[]).await;
        assert_finds(&app, token, who, "Electronic", &[&tone], &[]).await;
        assert_finds(&app, token, who, "elec", &[&tone], &[]).await;
        assert_finds(&app, token, who, "folk", &[&harbor], &[]).await;
        assert_finds(&app, token, who, "dreamy", &[&cafe], &[]).await;
        assert_finds(&app, token, who, "NOCT", &[&cafe], &[]).await;
        // Every word must match, in any field.
        assert_finds(&app, token, who, "crème dreamy", &[&cafe], &[]).await;
        assert_finds(&app, token, who, "zoe shoegaze", &[&cafe], &[]).await;
        assert_finds(&app, token, who, "harbor zoe", &[], &[]).await;
        assert_finds(&app, token, who, "tone dreamy", &[], &[]).await;
        assert_finds(&app, token, who, "xylophone", &[], &[]).await;
        // Not in the middle of a word: prefixes only.
        assert_finds(&app, token, who, "afé", &[], &[]).await;
    }

    // limit caps both lists.
    let found = search_with(&app, None, "q=zoe&limit=1").await;
    assert_eq!(found.songs.len(), 1, "{found:?}");
    assert!(
        found.songs[0] == tone || found.songs[0] == cafe,
        "{found:?}"
    );
    assert_eq!(found.artists.len(), 1, "{found:?}");
    let found = search_with(&app, None, "q=zoe&limit=50").await;
    assert_eq!(found.song_set(), song_set(&[&tone, &cafe]), "{found:?}");
}

/// Accents typed as combining marks (NFD, as macOS keyboards and many clipboards give them)
/// fold like precomposed ones, in the query and in the title.
#[tokio::test]
async fn decomposed_accents_fold_like_precomposed_ones() {
    let app = start(&[]).await;
    let artist = register_named(&app, "zoe@example.com", "artist", "Zoë Brûlée").await;
    let cafe = upload_ok(&app, &artist, &song("tone.flac", "Café Crème")).await;
    let noel = upload_ok(&app, &artist, &song("tone.ogg", "Noe\u{308}l Ble\u{301}")).await;

    // Every case is tried; the ones that fail are listed together.
    let mut wrong = Vec::new();
    for (q, expected) in [
        ("cafe\u{301} cre\u{300}me", &cafe),
        ("cre\u{300}me", &cafe),
        ("CAFE\u{301}", &cafe),
        ("noel ble", &noel),
        ("Noël Blé", &noel),
        ("noe\u{308}l", &noel),
        ("NOËL", &noel),
    ] {
        let found = search(&app, None, q).await;
        if found.songs != vec![expected.clone()] {
            wrong.push(format!("{q:?} found {:?}", found.songs));
        }
    }
    assert!(wrong.is_empty(), "expected one song each: {wrong:#?}");
}

#[tokio::test]
async fn a_title_match_ranks_above_a_match_only_in_tags_or_genre() {
    let app = start(&[]).await;
    let artist = register_named(&app, "rhea@example.com", "artist", "Rhea Mondego").await;

    // The title match uploaded last …
    let tagged = upload_ok(
        &app,
        &artist,
        &wav_song("Quiet Fields", 1).text("tags", "nebula, night"),
    )
    .await;
    let genred = upload_ok(
        &app,
        &artist,
        &wav_song("Slow Drift", 2).text("genre", "Nebula"),
    )
    .await;
    let titled = upload_ok(&app, &artist, &wav_song("Nebula", 3)).await;
    // … and first.
    let comet = upload_ok(&app, &artist, &wav_song("Comet Trail", 4)).await;
    let comet_tagged = upload_ok(&app, &artist, &wav_song("Harbor", 5).text("tags", "comet")).await;
    let comet_genred = upload_ok(
        &app,
        &artist,
        &wav_song("Pale Morning", 6).text("genre", "Comet"),
    )
    .await;

    for q in ["nebula", "NEBU", "neb"] {
        let found = search(&app, None, q).await;
        assert_eq!(
            found.song_set(),
            song_set(&[&tagged, &genred, &titled]),
            "{q}: {found:?}"
        );
        assert_eq!(
            found.songs[0], titled,
            "{q}: the title match first: {found:?}"
        );
        let found = search_with(&app, None, &format!("q={q}&limit=1")).await;
        assert_eq!(found.songs, vec![titled.clone()], "{q}, limit 1: {found:?}");
    }
    for q in ["comet", "Com"] {
        let found = search(&app, None, q).await;
        assert_eq!(
            found.song_set(),
            song_set(&[&comet, &comet_tagged, &comet_genred]),
            "{q}: {found:?}"
        );
        assert_eq!(
            found.songs[0], comet,
            "{q}: the title match first: {found:?}"
        );
    }
}

#[tokio::test]
async fn search_finds_only_what_the_caller_may_see() {
    let app = start_with_admin().await;
    let owner = register_named(&app, "ivy@example.com", "artist", "Imogen Vesper").await;
    let other = register_named(&app, "otto@example.com", "artist", "Otto Brisk").await;
    let listener = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;
    let admin = register_admin(&app, ADMIN_EMAIL).await;
    let public = upload_ok(&app, &owner, &song("tone.mp3", "Lantern Song")).await;
    let private = upload_ok(
        &app,
        &owner,
        &song("tone.flac", "Lantern Secret").text("isPublic", "false"),
    )
    .await;
    upload_ok(&app, &other, &song("tone.ogg", "Brisk Walk")).await;

    let (anon, lee, otto) = (
        (None, "anonymous"),
        (listener.bearer(), "a listener"),
        (other.bearer(), "another artist"),
    );
    let (ivy, boss) = ((owner.bearer(), "the owner"), (admin.bearer(), "an admin"));

    // A private song: its owner and admins find it, nobody else.
    for (token, who) in [anon, lee, otto] {
        assert_finds(&app, token, who, "lantern", &[&public], &[]).await;
        assert_finds(&app, token, who, "secret", &[], &[]).await;
        assert_finds(&app, token, who, "vesper", &[&public], &[&owner]).await;
    }
    for (token, who) in [ivy, boss] {
        assert_finds(&app, token, who, "lantern", &[&public, &private], &[]).await;
        assert_finds(&app, token, who, "secret", &[&private], &[]).await;
        assert_finds(&app, token, who, "vesper", &[&public, &private], &[&owner]).await;
    }

    // Hidden by an admin: gone for listeners (and the artist with it, having no listed song).
    set_visible(&app, &admin, &public, false).await;
    for (token, who) in [anon, lee, otto] {
        assert_finds(&app, token, who, "lantern", &[], &[]).await;
        assert_finds(&app, token, who, "vesper", &[], &[]).await;
    }
    for (token, who) in [ivy, boss] {
        assert_finds(&app, token, who, "lantern", &[&public, &private], &[]).await;
        assert_finds(&app, token, who, "vesper", &[&public, &private], &[]).await;
    }
    // Shown again.
    set_visible(&app, &admin, &public, true).await;
    for (token, who) in [anon, lee, otto] {
        assert_finds(&app, token, who, "lantern", &[&public], &[]).await;
        assert_finds(&app, token, who, "vesper", &[&public], &[&owner]).await;
    }

    // An artist whose only song is private is not among the artists, even for them; once it
    // is public they are.
    let quincy = register_named(&app, "quincy@example.com", "artist", "Quincy Marlow").await;
    let hidden = upload_ok(
        &app,
        &quincy,
        &song("tone.opus", "Undertow").text("isPublic", "false"),
    )
    .await;
    let q_self = (quincy.bearer(), "the private artist");
    for (token, who) in [anon, lee, otto] {
        assert_finds(&app, token, who, "marlow", &[], &[]).await;
        assert_finds(&app, token, who, "undertow", &[], &[]).await;
    }
    for (token, who) in [q_self, boss] {
        assert_finds(&app, token, who, "marlow", &[&hidden], &[]).await;
        assert_finds(&app, token, who, "undertow", &[&hidden], &[]).await;
    }
    set_public(&app, &quincy, &hidden, true).await;
    for (token, who) in [anon, lee, otto, q_self, boss] {
        assert_finds(&app, token, who, "marlow", &[&hidden], &[&quincy]).await;
        assert_finds(&app, token, who, "undertow", &[&hidden], &[]).await;
    }
}

#[tokio::test]
async fn search_input_is_validated_and_fts_syntax_in_it_is_harmless() {
    let app = start(&[]).await;
    let artist = register_named(&app, "ann@example.com", "artist", "Ann Arbor").await;
    let tone = upload_ok(&app, &artist, &Form::new().fixture("audio", "tone.mp3")).await;

    // FTS5 syntax is never a query of its own: 200, never 500.
    for q in [
        "\"",
        "\"\"",
        "\"Test",
        "Test\"",
        "\"Test Tone\"",
        "*",
        "**",
        "Tes*",
        "*Tes",
        "OR",
        "AND",
        "NOT",
        "test OR tone",
        "test OR",
        "OR test",
        "test AND",
        "NOT test",
        "test NOT tone",
        "NEAR(",
        "NEAR(test tone)",
        "NEAR(test tone, 2)",
        "NEAR/2",
        "-",
        "-test",
        "test -tone",
        "- -- ---",
        "^test",
        "+test",
        "name:test",
        "extra:tone",
        "{name extra}: test",
        "kind:song",
        "(",
        ")",
        "(test",
        "test)",
        "'",
        "test's",
        "\\",
        "%",
        "%25",
        ";",
        "test; DROP TABLE songs; --",
        "\u{0}",
        "test\u{0}tone",
        "🎵",
        "音乐",
        "straße",
    ] {
        let response = search_raw(&app, None, &format!("q={}", enc(q))).await;
        assert_eq!(response.status, 200, "q={q:?}: {}", response.text());
        let body: Value = response.json();
        assert_eq!(
            object_keys(&body),
            string_set(&["songs", "artists", "albums"]),
            "{q:?}: {body}"
        );
        assert!(
            body["songs"].is_array() && body["artists"].is_array() && body["albums"].is_array(),
            "{body}"
        );
    }
    // The words in it still count.
    for q in [
        "\"Test",
        "Test\"",
        "\"Test Tone\"",
        "Tes*",
        "(test",
        "test)",
        "^test",
    ] {
        assert_finds(&app, None, "anonymous", q, &[&tone], &[]).await;
    }
    // The song is still there: nothing was dropped or changed.
    assert_eq!(get_song(&app, None, &tone).await.status, 200);

    // Nothing to search for: empty lists.
    for query in [
        "q=",
        "q=+",
        "q=%20%20%20",
        "q=%09%0A",
        "",
        "limit=5",
        "q=&limit=3",
    ] {
        let response = search_raw(&app, None, query).await;
        assert_eq!(response.status, 200, "{query:?}: {}", response.text());
        assert_eq!(
            response.json::<Value>(),
            json!({ "songs": [], "artists": [], "albums": [] }),
            "{query:?}"
        );
    }

    // At most 200 characters (not bytes).
    for q in ["a".repeat(200), "é".repeat(200), "ab ".repeat(66) + "ab"] {
        assert_eq!(q.chars().count(), 200);
        let response = search_raw(&app, None, &format!("q={}", enc(&q))).await;
        assert_eq!(
            response.status,
            200,
            "{} chars: {}",
            q.len(),
            response.text()
        );
    }
    for q in ["a".repeat(201), "é".repeat(201), "Test Tone ".repeat(30)] {
        let response = search_raw(&app, None, &format!("q={}", enc(&q))).await;
        assert_invalid(
            &response,
            &["q"],
            &format!("q of {} chars", q.chars().count()),
        );
    }

    // limit: a whole number from 1 to 50.
    for limit in ["1", "50"] {
        let found = search_with(&app, None, &format!("q=test&limit={limit}")).await;
        assert_eq!(found.songs, vec![tone.clone()], "limit {limit}");
    }
    for limit in [
        "0",
        "51",
        "-1",
        "abc",
        "",
        "1.5",
        "1e2",
        "99999999999999999999",
        "%20",
    ] {
        let response = search_raw(&app, None, &format!("q=test&limit={limit}")).await;
        assert_invalid(&response, &["limit"], &format!("limit={limit:?}"));
    }
    // Also as a signed-in caller.
    let response = search_raw(&app, artist.bearer(), "q=test&limit=0").await;
    assert_invalid(&response, &["limit"], "limit=0, signed in");
}

// ---------------------------------------------------------------------------------------------
// Artist profiles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_artist_profile_shows_others_the_listed_songs_and_the_owner_all() {
    let app = start_with_admin().await;
    let artist = register_named(&app, "ann@example.com", "artist", "Ann Arbor").await;
    let other = register_named(&app, "bob@example.com", "artist", "Bob Brisk").await;
    let listener = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;
    let admin = register_admin(&app, ADMIN_EMAIL).await;
    let listed = upload_ok(&app, &artist, &song("tone.mp3", "Listed")).await;
    let private = upload_ok(
        &app,
        &artist,
        &song("tone.flac", "Private").text("isPublic", "false"),
    )
    .await;
    let hidden = upload_ok(&app, &artist, &song("tone.ogg", "Hidden")).await;
    set_visible(&app, &admin, &hidden, false).await;

    // The name is the artist's display name at auth.
    let user = app.get(&format!("/api/users/{}", artist.id)).await;
    assert_eq!(user.status, 200, "{}", user.text());
    assert_eq!(user.json::<Value>()["displayName"], artist.name.as_str());

    for (token, who) in [
        (None, "anonymous"),
        (listener.bearer(), "a listener"),
        (other.bearer(), "another artist"),
    ] {
        let body = profile_ok(&app, token, &artist).await;
        assert_eq!(profile_songs(&body), song_set(&[&listed]), "{who}: {body}");
        assert_eq!(body["followers"], 0, "{who}: {body}");
        assert_eq!(body["following"], false, "{who}: {body}");
        let song = &body["songs"][0];
        assert_eq!(song["title"], "Listed", "{body}");
        assert_eq!(song["artistName"], artist.name.as_str(), "{body}");
    }
    for (token, who) in [(artist.bearer(), "the owner"), (admin.bearer(), "an admin")] {
        let body = profile_ok(&app, token, &artist).await;
        assert_eq!(
            profile_songs(&body),
            song_set(&[&listed, &private, &hidden]),
            "{who}: {body}"
        );
        assert_eq!(body["songs"].as_array().unwrap().len(), 3, "{who}: {body}");
    }

    // Unknown ids, and users who are no artists: 404.
    for artist_id in [
        UNKNOWN_ID,
        "nobody",
        listener.id.as_str(),
        admin.id.as_str(),
    ] {
        for token in [None, listener.bearer(), admin.bearer()] {
            let response = profile(&app, token, artist_id).await;
            assert_problem(&response, 404, &format!("the profile of {artist_id}"));
        }
    }

    // An artist whose songs are all private is not there for others.
    let shy = register_named(&app, "shy@example.com", "artist", "Shy Sheila").await;
    let a = upload_ok(
        &app,
        &shy,
        &song("tone.m4a", "Mine").text("isPublic", "false"),
    )
    .await;
    let b = upload_ok(
        &app,
        &shy,
        &song("tone.wav", "Also mine").text("isPublic", "false"),
    )
    .await;
    for (token, who) in [
        (None, "anonymous"),
        (listener.bearer(), "a listener"),
        (other.bearer(), "another artist"),
    ] {
        let response = profile(&app, token, &shy.id).await;
        assert_problem(
            &response,
            404,
            &format!("{who}: an artist with only private songs"),
        );
    }
    for (token, who) in [(shy.bearer(), "the owner"), (admin.bearer(), "an admin")] {
        let body = profile_ok(&app, token, &shy).await;
        assert_eq!(profile_songs(&body), song_set(&[&a, &b]), "{who}: {body}");
    }
    // One made public: there, with that one song.
    set_public(&app, &shy, &b, true).await;
    let body = profile_ok(&app, None, &shy).await;
    assert_eq!(profile_songs(&body), song_set(&[&b]), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Follows
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn following_is_idempotent_shows_on_the_profile_and_is_announced_once() {
    let app = start(&[]).await;
    let ann = register_named(&app, "ann@example.com", "artist", "Ann Arbor").await;
    let bob = register_named(&app, "bob@example.com", "artist", "Bob Brisk").await;
    let lee = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;
    upload_ok(&app, &ann, &song("tone.mp3", "Ann's")).await;
    upload_ok(&app, &bob, &song("tone.flac", "Bob's")).await;
    assert!(following(&app, &lee).await.is_empty());
    // The anonymous profile, now cached: no followers yet.
    assert_eq!(profile_ok(&app, None, &ann).await["followers"], 0);

    // Twice: 204 both times.
    for n in 1..=2 {
        let response = follow(&app, lee.bearer(), &ann.id).await;
        assert_no_content(&response, &format!("follow #{n}"));
    }
    assert_eq!(
        followed_artists(&app, &lee).await,
        BTreeSet::from([(ann.id.clone(), ann.name.clone())])
    );
    let body = profile_ok(&app, lee.bearer(), &ann).await;
    assert_eq!(body["followers"], 1, "{body}");
    assert_eq!(body["following"], true, "{body}");
    for token in [None, bob.bearer()] {
        let body = profile_ok(&app, token, &ann).await;
        assert_eq!(body["followers"], 1, "{body}");
        assert_eq!(body["following"], false, "{body}");
    }

    // One event for the two requests: a later follow is the marker that all before it went out.
    assert_no_content(&follow(&app, lee.bearer(), &bob.id).await, "follow bob");
    assert_eq!(wait_follow_event(&app, true, &bob, &lee).await, 1);
    assert_eq!(
        follow_events(&app, true).await,
        vec![pair(&ann, &lee), pair(&bob, &lee)],
        "one artist.followed per new follow, in order"
    );
    assert_eq!(
        followed_artists(&app, &lee).await,
        BTreeSet::from([
            (ann.id.clone(), ann.name.clone()),
            (bob.id.clone(), bob.name.clone())
        ])
    );
    // An artist follows another artist too.
    assert_no_content(
        &follow(&app, bob.bearer(), &ann.id).await,
        "bob follows ann",
    );
    assert_eq!(profile_ok(&app, None, &ann).await["followers"], 2);
    assert_eq!(wait_follow_event(&app, true, &ann, &bob).await, 1);

    // Unfollowed twice: 204 both times, one event.
    for n in 1..=2 {
        let response = unfollow(&app, lee.bearer(), &ann.id).await;
        assert_no_content(&response, &format!("unfollow #{n}"));
    }
    assert_eq!(
        followed_artists(&app, &lee).await,
        BTreeSet::from([(bob.id.clone(), bob.name.clone())])
    );
    let body = profile_ok(&app, lee.bearer(), &ann).await;
    assert_eq!(body["followers"], 1, "only bob now: {body}");
    assert_eq!(body["following"], false, "{body}");
    assert_no_content(&unfollow(&app, lee.bearer(), &bob.id).await, "unfollow bob");
    assert_eq!(wait_follow_event(&app, false, &bob, &lee).await, 1);
    assert_eq!(
        follow_events(&app, false).await,
        vec![pair(&ann, &lee), pair(&bob, &lee)],
        "one artist.unfollowed per ended follow"
    );
    assert!(following(&app, &lee).await.is_empty());
    // Unfollowing what one does not follow: still 204, no event.
    assert_no_content(
        &unfollow(&app, lee.bearer(), &bob.id).await,
        "unfollow again",
    );

    // Following again is a new follow: a new event.
    assert_no_content(&follow(&app, lee.bearer(), &ann.id).await, "follow again");
    assert_eq!(wait_follow_event(&app, true, &ann, &lee).await, 2);
    assert_eq!(
        profile_ok(&app, lee.bearer(), &ann).await["following"],
        true
    );
    assert_eq!(follow_events(&app, false).await.len(), 2);
}

#[tokio::test]
async fn follow_requests_that_make_no_sense_are_refused() {
    let app = start(&[]).await;
    let ann = register_named(&app, "ann@example.com", "artist", "Ann Arbor").await;
    let lee = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;
    upload_ok(&app, &ann, &song("tone.mp3", "Ann's")).await;

    // Oneself.
    let response = follow(&app, ann.bearer(), &ann.id).await;
    assert_invalid(&response, &["id"], "following yourself");
    // Unknown artists, and users who are no artists.
    for artist_id in [UNKNOWN_ID, "nobody", lee.id.as_str()] {
        let response = follow(&app, lee.bearer(), artist_id).await;
        assert_problem(&response, 404, &format!("follow {artist_id}"));
        let response = unfollow(&app, lee.bearer(), artist_id).await;
        assert_problem(&response, 404, &format!("unfollow {artist_id}"));
    }
    // Without a (valid) token.
    for token in [None, Some("not-a-token")] {
        assert_problem(&follow(&app, token, &ann.id).await, 401, "follow");
        assert_problem(&unfollow(&app, token, &ann.id).await, 401, "unfollow");
        let response = app
            .call(token, Method::GET, "/api/me/following", None)
            .await;
        assert_problem(&response, 401, "following");
    }
    let body = profile_ok(&app, None, &ann).await;
    assert_eq!(body["followers"], 0, "{body}");

    // None of it was announced: a real follow is the first event.
    assert_no_content(&follow(&app, lee.bearer(), &ann.id).await, "a real follow");
    wait_follow_event(&app, true, &ann, &lee).await;
    assert_eq!(follow_events(&app, true).await, vec![pair(&ann, &lee)]);
    assert!(follow_events(&app, false).await.is_empty());
    assert_eq!(profile_ok(&app, None, &ann).await["followers"], 1);
    assert!(following(&app, &ann).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Release alerts
// ---------------------------------------------------------------------------------------------

/// `user`'s notification inbox, newest first.
async fn inbox(app: &TestApp, user: &User) -> Vec<Value> {
    let response = app
        .call(
            user.bearer(),
            Method::GET,
            "/api/notifications?limit=100",
            None,
        )
        .await;
    assert_eq!(response.status, 200, "inbox: {}", response.text());
    response.json::<Value>()["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Asserts that `item` is the release alert of `title` (song `song_id`) by `artist`.
#[track_caller]
fn assert_release(item: &Value, artist: &User, title: &str, song_id: &str) {
    assert_eq!(item["kind"], "new_release", "{item}");
    assert_eq!(
        item["title"],
        format!("New from {}", artist.name).as_str(),
        "{item}"
    );
    assert_eq!(
        item["body"],
        format!("{} released “{title}”.", artist.name).as_str(),
        "{item}"
    );
    let link = item["link"].as_str().unwrap_or_default();
    assert!(link.ends_with(&format!("/songs/{song_id}")), "{item}");
    assert!(item["readAt"].is_null(), "{item}");
}

#[tokio::test]
async fn a_follower_finds_the_artists_new_release_in_their_inbox() {
    let app = start(&[]).await;
    let ann = register_named(&app, "ann@example.com", "artist", "Ann Arbor").await;
    let lee = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;
    let max = register_named(&app, "max@example.com", "listener", "Max Mute").await;

    // A first song (so that the artist is known), handled by notification before the follow.
    let first = upload_ok(&app, &ann, &song("tone.mp3", "Opening Act")).await;
    let event = published_event(&app, &first).await;
    wait_processed(&app, "notification", &event).await;
    assert_no_content(&follow(&app, lee.bearer(), &ann.id).await, "follow");
    let event = last_event(&app, "artist.followed").await;
    wait_processed(&app, "notification", &event).await;
    assert!(inbox(&app, &lee).await.is_empty(), "nothing released yet");

    // A release: in the follower's inbox.
    let second = upload_ok(&app, &ann, &song("tone.flac", "Second Wind")).await;
    let items = eventually(WAIT, "the release in the follower's inbox", || async {
        let items = inbox(&app, &lee).await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_release(&items[0], &ann, "Second Wind", &second);

    // A private upload is no release; made public, it is.
    let third = upload_ok(
        &app,
        &ann,
        &song("tone.ogg", "Hidden Gem").text("isPublic", "false"),
    )
    .await;
    set_public(&app, &ann, &third, true).await;
    let items = eventually(WAIT, "the second release in the inbox", || async {
        let items = inbox(&app, &lee).await;
        (items.len() >= 2).then_some(items)
    })
    .await;
    assert_eq!(items.len(), 2, "one entry per release: {items:?}");
    assert_release(&items[0], &ann, "Hidden Gem", &third);
    assert_release(&items[1], &ann, "Second Wind", &second);
    // Who does not follow gets nothing.
    assert!(inbox(&app, &max).await.is_empty());

    // Unfollowed: the next release is not in the inbox.
    assert_no_content(&unfollow(&app, lee.bearer(), &ann.id).await, "unfollow");
    let event = last_event(&app, "artist.unfollowed").await;
    wait_processed(&app, "notification", &event).await;
    let fourth = upload_ok(&app, &ann, &song("tone.opus", "Encore")).await;
    let event = published_event(&app, &fourth).await;
    wait_processed(&app, "notification", &event).await;
    assert_eq!(
        inbox(&app, &lee).await.len(),
        2,
        "no alert after unfollowing"
    );
}

// ---------------------------------------------------------------------------------------------
// user.deleted
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_deleted_artists_songs_media_and_follows_leave_the_catalog() {
    let app = start_with_admin().await;
    let doomed = register_named(&app, "dora@example.com", "artist", "Dora Doomsday").await;
    let stays = register_named(&app, "sam@example.com", "artist", "Sam Stays").await;
    let listener = register_named(&app, "lee@example.com", "listener", "Lee Listens").await;
    let admin = register_admin(&app, ADMIN_EMAIL).await;

    let covered = upload_ok(
        &app,
        &doomed,
        &song("tone.mp3", "Doomsday Anthem").fixture("cover", "cover.png"),
    )
    .await;
    let private = upload_ok(
        &app,
        &doomed,
        &song("tone.flac", "Doomsday Demo").text("isPublic", "false"),
    )
    .await;
    let plain = upload_ok(&app, &doomed, &song("tone.ogg", "Doomsday Reprise")).await;
    let kept = upload_ok(&app, &stays, &song("tone.m4a", "Doomsday Survivor")).await;
    let mine = [&covered, &private, &plain];
    assert_no_content(
        &follow(&app, listener.bearer(), &doomed.id).await,
        "follow the doomed",
    );
    assert_no_content(
        &follow(&app, doomed.bearer(), &stays.id).await,
        "the doomed follows",
    );
    assert_eq!(media_count(&app), 5, "four songs and a cover");

    // Before: all there (and the anonymous reads cached).
    let urls = [
        stream_url(&app, &listener, &covered).await,
        stream_url(&app, &admin, &private).await,
        stream_url(&app, &listener, &plain).await,
    ];
    for url in &urls {
        assert_eq!(app.get(url).await.status, 200, "{url}");
    }
    let cover = format!("/api/songs/{covered}/cover");
    assert_eq!(app.get(&cover).await.status, 200);
    for s in [&covered, &plain] {
        assert_eq!(get_song(&app, None, s).await.status, 200);
    }
    profile_ok(&app, None, &doomed).await;
    assert_finds(
        &app,
        None,
        "anonymous",
        "doomsday",
        &[&covered, &plain, &kept],
        &[&doomed],
    )
    .await;
    assert_eq!(profile_ok(&app, None, &stays).await["followers"], 1);

    // The admin deletes the account at auth.
    let path = format!("/api/admin/users/{}", doomed.id);
    let response = app.call(admin.bearer(), Method::DELETE, &path, None).await;
    assert_no_content(&response, "delete the user");

    // The catalog erases them.
    for s in mine {
        eventually(WAIT, &format!("song {s} gone"), || async {
            (get_song(&app, admin.bearer(), s).await.status == 404).then_some(())
        })
        .await;
    }
    for s in mine {
        for token in [None, admin.bearer(), listener.bearer()] {
            assert_problem(&get_song(&app, token, s).await, 404, &format!("song {s}"));
        }
    }
    for url in &urls {
        assert_problem(&app.get(url).await, 404, &format!("the media at {url}"));
    }
    assert_problem(&app.get(&cover).await, 404, "the cover");
    for token in [None, admin.bearer(), listener.bearer()] {
        assert_problem(
            &profile(&app, token, &doomed.id).await,
            404,
            "the deleted artist's profile",
        );
        let found = search(&app, token, "doomsday").await;
        assert_eq!(found.songs, vec![kept.clone()], "{found:?}");
        assert!(found.artists.is_empty(), "{found:?}");
        let found = search(&app, token, "dora").await;
        assert!(
            found.songs.is_empty() && found.artists.is_empty(),
            "{found:?}"
        );
    }
    assert!(
        following(&app, &listener).await.is_empty(),
        "their follows end"
    );
    let body = profile_ok(&app, None, &stays).await;
    assert_eq!(
        body["followers"], 0,
        "the follows they made end too: {body}"
    );
    assert_eq!(profile_songs(&body), song_set(&[&kept]));
    assert_eq!(
        get_song(&app, None, &kept).await.status,
        200,
        "others' songs stay"
    );
    let response = follow(&app, listener.bearer(), &doomed.id).await;
    assert_problem(&response, 404, "following the deleted artist");

    // A track.deleted for each of their songs, once.
    let expected: BTreeSet<(String, String)> = mine
        .iter()
        .map(|s| (s.to_string(), doomed.id.clone()))
        .collect();
    let announced = eventually(WAIT, "track.deleted for each song", || async {
        let announced: Vec<(String, String)> = deleted(&app)
            .await
            .into_iter()
            .map(|t| (t.song_id, t.artist_id))
            .collect();
        (announced.len() >= expected.len()).then_some(announced)
    })
    .await;
    assert_eq!(announced.len(), 3, "{announced:?}");
    assert_eq!(
        announced.into_iter().collect::<BTreeSet<_>>(),
        expected,
        "each song of theirs, once"
    );
    assert_eq!(
        media_count(&app),
        1,
        "only the other artist's media is left"
    );
}

// ---------------------------------------------------------------------------------------------
// Albums (`album.changed` and `album.deleted`, published as the playlists component does)
// ---------------------------------------------------------------------------------------------

/// An album as `album.changed` carries it.
fn album(id: &str, artist: &User, title: &str, description: Option<&str>) -> AlbumChanged {
    AlbumChanged {
        album_id: id.into(),
        artist_id: artist.id.clone(),
        title: title.into(),
        description: description.map(str::to_string),
        listed: true,
        song_ids: Vec::new(),
        revision: 1,
    }
}

fn album_changed(album: &AlbumChanged) -> Envelope {
    new_envelope(
        Event::AlbumChanged(album.clone()),
        "playlists",
        "test-correlation",
    )
}

fn album_deleted(album_id: &str, artist: &User) -> Envelope {
    new_envelope(
        Event::AlbumDeleted(AlbumDeleted {
            album_id: album_id.into(),
            artist_id: artist.id.clone(),
        }),
        "playlists",
        "test-correlation",
    )
}

/// Publishes `envelope` as a producer does and waits until the catalog handled it.
async fn deliver(app: &TestApp, envelope: &Envelope) {
    EventBus::connect(&app.redis.url())
        .await
        .publish(envelope)
        .await;
    wait_processed(app, "catalog", &envelope.id).await;
}

/// The ids of the albums `q` finds, anonymously.
async fn albums_found(app: &TestApp, q: &str) -> Vec<String> {
    ids(&search(app, None, q).await.albums)
}

#[tokio::test]
async fn a_listed_album_is_found_by_title_prefix_accent_folded_and_an_unlisted_one_is_not() {
    let app = start(&[]).await;
    let artist = register_named(&app, "ana@example.com", "artist", "Ana Aurora").await;
    let listener = register_named(&app, "lou@example.com", "listener", "Lou Listens").await;
    let song = upload_ok(&app, &artist, &song("tone.mp3", "Opening")).await;

    let mut listed = album(
        "01J0ALBUMLISTED00000000000",
        &artist,
        "Crème Brûlée Sessions",
        Some("Late night recordings"),
    );
    listed.song_ids = vec![song.clone()];
    let mut unlisted = album("01J0ALBUMUNLISTED000000000", &artist, "Crème Secrète", None);
    unlisted.listed = false;
    deliver(&app, &album_changed(&listed)).await;
    deliver(&app, &album_changed(&unlisted)).await;

    // The whole answer, for anyone.
    for token in [None, listener.bearer(), artist.bearer()] {
        let found = search(&app, token, "creme brul").await;
        assert_eq!(
            found.albums,
            vec![json!({
                "id": listed.album_id,
                "title": "Crème Brûlée Sessions",
                "artistId": artist.id,
                "artistName": "Ana Aurora",
                "description": "Late night recordings",
            })],
            "{found:?}"
        );
    }
    // Prefixes, case and accents; the artist's name and the description match too.
    for q in [
        "Crè",
        "CREME",
        "brûl",
        "sess",
        "crème sessions",
        "aurora",
        "late nig",
    ] {
        assert_eq!(
            albums_found(&app, q).await,
            vec![listed.album_id.clone()],
            "{q}"
        );
    }
    // The unlisted one is never found, not even by its own artist.
    for q in ["secrete", "secrète", "crème"] {
        for token in [None, artist.bearer()] {
            let found = search(&app, token, q).await;
            assert!(
                !ids(&found.albums).contains(&unlisted.album_id),
                "{q}: {found:?}"
            );
        }
    }
    // Nothing else matches; a title without a description answers null.
    assert!(albums_found(&app, "zzz").await.is_empty());
    let mut plain = album("01J0ALBUMPLAIN000000000000", &artist, "Plainsong", None);
    plain.song_ids = vec![song.clone()];
    deliver(&app, &album_changed(&plain)).await;
    let found = search(&app, None, "plainsong").await;
    assert_eq!(found.albums.len(), 1, "{found:?}");
    assert_eq!(found.albums[0]["description"], Value::Null, "{found:?}");
}

#[tokio::test]
async fn an_album_made_unlisted_or_deleted_leaves_search_and_a_late_change_does_not_return_it() {
    let app = start(&[]).await;
    let artist = register_named(&app, "vic@example.com", "artist", "Vic Vinyl").await;
    let song = upload_ok(&app, &artist, &song("tone.mp3", "Groove")).await;
    let mut changed = album(
        "01J0ALBUMFADING0000000000",
        &artist,
        "Fading Echoes",
        Some("A farewell"),
    );
    changed.song_ids = vec![song.clone()];
    let id = changed.album_id.clone();
    deliver(&app, &album_changed(&changed)).await;
    assert_eq!(albums_found(&app, "fading").await, vec![id.clone()]);

    // Made unlisted: gone from search (the songs stay in it).
    changed.revision += 1;
    changed.listed = false;
    deliver(&app, &album_changed(&changed)).await;
    eventually(WAIT, "the unlisted album to leave search", || async {
        albums_found(&app, "fading").await.is_empty().then_some(())
    })
    .await;
    assert!(albums_found(&app, "farewell").await.is_empty());

    // Listed again, renamed: found by the new title only.
    changed.revision += 1;
    changed.listed = true;
    changed.title = "Echoes Returning".into();
    deliver(&app, &album_changed(&changed)).await;
    eventually(WAIT, "the renamed album in search", || async {
        (albums_found(&app, "returning").await == vec![id.clone()]).then_some(())
    })
    .await;
    assert!(albums_found(&app, "fading").await.is_empty());
    assert_eq!(album_song_ids(&app, &id).await, song_set(&[&song]));

    // Deleted: gone from search, its songs in no album.
    deliver(&app, &album_deleted(&id, &artist)).await;
    eventually(WAIT, "the deleted album to leave search", || async {
        albums_found(&app, "echoes").await.is_empty().then_some(())
    })
    .await;
    assert!(album_song_ids(&app, &id).await.is_empty());
    let view: Value = get_song(&app, None, &song).await.json();
    assert_eq!(view["albumId"], Value::Null, "{view}");

    // A late album.changed (a retry, or one that was delayed) does not bring it back.
    deliver(&app, &album_changed(&changed)).await;
    assert!(albums_found(&app, "echoes").await.is_empty());
    assert!(albums_found(&app, "returning").await.is_empty());
    assert!(album_song_ids(&app, &id).await.is_empty());

    // An album.deleted arriving before the album's first album.changed is a tombstone too.
    let mut early = album("01J0ALBUMEARLYDEATH0000000", &artist, "Never Seen", None);
    early.song_ids = vec![song.clone()];
    deliver(&app, &album_deleted(&early.album_id, &artist)).await;
    deliver(&app, &album_changed(&early)).await;
    assert!(albums_found(&app, "never seen").await.is_empty());
    assert!(album_song_ids(&app, &early.album_id).await.is_empty());
}

#[tokio::test]
async fn an_albums_songs_are_its_artists_named_songs_and_a_repeated_event_changes_nothing_more() {
    let app = start(&[]).await;
    let artist = register_named(&app, "ida@example.com", "artist", "Ida Indigo").await;
    let other = register_named(&app, "oto@example.com", "artist", "Oto Other").await;
    let one = upload_ok(&app, &artist, &wav_song("One", 1)).await;
    let two = upload_ok(&app, &artist, &wav_song("Two", 2)).await;
    let three = upload_ok(&app, &artist, &wav_song("Three", 3)).await;
    let theirs = upload_ok(&app, &other, &wav_song("Not Yours", 4)).await;

    let mut changed = album("01J0ALBUMINDIGO00000000000", &artist, "Indigo", None);
    let id = changed.album_id.clone();
    // Cached before: the list reads empty, then the event must invalidate it.
    assert!(album_song_ids(&app, &id).await.is_empty());
    changed.song_ids = vec![one.clone(), two.clone(), theirs.clone()];
    let first = album_changed(&changed);
    deliver(&app, &first).await;
    eventually(WAIT, "the album's songs", || async {
        (album_song_ids(&app, &id).await == song_set(&[&one, &two])).then_some(())
    })
    .await;
    let view: Value = get_song(&app, None, &theirs).await.json();
    assert_eq!(
        view["albumId"],
        Value::Null,
        "another artist's song does not join: {view}"
    );
    let before: Vec<Value> = {
        let mut views = Vec::new();
        for s in [&one, &two, &three, &theirs] {
            views.push(get_song(&app, None, s).await.json::<Value>());
        }
        views
    };

    // The same event again (redelivered), and the same content in a new event: nothing more.
    let mut bus = EventBus::connect(&app.redis.url()).await;
    bus.publish(&first).await;
    let again = album_changed(&changed);
    deliver(&app, &again).await;
    let entries: Vec<String> = bus
        .entries("album.changed")
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        entries.iter().filter(|e| **e == first.id).count(),
        2,
        "{entries:?}"
    );
    assert_eq!(album_song_ids(&app, &id).await, song_set(&[&one, &two]));
    for (s, was) in [&one, &two, &three, &theirs].into_iter().zip(&before) {
        let now: Value = get_song(&app, None, s).await.json();
        assert_eq!(&now, was, "song {s} unchanged");
    }
    let found = search(&app, None, "indigo").await;
    assert_eq!(
        ids(&found.albums),
        vec![id.clone()],
        "indexed once: {found:?}"
    );

    // The track list changes: one leaves, three joins.
    let stale = {
        let mut old = changed.clone();
        old.song_ids = vec![one.clone()];
        album_changed(&old)
    };
    changed.revision += 1;
    changed.song_ids = vec![three.clone(), two.clone()];
    deliver(&app, &album_changed(&changed)).await;
    eventually(WAIT, "the new track list", || async {
        (album_song_ids(&app, &id).await == song_set(&[&two, &three])).then_some(())
    })
    .await;
    let view: Value = get_song(&app, None, &one).await.json();
    assert_eq!(view["albumId"], Value::Null, "{view}");

    // An older event delivered late loses to the newer one.
    deliver(&app, &stale).await;
    assert_eq!(album_song_ids(&app, &id).await, song_set(&[&two, &three]));

    // Its songs stay the artist's when another album of someone else names them.
    let mut foreign = album("01J0ALBUMFOREIGN0000000000", &other, "Borrowed", None);
    foreign.song_ids = vec![two.clone(), theirs.clone()];
    deliver(&app, &album_changed(&foreign)).await;
    eventually(WAIT, "the other artist's album", || async {
        (album_song_ids(&app, &foreign.album_id).await == song_set(&[&theirs])).then_some(())
    })
    .await;
    assert_eq!(album_song_ids(&app, &id).await, song_set(&[&two, &three]));
}

#[tokio::test]
async fn a_deleted_artists_albums_leave_search_and_their_songs() {
    let app = start_with_admin().await;
    let doomed = register_named(&app, "dan@example.com", "artist", "Dan Dusk").await;
    let admin = register_admin(&app, ADMIN_EMAIL).await;
    let track = upload_ok(&app, &doomed, &song("tone.mp3", "Last Light")).await;
    let mut changed = album(
        "01J0ALBUMDUSK0000000000000",
        &doomed,
        "Twilight Tapes",
        None,
    );
    changed.song_ids = vec![track.clone()];
    deliver(&app, &album_changed(&changed)).await;
    assert_eq!(
        albums_found(&app, "twilight").await,
        vec![changed.album_id.clone()]
    );

    let path = format!("/api/admin/users/{}", doomed.id);
    let response = app.call(admin.bearer(), Method::DELETE, &path, None).await;
    assert_no_content(&response, "delete the user");
    eventually(
        WAIT,
        "the deleted artist's album to leave search",
        || async {
            albums_found(&app, "twilight")
                .await
                .is_empty()
                .then_some(())
        },
    )
    .await;
    // A late album.changed does not bring it back.
    deliver(&app, &album_changed(&changed)).await;
    assert!(albums_found(&app, "twilight").await.is_empty());
    assert!(album_song_ids(&app, &changed.album_id).await.is_empty());
}
