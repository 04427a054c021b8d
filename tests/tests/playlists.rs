//! The `playlists` component (issue 6), end to end: the real `spin.toml` started in-process
//! against its own `redis-server`, with real accounts from `auth` (listeners, artists, an admin
//! verified with a one-time code read from Redis) and real songs uploaded to the `catalog` as
//! generated WAVs, driven over HTTP: playlists and albums, their permission matrix, track
//! order, conditional writes (`If-Match`/`ETag`), limits, share links, covers, lists, admin
//! switches, and the events the component publishes (`playlist.shared`, `album.deleted`) and
//! consumes (`track.deleted`, `user.deleted`), read from and caused through the real bus.
//!
//! The contract is the API of issue 6 (routes, who may do what, revisions, limits, events).
//! Every test starts its own app; `a_playlist_holds_at_most_10000_entries` is the slow one
//! (100 writes of 100 entries and a 10,000-track view: a few seconds here).

use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{Envelope, Event};
use spindle_tests::accounts::{User, artist, listener, register_admin};
use spindle_tests::bus::EventBus;
use spindle_tests::media::{Form, assert_song_shape, upload_ok, wav};
use spindle_tests::playlists::{
    ALBUMS, PLAYLISTS, PNG_1X1, add_song, add_songs, call_if, call_raw, create, create_ok, etag,
    item_ids, tag, track_entries, track_positions, track_songs, tracks,
};
use spindle_tests::{
    TestApp, TestResponse, assert_invalid, assert_problem, eventually, object_keys, spawn_app_with,
    string_set,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
const ADMIN_EMAIL: &str = "boss@example.com";
/// A well-formed id nobody has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// The fields of a collection view (lists answer these; single answers add `tracks`).
const VIEW_FIELDS: &[&str] = &[
    "id",
    "kind",
    "title",
    "description",
    "ownerId",
    "ownerName",
    "isPublic",
    "isVisible",
    "revision",
    "trackCount",
    "hasCover",
    "createdAt",
    "updatedAt",
    "access",
];

const TRACK_FIELDS: &[&str] = &[
    "entryId",
    "position",
    "songId",
    "addedBy",
    "addedAt",
    "available",
    "song",
];

// ---------------------------------------------------------------------------------------------
// The app, its users and songs
// ---------------------------------------------------------------------------------------------

/// An app whose `admin_emails` is [`ADMIN_EMAIL`].
async fn start() -> TestApp {
    spawn_app_with(&[("admin_emails", ADMIN_EMAIL)]).await
}

async fn admin(app: &TestApp) -> User {
    register_admin(app, ADMIN_EMAIL).await
}

/// Uploads a generated WAV titled `title` as `artist` (public unless `public` is false): its id.
async fn song_as(app: &TestApp, artist: &User, title: &str, seed: u8, public: bool) -> String {
    let mut form = Form::new()
        .file("audio", &format!("{seed}.wav"), wav(300, seed))
        .text("title", title);
    if !public {
        form = form.text("isPublic", "false");
    }
    let song = upload_ok(app, artist, &form).await;
    song["id"].as_str().expect("song id").to_string()
}

/// `n` public songs of `artist`: their ids.
async fn songs(app: &TestApp, artist: &User, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let seed = (out.len() as u8)
            .wrapping_mul(13)
            .wrapping_add(artist.id.len() as u8 + i as u8);
        out.push(
            song_as(
                app,
                artist,
                &format!("{} song {i}", artist.name),
                seed,
                true,
            )
            .await,
        );
    }
    out
}

/// The artist sets their song's `isPublic` at the catalog.
async fn set_song_public(app: &TestApp, artist: &User, song_id: &str, public: bool) {
    let path = format!("/api/songs/{song_id}/visibility");
    let response = patch(app, artist.bearer(), &path, json!({ "isPublic": public })).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
}

/// An admin sets a song's `isVisible` at the catalog.
async fn set_song_visible(app: &TestApp, admin: &User, song_id: &str, visible: bool) {
    let path = format!("/api/admin/songs/{song_id}/visible");
    let response = patch(app, admin.bearer(), &path, json!({ "isVisible": visible })).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
}

// ---------------------------------------------------------------------------------------------
// Requests and shapes
// ---------------------------------------------------------------------------------------------

fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("id: {value}"))
        .to_string()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id).collect()
}

fn s(value: &str) -> String {
    value.to_string()
}

#[track_caller]
fn assert_no_content(response: &TestResponse, what: &str) {
    assert_eq!(response.status, 204, "{what}: {}", response.text());
    assert!(response.body.is_empty(), "{what}: a 204 has no body");
}

#[track_caller]
fn assert_time(value: &Value, what: &str) {
    let text = value.as_str().unwrap_or_default();
    assert!(
        text.len() >= 20 && text.contains('T') && (text.ends_with('Z') || text.contains('+')),
        "{what} is an RFC 3339 time: {value}"
    );
}

/// Checks the fields of a view (with `tracks` when `with_tracks`).
#[track_caller]
fn assert_view_shape(view: &Value, with_tracks: bool) {
    let mut expected = string_set(VIEW_FIELDS);
    if with_tracks {
        expected.insert(s("tracks"));
    }
    assert_eq!(object_keys(view), expected, "view fields: {view}");
    assert!(
        matches!(view["kind"].as_str(), Some("playlist" | "album")),
        "{view}"
    );
    assert!(
        matches!(
            view["access"].as_str(),
            Some("owner" | "editor" | "viewer" | "admin" | "public" | "link")
        ),
        "access: {view}"
    );
    for field in ["id", "title", "ownerId", "ownerName"] {
        assert!(
            view[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field}: {view}"
        );
    }
    assert!(
        view["description"].is_null() || view["description"].is_string(),
        "{view}"
    );
    for field in ["isPublic", "isVisible", "hasCover"] {
        assert!(view[field].is_boolean(), "{field}: {view}");
    }
    assert!(
        view["revision"].as_u64().is_some_and(|r| r >= 1),
        "revision: {view}"
    );
    assert!(view["trackCount"].is_u64(), "trackCount: {view}");
    assert_time(&view["createdAt"], "createdAt");
    assert_time(&view["updatedAt"], "updatedAt");
    if with_tracks {
        for track in tracks(view) {
            assert_eq!(
                object_keys(&track),
                string_set(TRACK_FIELDS),
                "track: {track}"
            );
            assert!(
                track["entryId"].as_str().is_some_and(|t| t.len() == 26),
                "{track}"
            );
            assert!(track["position"].is_u64(), "{track}");
            assert!(track["songId"].is_string(), "{track}");
            assert!(
                track["addedBy"].is_string() || track["addedBy"].is_null(),
                "{track}"
            );
            assert_time(&track["addedAt"], "addedAt");
            match track["available"].as_bool() {
                Some(true) => {
                    assert_song_shape(&track["song"]);
                    assert_eq!(track["song"]["id"], track["songId"], "{track}");
                }
                Some(false) => assert!(track["song"].is_null(), "{track}"),
                None => panic!("available: {track}"),
            }
        }
    }
}

/// `GET {base}/{id}` as `token`.
async fn get_view(app: &TestApp, token: Option<&str>, base: &str, cid: &str) -> TestResponse {
    app.call(token, Method::GET, &format!("{base}/{cid}"), None)
        .await
}

/// Checks a single-collection answer: status, JSON, shape, ETag = revision, Cache-Control.
#[track_caller]
fn single(response: &TestResponse, status: u16, what: &str) -> Value {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    assert_eq!(
        response.content_type().as_deref(),
        Some("application/json"),
        "{what}"
    );
    let view: Value = response.json();
    assert_view_shape(&view, true);
    assert_eq!(
        etag(response),
        view["revision"].as_u64().unwrap(),
        "{what}: the ETag is the revision: {view}"
    );
    let cache = response.header("cache-control").unwrap_or_default();
    assert!(
        cache.contains("private") && cache.contains("no-cache"),
        "{what}: Cache-Control {cache:?}"
    );
    view
}

/// The view as `token` sees it: 200, checked.
async fn view_ok(app: &TestApp, token: Option<&str>, base: &str, cid: &str) -> Value {
    let response = get_view(app, token, base, cid).await;
    single(&response, 200, &format!("GET {base}/{cid}"))
}

/// What a collection holds, seen by its owner: (revision, title, description, isPublic, entry ids).
async fn state(
    app: &TestApp,
    owner: &User,
    base: &str,
    cid: &str,
) -> (u64, Value, Value, Value, Vec<String>) {
    let view = view_ok(app, owner.bearer(), base, cid).await;
    assert_gap_free(&view);
    (
        view["revision"].as_u64().unwrap(),
        view["title"].clone(),
        view["description"].clone(),
        view["isPublic"].clone(),
        track_entries(&view),
    )
}

/// Checks that the collection is still as it was `before` (as its owner sees it).
async fn assert_unchanged(
    app: &TestApp,
    owner: &User,
    base: &str,
    cid: &str,
    before: &(u64, Value, Value, Value, Vec<String>),
    what: &str,
) {
    assert_eq!(&state(app, owner, base, cid).await, before, "{what}");
}

async fn revision(app: &TestApp, owner: &User, base: &str, cid: &str) -> u64 {
    state(app, owner, base, cid).await.0
}

/// Positions 0..n-1 in order, and `trackCount` n.
#[track_caller]
fn assert_gap_free(view: &Value) {
    let positions = track_positions(view);
    let expected: Vec<u64> = (0..positions.len() as u64).collect();
    assert_eq!(positions, expected, "gap-free positions: {view}");
    assert_eq!(
        view["trackCount"],
        positions.len() as u64,
        "trackCount: {view}"
    );
}

async fn patch(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> TestResponse {
    app.call(token, Method::PATCH, path, Some(body)).await
}

async fn delete(app: &TestApp, token: Option<&str>, path: &str) -> TestResponse {
    app.call(token, Method::DELETE, path, None).await
}

async fn post(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> TestResponse {
    app.call(token, Method::POST, path, Some(body)).await
}

/// `POST {base}/{id}/songs/move` as `token`.
async fn move_entry(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    cid: &str,
    entry: &str,
    to: i64,
) -> TestResponse {
    let path = format!("{base}/{cid}/songs/move");
    post(
        app,
        token,
        &path,
        json!({ "entryId": entry, "toPosition": to }),
    )
    .await
}

/// `PUT {base}/{id}/songs {entryIds}` as `token`.
async fn put_order(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    cid: &str,
    entries: &[String],
) -> TestResponse {
    let path = format!("{base}/{cid}/songs");
    app.call(
        token,
        Method::PUT,
        &path,
        Some(json!({ "entryIds": entries })),
    )
    .await
}

/// Checks a move/PUT answer `{revision, entries: [{entryId, songId, position}]}`: the entry ids
/// in order, positions 0..n-1.
#[track_caller]
fn order_answer(response: &TestResponse, what: &str) -> (u64, Vec<String>) {
    assert_eq!(response.status, 200, "{what}: {}", response.text());
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["revision", "entries"]),
        "{what}: {body}"
    );
    let entries = body["entries"].as_array().expect("entries");
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(
            object_keys(entry),
            string_set(&["entryId", "songId", "position"]),
            "{what}: {body}"
        );
        assert_eq!(entry["position"], i as u64, "{what}: gap-free: {body}");
        out.push(entry["entryId"].as_str().unwrap().to_string());
    }
    (body["revision"].as_u64().expect("revision"), out)
}

/// Checks an add answer (one entry or several): (revision, entries).
#[track_caller]
fn added(response: &TestResponse, what: &str) -> (u64, Vec<Value>) {
    assert_eq!(response.status, 201, "{what}: {}", response.text());
    let body: Value = response.json();
    let entries = if body.get("entry").is_some() {
        assert_eq!(
            object_keys(&body),
            string_set(&["entry", "revision"]),
            "{what}: {body}"
        );
        vec![body["entry"].clone()]
    } else {
        assert_eq!(
            object_keys(&body),
            string_set(&["entries", "revision"]),
            "{what}: {body}"
        );
        body["entries"].as_array().expect("entries").clone()
    };
    for entry in &entries {
        assert_eq!(
            object_keys(entry),
            string_set(&["entryId", "position", "songId", "addedBy", "addedAt"]),
            "{what}: {body}"
        );
    }
    (body["revision"].as_u64().expect("revision"), entries)
}

/// Adds songs as `user` (201 expected): the entries added.
async fn add_ok(
    app: &TestApp,
    user: &User,
    base: &str,
    cid: &str,
    song_ids: &[String],
    position: Option<usize>,
) -> Vec<Value> {
    let response = add_songs(app, user.bearer(), base, cid, song_ids, position).await;
    added(&response, &format!("add {song_ids:?} at {position:?}")).1
}

/// The `entryId`s of added entries (as [`add_ok`] answers them), in order.
fn entry_ids_of(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["entryId"].as_str().unwrap().to_string())
        .collect()
}

/// A list answer `{items, nextCursor}`: (items, nextCursor), shapes checked.
#[track_caller]
fn list_answer(response: &TestResponse, what: &str) -> (Vec<Value>, Option<String>) {
    assert_eq!(response.status, 200, "{what}: {}", response.text());
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["items", "nextCursor"]),
        "{what}: {body}"
    );
    let items = body["items"].as_array().expect("items").clone();
    for item in &items {
        assert_view_shape(item, false);
    }
    let cursor = match &body["nextCursor"] {
        Value::Null => None,
        Value::String(cursor) => Some(cursor.clone()),
        other => panic!("{what}: nextCursor is a string or null: {other}"),
    };
    (items, cursor)
}

/// Every item of a list (all pages of `limit`) as `token`.
async fn list_all(app: &TestApp, token: Option<&str>, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let response = app.call(token, Method::GET, &url, None).await;
        let (items, next) = list_answer(&response, &url);
        assert!(items.len() <= limit, "{url}: at most {limit} items");
        all.extend(items);
        match next {
            Some(next) => {
                assert!(all.len() < 500, "{path}: the pages never end");
                cursor = Some(next)
            }
            None => return all,
        }
    }
}

async fn list_ids(app: &TestApp, token: Option<&str>, path: &str, limit: usize) -> Vec<String> {
    ids(&list_all(app, token, path, limit).await)
}

/// Every event on `topic` so far.
async fn events(app: &TestApp, topic: &str) -> Vec<Envelope> {
    EventBus::connect(&app.redis.url())
        .await
        .envelopes(topic)
        .await
}

/// `POST /api/playlists/{id}/collaborators {userId}` as `token`.
async fn add_collaborator(
    app: &TestApp,
    token: Option<&str>,
    cid: &str,
    user_id: &str,
) -> TestResponse {
    let path = format!("{PLAYLISTS}/{cid}/collaborators");
    post(app, token, &path, json!({ "userId": user_id })).await
}

/// `DELETE /api/playlists/{id}/collaborators/{userId}` as `token`.
async fn remove_collaborator(
    app: &TestApp,
    token: Option<&str>,
    cid: &str,
    user_id: &str,
) -> TestResponse {
    delete(
        app,
        token,
        &format!("{PLAYLISTS}/{cid}/collaborators/{user_id}"),
    )
    .await
}

/// Registers Olive (a listener), Eddie (a listener) and Band (an artist), uploads `n` songs of
/// Band's, makes Olive's playlist `title` (`isPublic` as given) and adds Eddie as its editor:
/// (Olive, Eddie, the songs, the playlist's id).
async fn edited_playlist(
    app: &TestApp,
    n: usize,
    title: &str,
    public: bool,
) -> (User, User, Vec<String>, String) {
    let owner = listener(app, "Olive").await;
    let editor = listener(app, "Eddie").await;
    let band = artist(app, "Band").await;
    let songs = songs(app, &band, n).await;
    let pid = spindle_tests::playlists::playlist(app, &owner.token, title, public).await;
    add_editor(app, &owner, &pid, &editor).await;
    (owner, editor, songs, pid)
}

/// The owner adds `editor` to the playlist.
async fn add_editor(app: &TestApp, owner: &User, cid: &str, editor: &User) {
    let response = add_collaborator(app, owner.bearer(), cid, &editor.id).await;
    assert_eq!(
        response.status,
        201,
        "add collaborator: {}",
        response.text()
    );
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["userId", "role", "addedAt"]),
        "{body}"
    );
    assert_eq!(body["userId"], editor.id.as_str());
    assert_eq!(body["role"], "editor");
}

/// `GET /api/playlists/{id}/collaborators` as `token`.
async fn collaborators(app: &TestApp, token: Option<&str>, cid: &str) -> TestResponse {
    app.call(
        token,
        Method::GET,
        &format!("{PLAYLISTS}/{cid}/collaborators"),
        None,
    )
    .await
}

/// The collaborators' ids as the owner sees them.
async fn collaborator_ids(app: &TestApp, owner: &User, cid: &str) -> BTreeSet<String> {
    let response = collaborators(app, owner.bearer(), cid).await;
    assert_eq!(response.status, 200, "collaborators: {}", response.text());
    let body: Value = response.json();
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["userId"].as_str().expect("userId").to_string())
        .collect()
}

/// `POST /api/playlists/{id}/share` with `body` as `token`.
async fn share(app: &TestApp, token: Option<&str>, cid: &str, body: Value) -> TestResponse {
    post(app, token, &format!("{PLAYLISTS}/{cid}/share"), body).await
}

/// A new share link made by the owner: (link id, token).
async fn share_link(app: &TestApp, owner: &User, cid: &str) -> (String, String) {
    let response = share(app, owner.bearer(), cid, json!({})).await;
    assert_eq!(response.status, 201, "share: {}", response.text());
    let link: Value = response.json();
    assert_eq!(
        object_keys(&link),
        string_set(&["id", "token", "url", "createdAt"]),
        "{link}"
    );
    let token = link["token"].as_str().expect("token").to_string();
    assert!(!token.is_empty());
    assert_eq!(
        link["url"],
        format!("/api/playlists/shared/{token}"),
        "{link}"
    );
    assert_time(&link["createdAt"], "createdAt");
    (id(&link), token)
}

/// The owner shares the playlist with `user` (viewer access): the id of the link made too.
async fn share_with(app: &TestApp, owner: &User, cid: &str, user: &User) -> String {
    let response = share(app, owner.bearer(), cid, json!({ "userId": user.id })).await;
    assert_eq!(
        response.status,
        201,
        "share with {}: {}",
        user.name,
        response.text()
    );
    let link: Value = response.json();
    // The link made for them; it may say whom it was made for.
    let mut keys = object_keys(&link);
    if keys.remove("sharedWith") {
        assert_eq!(link["sharedWith"], user.id.as_str(), "{link}");
    }
    assert_eq!(
        keys,
        string_set(&["id", "token", "url", "createdAt"]),
        "{link}"
    );
    id(&link)
}

/// The unrevoked links' ids, as the owner lists them.
async fn link_ids(app: &TestApp, owner: &User, cid: &str) -> BTreeSet<String> {
    item_ids(app, owner.bearer(), &format!("{PLAYLISTS}/{cid}/share")).await
}

async fn shared(app: &TestApp, token: Option<&str>, link: &str) -> TestResponse {
    app.call(
        token,
        Method::GET,
        &format!("{PLAYLISTS}/shared/{link}"),
        None,
    )
    .await
}

/// An admin sets `isVisible` of a playlist or album.
async fn admin_visible(app: &TestApp, admin: &User, base: &str, cid: &str, visible: bool) -> Value {
    let response = patch_visible(app, admin.bearer(), base, cid, json!(visible)).await;
    let view = single(&response, 200, &visible_path(base, cid));
    assert_eq!(view["isVisible"], visible, "{view}");
    view
}

/// `/api/admin/{playlists|albums}/{cid}/visible` for the collection `cid` under `base`.
fn visible_path(base: &str, cid: &str) -> String {
    let kind = base.trim_start_matches("/api/");
    format!("/api/admin/{kind}/{cid}/visible")
}

/// `PATCH /api/admin/{playlists|albums}/{cid}/visible {isVisible}` as `token`.
async fn patch_visible(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    cid: &str,
    is_visible: Value,
) -> TestResponse {
    let body = json!({ "isVisible": is_visible });
    patch(app, token, &visible_path(base, cid), body).await
}

/// The catalog deletes a song (as its artist or an admin).
async fn delete_song(app: &TestApp, user: &User, song_id: &str) {
    let response = delete(app, user.bearer(), &format!("/api/songs/{song_id}")).await;
    assert_no_content(&response, "delete the song");
}

/// The multipart body for a create or PATCH.
async fn send_form(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    form: &Form,
) -> TestResponse {
    call_raw(
        app,
        token,
        method,
        path,
        &form.content_type(),
        form.encode(),
    )
    .await
}

/// A view's track (the one of `entry`).
#[track_caller]
fn track_of(view: &Value, entry: &str) -> Value {
    tracks(view)
        .into_iter()
        .find(|t| t["entryId"] == entry)
        .unwrap_or_else(|| panic!("entry {entry} in {view}"))
}

// ---------------------------------------------------------------------------------------------
// Every route, once
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_playlist_route_answers_as_documented() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let editor = listener(&app, "Eddie").await;
    let friend = listener(&app, "Fern").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let songs = songs(&app, &band, 3).await;

    // POST /api/playlists: 201, Location, ETag "1", private by default, no tracks.
    let response = create(
        &app,
        owner.bearer(),
        PLAYLISTS,
        json!({ "title": "  Road trip  ", "description": "for the car" }),
    )
    .await;
    let view = single(&response, 201, "create");
    let pid = id(&view);
    assert_eq!(
        response.header("location").as_deref(),
        Some(format!("{PLAYLISTS}/{pid}").as_str())
    );
    assert_eq!(response.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(view["kind"], "playlist");
    assert_eq!(view["title"], "Road trip", "the title is trimmed");
    assert_eq!(view["description"], "for the car");
    assert_eq!(view["ownerId"], owner.id.as_str());
    assert_eq!(view["ownerName"], owner.name.as_str());
    assert_eq!(view["isPublic"], false);
    assert_eq!(view["isVisible"], true);
    assert_eq!(view["revision"], 1);
    assert_eq!(view["trackCount"], 0);
    assert_eq!(view["hasCover"], false);
    assert_eq!(view["access"], "owner");
    assert_eq!(view["tracks"], json!([]));

    // GET /api/playlists/:id
    let got = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(got["id"], pid.as_str());
    assert_eq!(got["revision"], 1);

    // PATCH /api/playlists/:id
    let response = patch(
        &app,
        owner.bearer(),
        &format!("{PLAYLISTS}/{pid}"),
        json!({ "title": "Road trip 2", "isPublic": true, "description": null }),
    )
    .await;
    let view = single(&response, 200, "patch");
    assert_eq!(view["title"], "Road trip 2");
    assert_eq!(view["isPublic"], true);
    assert_eq!(
        view["description"],
        Value::Null,
        "null clears the description"
    );
    assert_eq!(view["revision"], 2);
    assert_eq!(view["tracks"], json!([]));

    // An empty PATCH: 200, no new revision.
    let response = patch(
        &app,
        owner.bearer(),
        &format!("{PLAYLISTS}/{pid}"),
        json!({}),
    )
    .await;
    let view = single(&response, 200, "empty patch");
    assert_eq!(view["revision"], 2, "an empty patch is no write: {view}");

    // POST songs, one: 201 {entry, revision}.
    let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, &songs[0], None).await;
    assert_eq!(etag(&response), 3, "a write answers its new ETag");
    let (rev, entries) = added(&response, "add one");
    assert_eq!(rev, 3);
    assert_eq!(entries[0]["songId"], songs[0].as_str());
    assert_eq!(entries[0]["position"], 0);
    assert_eq!(entries[0]["addedBy"], owner.id.as_str());
    assert_time(&entries[0]["addedAt"], "addedAt");
    let first = entries[0]["entryId"].as_str().unwrap().to_string();

    // POST songs, several: 201 {entries, revision}.
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &songs[1..], None).await;
    let (rev, entries) = added(&response, "add two");
    assert_eq!(rev, 4);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["position"], 1);
    assert_eq!(entries[1]["position"], 2);

    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(track_songs(&view), songs);
    assert_gap_free(&view);
    for track in tracks(&view) {
        assert_eq!(track["available"], true, "{track}");
        assert_eq!(track["addedBy"], owner.id.as_str());
    }

    // POST songs/move
    let response = move_entry(&app, owner.bearer(), PLAYLISTS, &pid, &first, 2).await;
    let (rev, order) = order_answer(&response, "move");
    assert_eq!(rev, 5);
    assert_eq!(order[2], first);

    // PUT songs
    let reversed: Vec<String> = order.iter().rev().cloned().collect();
    let response = put_order(&app, owner.bearer(), PLAYLISTS, &pid, &reversed).await;
    let (rev, order) = order_answer(&response, "put");
    assert_eq!(rev, 6);
    assert_eq!(order, reversed);

    // DELETE songs/:entryId
    let response = delete(
        &app,
        owner.bearer(),
        &format!("{PLAYLISTS}/{pid}/songs/{first}"),
    )
    .await;
    assert_no_content(&response, "remove an entry");
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(view["revision"], 7);
    assert_eq!(track_entries(&view), reversed[1..].to_vec());
    assert_gap_free(&view);

    // Collaborators: POST, GET, DELETE.
    add_editor(&app, &owner, &pid, &editor).await;
    let response = collaborators(&app, editor.bearer(), &pid).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(object_keys(&body), string_set(&["items"]));
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(
        object_keys(&items[0]),
        string_set(&["userId", "role", "addedAt"])
    );
    assert_eq!(items[0]["userId"], editor.id.as_str());
    assert_eq!(items[0]["role"], "editor");
    let response = add_collaborator(&app, owner.bearer(), &pid, &editor.id).await;
    assert_problem(&response, 409, "already a collaborator");
    let response = add_collaborator(&app, owner.bearer(), &pid, UNKNOWN_ID).await;
    assert_problem(&response, 422, "an unknown user");
    let response = add_collaborator(&app, owner.bearer(), &pid, &owner.id).await;
    assert_problem(&response, 422, "the owner as collaborator");
    let view = view_ok(&app, editor.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(view["access"], "editor");
    add_editor(&app, &owner, &pid, &friend).await;
    let response = remove_collaborator(&app, friend.bearer(), &pid, &editor.id).await;
    assert_problem(&response, 403, "an editor removes another");
    let response = remove_collaborator(&app, friend.bearer(), &pid, &friend.id).await;
    assert_no_content(&response, "the other editor leaves");
    let response = remove_collaborator(&app, editor.bearer(), &pid, &editor.id).await;
    assert_no_content(&response, "the editor leaves");
    assert!(collaborator_ids(&app, &owner, &pid).await.is_empty());
    let response = add_song(&app, editor.bearer(), PLAYLISTS, &pid, &songs[0], None).await;
    // The playlist is public by now: the former editor still sees it, as anyone does.
    assert_problem(&response, 403, "a former editor of a public playlist adds");
    assert_eq!(
        view_ok(&app, editor.bearer(), PLAYLISTS, &pid).await["access"],
        "public"
    );
    add_editor(&app, &owner, &pid, &editor).await;
    let response = remove_collaborator(&app, owner.bearer(), &pid, &editor.id).await;
    assert_no_content(&response, "the owner removes the editor");
    assert!(collaborator_ids(&app, &owner, &pid).await.is_empty());

    // Share: POST (link and user), GET, DELETE, shared/:token.
    let (link_id, token) = share_link(&app, &owner, &pid).await;
    let friends_link = share_with(&app, &owner, &pid, &friend).await;
    assert_eq!(
        link_ids(&app, &owner, &pid).await,
        BTreeSet::from([link_id.clone(), friends_link.clone()])
    );
    let view = single(&shared(&app, None, &token).await, 200, "shared");
    assert_eq!(view["access"], "link");
    assert_eq!(view["id"], pid.as_str());
    let view = view_ok(&app, friend.bearer(), PLAYLISTS, &pid).await;
    assert!(
        matches!(view["access"].as_str(), Some("viewer" | "public")),
        "shared with the friend: {view}"
    );
    let response = delete(
        &app,
        owner.bearer(),
        &format!("{PLAYLISTS}/{pid}/share/{link_id}"),
    )
    .await;
    assert_no_content(&response, "revoke");
    assert_problem(&shared(&app, None, &token).await, 404, "a revoked link");
    assert_eq!(
        link_ids(&app, &owner, &pid).await,
        BTreeSet::from([friends_link])
    );

    // Cover: none yet.
    let response = app.get(&format!("{PLAYLISTS}/{pid}/cover")).await;
    assert_problem(&response, 404, "no cover");

    // Lists.
    let mine = list_all(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await;
    assert_eq!(ids(&mine), vec![pid.clone()]);
    assert_eq!(mine[0]["access"], "owner");
    assert_eq!(mine[0]["trackCount"], 2);
    let public = list_all(&app, None, &format!("{PLAYLISTS}/public"), 20).await;
    assert_eq!(ids(&public), vec![pid.clone()]);
    let all = list_all(&app, admin.bearer(), "/api/admin/playlists", 20).await;
    assert_eq!(ids(&all), vec![pid.clone()]);

    // Admin visible.
    let view = admin_visible(&app, &admin, PLAYLISTS, &pid, false).await;
    assert_eq!(view["access"], "admin");
    admin_visible(&app, &admin, PLAYLISTS, &pid, true).await;

    // DELETE /api/playlists/:id
    let response = delete(&app, owner.bearer(), &format!("{PLAYLISTS}/{pid}")).await;
    assert_no_content(&response, "delete");
    assert_problem(
        &get_view(&app, owner.bearer(), PLAYLISTS, &pid).await,
        404,
        "deleted",
    );
    assert_problem(
        &get_view(&app, admin.bearer(), PLAYLISTS, &pid).await,
        404,
        "deleted",
    );
    assert!(
        list_all(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn every_album_route_answers_as_documented() {
    let app = start().await;
    let band = artist(&app, "Band").await;
    let fan = listener(&app, "Fan").await;
    let admin = admin(&app).await;
    let songs = songs(&app, &band, 3).await;

    // POST /api/albums: public by default.
    let response = create(
        &app,
        band.bearer(),
        ALBUMS,
        json!({ "title": "First light" }),
    )
    .await;
    let view = single(&response, 201, "create album");
    let aid = id(&view);
    assert_eq!(
        response.header("location").as_deref(),
        Some(format!("{ALBUMS}/{aid}").as_str())
    );
    assert_eq!(response.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(view["kind"], "album");
    assert_eq!(view["isPublic"], true, "albums are public by default");
    assert_eq!(view["description"], Value::Null);
    assert_eq!(view["access"], "owner");
    assert_eq!(view["tracks"], json!([]));

    // Tracks.
    let entries = add_ok(&app, &band, ALBUMS, &aid, &songs, None).await;
    let entry_ids = entry_ids_of(&entries);
    let response = move_entry(&app, band.bearer(), ALBUMS, &aid, &entry_ids[2], 0).await;
    let (_, order) = order_answer(&response, "move");
    assert_eq!(
        order,
        vec![
            entry_ids[2].clone(),
            entry_ids[0].clone(),
            entry_ids[1].clone()
        ]
    );
    let response = put_order(&app, band.bearer(), ALBUMS, &aid, &entry_ids).await;
    let (rev, order) = order_answer(&response, "put");
    assert_eq!(order, entry_ids);
    assert_eq!(rev, 4);
    let path = format!("{ALBUMS}/{aid}/songs/{}", entry_ids[1]);
    assert_no_content(&delete(&app, band.bearer(), &path).await, "remove");

    // GET as the public.
    let view = view_ok(&app, None, ALBUMS, &aid).await;
    assert_eq!(view["access"], "public");
    assert_eq!(track_songs(&view), vec![songs[0].clone(), songs[2].clone()]);
    assert_gap_free(&view);
    assert_eq!(view["revision"], 5);
    let view = view_ok(&app, fan.bearer(), ALBUMS, &aid).await;
    assert_eq!(view["access"], "public");

    // PATCH
    let response = patch(
        &app,
        band.bearer(),
        &format!("{ALBUMS}/{aid}"),
        json!({ "title": "First Light", "description": "debut" }),
    )
    .await;
    let view = single(&response, 200, "patch album");
    assert_eq!(view["title"], "First Light");
    assert_eq!(view["description"], "debut");
    assert_eq!(view["revision"], 6);

    // Lists.
    let listed = list_all(&app, None, ALBUMS, 20).await;
    assert_eq!(ids(&listed), vec![aid.clone()]);
    assert_eq!(listed[0]["trackCount"], 2);
    let listed = list_ids(&app, None, &format!("{ALBUMS}?artist={}", band.id), 20).await;
    assert_eq!(listed, vec![aid.clone()]);
    let mine = list_ids(&app, band.bearer(), &format!("{ALBUMS}/user/my-albums"), 20).await;
    assert_eq!(mine, vec![aid.clone()]);
    let all = list_ids(&app, admin.bearer(), "/api/admin/albums", 20).await;
    assert_eq!(all, vec![aid.clone()]);

    // Admin visible.
    admin_visible(&app, &admin, ALBUMS, &aid, false).await;
    assert_problem(
        &get_view(&app, None, ALBUMS, &aid).await,
        404,
        "a hidden album",
    );
    assert!(list_all(&app, None, ALBUMS, 20).await.is_empty());
    admin_visible(&app, &admin, ALBUMS, &aid, true).await;
    view_ok(&app, None, ALBUMS, &aid).await;

    // Cover: none.
    assert_problem(
        &app.get(&format!("{ALBUMS}/{aid}/cover")).await,
        404,
        "no cover",
    );

    // The last album.changed says what the album is now.
    let changed = eventually(WAIT, "album.changed with the last write", || async {
        events(&app, "album.changed")
            .await
            .into_iter()
            .rev()
            .find_map(|e| match e.payload {
                Event::AlbumChanged(c) if c.album_id == aid => Some(c),
                _ => None,
            })
            .filter(|c| c.title == "First Light")
    })
    .await;
    assert_eq!(changed.artist_id, band.id);
    assert_eq!(changed.description.as_deref(), Some("debut"));
    assert_eq!(changed.song_ids, vec![songs[0].clone(), songs[2].clone()]);
    assert!(changed.listed);

    // DELETE
    assert_no_content(
        &delete(&app, band.bearer(), &format!("{ALBUMS}/{aid}")).await,
        "delete",
    );
    assert_problem(
        &get_view(&app, band.bearer(), ALBUMS, &aid).await,
        404,
        "deleted",
    );
    assert!(list_all(&app, None, ALBUMS, 20).await.is_empty());
    let deleted = eventually(WAIT, "album.deleted", || async {
        events(&app, "album.deleted")
            .await
            .into_iter()
            .find_map(|e| match e.payload {
                Event::AlbumDeleted(d) if d.album_id == aid => Some(d),
                _ => None,
            })
    })
    .await;
    assert_eq!(deleted.artist_id, band.id);
    let changed = events(&app, "album.changed").await;
    assert!(
        changed
            .iter()
            .any(|e| matches!(&e.payload, Event::AlbumChanged(c) if c.album_id == aid)),
        "album.changed was published on album writes"
    );
}

// ---------------------------------------------------------------------------------------------
// Who may do what
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Owner,
    Editor,
    Viewer,
    Stranger,
    Anonymous,
    /// Anonymous, holding a share link.
    Link,
    Admin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    See,
    /// Add a song.
    ChangeTracks,
    /// Move the first entry down one.
    MoveTrack,
    /// PUT the current order reversed.
    ReorderTracks,
    /// Remove the last entry.
    RemoveTrack,
    ChangeSettings,
    Delete,
    Share,
    AddCollaborator,
    ListCollaborators,
}

const EVERYONE: [Who; 7] = [
    Who::Owner,
    Who::Editor,
    Who::Viewer,
    Who::Stranger,
    Who::Anonymous,
    Who::Link,
    Who::Admin,
];

const PLAYLIST_OPS: [Op; 10] = [
    Op::See,
    Op::ChangeTracks,
    Op::MoveTrack,
    Op::ReorderTracks,
    Op::RemoveTrack,
    Op::ChangeSettings,
    Op::Delete,
    Op::Share,
    Op::AddCollaborator,
    Op::ListCollaborators,
];

/// What each one gets for each operation on a playlist (private or public): the accepted
/// statuses (two only where the contract leaves a read by an anonymous caller open between
/// "sign in" and "not for you").
fn playlist_expected(public: bool, who: Who, op: Op) -> &'static [u16] {
    use Op::*;
    use Who::*;
    match (who, op) {
        (Owner, See) => &[200],
        (Owner, ChangeTracks) => &[201],
        (Owner | Editor, MoveTrack | ReorderTracks) => &[200],
        (Owner | Editor, RemoveTrack) => &[204],
        (Owner, ChangeSettings) => &[200],
        (Owner, Delete) => &[204],
        (Owner, Share) => &[201],
        (Owner, AddCollaborator) => &[201],
        (Owner, ListCollaborators) => &[200],

        (Editor, See) => &[200],
        (Editor, ChangeTracks) => &[201],
        (Editor, ListCollaborators) => &[200],
        (Editor, _) => &[403],

        (Viewer, See) => &[200],
        (Viewer, _) => &[403],

        (Stranger, See) if public => &[200],
        (Stranger, _) if public => &[403],
        (Stranger, _) => &[404],

        (Anonymous, See) if public => &[200],
        (Anonymous, See) => &[404],
        (Link, See) => &[200],
        (Anonymous | Link, ListCollaborators) if public => &[401, 403],
        (Anonymous | Link, ListCollaborators) => &[401, 404],
        (Anonymous | Link, _) => &[401],

        (Admin, See) => &[200],
        (Admin, Delete) => &[204],
        (Admin, _) => &[403],
    }
}

/// How `who` is told apart in a view's `access` (None: not checked, the contract leaving it
/// open between two answers).
fn expected_access(public: bool, who: Who) -> Option<&'static str> {
    match who {
        Who::Owner => Some("owner"),
        Who::Editor => Some("editor"),
        Who::Viewer if !public => Some("viewer"),
        Who::Admin if !public => Some("admin"),
        Who::Stranger | Who::Anonymous => Some("public"),
        Who::Link => Some("link"),
        _ => None,
    }
}

struct People {
    owner: User,
    editor: User,
    viewer: User,
    stranger: User,
    admin: User,
    /// Whom the owner adds as a collaborator in the `AddCollaborator` cells.
    spare: User,
}

impl People {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Owner => self.owner.bearer(),
            Who::Editor => self.editor.bearer(),
            Who::Viewer => self.viewer.bearer(),
            Who::Stranger => self.stranger.bearer(),
            Who::Admin => self.admin.bearer(),
            Who::Anonymous | Who::Link => None,
        }
    }
}

/// A playlist of `people.owner` with one song, `people.editor` as editor, shared with
/// `people.viewer`, and a link: (id, link token).
async fn matrix_playlist(
    app: &TestApp,
    people: &People,
    public: bool,
    song: &str,
) -> (String, String) {
    let pid = spindle_tests::playlists::playlist(app, &people.owner.token, "Matrix", public).await;
    add_ok(
        app,
        &people.owner,
        PLAYLISTS,
        &pid,
        &[s(song), s(song)],
        None,
    )
    .await;
    add_editor(app, &people.owner, &pid, &people.editor).await;
    share_with(app, &people.owner, &pid, &people.viewer).await;
    let (_, link) = share_link(app, &people.owner, &pid).await;
    (pid, link)
}

/// Everything about a playlist that a denied request must leave as it was.
async fn playlist_snapshot(app: &TestApp, owner: &User, pid: &str) -> String {
    let st = state(app, owner, PLAYLISTS, pid).await;
    let collaborators = collaborator_ids(app, owner, pid).await;
    let links = link_ids(app, owner, pid).await;
    format!("{st:?} {collaborators:?} {links:?}")
}

async fn attempt(
    app: &TestApp,
    people: &People,
    who: Who,
    op: Op,
    pid: &str,
    link: &str,
    song: &str,
) -> TestResponse {
    let token = people.token(who);
    let path = format!("{PLAYLISTS}/{pid}");
    match op {
        Op::See if who == Who::Link => shared(app, None, link).await,
        Op::See => get_view(app, token, PLAYLISTS, pid).await,
        Op::ChangeTracks => add_song(app, token, PLAYLISTS, pid, song, None).await,
        Op::MoveTrack | Op::ReorderTracks | Op::RemoveTrack => {
            let entries = state(app, &people.owner, PLAYLISTS, pid).await.4;
            assert!(entries.len() >= 2, "{op:?}: entries to work on");
            match op {
                Op::MoveTrack => move_entry(app, token, PLAYLISTS, pid, &entries[0], 1).await,
                Op::ReorderTracks => {
                    let reversed: Vec<String> = entries.iter().rev().cloned().collect();
                    put_order(app, token, PLAYLISTS, pid, &reversed).await
                }
                _ => {
                    let last = entries.last().unwrap();
                    delete(app, token, &format!("{path}/songs/{last}")).await
                }
            }
        }
        Op::ChangeSettings => {
            patch(
                app,
                token,
                &path,
                json!({ "title": format!("{who:?} was here") }),
            )
            .await
        }
        Op::Delete => delete(app, token, &path).await,
        Op::Share => share(app, token, pid, json!({})).await,
        Op::AddCollaborator => add_collaborator(app, token, pid, &people.spare.id).await,
        Op::ListCollaborators => collaborators(app, token, pid).await,
    }
}

#[tokio::test]
async fn the_playlist_permission_matrix_holds() {
    let app = start().await;
    let people = People {
        owner: listener(&app, "Olive").await,
        editor: listener(&app, "Eddie").await,
        viewer: listener(&app, "Vera").await,
        stranger: listener(&app, "Stan").await,
        admin: admin(&app).await,
        spare: listener(&app, "Spare").await,
    };
    let band = artist(&app, "Band").await;
    let song = songs(&app, &band, 1).await.remove(0);

    let mut wrong = Vec::new();
    for public in [false, true] {
        let (pid, link) = matrix_playlist(&app, &people, public, &song).await;
        for who in EVERYONE {
            for op in PLAYLIST_OPS {
                let expected = playlist_expected(public, who, op);
                let cell = format!(
                    "{} playlist, {who:?}, {op:?}",
                    if public { "public" } else { "private" }
                );
                let success = expected.iter().all(|s| *s < 300);
                // A delete that succeeds gets a playlist of its own.
                let (target, target_link) = if op == Op::Delete && success {
                    matrix_playlist(&app, &people, public, &song).await
                } else {
                    (pid.clone(), link.clone())
                };
                let before = playlist_snapshot(&app, &people.owner, &target).await;
                let response = attempt(&app, &people, who, op, &target, &target_link, &song).await;
                if !expected.contains(&response.status) {
                    wrong.push(format!(
                        "{cell}: expected {expected:?}, got {} {}",
                        response.status,
                        response.text()
                    ));
                    continue;
                }
                if !success {
                    assert_problem(&response, response.status, &cell);
                    let after = playlist_snapshot(&app, &people.owner, &target).await;
                    if before != after {
                        wrong.push(format!("{cell}: denied, yet changed: {before} → {after}"));
                    }
                    continue;
                }
                match op {
                    Op::See => {
                        let view = single(&response, 200, &cell);
                        if let Some(access) = expected_access(public, who)
                            && view["access"] != access
                        {
                            wrong.push(format!("{cell}: access {} not {access}", view["access"]));
                        }
                        let stored = state(&app, &people.owner, PLAYLISTS, &target).await.4;
                        if track_entries(&view) != stored {
                            wrong.push(format!(
                                "{cell}: entries {:?}, the owner's {stored:?}",
                                track_entries(&view)
                            ));
                        }
                    }
                    Op::Delete => {
                        let gone = get_view(&app, people.owner.bearer(), PLAYLISTS, &target).await;
                        if gone.status != 404 {
                            wrong.push(format!("{cell}: still there after 204: {}", gone.status));
                        }
                    }
                    Op::AddCollaborator => {
                        let ids = collaborator_ids(&app, &people.owner, &target).await;
                        assert!(ids.contains(&people.spare.id), "{cell}: {ids:?}");
                        let path =
                            format!("{PLAYLISTS}/{target}/collaborators/{}", people.spare.id);
                        assert_no_content(&delete(&app, people.owner.bearer(), &path).await, &cell);
                    }
                    Op::ChangeTracks => {
                        let (rev, _) = added(&response, &cell);
                        let view = view_ok(&app, people.owner.bearer(), PLAYLISTS, &target).await;
                        assert_eq!(view["revision"], rev, "{cell}");
                        assert_gap_free(&view);
                    }
                    Op::ChangeSettings => {
                        let view = single(&response, 200, &cell);
                        assert_eq!(view["title"], format!("{who:?} was here"), "{cell}");
                    }
                    Op::MoveTrack | Op::ReorderTracks => {
                        let (rev, order) = order_answer(&response, &cell);
                        let after = state(&app, &people.owner, PLAYLISTS, &target).await;
                        assert_eq!((after.0, &after.4), (rev, &order), "{cell}");
                    }
                    Op::RemoveTrack => {
                        assert_no_content(&response, &cell);
                        // `state` checks the order is still gap-free.
                        state(&app, &people.owner, PLAYLISTS, &target).await;
                    }
                    Op::Share | Op::ListCollaborators => {}
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AlbumWho {
    Owner,
    OtherArtist,
    Listener,
    Anonymous,
    Admin,
}

fn album_expected(public: bool, who: AlbumWho, op: Op) -> u16 {
    use AlbumWho::*;
    match (who, op) {
        (Owner, Op::See) => 200,
        (Owner, Op::ChangeTracks) => 201,
        (Owner, Op::ChangeSettings) => 200,
        (Owner, Op::Delete) => 204,
        (Admin, Op::See) => 200,
        (Admin, Op::Delete) => 204,
        (Admin, _) => 403,
        (Anonymous, Op::See) if public => 200,
        (Anonymous, Op::See) => 404,
        (Anonymous, _) => 401,
        (OtherArtist | Listener, Op::See) if public => 200,
        (OtherArtist | Listener, _) if public => 403,
        (OtherArtist | Listener, _) => 404,
        (_, op) => panic!("{op:?} is not an album operation"),
    }
}

#[tokio::test]
async fn the_album_permission_matrix_holds() {
    let app = start().await;
    let band = artist(&app, "Band").await;
    let rival = artist(&app, "Rival").await;
    let fan = listener(&app, "Fan").await;
    let admin = admin(&app).await;
    let songs = songs(&app, &band, 2).await;
    let token = |who: AlbumWho| match who {
        AlbumWho::Owner => band.bearer(),
        AlbumWho::OtherArtist => rival.bearer(),
        AlbumWho::Listener => fan.bearer(),
        AlbumWho::Admin => admin.bearer(),
        AlbumWho::Anonymous => None,
    };
    let new_album = |public: bool| {
        let app = &app;
        let band = &band;
        let songs = &songs;
        async move {
            let view = create_ok(
                app,
                &band.token,
                ALBUMS,
                json!({ "title": "Matrix", "isPublic": public }),
            )
            .await;
            let aid = id(&view);
            add_ok(app, band, ALBUMS, &aid, &songs[..1], None).await;
            aid
        }
    };

    let mut wrong = Vec::new();
    for public in [true, false] {
        let aid = new_album(public).await;
        for who in [
            AlbumWho::Owner,
            AlbumWho::OtherArtist,
            AlbumWho::Listener,
            AlbumWho::Anonymous,
            AlbumWho::Admin,
        ] {
            for op in [Op::See, Op::ChangeTracks, Op::ChangeSettings, Op::Delete] {
                let expected = album_expected(public, who, op);
                let cell = format!(
                    "{} album, {who:?}, {op:?}",
                    if public { "public" } else { "private" }
                );
                let target = if op == Op::Delete && expected == 204 {
                    new_album(public).await
                } else {
                    aid.clone()
                };
                let before = state(&app, &band, ALBUMS, &target).await;
                let path = format!("{ALBUMS}/{target}");
                let response = match op {
                    Op::See => get_view(&app, token(who), ALBUMS, &target).await,
                    // The owner's own song, not on the album yet.
                    Op::ChangeTracks => {
                        add_song(&app, token(who), ALBUMS, &target, &songs[1], None).await
                    }
                    Op::ChangeSettings => {
                        patch(&app, token(who), &path, json!({ "title": "Renamed" })).await
                    }
                    _ => delete(&app, token(who), &path).await,
                };
                if response.status != expected {
                    wrong.push(format!(
                        "{cell}: expected {expected}, got {} {}",
                        response.status,
                        response.text()
                    ));
                    continue;
                }
                if expected >= 400 {
                    assert_problem(&response, expected, &cell);
                    let after = state(&app, &band, ALBUMS, &target).await;
                    if before != after {
                        wrong.push(format!(
                            "{cell}: denied, yet changed: {before:?} → {after:?}"
                        ));
                    }
                } else if op == Op::Delete {
                    let gone = get_view(&app, band.bearer(), ALBUMS, &target).await;
                    assert_problem(&gone, 404, &cell);
                } else if op == Op::See {
                    let view = single(&response, 200, &cell);
                    assert_eq!(track_entries(&view), before.4, "{cell}");
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // A listener makes no album; an admin may.
    let response = create(&app, fan.bearer(), ALBUMS, json!({ "title": "Mixtape" })).await;
    assert_problem(&response, 403, "a listener's album");
    let response = create(&app, None, ALBUMS, json!({ "title": "Mixtape" })).await;
    assert_problem(&response, 401, "an anonymous album");
    let all = list_all(&app, admin.bearer(), "/api/admin/albums", 100).await;
    assert!(
        all.iter().all(|a| a["ownerId"] == band.id.as_str()),
        "no album of the fan's: {all:?}"
    );
    let view = create_ok(
        &app,
        &admin.token,
        ALBUMS,
        json!({ "title": "Staff picks" }),
    )
    .await;
    assert_eq!(view["kind"], "album");
    assert_eq!(view["ownerId"], admin.id.as_str());
}

// ---------------------------------------------------------------------------------------------
// Track order
// ---------------------------------------------------------------------------------------------

/// The song ids of a playlist's tracks as its owner sees them, checked gap-free.
async fn order_of(app: &TestApp, owner: &User, base: &str, cid: &str) -> Vec<String> {
    let view = view_ok(app, owner.bearer(), base, cid).await;
    assert_gap_free(&view);
    track_songs(&view)
}

#[tokio::test]
async fn adding_at_a_position_shifts_the_rest_and_keeps_the_order_gap_free() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let [a, b, c, d, e]: [String; 5] = songs(&app, &band, 5).await.try_into().unwrap();
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Order", false).await;

    let steps: Vec<(Vec<&String>, Option<usize>, Vec<&String>)> = vec![
        (vec![&a], None, vec![&a]),
        (vec![&b], Some(0), vec![&b, &a]),
        (vec![&c], Some(1), vec![&b, &c, &a]),
        (vec![&d], Some(3), vec![&b, &c, &a, &d]),
        (vec![&e, &a], Some(2), vec![&b, &c, &e, &a, &a, &d]),
        (vec![&c], None, vec![&b, &c, &e, &a, &a, &d, &c]),
        (
            vec![&d, &d],
            Some(0),
            vec![&d, &d, &b, &c, &e, &a, &a, &d, &c],
        ),
    ];
    let mut revision = 1;
    for (add, position, expected) in steps {
        let add: Vec<String> = add.into_iter().cloned().collect();
        let before = order_of(&app, &owner, PLAYLISTS, &pid).await.len();
        let response = if add.len() == 1 && position.is_some() {
            add_song(&app, owner.bearer(), PLAYLISTS, &pid, &add[0], position).await
        } else {
            add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &add, position).await
        };
        let (rev, entries) = added(&response, &format!("add {add:?} at {position:?}"));
        revision += 1;
        assert_eq!(rev, revision, "one write, one revision");
        let at = position.unwrap_or(before) as u64;
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry["position"], at + i as u64, "{entry}");
            assert_eq!(entry["songId"], add[i].as_str());
        }
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(order_of(&app, &owner, PLAYLISTS, &pid).await, expected);
    }

    // Past the end: 422, nothing added.
    let len = order_of(&app, &owner, PLAYLISTS, &pid).await.len();
    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, &a, Some(len + 1)).await;
    assert_problem(&response, 422, "a position past the end");
    let response = add_songs(
        &app,
        owner.bearer(),
        PLAYLISTS,
        &pid,
        std::slice::from_ref(&a),
        Some(len + 5),
    )
    .await;
    assert_problem(&response, 422, "a batch position past the end");
    let response = post(
        &app,
        owner.bearer(),
        &format!("{PLAYLISTS}/{pid}/songs"),
        json!({ "songId": a, "position": -1 }),
    )
    .await;
    assert_problem(&response, 422, "a negative position");
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing changed").await;
}

#[tokio::test]
async fn removing_and_moving_entries_keep_the_exact_order() {
    let app = start().await;
    let (owner, editor, songs, pid) = edited_playlist(&app, 5, "Order", true).await;
    let entries = add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    let e = entry_ids_of(&entries);
    let entries_of = |view: &Value| track_entries(view);

    // Remove the middle one (the editor does).
    let path = format!("{PLAYLISTS}/{pid}/songs/{}", e[2]);
    assert_no_content(&delete(&app, editor.bearer(), &path).await, "remove e2");
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_gap_free(&view);
    assert_eq!(
        entries_of(&view),
        vec![e[0].clone(), e[1].clone(), e[3].clone(), e[4].clone()]
    );
    // Twice: 404, nothing changed.
    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    assert_problem(
        &delete(&app, owner.bearer(), &path).await,
        404,
        "an entry removed already",
    );
    let unknown = format!("{PLAYLISTS}/{pid}/songs/{UNKNOWN_ID}");
    assert_problem(
        &delete(&app, owner.bearer(), &unknown).await,
        404,
        "an unknown entry",
    );
    assert_eq!(state(&app, &owner, PLAYLISTS, &pid).await, before);

    // Moves: [e0 e1 e3 e4]
    let moves: Vec<(&String, i64, [&String; 4])> = vec![
        // e4 up one
        (&e[4], 2, [&e[0], &e[1], &e[4], &e[3]]),
        // e0 down one
        (&e[0], 1, [&e[1], &e[0], &e[4], &e[3]]),
        // the last to the top
        (&e[3], 0, [&e[3], &e[1], &e[0], &e[4]]),
        // the top to the bottom
        (&e[3], 3, [&e[1], &e[0], &e[4], &e[3]]),
        // where it is
        (&e[0], 1, [&e[1], &e[0], &e[4], &e[3]]),
    ];
    for (i, (entry, to, expected)) in moves.into_iter().enumerate() {
        let who = if i % 2 == 0 { &owner } else { &editor };
        let response = move_entry(&app, who.bearer(), PLAYLISTS, &pid, entry, to).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        let (rev, order) = order_answer(&response, &format!("move {entry} to {to}"));
        assert_eq!(
            order, expected,
            "the answer's order after moving {entry} to {to}"
        );
        let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
        assert_gap_free(&view);
        assert_eq!(entries_of(&view), expected, "moving {entry} to {to}");
        assert_eq!(view["revision"], rev);
    }

    // Out of range and unknown: nothing changed.
    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    for to in [4, -1, 100] {
        let response = move_entry(&app, owner.bearer(), PLAYLISTS, &pid, &e[0], to).await;
        assert_problem(&response, 422, &format!("toPosition {to}"));
    }
    let response = move_entry(&app, owner.bearer(), PLAYLISTS, &pid, UNKNOWN_ID, 0).await;
    assert!(
        matches!(response.status, 404 | 422),
        "moving an unknown entry: {} {}",
        response.status,
        response.text()
    );
    assert_problem(&response, response.status, "moving an unknown entry");
    let response = move_entry(&app, owner.bearer(), PLAYLISTS, &pid, &e[2], 0).await;
    assert!(
        matches!(response.status, 404 | 422),
        "moving a removed entry: {}",
        response.status
    );
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing changed").await;
}

#[tokio::test]
async fn putting_the_full_order_takes_exactly_a_permutation() {
    let app = start().await;
    let (owner, editor, songs, pid) = edited_playlist(&app, 3, "Order", false).await;
    // The same song twice: two entries.
    let mut with_twice = songs.clone();
    with_twice.push(songs[0].clone());
    let entries = add_ok(&app, &owner, PLAYLISTS, &pid, &with_twice, None).await;
    let e = entry_ids_of(&entries);
    assert_eq!(
        e.iter().collect::<BTreeSet<_>>().len(),
        4,
        "four distinct entries"
    );

    let orders = [
        vec![e[3].clone(), e[2].clone(), e[1].clone(), e[0].clone()],
        vec![e[1].clone(), e[3].clone(), e[0].clone(), e[2].clone()],
        e.clone(),
    ];
    for (i, order) in orders.iter().enumerate() {
        let who = if i == 1 { &editor } else { &owner };
        let response = put_order(&app, who.bearer(), PLAYLISTS, &pid, order).await;
        let (rev, answered) = order_answer(&response, &format!("PUT {order:?}"));
        assert_eq!(&answered, order);
        let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
        assert_gap_free(&view);
        assert_eq!(&track_entries(&view), order);
        assert_eq!(view["revision"], rev);
        let expected_songs: Vec<String> = order
            .iter()
            .map(|entry| with_twice[e.iter().position(|x| x == entry).unwrap()].clone())
            .collect();
        assert_eq!(track_songs(&view), expected_songs);
    }

    // Not a permutation: 422, nothing changed.
    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    let bad: Vec<(&str, Vec<String>)> = vec![
        ("one missing", e[..3].to_vec()),
        (
            "one twice",
            vec![e[0].clone(), e[1].clone(), e[2].clone(), e[2].clone()],
        ),
        (
            "one twice, one missing",
            vec![e[0].clone(), e[0].clone(), e[1].clone(), e[2].clone()],
        ),
        (
            "one unknown",
            vec![e[0].clone(), e[1].clone(), e[2].clone(), s(UNKNOWN_ID)],
        ),
        ("one extra", {
            let mut all = e.clone();
            all.push(s(UNKNOWN_ID));
            all
        }),
        ("empty", vec![]),
    ];
    for (what, order) in bad {
        let response = put_order(&app, owner.bearer(), PLAYLISTS, &pid, &order).await;
        assert_problem(&response, 422, what);
    }
    let response = app
        .call(
            owner.bearer(),
            Method::PUT,
            &format!("{PLAYLISTS}/{pid}/songs"),
            Some(json!({ "entryIds": "all" })),
        )
        .await;
    assert_problem(&response, 422, "entryIds not a list");
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing changed").await;
}

// ---------------------------------------------------------------------------------------------
// Revisions, ETag and If-Match
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_etag_is_the_revision_and_grows_by_one_per_write() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let editor = listener(&app, "Eddie").await;
    let band = artist(&app, "Band").await;
    let songs = songs(&app, &band, 3).await;
    let response = create(&app, owner.bearer(), PLAYLISTS, json!({ "title": "Revs" })).await;
    let pid = id(&single(&response, 201, "create"));
    assert_eq!(etag(&response), 1);
    add_editor(&app, &owner, &pid, &editor).await;

    let mut expected = 1;
    let check = |response: &TestResponse, expected: u64, what: &str| {
        assert!(
            response.status < 300,
            "{what}: {} {}",
            response.status,
            response.text()
        );
        assert_eq!(
            etag(response),
            expected,
            "{what}: the write answers the new ETag"
        );
    };
    let path = format!("{PLAYLISTS}/{pid}");
    // Each write, by the owner or the editor, and the revision the view shows afterwards.
    let response = patch(&app, owner.bearer(), &path, json!({ "title": "Revs 2" })).await;
    expected += 1;
    check(&response, expected, "patch");
    let response = add_song(&app, editor.bearer(), PLAYLISTS, &pid, &songs[0], None).await;
    expected += 1;
    check(&response, expected, "add one");
    assert_eq!(added(&response, "add one").0, expected);
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &songs[1..], Some(0)).await;
    expected += 1;
    check(&response, expected, "add two");
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    let entries = track_entries(&view);
    let response = move_entry(&app, editor.bearer(), PLAYLISTS, &pid, &entries[0], 2).await;
    expected += 1;
    check(&response, expected, "move");
    assert_eq!(order_answer(&response, "move").0, expected);
    let reversed: Vec<String> = entries.iter().rev().cloned().collect();
    let response = put_order(&app, owner.bearer(), PLAYLISTS, &pid, &reversed).await;
    expected += 1;
    check(&response, expected, "put");
    let response = delete(
        &app,
        editor.bearer(),
        &format!("{path}/songs/{}", entries[1]),
    )
    .await;
    expected += 1;
    check(&response, expected, "remove");
    let response = patch(
        &app,
        owner.bearer(),
        &path,
        json!({ "description": "d", "isPublic": true }),
    )
    .await;
    expected += 1;
    check(&response, expected, "patch two fields at once");

    for token in [owner.bearer(), editor.bearer(), None] {
        let response = get_view(&app, token, PLAYLISTS, &pid).await;
        let view = single(&response, 200, "get");
        assert_eq!(view["revision"], expected);
        assert_eq!(response.header("etag"), Some(format!("\"{expected}\"")));
    }
    // Reads and an empty patch are no writes.
    let response = patch(&app, owner.bearer(), &path, json!({})).await;
    assert_eq!(etag(&response), expected, "an empty patch");
    assert_eq!(revision(&app, &owner, PLAYLISTS, &pid).await, expected);
}

/// One write of a [`race`]: as whom, how, where, what.
type Write<'a> = (Option<&'a str>, Method, String, Value);

/// Sends two writes at once, both with `If-Match: "{rev}"`: their answers in order.
async fn race(
    app: &TestApp,
    first: Write<'_>,
    second: Write<'_>,
    rev: u64,
) -> (TestResponse, TestResponse) {
    let tag = Some(tag(rev));
    let (a, b) = (first, second);
    tokio::join!(
        call_if(app, a.0, a.1, &a.2, Some(a.3), tag.as_deref()),
        call_if(app, b.0, b.1, &b.2, Some(b.3), tag.as_deref()),
    )
}

/// Of the two answers to a [`race`], exactly one is `won` and the other 412: whether the first
/// won.
#[track_caller]
fn one_wins(a: &TestResponse, b: &TestResponse, won: u16, what: &str) -> bool {
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [won, 412], "{what}: {} / {}", a.text(), b.text());
    a.status == won
}

#[tokio::test]
async fn of_two_concurrent_writes_with_the_same_if_match_exactly_one_wins() {
    let app = start().await;
    let (owner, editor, songs, pid) = edited_playlist(&app, 6, "Race", false).await;
    let songs_path = format!("{PLAYLISTS}/{pid}/songs");
    let path = format!("{PLAYLISTS}/{pid}");

    // Adds: owner and editor, each their own song.
    for round in 0..3 {
        let (rev, _, _, _, before) = state(&app, &owner, PLAYLISTS, &pid).await;
        let (mine, theirs) = (&songs[2 * round], &songs[2 * round + 1]);
        let add = |token, song| {
            (
                token,
                Method::POST,
                songs_path.clone(),
                json!({ "songId": song }),
            )
        };
        let (a, b) = race(
            &app,
            add(owner.bearer(), mine),
            add(editor.bearer(), theirs),
            rev,
        )
        .await;
        let first_won = one_wins(&a, &b, 201, &format!("round {round}"));
        let (winner, loser) = if first_won { (mine, &b) } else { (theirs, &a) };
        assert_problem(loser, 412, "the loser");
        let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
        assert_eq!(view["revision"], rev + 1, "round {round}: one write");
        assert_gap_free(&view);
        assert_eq!(
            track_entries(&view).len(),
            before.len() + 1,
            "round {round}: one entry more"
        );
        assert_eq!(
            track_songs(&view).last(),
            Some(winner),
            "round {round}: the winner's song"
        );
    }

    // Settings: two titles.
    for round in 0..3 {
        let rev = revision(&app, &owner, PLAYLISTS, &pid).await;
        let (ta, tb) = (format!("A{round}"), format!("B{round}"));
        let rename = |title: &str| {
            (
                owner.bearer(),
                Method::PATCH,
                path.clone(),
                json!({ "title": title }),
            )
        };
        let (a, b) = race(&app, rename(&ta), rename(&tb), rev).await;
        let first_won = one_wins(&a, &b, 200, &format!("round {round}"));
        let winner = if first_won { &ta } else { &tb };
        let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
        assert_eq!(&view["title"], winner.as_str(), "round {round}");
        assert_eq!(view["revision"], rev + 1);
    }

    // Without If-Match, writes at once are serialised: every one applied, one revision each.
    let (rev, _, _, _, before) = state(&app, &owner, PLAYLISTS, &pid).await;
    let adds = (0..8).map(|i| {
        let (token, song) = if i % 2 == 0 {
            (owner.bearer(), &songs[i % songs.len()])
        } else {
            (editor.bearer(), &songs[(i + 1) % songs.len()])
        };
        add_song(&app, token, PLAYLISTS, &pid, song, None)
    });
    let answers = futures::future::join_all(adds).await;
    let mut revisions: Vec<u64> = answers
        .iter()
        .map(|response| added(response, "an add at once").0)
        .collect();
    revisions.sort();
    let expected: Vec<u64> = (rev + 1..=rev + 8).collect();
    assert_eq!(revisions, expected, "each write its own revision");
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_gap_free(&view);
    assert_eq!(view["revision"], rev + 8);
    assert_eq!(track_entries(&view).len(), before.len() + 8, "none lost");
    assert_eq!(
        track_entries(&view)[..before.len()],
        before[..],
        "the old ones first"
    );

    // A move against a full reorder.
    let (rev, _, _, _, entries) = state(&app, &owner, PLAYLISTS, &pid).await;
    let reversed: Vec<String> = entries.iter().rev().cloned().collect();
    let (a, b) = race(
        &app,
        (
            editor.bearer(),
            Method::POST,
            format!("{songs_path}/move"),
            json!({ "entryId": entries[0], "toPosition": 1 }),
        ),
        (
            owner.bearer(),
            Method::PUT,
            songs_path.clone(),
            json!({ "entryIds": reversed }),
        ),
        rev,
    )
    .await;
    let first_won = one_wins(&a, &b, 200, "a move against a reorder");
    let mut moved = entries.clone();
    moved.swap(0, 1);
    let expected = if first_won { moved } else { reversed };
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(track_entries(&view), expected, "only the winner's order");
    assert_eq!(view["revision"], rev + 1);
}

/// A request as `user` with an optional JSON body and `If-Match: {if_match}`.
async fn call_if_as(
    app: &TestApp,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
    if_match: &str,
) -> TestResponse {
    call_if(app, user.bearer(), method, path, body, Some(if_match)).await
}

#[tokio::test]
async fn a_stale_if_match_changes_nothing() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let songs = songs(&app, &band, 2).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Stale", false).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    let path = format!("{PLAYLISTS}/{pid}");
    let (rev, _, _, _, entries) = state(&app, &owner, PLAYLISTS, &pid).await;
    assert_eq!(rev, 2);

    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    let writes: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "PATCH",
            Method::PATCH,
            path.clone(),
            Some(json!({ "title": "Changed" })),
        ),
        (
            "add",
            Method::POST,
            format!("{path}/songs"),
            Some(json!({ "songId": songs[0] })),
        ),
        (
            "move",
            Method::POST,
            format!("{path}/songs/move"),
            Some(json!({ "entryId": entries[0], "toPosition": 1 })),
        ),
        (
            "PUT",
            Method::PUT,
            format!("{path}/songs"),
            Some(json!({ "entryIds": [entries[1], entries[0]] })),
        ),
        (
            "remove",
            Method::DELETE,
            format!("{path}/songs/{}", entries[0]),
            None,
        ),
        ("DELETE", Method::DELETE, path.clone(), None),
    ];
    for stale in [1, 3, 99] {
        for (what, method, target, body) in &writes {
            let (method, body) = (method.clone(), body.clone());
            let response = call_if_as(&app, &owner, method, target, body, &tag(stale)).await;
            assert_problem(&response, 412, &format!("{what} with If-Match \"{stale}\""));
            assert_unchanged(
                &app,
                &owner,
                PLAYLISTS,
                &pid,
                &before,
                &format!("{what}: nothing changed"),
            )
            .await;
        }
    }

    // The current tag and `*` apply.
    let fresh = Some(json!({ "title": "Fresh" }));
    let response = call_if_as(&app, &owner, Method::PATCH, &path, fresh, &tag(2)).await;
    let view = single(&response, 200, "PATCH with the current tag");
    assert_eq!(view["revision"], 3);
    let starred = Some(json!({ "title": "Starred" }));
    let response = call_if_as(&app, &owner, Method::PATCH, &path, starred, "*").await;
    assert_eq!(single(&response, 200, "PATCH with *")["revision"], 4);
    let response = call_if_as(&app, &owner, Method::DELETE, &path, None, &tag(3)).await;
    assert_problem(&response, 412, "DELETE with the previous tag");
    view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    let response = call_if_as(&app, &owner, Method::DELETE, &path, None, &tag(4)).await;
    assert_no_content(&response, "DELETE with the current tag");
    assert_problem(
        &get_view(&app, owner.bearer(), PLAYLISTS, &pid).await,
        404,
        "deleted",
    );
}

// ---------------------------------------------------------------------------------------------
// Limits and validation
// ---------------------------------------------------------------------------------------------

/// SLOW (100 writes of 100 entries, then a view of 10,000 tracks): about a minute on two cores.
#[tokio::test]
async fn a_playlist_holds_at_most_10000_entries() {
    let started = Instant::now();
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let songs = songs(&app, &band, 3).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Huge", false).await;
    let batch: Vec<String> = (0..100).map(|i| songs[i % 3].clone()).collect();

    // Batches of more than 100, or none: 422.
    let mut too_many = batch.clone();
    too_many.push(songs[0].clone());
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &too_many, None).await;
    assert_problem(&response, 422, "101 song ids at once");
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &[], None).await;
    assert_problem(&response, 422, "no song ids");

    for i in 0..100u64 {
        let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &batch, None).await;
        let (rev, entries) = added(&response, &format!("batch {i}"));
        assert_eq!(rev, i + 2);
        assert_eq!(entries.len(), 100);
        assert_eq!(entries[0]["position"], i * 100);
    }
    let fill = started.elapsed();

    let full = |items: Vec<Value>| {
        items
            .into_iter()
            .find(|p| p["id"] == pid.as_str())
            .expect("listed")
    };
    let listed = full(list_all(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await);
    assert_eq!(listed["trackCount"], 10_000);
    assert_eq!(listed["revision"], 101);

    // One more: 422, by one or by a batch, at the end or in the middle; nothing added.
    let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, &songs[0], None).await;
    assert_problem(&response, 422, "the 10,001st entry");
    let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, &songs[0], Some(5)).await;
    assert_problem(&response, 422, "the 10,001st entry, in the middle");
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &songs, None).await;
    assert_problem(&response, 422, "three more");
    let listed = full(list_all(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await);
    assert_eq!(listed["trackCount"], 10_000, "the count stays 10,000");
    assert_eq!(listed["revision"], 101, "nothing written");

    // The whole view, still gap-free.
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(tracks(&view).len(), 10_000);
    assert_gap_free(&view);
    assert!(tracks(&view).iter().all(|t| t["available"] == true));

    // The full order in one PUT (about 290 KB: over the 64 KiB of other bodies, under 1 MiB).
    let entries = track_entries(&view);
    let reversed: Vec<String> = entries.iter().rev().cloned().collect();
    let response = put_order(&app, owner.bearer(), PLAYLISTS, &pid, &reversed).await;
    let (rev, order) = order_answer(&response, "PUT 10,000 entries reversed");
    assert_eq!(rev, 102);
    assert_eq!(order, reversed);
    let response = move_entry(&app, owner.bearer(), PLAYLISTS, &pid, &reversed[0], 9_999).await;
    let (_, order) = order_answer(&response, "move the first of 10,000 to the end");
    assert_eq!(order[9_999], reversed[0]);
    assert_eq!(order[..9_999], reversed[1..]);
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_gap_free(&view);
    assert_eq!(track_entries(&view), order);

    // Removing one makes room for exactly one.
    let last = track_entries(&view).pop().unwrap();
    let path = format!("{PLAYLISTS}/{pid}/songs/{last}");
    assert_no_content(&delete(&app, owner.bearer(), &path).await, "remove one");
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &songs[..2], None).await;
    assert_problem(&response, 422, "two into room for one");
    let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, &songs[1], Some(0)).await;
    added(&response, "one into room for one");
    eprintln!(
        "a_playlist_holds_at_most_10000_entries: filled in {fill:?}, {:?} in all",
        started.elapsed()
    );
}

#[tokio::test]
async fn titles_and_descriptions_are_checked_for_length() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;

    for base in [PLAYLISTS, ALBUMS] {
        let user = if base == ALBUMS { &band } else { &owner };
        let bad: Vec<(Value, &str)> = vec![
            (json!({}), "title"),
            (json!({ "title": "" }), "title"),
            (json!({ "title": "   " }), "title"),
            (json!({ "title": "x".repeat(201) }), "title"),
            (json!({ "title": "é".repeat(201) }), "title"),
            (
                json!({ "title": "ok", "description": "d".repeat(2001) }),
                "description",
            ),
        ];
        for (body, field) in bad {
            let response = create(&app, user.bearer(), base, body.clone()).await;
            assert_invalid(
                &response,
                &[field],
                &format!(
                    "create {base} {}",
                    body.to_string().chars().take(40).collect::<String>()
                ),
            );
        }
        let mine = if base == ALBUMS {
            format!("{ALBUMS}/user/my-albums")
        } else {
            format!("{PLAYLISTS}/mine")
        };
        assert!(
            list_all(&app, user.bearer(), &mine, 20).await.is_empty(),
            "nothing made"
        );

        // At the limits: fine (characters, not bytes).
        let view = create_ok(
            &app,
            &user.token,
            base,
            json!({ "title": "é".repeat(200), "description": "ü".repeat(2000) }),
        )
        .await;
        assert_eq!(view["title"].as_str().unwrap().chars().count(), 200);
        assert_eq!(view["description"].as_str().unwrap().chars().count(), 2000);
        let cid = id(&view);
        let path = format!("{base}/{cid}");

        // PATCH: the same rules; nothing changed.
        let before = state(&app, user, base, &cid).await;
        for (body, field) in [
            (json!({ "title": "" }), "title"),
            (json!({ "title": " \t " }), "title"),
            (json!({ "title": "y".repeat(201) }), "title"),
            (json!({ "title": null }), "title"),
            (json!({ "description": "z".repeat(2001) }), "description"),
        ] {
            let response = patch(&app, user.bearer(), &path, body).await;
            assert_invalid(&response, &[field], &format!("patch {base} {field}"));
        }
        assert_eq!(
            state(&app, user, base, &cid).await,
            before,
            "nothing changed"
        );
        let view = single(
            &patch(
                &app,
                user.bearer(),
                &path,
                json!({ "title": "  Short  ", "description": "" }),
            )
            .await,
            200,
            "patch",
        );
        assert_eq!(view["title"], "Short");
    }
}

#[tokio::test]
async fn unknown_or_invisible_songs_are_refused_by_name() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let good = songs(&app, &band, 2).await;
    let private = song_as(&app, &band, "Demo", 91, false).await;
    let hidden = song_as(&app, &band, "Banned", 92, true).await;
    set_song_visible(&app, &admin, &hidden, false).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Picky", false).await;
    let before = state(&app, &owner, PLAYLISTS, &pid).await;

    for bad in [
        UNKNOWN_ID,
        private.as_str(),
        hidden.as_str(),
        "not-a-song-id",
    ] {
        let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, bad, None).await;
        assert_invalid(&response, &["songId"], &format!("song {bad}"));
        let body: Value = response.json();
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(bad),
            "the message names {bad}: {body}"
        );
    }
    let batch = vec![
        good[0].clone(),
        s(UNKNOWN_ID),
        good[1].clone(),
        private.clone(),
        hidden.clone(),
    ];
    let response = add_songs(&app, owner.bearer(), PLAYLISTS, &pid, &batch, None).await;
    assert_invalid(
        &response,
        &["songIds[1]", "songIds[3]", "songIds[4]"],
        "a batch with three bad ids",
    );
    let body: Value = response.json();
    for error in body["errors"].as_array().unwrap() {
        let index: usize = error["field"].as_str().unwrap()[8..]
            .trim_end_matches(']')
            .parse()
            .unwrap();
        assert!(
            error["message"].as_str().unwrap().contains(&batch[index]),
            "{body}"
        );
    }
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing added").await;

    // The artist may add their own private song to their own playlist; the admin a hidden one.
    let theirs = spindle_tests::playlists::playlist(&app, &band.token, "Demos", false).await;
    add_ok(
        &app,
        &band,
        PLAYLISTS,
        &theirs,
        std::slice::from_ref(&private),
        None,
    )
    .await;
    let staff = spindle_tests::playlists::playlist(&app, &admin.token, "Review", false).await;
    add_ok(
        &app,
        &admin,
        PLAYLISTS,
        &staff,
        std::slice::from_ref(&hidden),
        None,
    )
    .await;
    // And the good ones go in.
    add_ok(&app, &owner, PLAYLISTS, &pid, &good, None).await;
    assert_eq!(order_of(&app, &owner, PLAYLISTS, &pid).await, good);
}

/// A 409 problem whose `detail` names `song`.
#[track_caller]
fn assert_conflict_names(response: &TestResponse, what: &str, song: &str) {
    let body = assert_problem(response, 409, what);
    assert!(
        body["detail"].as_str().unwrap_or_default().contains(song),
        "names the song: {body}"
    );
}

#[tokio::test]
async fn albums_hold_their_artists_songs_once_each() {
    let app = start().await;
    let band = artist(&app, "Band").await;
    let rival = artist(&app, "Rival").await;
    let fan = listener(&app, "Fan").await;
    let mine = songs(&app, &band, 3).await;
    let theirs = songs(&app, &rival, 1).await.remove(0);
    let aid = spindle_tests::playlists::album(&app, &band.token, "Debut").await;
    add_ok(&app, &band, ALBUMS, &aid, &mine[..2], None).await;
    let before = state(&app, &band, ALBUMS, &aid).await;

    // Another artist's song: 422.
    let response = add_song(&app, band.bearer(), ALBUMS, &aid, &theirs, None).await;
    assert_invalid(&response, &["songId"], "another artist's song");
    let response = add_songs(
        &app,
        band.bearer(),
        ALBUMS,
        &aid,
        &[mine[2].clone(), theirs.clone()],
        None,
    )
    .await;
    assert_invalid(
        &response,
        &["songIds[1]"],
        "another artist's song in a batch",
    );
    // The same song twice: 409 naming it.
    let response = add_song(&app, band.bearer(), ALBUMS, &aid, &mine[0], None).await;
    assert_conflict_names(&response, "a song already on the album", &mine[0]);
    let twice = [mine[2].clone(), mine[2].clone()];
    let response = add_songs(&app, band.bearer(), ALBUMS, &aid, &twice, None).await;
    assert_conflict_names(&response, "a song twice in one batch", &mine[2]);
    let again = [mine[2].clone(), mine[1].clone()];
    let response = add_songs(&app, band.bearer(), ALBUMS, &aid, &again, None).await;
    assert_problem(&response, 409, "a batch with a song already on the album");
    assert_unchanged(&app, &band, ALBUMS, &aid, &before, "nothing added").await;
    add_ok(&app, &band, ALBUMS, &aid, &mine[2..], Some(0)).await;
    assert_eq!(
        order_of(&app, &band, ALBUMS, &aid).await,
        vec![mine[2].clone(), mine[0].clone(), mine[1].clone()]
    );

    // Albums have no collaborators.
    let response = post(
        &app,
        band.bearer(),
        &format!("{ALBUMS}/{aid}/collaborators"),
        json!({ "userId": fan.id }),
    )
    .await;
    assert!(
        response.status >= 400,
        "no collaborators on albums: {}",
        response.status
    );

    // A listener makes no album.
    let response = create(&app, fan.bearer(), ALBUMS, json!({ "title": "Mixtape" })).await;
    assert_problem(&response, 403, "a listener's album");
    let response = app
        .call(
            fan.bearer(),
            Method::GET,
            &format!("{ALBUMS}/user/my-albums"),
            None,
        )
        .await;
    if response.status == 200 {
        assert!(list_answer(&response, "my-albums").0.is_empty());
    }
    assert_eq!(list_ids(&app, None, ALBUMS, 20).await, vec![aid.clone()]);

    // album.changed carries the songs in order.
    let changed = eventually(WAIT, "album.changed with three songs", || async {
        events(&app, "album.changed")
            .await
            .into_iter()
            .rev()
            .find_map(|e| match e.payload {
                Event::AlbumChanged(c) if c.album_id == aid && c.song_ids.len() == 3 => Some(c),
                _ => None,
            })
    })
    .await;
    assert_eq!(
        changed.song_ids,
        vec![mine[2].clone(), mine[0].clone(), mine[1].clone()]
    );
    assert_eq!(changed.artist_id, band.id);
    assert!(changed.listed);
}

// ---------------------------------------------------------------------------------------------
// Bad requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let songs = songs(&app, &band, 2).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Solid", true).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    let aid = spindle_tests::playlists::album(&app, &band.token, "Solid album").await;
    let path = format!("{PLAYLISTS}/{pid}");
    let entries = state(&app, &owner, PLAYLISTS, &pid).await.4;
    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    let json_routes: Vec<(Method, String)> = vec![
        (Method::POST, s(PLAYLISTS)),
        (Method::POST, s(ALBUMS)),
        (Method::PATCH, path.clone()),
        (Method::POST, format!("{path}/songs")),
        (Method::POST, format!("{path}/songs/move")),
        (Method::PUT, format!("{path}/songs")),
        (Method::POST, format!("{path}/collaborators")),
        (Method::POST, format!("{path}/share")),
    ];

    for (method, route) in &json_routes {
        let user = if route == ALBUMS { &band } else { &owner };
        let what = format!("{method} {route}");
        // Too big: 413 (PUT takes up to 1 MiB).
        let size = if *method == Method::PUT {
            1_100_000
        } else {
            70 * 1024
        };
        let big = format!("{{\"title\": \"{}\"}}", "x".repeat(size));
        let raw: [(&str, Vec<u8>, u16, &str); 4] = [
            // Malformed JSON: 400.
            (
                "application/json",
                b"{\"title\": ".to_vec(),
                400,
                "malformed",
            ),
            // Not JSON: 415 (multipart is fine on create and PATCH only).
            ("text/plain", b"title=x".to_vec(), 415, "text/plain"),
            (
                "application/x-www-form-urlencoded",
                b"title=x".to_vec(),
                415,
                "urlencoded",
            ),
            ("application/json", big.into_bytes(), 413, "oversize"),
        ];
        for (content_type, body, status, label) in raw {
            let response = call_raw(
                &app,
                user.bearer(),
                method.clone(),
                route,
                content_type,
                body,
            )
            .await;
            assert_problem(&response, status, &format!("{what} {label}"));
        }
        // Unknown fields and wrong types: 422.
        let response = app
            .call(
                user.bearer(),
                method.clone(),
                route,
                Some(json!({ "title": "x", "colour": "red" })),
            )
            .await;
        assert_problem(&response, 422, &format!("{what} unknown field"));
        let response = app
            .call(
                user.bearer(),
                method.clone(),
                route,
                Some(json!(["not", "an", "object"])),
            )
            .await;
        assert!(
            matches!(response.status, 400 | 422),
            "{what} an array: {}",
            response.status
        );
        // Anonymous: 401.
        let response = app
            .call(None, method.clone(), route, Some(json!({ "title": "x" })))
            .await;
        assert_problem(&response, 401, &format!("{what} anonymous"));
        let response = json_raw(
            &app,
            Some("not.a.token"),
            method.clone(),
            route,
            b"{}".to_vec(),
        )
        .await;
        assert_problem(&response, 401, &format!("{what} a bad token"));
    }
    // Wrong types: 422 naming the field.
    let typed: Vec<(Method, String, Value, &str)> = vec![
        (Method::POST, s(PLAYLISTS), json!({ "title": 5 }), "title"),
        (
            Method::POST,
            s(PLAYLISTS),
            json!({ "title": "x", "isPublic": "yes" }),
            "isPublic",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "description": 7 }),
            "description",
        ),
        (
            Method::POST,
            format!("{path}/songs"),
            json!({ "songId": 3 }),
            "songId",
        ),
        (
            Method::POST,
            format!("{path}/songs/move"),
            json!({ "entryId": entries[0], "toPosition": "1" }),
            "toPosition",
        ),
    ];
    for (method, route, body, field) in typed {
        let response = app
            .call(owner.bearer(), method.clone(), &route, Some(body.clone()))
            .await;
        assert_invalid(&response, &[field], &format!("{method} {route} {body}"));
    }
    // Other anonymous writes: 401.
    for (method, route) in [
        (Method::DELETE, path.clone()),
        (Method::DELETE, format!("{path}/songs/{}", entries[0])),
        (Method::DELETE, format!("{path}/collaborators/{}", owner.id)),
        (Method::DELETE, format!("{path}/share/{UNKNOWN_ID}")),
        (Method::PATCH, format!("/api/admin/playlists/{pid}/visible")),
    ] {
        let response = app
            .call(
                None,
                method.clone(),
                &route,
                Some(json!({ "isVisible": false })),
            )
            .await;
        assert_problem(&response, 401, &format!("anonymous {method} {route}"));
    }
    for route in [
        format!("{PLAYLISTS}/mine"),
        format!("{ALBUMS}/user/my-albums"),
        s("/api/admin/playlists"),
        s("/api/admin/albums"),
    ] {
        assert_problem(&app.get(&route).await, 401, &format!("anonymous {route}"));
    }
    for route in ["/api/admin/playlists", "/api/admin/albums"] {
        let response = app.call(owner.bearer(), Method::GET, route, None).await;
        assert_problem(&response, 403, &format!("a listener at {route}"));
    }
    let response = patch_visible(&app, owner.bearer(), PLAYLISTS, &pid, json!(false)).await;
    assert_problem(&response, 403, "a listener hides");
    let response = patch_visible(&app, admin.bearer(), PLAYLISTS, &pid, json!("no")).await;
    assert_problem(&response, 422, "isVisible not a bool");

    // Bad cursors and limits: 422 naming the parameter, as the catalog's lists answer.
    let mut bad_queries = Vec::new();
    for list in [
        format!("{PLAYLISTS}/public"),
        format!("{PLAYLISTS}/mine"),
        s(ALBUMS),
        format!("{ALBUMS}/user/my-albums"),
        s("/api/admin/playlists"),
        s("/api/admin/albums"),
    ] {
        let token = if list.starts_with("/api/admin") {
            admin.bearer()
        } else if list.contains("my-albums") {
            band.bearer()
        } else {
            owner.bearer()
        };
        for query in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=abc",
            "cursor=%21%21garbage%21%21",
            "cursor=eyJ4IjoxfQ",
            "cursor=",
        ] {
            let response = app
                .call(token, Method::GET, &format!("{list}?{query}"), None)
                .await;
            if query == "cursor=" && response.status == 200 {
                continue; // an empty cursor may read as none
            }
            // Collected, so that the rest of the test still runs; asserted at the end.
            if response.status != 422 {
                bad_queries.push(format!(
                    "{list}?{query}: {} {}",
                    response.status,
                    response.text()
                ));
            } else {
                let field = query.split('=').next().unwrap_or_default();
                assert_invalid(&response, &[field], &format!("{list}?{query}"));
            }
        }
        for limit in [1, 100] {
            let response = app
                .call(token, Method::GET, &format!("{list}?limit={limit}"), None)
                .await;
            list_answer(&response, &format!("{list}?limit={limit}"));
        }
    }

    // Unknown ids: 404.
    let unknown = format!("{PLAYLISTS}/{UNKNOWN_ID}");
    for (method, route, body) in [
        (Method::GET, unknown.clone(), None),
        (Method::GET, format!("{ALBUMS}/{UNKNOWN_ID}"), None),
        (Method::GET, format!("{unknown}/cover"), None),
        (
            Method::PATCH,
            unknown.clone(),
            Some(json!({ "title": "x" })),
        ),
        (Method::DELETE, unknown.clone(), None),
        (
            Method::POST,
            format!("{unknown}/songs"),
            Some(json!({ "songId": songs[0] })),
        ),
        (
            Method::POST,
            format!("{unknown}/songs/move"),
            Some(json!({ "entryId": entries[0], "toPosition": 0 })),
        ),
        (
            Method::PUT,
            format!("{unknown}/songs"),
            Some(json!({ "entryIds": entries })),
        ),
        (
            Method::DELETE,
            format!("{unknown}/songs/{}", entries[0]),
            None,
        ),
        (Method::GET, format!("{unknown}/collaborators"), None),
        (
            Method::POST,
            format!("{unknown}/collaborators"),
            Some(json!({ "userId": band.id })),
        ),
        (Method::POST, format!("{unknown}/share"), Some(json!({}))),
        (Method::GET, format!("{unknown}/share"), None),
        (Method::GET, format!("{PLAYLISTS}/shared/nosuchtoken"), None),
        (Method::DELETE, format!("{path}/songs/{UNKNOWN_ID}"), None),
        (Method::DELETE, format!("{path}/share/{UNKNOWN_ID}"), None),
        (
            Method::DELETE,
            format!("{path}/collaborators/{}", band.id),
            None,
        ),
        (Method::GET, format!("{path}/cover"), None),
    ] {
        let response = app.call(owner.bearer(), method.clone(), &route, body).await;
        assert_problem(&response, 404, &format!("{method} {route}"));
    }
    for route in [
        format!("/api/admin/playlists/{UNKNOWN_ID}/visible"),
        format!("/api/admin/albums/{UNKNOWN_ID}/visible"),
    ] {
        let response = patch(&app, admin.bearer(), &route, json!({ "isVisible": false })).await;
        assert_problem(&response, 404, &route);
    }

    // Nothing changed, nothing made.
    assert_unchanged(
        &app,
        &owner,
        PLAYLISTS,
        &pid,
        &before,
        "the playlist is as it was",
    )
    .await;
    assert_eq!(
        list_ids(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await,
        vec![pid.clone()]
    );
    assert_eq!(
        list_ids(&app, admin.bearer(), "/api/admin/playlists", 20).await,
        vec![pid.clone()]
    );
    assert_eq!(
        list_ids(&app, admin.bearer(), "/api/admin/albums", 20).await,
        vec![aid.clone()]
    );
    assert!(collaborator_ids(&app, &owner, &pid).await.is_empty());
    assert!(link_ids(&app, &owner, &pid).await.is_empty());
    assert_eq!(
        state(&app, &band, ALBUMS, &aid).await.0,
        1,
        "the album is as it was"
    );
    assert!(
        bad_queries.is_empty(),
        "{} bad cursors or limits not answered 422:\n{}",
        bad_queries.len(),
        bad_queries.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Sharing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn share_links_show_a_private_playlist_read_only_until_revoked_or_hidden() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let stranger = listener(&app, "Stan").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let songs = songs(&app, &band, 2).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Secret", false).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    let path = format!("{PLAYLISTS}/{pid}");

    let (first_id, first) = share_link(&app, &owner, &pid).await;
    let (second_id, second) = share_link(&app, &owner, &pid).await;
    assert_ne!(first, second, "every link its own token");
    assert_eq!(
        link_ids(&app, &owner, &pid).await,
        BTreeSet::from([first_id.clone(), second_id.clone()])
    );
    let before = state(&app, &owner, PLAYLISTS, &pid).await;

    // Anyone with the link sees it, anonymous or not; without it, nobody.
    for token in [None, stranger.bearer()] {
        let view = single(&shared(&app, token, &first).await, 200, "via the link");
        assert_eq!(view["access"], "link");
        assert_eq!(view["id"], pid.as_str());
        assert_eq!(view["isPublic"], false);
        assert_eq!(track_songs(&view), songs);
        assert_gap_free(&view);
        assert_problem(
            &get_view(&app, token, PLAYLISTS, &pid).await,
            404,
            "without the link",
        );
    }

    // Read-only: writes without a token are 401, with a stranger's 404.
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            format!("{path}/songs"),
            Some(json!({ "songId": songs[0] })),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({ "title": "Mine now" })),
        ),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/share"), Some(json!({}))),
    ];
    for (method, route, body) in &writes {
        let response = app.call(None, method.clone(), route, body.clone()).await;
        assert_problem(&response, 401, &format!("anonymous {method} {route}"));
        let response = app
            .call(stranger.bearer(), method.clone(), route, body.clone())
            .await;
        assert_problem(&response, 404, &format!("a stranger's {method} {route}"));
    }
    for method in [Method::POST, Method::PATCH, Method::PUT, Method::DELETE] {
        let route = format!("{PLAYLISTS}/shared/{first}");
        let response = app
            .call(
                None,
                method.clone(),
                &route,
                Some(json!({ "songId": songs[0] })),
            )
            .await;
        assert!(
            matches!(response.status, 401 | 404 | 405),
            "{method} on the link: {} {}",
            response.status,
            response.text()
        );
    }
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing changed").await;

    // Only the owner lists, makes and revokes links.
    for token in [None, stranger.bearer()] {
        let response = app
            .call(token, Method::GET, &format!("{path}/share"), None)
            .await;
        assert!(
            matches!(response.status, 401 | 404),
            "links listed by {token:?}: {}",
            response.status
        );
        let response = delete(&app, token, &format!("{path}/share/{first_id}")).await;
        assert!(
            matches!(response.status, 401 | 404),
            "link revoked by {token:?}: {}",
            response.status
        );
    }
    single(&shared(&app, None, &first).await, 200, "still there");

    // Revoked: 404; the other link still works.
    assert_no_content(
        &delete(&app, owner.bearer(), &format!("{path}/share/{first_id}")).await,
        "revoke",
    );
    assert_problem(&shared(&app, None, &first).await, 404, "a revoked link");
    assert_problem(
        &shared(&app, owner.bearer(), &first).await,
        404,
        "a revoked link, for the owner too",
    );
    assert_eq!(
        link_ids(&app, &owner, &pid).await,
        BTreeSet::from([second_id.clone()])
    );
    assert_problem(
        &delete(&app, owner.bearer(), &format!("{path}/share/{first_id}")).await,
        404,
        "revoked twice",
    );
    single(&shared(&app, None, &second).await, 200, "the other link");

    // The link shows writes made since.
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs[..1], Some(0)).await;
    let view = single(&shared(&app, None, &second).await, 200, "after a write");
    assert_eq!(
        track_songs(&view),
        vec![songs[0].clone(), songs[0].clone(), songs[1].clone()]
    );

    // An admin's hide beats links; showing it again brings the link back.
    admin_visible(&app, &admin, PLAYLISTS, &pid, false).await;
    assert_problem(
        &shared(&app, None, &second).await,
        404,
        "a hidden playlist via the link",
    );
    view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    admin_visible(&app, &admin, PLAYLISTS, &pid, true).await;
    single(&shared(&app, None, &second).await, 200, "shown again");

    // Deleted: 404.
    assert_no_content(&delete(&app, owner.bearer(), &path).await, "delete");
    assert_problem(
        &shared(&app, None, &second).await,
        404,
        "a deleted playlist via the link",
    );
}

#[tokio::test]
async fn sharing_with_a_user_gives_them_viewer_access_and_publishes_playlist_shared() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let friend = listener(&app, "Fern").await;
    let band = artist(&app, "Band").await;
    let songs = songs(&app, &band, 1).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "For Fern", false).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    assert_problem(
        &get_view(&app, friend.bearer(), PLAYLISTS, &pid).await,
        404,
        "before",
    );

    // Unknown user: 422, no event.
    let response = share(&app, owner.bearer(), &pid, json!({ "userId": UNKNOWN_ID })).await;
    assert_problem(&response, 422, "sharing with nobody");

    let response = share(&app, owner.bearer(), &pid, json!({ "userId": friend.id })).await;
    assert_eq!(response.status, 201, "{}", response.text());
    let link: Value = response.json();
    assert!(link["token"].is_string(), "a link too: {link}");

    let event = eventually(WAIT, "playlist.shared", || async {
        events(&app, "playlist.shared")
            .await
            .into_iter()
            .find(|e| matches!(&e.payload, Event::PlaylistShared(p) if p.playlist_id == pid))
    })
    .await;
    assert_eq!(event.producer, "playlists");
    let Event::PlaylistShared(payload) = event.payload else {
        unreachable!()
    };
    assert_eq!(payload.title, "For Fern");
    assert_eq!(payload.owner_id, owner.id);
    assert_eq!(payload.owner_name, owner.name);
    assert_eq!(payload.shared_with, friend.id);
    let all = events(&app, "playlist.shared").await;
    assert_eq!(
        all.len(),
        1,
        "one event, none for the unknown user: {all:?}"
    );

    // The friend now sees it, read-only.
    let view = view_ok(&app, friend.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(view["access"], "viewer");
    assert_eq!(track_songs(&view), songs);
    let mine = list_all(&app, friend.bearer(), &format!("{PLAYLISTS}/mine"), 20).await;
    assert_eq!(ids(&mine), vec![pid.clone()]);
    assert_eq!(mine[0]["access"], "viewer");
    let response = add_song(&app, friend.bearer(), PLAYLISTS, &pid, &songs[0], None).await;
    assert_problem(&response, 403, "a viewer adds");
    // And it is still private to others.
    assert_problem(
        &get_view(&app, None, PLAYLISTS, &pid).await,
        404,
        "anonymous",
    );
}

// ---------------------------------------------------------------------------------------------
// Songs that go away
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn songs_the_caller_may_not_see_are_unavailable_to_the_owner_and_left_out_for_others() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let editor = listener(&app, "Eddie").await;
    let stranger = listener(&app, "Stan").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let [a, b, c]: [String; 3] = songs(&app, &band, 3).await.try_into().unwrap();
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Mixed", true).await;
    add_editor(&app, &owner, &pid, &editor).await;
    add_ok(
        &app,
        &owner,
        PLAYLISTS,
        &pid,
        &[a.clone(), b.clone(), c.clone()],
        None,
    )
    .await;
    let (_, link) = share_link(&app, &owner, &pid).await;
    let rev = revision(&app, &owner, PLAYLISTS, &pid).await;

    // The admin hides a; the artist makes c private.
    set_song_visible(&app, &admin, &a, false).await;
    set_song_public(&app, &band, &c, false).await;

    for (who, token) in [("owner", owner.bearer()), ("editor", editor.bearer())] {
        let view = view_ok(&app, token, PLAYLISTS, &pid).await;
        assert_gap_free(&view);
        assert_eq!(
            track_songs(&view),
            vec![a.clone(), b.clone(), c.clone()],
            "{who}"
        );
        let available: Vec<(bool, bool)> = tracks(&view)
            .iter()
            .map(|t| (t["available"].as_bool().unwrap(), t["song"].is_null()))
            .collect();
        assert_eq!(
            available,
            vec![(false, true), (true, false), (false, true)],
            "{who}: {view}"
        );
        assert_eq!(view["trackCount"], 3);
    }
    for (who, response) in [
        ("anonymous", get_view(&app, None, PLAYLISTS, &pid).await),
        (
            "a stranger",
            get_view(&app, stranger.bearer(), PLAYLISTS, &pid).await,
        ),
        ("the link", shared(&app, None, &link).await),
    ] {
        let view = single(&response, 200, who);
        assert_eq!(
            track_songs(&view),
            vec![b.clone()],
            "{who}: only what they may see: {view}"
        );
        assert_eq!(
            track_positions(&view),
            vec![1],
            "{who}: the stored position"
        );
        assert!(
            tracks(&view).iter().all(|t| t["available"] == true),
            "{who}: {view}"
        );
    }
    let listed = list_all(&app, None, &format!("{PLAYLISTS}/public"), 20).await;
    assert_eq!(ids(&listed), vec![pid.clone()]);
    // The artist sees their own private song; the admin sees the hidden one.
    let view = view_ok(&app, admin.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(
        track_of(&view, &track_entries(&view)[0])["available"],
        true,
        "the admin sees a hidden song: {view}"
    );
    assert_eq!(
        revision(&app, &owner, PLAYLISTS, &pid).await,
        rev,
        "visibility is no write"
    );

    // Back again.
    set_song_visible(&app, &admin, &a, true).await;
    set_song_public(&app, &band, &c, true).await;
    let view = view_ok(&app, None, PLAYLISTS, &pid).await;
    assert_eq!(track_songs(&view), vec![a.clone(), b.clone(), c.clone()]);
    assert!(
        tracks(&view).iter().all(|t| t["available"] == true),
        "{view}"
    );
}

#[tokio::test]
async fn a_deleted_song_stays_unavailable_in_playlists_and_leaves_albums() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let [a, b, c]: [String; 3] = songs(&app, &band, 3).await.try_into().unwrap();
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Loved", true).await;
    add_ok(
        &app,
        &owner,
        PLAYLISTS,
        &pid,
        &[b.clone(), a.clone(), b.clone(), c.clone()],
        None,
    )
    .await;
    let aid = spindle_tests::playlists::album(&app, &band.token, "Trilogy").await;
    add_ok(
        &app,
        &band,
        ALBUMS,
        &aid,
        &[a.clone(), b.clone(), c.clone()],
        None,
    )
    .await;
    let album_rev = revision(&app, &band, ALBUMS, &aid).await;
    let playlist_rev = revision(&app, &owner, PLAYLISTS, &pid).await;

    delete_song(&app, &band, &b).await;

    // The album loses it: gap-free, one revision more.
    let view = eventually(WAIT, "the album without the deleted song", || async {
        let view = view_ok(&app, band.bearer(), ALBUMS, &aid).await;
        (track_songs(&view) == vec![a.clone(), c.clone()]).then_some(view)
    })
    .await;
    assert_gap_free(&view);
    assert_eq!(view["revision"], album_rev + 1, "one write: {view}");
    assert_eq!(view["trackCount"], 2);
    let view = view_ok(&app, None, ALBUMS, &aid).await;
    assert_eq!(track_songs(&view), vec![a.clone(), c.clone()]);
    assert_eq!(track_positions(&view), vec![0, 1]);
    let changed = eventually(WAIT, "album.changed without the song", || async {
        events(&app, "album.changed")
            .await
            .into_iter()
            .rev()
            .find_map(|e| match e.payload {
                Event::AlbumChanged(ch)
                    if ch.album_id == aid && ch.song_ids == vec![a.clone(), c.clone()] =>
                {
                    Some(ch)
                }
                _ => None,
            })
    })
    .await;
    assert!(changed.listed);

    // The playlist keeps the entries, unavailable to the owner and left out for others.
    let view = eventually(WAIT, "the playlist entries unavailable", || async {
        let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
        let flags: Vec<bool> = tracks(&view)
            .iter()
            .map(|t| t["available"].as_bool().unwrap())
            .collect();
        (flags == vec![false, true, false, true]).then_some(view)
    })
    .await;
    assert_gap_free(&view);
    assert_eq!(
        track_songs(&view),
        vec![b.clone(), a.clone(), b.clone(), c.clone()]
    );
    assert!(
        tracks(&view)
            .iter()
            .filter(|t| t["available"] == false)
            .all(|t| t["song"].is_null())
    );
    assert_eq!(
        view["revision"], playlist_rev,
        "the playlist itself is not rewritten: {view}"
    );
    let public = view_ok(&app, None, PLAYLISTS, &pid).await;
    assert_eq!(track_songs(&public), vec![a.clone(), c.clone()]);
    assert_eq!(track_positions(&public), vec![1, 3], "stored positions");
    // Admins see what owners see: the entries of a deleted song, unavailable.
    let seen = view_ok(&app, admin.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(seen["access"], "admin");
    let flags: Vec<bool> = tracks(&seen)
        .iter()
        .map(|t| t["available"].as_bool().unwrap())
        .collect();
    assert_eq!(
        flags,
        vec![false, true, false, true],
        "the admin's view: {seen}"
    );

    // The deleted song cannot be added again.
    let response = add_song(&app, owner.bearer(), PLAYLISTS, &pid, &b, None).await;
    assert_invalid(&response, &["songId"], "a deleted song");
    // The owner can still reorder and remove the unavailable entries.
    let entries = track_entries(&view);
    let path = format!("{PLAYLISTS}/{pid}/songs/{}", entries[0]);
    assert_no_content(
        &delete(&app, owner.bearer(), &path).await,
        "remove an unavailable entry",
    );
    let response = move_entry(&app, owner.bearer(), PLAYLISTS, &pid, &entries[2], 0).await;
    let (_, order) = order_answer(&response, "move an unavailable entry");
    assert_eq!(
        order,
        vec![entries[2].clone(), entries[1].clone(), entries[3].clone()]
    );
}

#[tokio::test]
async fn a_deleted_user_takes_their_collections_and_collaborations_along() {
    let app = start().await;
    let doomed = artist(&app, "Dora").await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let kept = songs(&app, &band, 2).await;
    let theirs = songs(&app, &doomed, 1).await;

    // Dora's own playlist and album.
    let their_playlist =
        spindle_tests::playlists::playlist(&app, &doomed.token, "Dora's", true).await;
    add_ok(&app, &doomed, PLAYLISTS, &their_playlist, &kept, None).await;
    let their_album = spindle_tests::playlists::album(&app, &doomed.token, "Dora's album").await;
    add_ok(&app, &doomed, ALBUMS, &their_album, &theirs, None).await;
    // Dora edits Olive's playlist and adds a song; another of Olive's is shared with her.
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Olive's", false).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &kept[..1], None).await;
    add_editor(&app, &owner, &pid, &doomed).await;
    let entry = add_ok(&app, &doomed, PLAYLISTS, &pid, &kept[1..], None)
        .await
        .remove(0);
    assert_eq!(entry["addedBy"], doomed.id.as_str());
    let viewed = spindle_tests::playlists::playlist(&app, &owner.token, "For Dora", false).await;
    share_with(&app, &owner, &viewed, &doomed).await;
    assert_eq!(
        list_all(&app, doomed.bearer(), &format!("{PLAYLISTS}/mine"), 20)
            .await
            .len(),
        3
    );

    let path = format!("/api/admin/users/{}", doomed.id);
    assert_no_content(
        &delete(&app, admin.bearer(), &path).await,
        "delete the user",
    );

    for (base, cid) in [(PLAYLISTS, &their_playlist), (ALBUMS, &their_album)] {
        eventually(WAIT, &format!("{base}/{cid} gone"), || async {
            (get_view(&app, admin.bearer(), base, cid).await.status == 404).then_some(())
        })
        .await;
        for token in [None, owner.bearer(), admin.bearer()] {
            assert_problem(
                &get_view(&app, token, base, cid).await,
                404,
                &format!("{base}/{cid}"),
            );
        }
    }
    assert!(
        list_all(&app, None, &format!("{PLAYLISTS}/public"), 20)
            .await
            .is_empty()
    );
    assert!(list_all(&app, None, ALBUMS, 20).await.is_empty());
    let all = list_ids(&app, admin.bearer(), "/api/admin/playlists", 20).await;
    assert_eq!(
        all.into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([pid.clone(), viewed.clone()])
    );
    assert!(
        list_all(&app, admin.bearer(), "/api/admin/albums", 20)
            .await
            .is_empty()
    );
    let deleted = eventually(WAIT, "album.deleted", || async {
        events(&app, "album.deleted")
            .await
            .into_iter()
            .find_map(|e| match e.payload {
                Event::AlbumDeleted(d) if d.album_id == *their_album => Some(d),
                _ => None,
            })
    })
    .await;
    assert_eq!(deleted.artist_id, doomed.id);

    // Their collaboration ends; the entry they added stays, added by nobody.
    eventually(WAIT, "the collaboration ended", || async {
        collaborator_ids(&app, &owner, &pid)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    let view = eventually(WAIT, "addedBy null", || async {
        let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
        track_of(&view, entry["entryId"].as_str().unwrap())["addedBy"]
            .is_null()
            .then_some(view)
    })
    .await;
    assert_eq!(track_songs(&view), kept);
    assert_gap_free(&view);
    assert_eq!(tracks(&view)[0]["addedBy"], owner.id.as_str());
    // Whatever their old token still opens, it is none of these.
    for cid in [&pid, &viewed] {
        let response = get_view(&app, doomed.bearer(), PLAYLISTS, cid).await;
        assert!(
            matches!(response.status, 401 | 404),
            "the deleted user's access to {cid}: {} {}",
            response.status,
            response.text()
        );
    }
    let response = add_song(&app, doomed.bearer(), PLAYLISTS, &pid, &kept[0], None).await;
    assert!(
        matches!(response.status, 401 | 404),
        "the deleted user edits: {} {}",
        response.status,
        response.text()
    );
    // Sharing with them or adding them again: an unknown user.
    let response = add_collaborator(&app, owner.bearer(), &pid, &doomed.id).await;
    assert_problem(&response, 422, "the deleted user as editor");
    let response = share(
        &app,
        owner.bearer(),
        &viewed,
        json!({ "userId": doomed.id }),
    )
    .await;
    assert_problem(&response, 422, "sharing with the deleted user");
}

// ---------------------------------------------------------------------------------------------
// Covers
// ---------------------------------------------------------------------------------------------

async fn cover(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    cid: &str,
    query: &str,
) -> TestResponse {
    app.call(
        token,
        Method::GET,
        &format!("{base}/{cid}/cover{query}"),
        None,
    )
    .await
}

#[tokio::test]
async fn covers_are_uploaded_as_multipart_served_and_checked() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let stranger = listener(&app, "Stan").await;
    let band = artist(&app, "Band").await;

    // Create with a cover.
    let form = Form::new()
        .text("title", "Covered")
        .text("description", "with a picture")
        .text("isPublic", "false")
        .file("cover", "tiny.png", PNG_1X1.to_vec());
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    let view = single(&response, 201, "create with a cover");
    let pid = id(&view);
    assert_eq!(view["title"], "Covered");
    assert_eq!(view["description"], "with a picture");
    assert_eq!(view["isPublic"], false);
    assert_eq!(view["hasCover"], true);
    assert_eq!(view["revision"], 1);

    for token in [owner.bearer()] {
        let response = cover(&app, token, PLAYLISTS, &pid, "").await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.content_type().as_deref(), Some("image/png"));
        assert_eq!(response.body.as_ref(), PNG_1X1, "the very bytes");
    }
    // Private: 404 for others, but a share link opens it.
    assert_problem(
        &cover(&app, None, PLAYLISTS, &pid, "").await,
        404,
        "anonymous cover",
    );
    assert_problem(
        &cover(&app, stranger.bearer(), PLAYLISTS, &pid, "").await,
        404,
        "a stranger's cover",
    );
    let (link_id, token) = share_link(&app, &owner, &pid).await;
    let response = cover(&app, None, PLAYLISTS, &pid, &format!("?share={token}")).await;
    assert_eq!(
        response.status,
        200,
        "cover via the link: {}",
        response.text()
    );
    assert_eq!(response.body.as_ref(), PNG_1X1);
    assert_problem(
        &cover(&app, None, PLAYLISTS, &pid, "?share=wrong").await,
        404,
        "a wrong share token",
    );
    // A link opens its own playlist only.
    let form =
        Form::new()
            .text("title", "Other secret")
            .file("cover", "tiny.png", PNG_1X1.to_vec());
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    let other = id(&single(
        &response,
        201,
        "another private playlist with a cover",
    ));
    assert_problem(
        &cover(&app, None, PLAYLISTS, &other, &format!("?share={token}")).await,
        404,
        "another playlist's link",
    );
    let path = format!("{PLAYLISTS}/{pid}/share/{link_id}");
    assert_no_content(&delete(&app, owner.bearer(), &path).await, "revoke");
    assert_problem(
        &cover(&app, None, PLAYLISTS, &pid, &format!("?share={token}")).await,
        404,
        "revoked",
    );

    // Not an image: 415, nothing made; too big: 413.
    let before = list_ids(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await;
    let form = Form::new().text("title", "Fake").file(
        "cover",
        "tiny.png",
        b"this is not a picture".to_vec(),
    );
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    assert_problem(&response, 415, "a text file as cover");
    let form = Form::new()
        .text("title", "Fake")
        .file("cover", "song.wav", wav(100, 1));
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    assert_problem(&response, 415, "a WAV as cover");
    let mut big = PNG_1X1.to_vec();
    big.resize(2 * 1024 * 1024 + 4096, 0);
    let form = Form::new()
        .text("title", "Huge")
        .file("cover", "big.png", big);
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    assert_problem(&response, 413, "a cover over 2 MiB");
    // Bad fields in a form: 422; unknown content type: 415.
    let form = Form::new()
        .text("title", "")
        .file("cover", "tiny.png", PNG_1X1.to_vec());
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    assert_invalid(&response, &["title"], "an empty title in a form");
    let form = Form::new().text("title", "x").text("isPublic", "maybe");
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    assert_invalid(&response, &["isPublic"], "isPublic maybe");
    let response = call_raw(
        &app,
        owner.bearer(),
        Method::POST,
        PLAYLISTS,
        "image/png",
        PNG_1X1.to_vec(),
    )
    .await;
    assert_problem(&response, 415, "a bare PNG body");
    assert_eq!(
        list_ids(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await,
        before,
        "nothing made"
    );

    // PATCH: a cover onto a playlist without one, a bad one refused, then removed.
    let plain = spindle_tests::playlists::playlist(&app, &owner.token, "Plain", true).await;
    assert_problem(
        &cover(&app, None, PLAYLISTS, &plain, "").await,
        404,
        "no cover yet",
    );
    let path = format!("{PLAYLISTS}/{plain}");
    let form = Form::new()
        .file("cover", "tiny.png", PNG_1X1.to_vec())
        .text("title", "Plain no more");
    let view = single(
        &send_form(&app, owner.bearer(), Method::PATCH, &path, &form).await,
        200,
        "patch a cover",
    );
    assert_eq!(view["hasCover"], true);
    assert_eq!(view["title"], "Plain no more");
    assert_eq!(view["revision"], 2);
    let response = cover(&app, None, PLAYLISTS, &plain, "").await;
    assert_eq!(
        response.status,
        200,
        "a public cover, anonymously: {}",
        response.text()
    );
    assert_eq!(response.content_type().as_deref(), Some("image/png"));
    assert_eq!(response.body.as_ref(), PNG_1X1);
    let form = Form::new().file("cover", "fake.png", b"GIF89a not really".to_vec());
    let response = send_form(&app, owner.bearer(), Method::PATCH, &path, &form).await;
    assert_problem(&response, 415, "patch a non-image");
    assert_eq!(
        revision(&app, &owner, PLAYLISTS, &plain).await,
        2,
        "nothing changed"
    );
    assert_eq!(
        cover(&app, None, PLAYLISTS, &plain, "").await.body.as_ref(),
        PNG_1X1
    );
    let form = Form::new().text("removeCover", "true");
    let view = single(
        &send_form(&app, owner.bearer(), Method::PATCH, &path, &form).await,
        200,
        "remove the cover",
    );
    assert_eq!(view["hasCover"], false);
    assert_eq!(view["revision"], 3);
    assert_problem(
        &cover(&app, owner.bearer(), PLAYLISTS, &plain, "").await,
        404,
        "the cover removed",
    );
    // Someone else may not set it.
    let form = Form::new().file("cover", "tiny.png", PNG_1X1.to_vec());
    let response = send_form(&app, stranger.bearer(), Method::PATCH, &path, &form).await;
    assert_problem(&response, 403, "a stranger's cover on a public playlist");

    // JPEG and WebP too, sniffed from the bytes whatever the part says.
    for (name, mime) in [("cover.jpg", "image/jpeg"), ("cover.webp", "image/webp")] {
        let bytes = spindle_tests::media::fixture(name);
        let form = Form::new()
            .text("title", name)
            .text("isPublic", "true")
            .file("cover", "picture.bin", bytes.clone());
        let view = single(
            &send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await,
            201,
            name,
        );
        let response = cover(&app, None, PLAYLISTS, &id(&view), "").await;
        assert_eq!(response.status, 200, "{name}: {}", response.text());
        assert_eq!(response.content_type().as_deref(), Some(mime), "{name}");
        assert_eq!(response.body.as_ref(), bytes.as_slice(), "{name}");
    }

    // Albums take covers the same way.
    let form = Form::new()
        .text("title", "Sleeve")
        .file("cover", "tiny.png", PNG_1X1.to_vec());
    let view = single(
        &send_form(&app, band.bearer(), Method::POST, ALBUMS, &form).await,
        201,
        "album with a cover",
    );
    assert_eq!(view["isPublic"], true);
    let response = cover(&app, None, ALBUMS, &id(&view), "").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.content_type().as_deref(), Some("image/png"));
    assert_eq!(response.body.as_ref(), PNG_1X1);
}

// ---------------------------------------------------------------------------------------------
// Lists and the admin's switch
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lists_page_newest_first_and_show_only_what_each_may_see() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let other = listener(&app, "Otto").await;
    let band = artist(&app, "Band").await;
    let rival = artist(&app, "Rival").await;
    let admin = admin(&app).await;

    // Olive: five public playlists (the third hidden by the admin) and two private ones.
    let mut public = Vec::new();
    for i in 0..5 {
        public.push(
            spindle_tests::playlists::playlist(&app, &owner.token, &format!("Public {i}"), true)
                .await,
        );
    }
    let mut private = Vec::new();
    for i in 0..2 {
        private.push(
            spindle_tests::playlists::playlist(&app, &owner.token, &format!("Private {i}"), false)
                .await,
        );
    }
    admin_visible(&app, &admin, PLAYLISTS, &public[2], false).await;
    // Otto: one he edits for Olive... and one shared with her.
    let edited =
        spindle_tests::playlists::playlist(&app, &other.token, "Otto's, Olive edits", false).await;
    add_editor(&app, &other, &edited, &owner).await;
    let viewed =
        spindle_tests::playlists::playlist(&app, &other.token, "Otto's, for Olive", false).await;
    share_with(&app, &other, &viewed, &owner).await;
    let lonely = spindle_tests::playlists::playlist(&app, &other.token, "Otto's own", true).await;

    let newest_first =
        |ids: &[&String]| ids.iter().rev().map(|s| s.to_string()).collect::<Vec<_>>();
    let listed_public = newest_first(&[&public[0], &public[1], &public[3], &public[4], &lonely]);
    for token in [None, owner.bearer(), other.bearer(), admin.bearer()] {
        for limit in [1, 2, 3, 20] {
            let got = list_ids(&app, token, &format!("{PLAYLISTS}/public"), limit).await;
            assert_eq!(
                got, listed_public,
                "public playlists, limit {limit}, as {token:?}"
            );
        }
    }
    let items = list_all(&app, None, &format!("{PLAYLISTS}/public"), 20).await;
    assert!(
        items
            .iter()
            .all(|p| p["isPublic"] == true && p["isVisible"] == true && p["kind"] == "playlist")
    );

    // Mine: her own (private, and the hidden one too) and those she edits or was shared.
    let mine = list_all(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 2).await;
    let got: BTreeSet<String> = ids(&mine).into_iter().collect();
    let mut expected: BTreeSet<String> = public.iter().chain(&private).cloned().collect();
    expected.extend([edited.clone(), viewed.clone()]);
    assert_eq!(got, expected, "mine");
    assert_eq!(mine.len(), expected.len(), "each once");
    for item in &mine {
        let access = if item["id"] == edited.as_str() {
            "editor"
        } else if item["id"] == viewed.as_str() {
            "viewer"
        } else {
            "owner"
        };
        assert_eq!(item["access"], access, "{item}");
    }
    let created: Vec<String> = mine
        .iter()
        .map(|p| p["createdAt"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "mine, newest first");
    let mine = list_ids(&app, other.bearer(), &format!("{PLAYLISTS}/mine"), 20).await;
    assert_eq!(mine, newest_first(&[&edited, &viewed, &lonely]), "Otto's");

    // Admin: everything, hidden and private too.
    let all = list_ids(&app, admin.bearer(), "/api/admin/playlists", 3).await;
    let mut everything: Vec<String> = public.iter().chain(&private).cloned().collect();
    everything.extend([edited.clone(), viewed.clone(), lonely.clone()]);
    assert_eq!(
        all,
        everything.iter().rev().cloned().collect::<Vec<_>>(),
        "admin playlists, newest first"
    );
    assert!(
        list_all(&app, admin.bearer(), "/api/admin/albums", 20)
            .await
            .is_empty(),
        "playlists are no albums"
    );

    // Albums.
    let a1 = spindle_tests::playlists::album(&app, &band.token, "A1").await;
    let a2 = spindle_tests::playlists::album(&app, &band.token, "A2").await;
    let a3 = create_ok(
        &app,
        &band.token,
        ALBUMS,
        json!({ "title": "A3", "isPublic": false }),
    )
    .await;
    let a3 = id(&a3);
    let b1 = spindle_tests::playlists::album(&app, &rival.token, "B1").await;
    let a4 = spindle_tests::playlists::album(&app, &band.token, "A4").await;
    admin_visible(&app, &admin, ALBUMS, &a2, false).await;
    let patched = patch(
        &app,
        band.bearer(),
        &format!("{ALBUMS}/{a4}"),
        json!({ "isPublic": false }),
    )
    .await;
    assert_eq!(single(&patched, 200, "unlist a4")["isPublic"], false);
    for token in [None, owner.bearer(), rival.bearer()] {
        for limit in [1, 2, 20] {
            assert_eq!(
                list_ids(&app, token, ALBUMS, limit).await,
                vec![b1.clone(), a1.clone()],
                "albums, limit {limit}"
            );
            let query = format!("{ALBUMS}?artist={}", band.id);
            assert_eq!(
                list_ids(&app, token, &query, limit).await,
                vec![a1.clone()],
                "band's albums"
            );
        }
    }
    let query = format!("{ALBUMS}?artist={UNKNOWN_ID}");
    assert!(list_all(&app, None, &query, 20).await.is_empty());
    let mine = list_all(&app, band.bearer(), &format!("{ALBUMS}/user/my-albums"), 1).await;
    assert_eq!(
        ids(&mine),
        vec![a4.clone(), a3.clone(), a2.clone(), a1.clone()],
        "my albums, hidden too"
    );
    assert!(
        mine.iter()
            .all(|a| a["access"] == "owner" && a["kind"] == "album")
    );
    let mine = list_ids(
        &app,
        rival.bearer(),
        &format!("{ALBUMS}/user/my-albums"),
        20,
    )
    .await;
    assert_eq!(mine, vec![b1.clone()]);
    let all = list_ids(&app, admin.bearer(), "/api/admin/albums", 2).await;
    assert_eq!(
        all,
        vec![a4.clone(), b1.clone(), a3.clone(), a2.clone(), a1.clone()],
        "admin albums"
    );
    // Albums are not playlists.
    let public_now = list_ids(&app, None, &format!("{PLAYLISTS}/public"), 20).await;
    assert_eq!(
        public_now, listed_public,
        "albums stay out of the playlist lists"
    );
}

#[tokio::test]
async fn an_admin_hides_and_shows_playlists_and_albums() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let editor = listener(&app, "Eddie").await;
    let stranger = listener(&app, "Stan").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    let songs = songs(&app, &band, 1).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Edgy", true).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    add_editor(&app, &owner, &pid, &editor).await;
    let aid = spindle_tests::playlists::album(&app, &band.token, "Edgy album").await;

    // Only admins switch.
    for (who, token, status) in [
        ("anonymous", None, 401),
        ("the owner", owner.bearer(), 403),
        ("a stranger", stranger.bearer(), 403),
    ] {
        let response = patch_visible(&app, token, PLAYLISTS, &pid, json!(false)).await;
        assert_problem(&response, status, who);
        let token = if who == "the owner" {
            band.bearer()
        } else {
            token
        };
        let response = patch_visible(&app, token, ALBUMS, &aid, json!(false)).await;
        assert_problem(&response, status, who);
    }
    view_ok(&app, None, PLAYLISTS, &pid).await;

    // Hidden: only the owner, editors and admins see it; it leaves the lists.
    let view = admin_visible(&app, &admin, PLAYLISTS, &pid, false).await;
    assert_eq!(view["isPublic"], true, "the owner's setting stays");
    for token in [None, stranger.bearer()] {
        assert_problem(&get_view(&app, token, PLAYLISTS, &pid).await, 404, "hidden");
        assert_problem(
            &cover(&app, token, PLAYLISTS, &pid, "").await,
            404,
            "hidden cover",
        );
    }
    for token in [owner.bearer(), editor.bearer(), admin.bearer()] {
        let view = view_ok(&app, token, PLAYLISTS, &pid).await;
        assert_eq!(view["isVisible"], false);
    }
    assert!(
        list_all(&app, None, &format!("{PLAYLISTS}/public"), 20)
            .await
            .is_empty()
    );
    let all = list_all(&app, admin.bearer(), "/api/admin/playlists", 20).await;
    assert_eq!(all[0]["isVisible"], false);
    // The owner may not make it visible by PATCH.
    let response = patch(
        &app,
        owner.bearer(),
        &format!("{PLAYLISTS}/{pid}"),
        json!({ "isVisible": true }),
    )
    .await;
    assert_problem(&response, 422, "isVisible is the admin's");
    // Twice the same: fine.
    admin_visible(&app, &admin, PLAYLISTS, &pid, false).await;
    admin_visible(&app, &admin, PLAYLISTS, &pid, true).await;
    assert_eq!(
        view_ok(&app, None, PLAYLISTS, &pid).await["isVisible"],
        true
    );
    assert_eq!(
        list_ids(&app, None, &format!("{PLAYLISTS}/public"), 20).await,
        vec![pid.clone()]
    );

    // Albums the same way, and album.changed says whether it is listed.
    admin_visible(&app, &admin, ALBUMS, &aid, false).await;
    assert_problem(
        &get_view(&app, None, ALBUMS, &aid).await,
        404,
        "a hidden album",
    );
    assert_eq!(
        view_ok(&app, band.bearer(), ALBUMS, &aid).await["isVisible"],
        false
    );
    assert!(list_all(&app, None, ALBUMS, 20).await.is_empty());
    eventually(WAIT, "album.changed unlisted", || async {
        events(&app, "album.changed")
            .await
            .into_iter()
            .find_map(|e| match e.payload {
                Event::AlbumChanged(c) if c.album_id == aid && !c.listed => Some(()),
                _ => None,
            })
    })
    .await;
    admin_visible(&app, &admin, ALBUMS, &aid, true).await;
    assert_eq!(list_ids(&app, None, ALBUMS, 20).await, vec![aid.clone()]);
    // A playlist id under the admin's album route, and the reverse: 404.
    let response = patch_visible(&app, admin.bearer(), ALBUMS, &pid, json!(false)).await;
    assert_problem(&response, 404, "a playlist as album");
    let response = patch_visible(&app, admin.bearer(), PLAYLISTS, &aid, json!(false)).await;
    assert_problem(&response, 404, "an album as playlist");
}

// ---------------------------------------------------------------------------------------------
// Size limits, to the byte
// ---------------------------------------------------------------------------------------------

/// `json` padded with trailing spaces (still valid JSON) to exactly `size` bytes.
fn padded(json: &Value, size: usize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(json).unwrap();
    assert!(bytes.len() <= size);
    bytes.resize(size, b' ');
    bytes
}

/// A request with `body` sent as it is, as `application/json`.
async fn json_raw(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> TestResponse {
    call_raw(app, token, method, path, "application/json", body).await
}

/// `json` padded to exactly `size` bytes (see [`padded`]), sent as `application/json`.
async fn send_padded(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    json: Value,
    size: usize,
) -> TestResponse {
    json_raw(app, token, method, path, padded(&json, size)).await
}

#[tokio::test]
async fn size_limits_hold_to_the_byte() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let songs = songs(&app, &band, 2).await;
    let pid = spindle_tests::playlists::playlist(&app, &owner.token, "Edges", false).await;
    add_ok(&app, &owner, PLAYLISTS, &pid, &songs, None).await;
    let path = format!("{PLAYLISTS}/{pid}");
    const KIB64: usize = 64 * 1024;
    const MIB: usize = 1024 * 1024;

    let songs_path = format!("{path}/songs");
    let token = owner.bearer();

    // JSON: 64 KiB is fine, one byte more is 413 (and changes nothing).
    let edge = json!({ "title": "Edge" });
    let response = send_padded(&app, token, Method::PATCH, &path, edge, KIB64).await;
    assert_eq!(
        single(&response, 200, "a PATCH of exactly 64 KiB")["title"],
        "Edge"
    );
    let before = state(&app, &owner, PLAYLISTS, &pid).await;
    let over = json!({ "title": "Over" });
    let response = send_padded(&app, token, Method::PATCH, &path, over, KIB64 + 1).await;
    assert_problem(&response, 413, "a PATCH of 64 KiB + 1");
    let add = json!({ "songId": songs[0] });
    let response = send_padded(&app, token, Method::POST, &songs_path, add, KIB64 + 1).await;
    assert_problem(&response, 413, "an add of 64 KiB + 1");
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing changed").await;

    // PUT: 1 MiB is fine, one byte more is 413.
    let entries = before.4.clone();
    let reversed: Vec<String> = entries.iter().rev().cloned().collect();
    let put = json!({ "entryIds": reversed });
    let response = send_padded(&app, token, Method::PUT, &songs_path, put.clone(), MIB + 1).await;
    assert_problem(&response, 413, "a PUT of 1 MiB + 1");
    assert_unchanged(&app, &owner, PLAYLISTS, &pid, &before, "nothing changed").await;
    let response = send_padded(&app, token, Method::PUT, &songs_path, put, MIB).await;
    assert_eq!(
        order_answer(&response, "a PUT of exactly 1 MiB").1,
        reversed
    );
    let put = json!({ "entryIds": entries });
    let response = send_padded(&app, token, Method::PUT, &songs_path, put, KIB64 + 1).await;
    assert_eq!(order_answer(&response, "a PUT over 64 KiB").1, entries);

    // Covers: 2 MiB is fine (with the form's other fields around it), one byte more is 413.
    let mut picture = PNG_1X1.to_vec();
    picture.resize(2 * MIB, 0);
    let form = Form::new()
        .text("title", "Big cover")
        .file("cover", "big.png", picture.clone());
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    let view = single(&response, 201, "a cover of exactly 2 MiB");
    assert_eq!(view["hasCover"], true);
    let response = cover(&app, owner.bearer(), PLAYLISTS, &id(&view), "").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), 2 * MIB, "the whole cover back");
    picture.push(0);
    let form = Form::new()
        .text("title", "Too big")
        .file("cover", "big.png", picture);
    let response = send_form(&app, owner.bearer(), Method::POST, PLAYLISTS, &form).await;
    assert_problem(&response, 413, "a cover of 2 MiB + 1");
    let response = send_form(&app, owner.bearer(), Method::PATCH, &path, &form).await;
    assert_problem(&response, 413, "a PATCH cover of 2 MiB + 1");
    let mine = list_all(&app, owner.bearer(), &format!("{PLAYLISTS}/mine"), 20).await;
    assert_eq!(mine.len(), 2, "only the 2 MiB one was made");
    let view = view_ok(&app, owner.bearer(), PLAYLISTS, &pid).await;
    assert_eq!(view["hasCover"], false);
}

#[tokio::test]
async fn pages_neither_skip_nor_repeat_when_many_are_made_at_once() {
    let app = start().await;
    let owner = listener(&app, "Olive").await;
    let band = artist(&app, "Band").await;
    let admin = admin(&app).await;
    // Thirty playlists and twelve albums made at once: many share a millisecond.
    let made = futures::future::join_all((0..30).map(|i| {
        let owner = &owner;
        let app = &app;
        async move {
            spindle_tests::playlists::playlist(app, &owner.token, &format!("P{i}"), i % 3 != 0)
                .await
        }
    }))
    .await;
    let albums = futures::future::join_all((0..12).map(|i| {
        let band = &band;
        let app = &app;
        async move { spindle_tests::playlists::album(app, &band.token, &format!("A{i}")).await }
    }))
    .await;
    let public: BTreeSet<String> = made
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, p)| p.clone())
        .collect();
    let all: BTreeSet<String> = made.iter().cloned().collect();
    let album_set: BTreeSet<String> = albums.iter().cloned().collect();

    for limit in [1, 2, 3, 7, 100] {
        for (path, token, expected) in [
            (format!("{PLAYLISTS}/public"), None, &public),
            (format!("{PLAYLISTS}/mine"), owner.bearer(), &all),
            (s("/api/admin/playlists"), admin.bearer(), &all),
            (s(ALBUMS), None, &album_set),
            (
                format!("{ALBUMS}/user/my-albums"),
                band.bearer(),
                &album_set,
            ),
            (s("/api/admin/albums"), admin.bearer(), &album_set),
        ] {
            let items = list_all(&app, token, &path, limit).await;
            let got = ids(&items);
            let unique: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(
                unique.len(),
                got.len(),
                "{path} limit {limit}: repeats {got:?}"
            );
            assert_eq!(&unique, expected, "{path} limit {limit}: skips or strays");
            let created: Vec<String> = items
                .iter()
                .map(|p| p["createdAt"].as_str().unwrap().to_string())
                .collect();
            let mut newest_first = created.clone();
            newest_first.sort_by(|a, b| b.cmp(a));
            assert_eq!(created, newest_first, "{path} limit {limit}: newest first");
        }
    }
}

/// Whether an `album.changed` of album `aid` titled `title` is on the bus.
async fn album_changed_titled(app: &TestApp, aid: &str, title: &str) -> bool {
    events(app, "album.changed").await.into_iter().any(
        |e| matches!(&e.payload, Event::AlbumChanged(a) if a.album_id == aid && a.title == title),
    )
}

#[tokio::test]
async fn events_of_writes_made_while_redis_was_away_go_out_at_the_next_wake_up() {
    let mut app = start().await;
    let band = artist(&app, "Band").await;
    let aid = spindle_tests::playlists::album(&app, &band.token, "Before").await;
    eventually(WAIT, "album.changed of the new album", || async {
        album_changed_titled(&app, &aid, "Before")
            .await
            .then_some(())
    })
    .await;

    // Redis goes away: the write still succeeds, its event waits in the outbox.
    app.redis.stop();
    let path = format!("{ALBUMS}/{aid}");
    let response = app
        .call(
            Some(&band.token),
            Method::PATCH,
            &path,
            Some(json!({ "title": "While away" })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());

    // Redis is back (empty): the next wake-up of the component sends what the outbox holds.
    app.redis.restart().unwrap();
    eventually(
        WAIT,
        "the album.changed written while Redis was away",
        || async {
            EventBus::connect(&app.redis.url())
                .await
                .wake("track.deleted")
                .await;
            album_changed_titled(&app, &aid, "While away")
                .await
                .then_some(())
        },
    )
    .await;
}
