//! Playlists and albums (the `playlists` component) for tests and benchmarks: collections made
//! and filled over HTTP, conditional writes (`If-Match`), and a tiny real PNG for covers.

use crate::{TestApp, TestResponse};
use reqwest::Method;
use serde_json::{Value, json};

/// `/api/playlists`.
pub const PLAYLISTS: &str = "/api/playlists";
/// `/api/albums`.
pub const ALBUMS: &str = "/api/albums";

/// A real 1×1 RGBA PNG (70 bytes, valid CRCs and zlib stream).
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A request as `token` (anonymous when `None`) with an optional JSON body and an optional
/// `If-Match` value (sent as given: `"\"3\""`, `"*"`).
pub async fn call_if(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> TestResponse {
    let mut request = app.request(method, path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// A request with a raw body and content type.
pub async fn call_raw(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> TestResponse {
    let mut request = app
        .request(method, path)
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

/// The `ETag` of an answer as a number (`"7"` → 7); panics when it is missing or not a
/// strong quoted decimal.
#[track_caller]
pub fn etag(response: &TestResponse) -> u64 {
    let tag = response
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {} {}", response.status, response.text()));
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("ETag {tag:?} is not a strong quoted decimal"))
}

/// `"n"`, for `If-Match`.
pub fn tag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// `POST {base}` with a JSON body as `token`.
pub async fn create(app: &TestApp, token: Option<&str>, base: &str, body: Value) -> TestResponse {
    app.call(token, Method::POST, base, Some(body)).await
}

/// `POST {base}` as `token`: the 201 view.
pub async fn create_ok(app: &TestApp, token: &str, base: &str, body: Value) -> Value {
    let response = create(app, Some(token), base, body).await;
    assert_eq!(
        response.status,
        201,
        "create at {base}: {}",
        response.text()
    );
    response.json()
}

/// A playlist titled `title` (`isPublic` as given) made by `token`'s holder: its id.
pub async fn playlist(app: &TestApp, token: &str, title: &str, public: bool) -> String {
    let view = create_ok(
        app,
        token,
        PLAYLISTS,
        json!({ "title": title, "isPublic": public }),
    )
    .await;
    view["id"].as_str().expect("id").to_string()
}

/// An album titled `title` made by the artist holding `token`: its id.
pub async fn album(app: &TestApp, token: &str, title: &str) -> String {
    let view = create_ok(app, token, ALBUMS, json!({ "title": title })).await;
    view["id"].as_str().expect("id").to_string()
}

/// `GET {base}/{id}` as `token`.
pub async fn view(app: &TestApp, token: Option<&str>, base: &str, id: &str) -> TestResponse {
    app.call(token, Method::GET, &format!("{base}/{id}"), None)
        .await
}

/// `POST {base}/{id}/songs {songIds, position?}` as `token`.
pub async fn add_songs(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    id: &str,
    song_ids: &[String],
    position: Option<usize>,
) -> TestResponse {
    post_songs(
        app,
        token,
        base,
        id,
        json!({ "songIds": song_ids }),
        position,
    )
    .await
}

/// `POST {base}/{id}/songs {songId, position?}` as `token`.
pub async fn add_song(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    id: &str,
    song_id: &str,
    position: Option<usize>,
) -> TestResponse {
    post_songs(app, token, base, id, json!({ "songId": song_id }), position).await
}

/// `POST {base}/{id}/songs` as `token` with `body` (and `position` when given).
async fn post_songs(
    app: &TestApp,
    token: Option<&str>,
    base: &str,
    id: &str,
    mut body: Value,
    position: Option<usize>,
) -> TestResponse {
    if let Some(position) = position {
        body["position"] = json!(position);
    }
    app.call(
        token,
        Method::POST,
        &format!("{base}/{id}/songs"),
        Some(body),
    )
    .await
}

/// `GET {path}` as `token`, which must answer 200: the ids of its `items`.
pub async fn item_ids<C: FromIterator<String>>(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> C {
    let response = app.call(token, Method::GET, path, None).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    let body: Value = response.json();
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: items: {body}"))
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_string())
        .collect()
}

/// The `tracks` of a view.
#[track_caller]
pub fn tracks(view: &Value) -> Vec<Value> {
    view["tracks"]
        .as_array()
        .unwrap_or_else(|| panic!("a view with tracks: {view}"))
        .clone()
}

/// The song ids of a view's tracks, in order.
#[track_caller]
pub fn track_songs(view: &Value) -> Vec<String> {
    tracks(view)
        .iter()
        .map(|t| t["songId"].as_str().expect("songId").to_string())
        .collect()
}

/// The entry ids of a view's tracks, in order.
#[track_caller]
pub fn track_entries(view: &Value) -> Vec<String> {
    tracks(view)
        .iter()
        .map(|t| t["entryId"].as_str().expect("entryId").to_string())
        .collect()
}

/// The positions of a view's tracks, in order.
#[track_caller]
pub fn track_positions(view: &Value) -> Vec<u64> {
    tracks(view)
        .iter()
        .map(|t| t["position"].as_u64().expect("position"))
        .collect()
}
