//! `albumId` on the catalog's writes (`POST /api/songs`, `PATCH /api/songs/:id`), end to end:
//! the catalog puts the song on that album, or takes it off, through the `playlists` component
//! (which owns albums) with the caller's own token. Only the artist's own albums take their
//! songs: anything else is a 422 naming `albumId` that stores and changes nothing. The album at
//! playlists lists the song at once; `GET /api/songs?album=` follows (the catalog sets
//! `albumId` itself and `album.changed` confirms it).
//!
//! The real `spin.toml` runs in-process against its own `redis-server`, with real accounts from
//! the `auth` component. Every test starts its own app.

use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::Event;
use spindle_tests::accounts::{User, register_named};
use spindle_tests::bus::EventBus;
use spindle_tests::media::{Form, album_song_ids, upload, upload_ok, wav};
use spindle_tests::playlists::{ALBUMS, album, item_ids, playlist, track_songs, view};
use spindle_tests::{TestApp, TestResponse, assert_invalid, eventually, spawn_app_with};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// A well-formed id nobody has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

async fn start() -> TestApp {
    spawn_app_with(&[]).await
}

/// The artist Ann Arbor.
async fn ann(app: &TestApp) -> User {
    register_named(app, "ann@example.com", "artist", "Ann Arbor").await
}

/// The artist Bob Brook.
async fn bob(app: &TestApp) -> User {
    register_named(app, "bob@example.com", "artist", "Bob Brook").await
}

/// A generated WAV (other bytes for every seed) titled `title`, `albumId` sent before the
/// audio when `album` is given.
fn wav_song(title: &str, seed: u8, album: Option<&str>) -> Form {
    let form = Form::new().text("title", title);
    let form = match album {
        Some(album) => form.text("albumId", album),
        None => form,
    };
    form.file("audio", &format!("{seed}.wav"), wav(500, seed))
}

/// Like [`wav_song`], with `albumId` sent after the audio (the upload has streamed the file in
/// by the time it reads the album).
fn wav_song_album_last(title: &str, seed: u8, album: &str) -> Form {
    Form::new()
        .text("title", title)
        .file("audio", &format!("{seed}.wav"), wav(500, seed))
        .text("albumId", album)
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_string()
}

/// The ids of the artist's own songs.
async fn my_songs(app: &TestApp, artist: &User) -> Vec<String> {
    item_ids(app, artist.bearer(), "/api/songs/artist/my-songs").await
}

/// The song as its owner sees it.
async fn song_of(app: &TestApp, owner: &User, song_id: &str) -> Value {
    let path = format!("/api/songs/{song_id}");
    let response = app.call(owner.bearer(), Method::GET, &path, None).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.json()
}

async fn patch_song(app: &TestApp, owner: &User, song_id: &str, body: Value) -> TestResponse {
    let path = format!("/api/songs/{song_id}");
    app.call(owner.bearer(), Method::PATCH, &path, Some(body))
        .await
}

/// `PATCH /api/songs/:id` as the owner, which must answer 200: the SongView.
async fn patch_song_ok(app: &TestApp, owner: &User, song_id: &str, body: Value) -> Value {
    let response = patch_song(app, owner, song_id, body).await;
    assert_eq!(response.status, 200, "PATCH {song_id}: {}", response.text());
    response.json()
}

/// The song ids on the album, as its owner sees it at playlists.
async fn album_tracks(app: &TestApp, owner: &User, album_id: &str) -> Vec<String> {
    let response = view(app, owner.bearer(), ALBUMS, album_id).await;
    assert_eq!(
        response.status,
        200,
        "album {album_id}: {}",
        response.text()
    );
    track_songs(&response.json())
}

/// Waits until `?album=` lists exactly `expected`, then checks that it stays so once the
/// catalog has had time for every `album.changed` in flight.
async fn album_lists(app: &TestApp, album_id: &str, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    eventually(
        WAIT,
        &format!("?album={album_id} to list {expected:?}"),
        || {
            let expected = expected.clone();
            async move { (album_song_ids(app, album_id).await == expected).then_some(()) }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        album_song_ids(app, album_id).await,
        expected,
        "?album={album_id} stays"
    );
}

/// How many `album.changed` the album has announced so far.
async fn album_changes(app: &TestApp, album_id: &str) -> usize {
    EventBus::connect(&app.redis.url())
        .await
        .envelopes("album.changed")
        .await
        .iter()
        .filter(|e| matches!(&e.payload, Event::AlbumChanged(a) if a.album_id == album_id))
        .count()
}

/// The song ids of every `track.published` so far.
async fn published(app: &TestApp) -> Vec<String> {
    EventBus::connect(&app.redis.url())
        .await
        .envelopes("track.published")
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Event::TrackPublished(t) => Some(t.song_id),
            _ => None,
        })
        .collect()
}

/// The rows of the media database (media, chunks).
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
// Upload
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_upload_into_ones_own_album_lands_on_it() {
    let app = start().await;
    let ann = ann(&app).await;
    let record = album(&app, &ann.token, "First Record").await;

    // albumId before the audio, and after it.
    let first = upload_ok(&app, &ann, &wav_song("Opening", 1, Some(&record))).await;
    assert_eq!(first["albumId"], record.as_str(), "{first}");
    let second = upload_ok(&app, &ann, &wav_song_album_last("Closing", 2, &record)).await;
    assert_eq!(second["albumId"], record.as_str(), "{second}");
    let (first, second) = (id(&first), id(&second));

    // The album at playlists lists both, in upload order; the catalog's list follows.
    assert_eq!(
        album_tracks(&app, &ann, &record).await,
        vec![first.clone(), second.clone()]
    );
    album_lists(&app, &record, &[&first, &second]).await;
    assert_eq!(
        song_of(&app, &ann, &first).await["albumId"],
        record.as_str()
    );

    // Each was announced once, as any upload is.
    eventually(WAIT, "track.published of both songs", || async {
        let published = published(&app).await;
        (published.contains(&first) && published.contains(&second)).then_some(())
    })
    .await;
    let published = published(&app).await;
    assert_eq!(published.iter().filter(|s| **s == first).count(), 1);
    assert_eq!(published.iter().filter(|s| **s == second).count(), 1);

    // A private song goes on the album too (no track.published).
    let form = wav_song("Hidden Track", 3, Some(&record)).text("isPublic", "false");
    let hidden = id(&upload_ok(&app, &ann, &form).await);
    assert_eq!(
        album_tracks(&app, &ann, &record).await,
        vec![first.clone(), second.clone(), hidden.clone()]
    );
    assert!(
        !published_now(&app, &hidden).await,
        "a private upload is not announced"
    );
}

async fn published_now(app: &TestApp, song_id: &str) -> bool {
    tokio::time::sleep(Duration::from_millis(300)).await;
    published(app).await.iter().any(|s| s == song_id)
}

#[tokio::test]
async fn an_upload_into_another_artists_album_is_refused_and_stores_nothing() {
    let app = start().await;
    let ann = ann(&app).await;
    let bob = bob(&app).await;
    let bobs = album(&app, &bob.token, "Bob's Best").await;
    let before = (my_songs(&app, &ann).await, media_rows(&app));

    // Bob's album is listed (public): Ann sees it, yet it is not hers. Either field order.
    for form in [
        wav_song("Intruder", 7, Some(&bobs)),
        wav_song_album_last("Intruder", 7, &bobs),
    ] {
        let response = upload(&app, ann.bearer(), &form).await;
        assert_invalid(&response, &["albumId"], "into another artist's album");
        assert_eq!(
            (my_songs(&app, &ann).await, media_rows(&app)),
            before,
            "nothing stored"
        );
    }
    assert!(album_tracks(&app, &bob, &bobs).await.is_empty());
    assert!(album_song_ids(&app, &bobs).await.is_empty());

    // No song with those bytes was kept: the same upload without albumId is a 201, not a 409.
    let song = upload_ok(&app, &ann, &wav_song("Intruder", 7, None)).await;
    assert_eq!(song["albumId"], Value::Null, "{song}");
    assert_eq!(my_songs(&app, &ann).await, vec![id(&song)]);
    // Only that one was ever announced.
    eventually(WAIT, "track.published of the plain upload", || async {
        published(&app).await.contains(&id(&song)).then_some(())
    })
    .await;
    assert_eq!(published(&app).await, vec![id(&song)]);
}

#[tokio::test]
async fn an_upload_into_an_unknown_album_or_a_playlist_is_refused() {
    let app = start().await;
    let ann = ann(&app).await;
    let list = playlist(&app, &ann.token, "Road Trip", true).await;
    let before = (my_songs(&app, &ann).await, media_rows(&app));

    for album_id in [UNKNOWN_ID, "album-1", list.as_str(), "../playlists/x"] {
        let response = upload(&app, ann.bearer(), &wav_song("Lost", 9, Some(album_id))).await;
        assert_invalid(&response, &["albumId"], &format!("albumId {album_id}"));
        let body: Value = response.json();
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("no album")),
            "{body}"
        );
        let response = upload(
            &app,
            ann.bearer(),
            &wav_song_album_last("Lost", 9, album_id),
        )
        .await;
        assert_invalid(
            &response,
            &["albumId"],
            &format!("albumId {album_id}, last"),
        );
    }
    assert_eq!((my_songs(&app, &ann).await, media_rows(&app)), before);
    // An empty albumId is no album.
    let song = upload_ok(&app, &ann, &wav_song("Found", 9, Some(""))).await;
    assert_eq!(song["albumId"], Value::Null, "{song}");
}

// ---------------------------------------------------------------------------------------------
// PATCH
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn patch_moves_a_song_from_one_album_to_another_and_null_takes_it_off() {
    let app = start().await;
    let ann = ann(&app).await;
    let a = album(&app, &ann.token, "Album A").await;
    let b = album(&app, &ann.token, "Album B").await;
    let song = id(&upload_ok(&app, &ann, &wav_song("Wanderer", 1, Some(&a))).await);
    let stays = id(&upload_ok(&app, &ann, &wav_song("Homebody", 2, Some(&a))).await);
    album_lists(&app, &a, &[&song, &stays]).await;

    // A → B, with a title too.
    let body = json!({ "albumId": b, "title": "Wanderer II" });
    let view = patch_song_ok(&app, &ann, &song, body).await;
    assert_eq!(view["albumId"], b.as_str(), "shown at once: {view}");
    assert_eq!(view["title"], "Wanderer II", "{view}");
    assert_eq!(album_tracks(&app, &ann, &a).await, vec![stays.clone()]);
    assert_eq!(album_tracks(&app, &ann, &b).await, vec![song.clone()]);
    album_lists(&app, &a, &[&stays]).await;
    album_lists(&app, &b, &[&song]).await;
    assert_eq!(song_of(&app, &ann, &song).await["albumId"], b.as_str());

    // The same album again changes nothing at playlists.
    let changes = album_changes(&app, &b).await;
    patch_song_ok(&app, &ann, &song, json!({ "albumId": b })).await;
    assert_eq!(album_tracks(&app, &ann, &b).await, vec![song.clone()]);
    assert_eq!(
        album_changes(&app, &b).await,
        changes,
        "no write to the album"
    );

    // null: off its album.
    let view = patch_song_ok(&app, &ann, &song, json!({ "albumId": null })).await;
    assert_eq!(view["albumId"], Value::Null);
    assert!(album_tracks(&app, &ann, &b).await.is_empty());
    album_lists(&app, &b, &[]).await;
    assert_eq!(song_of(&app, &ann, &song).await["albumId"], Value::Null);

    // And from no album onto one.
    patch_song_ok(&app, &ann, &song, json!({ "albumId": a })).await;
    assert_eq!(
        album_tracks(&app, &ann, &a).await,
        vec![stays.clone(), song.clone()]
    );
    album_lists(&app, &a, &[&stays, &song]).await;
}

#[tokio::test]
async fn patch_to_another_artists_or_an_unknown_album_is_refused_and_changes_nothing() {
    let app = start().await;
    let ann = ann(&app).await;
    let bob = bob(&app).await;
    let anns = album(&app, &ann.token, "Ann's").await;
    let bobs = album(&app, &bob.token, "Bob's").await;
    let song = id(&upload_ok(&app, &ann, &wav_song("Mine", 1, Some(&anns))).await);
    album_lists(&app, &anns, &[&song]).await;
    let before = song_of(&app, &ann, &song).await;

    for album_id in [bobs.as_str(), UNKNOWN_ID] {
        let body = json!({ "albumId": album_id, "title": "Renamed", "genre": "Jazz" });
        let response = patch_song(&app, &ann, &song, body).await;
        assert_invalid(
            &response,
            &["albumId"],
            &format!("PATCH albumId {album_id}"),
        );
        assert_eq!(song_of(&app, &ann, &song).await, before, "nothing changed");
        assert_eq!(album_tracks(&app, &ann, &anns).await, vec![song.clone()]);
    }
    assert!(album_tracks(&app, &bob, &bobs).await.is_empty());
    album_lists(&app, &anns, &[&song]).await;
    assert!(album_song_ids(&app, &bobs).await.is_empty());

    // Bob may not move Ann's song at all.
    let response = patch_song(&app, &bob, &song, json!({ "albumId": bobs })).await;
    assert_eq!(response.status, 403, "{}", response.text());
    assert_eq!(song_of(&app, &ann, &song).await, before);
}
