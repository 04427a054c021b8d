//! The `catalog` component with its S3 media backend, end to end: the real `spin.toml` with
//! the `s3_*` variables pointing at a real S3-compatible server (moto's, started on loopback by
//! [`S3Server`]), driven over HTTP. Uploads land in the bucket (multipart past 5 MiB), listeners
//! stream from presigned bucket URLs, covers are proxied, deletion and every refused upload
//! leave no object (nor unfinished multipart upload) behind.
//!
//! Every test starts its own app and its own S3 server.

use reqwest::Method;
use serde_json::Value;
use spindle_shared::events::{Event, UserDeleted, new_envelope};
use spindle_tests::accounts::{User, register};
use spindle_tests::bus::EventBus;
use spindle_tests::media::{Form, fixture, upload, wav};
use spindle_tests::s3::S3Server;
use spindle_tests::{TestApp, TestResponse, app_manifest, assert_problem, eventually};
use std::time::Duration;

const BUCKET: &str = "spindle-media";
const ACCESS_KEY: &str = "spindle-test";
const SECRET_KEY: &str = "spindle-test-secret";

/// An app whose media go to a fresh bucket of `s3`.
async fn start(s3: &S3Server, variables: &[(&str, &str)]) -> TestApp {
    s3.create_bucket(BUCKET);
    TestApp::builder(app_manifest())
        .variable("s3_endpoint", s3.endpoint())
        .variable("s3_origin", s3.endpoint())
        .variable("s3_region", "us-east-1")
        .variable("s3_bucket", BUCKET)
        .variable("s3_access_key_id", ACCESS_KEY)
        .variable("s3_secret_access_key", SECRET_KEY)
        .variables(variables)
        .start()
        .await
        .unwrap_or_else(|e| panic!("failed to start the app: {e:?}"))
}

async fn upload_ok(app: &TestApp, user: &User, form: &Form) -> Value {
    let response = upload(app, user.bearer(), form).await;
    assert_eq!(response.status, 201, "upload: {}", response.text());
    response.json()
}

async fn call(app: &TestApp, token: Option<&str>, method: Method, path: &str) -> TestResponse {
    let mut request = app.request(method, path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

fn id(song: &Value) -> String {
    song["id"].as_str().expect("song.id").to_string()
}

#[track_caller]
fn assert_duration(song: &Value, expected_ms: u64) {
    let got = song["durationMs"].as_u64().expect("durationMs");
    assert!(
        got.abs_diff(expected_ms) <= 100,
        "durationMs {got}, expected {expected_ms} ± 100: {song}"
    );
}

/// `GET /api/songs/:id/stream` as `user`: the presigned bucket URL.
async fn stream_url(app: &TestApp, s3: &S3Server, user: &User, song_id: &str) -> String {
    let response = call(
        app,
        Some(&user.token),
        Method::GET,
        &format!("/api/songs/{song_id}/stream"),
    )
    .await;
    assert_eq!(response.status, 200, "stream: {}", response.text());
    let body: Value = response.json();
    let url = body["url"].as_str().expect("url").to_string();
    assert!(body["expiresAt"].is_string(), "{body}");
    let prefix = format!("{}/{BUCKET}/media/", s3.endpoint());
    assert!(url.starts_with(&prefix), "a URL of the bucket: {url}");
    assert!(url.contains("X-Amz-Signature="), "presigned: {url}");
    assert!(url.contains("X-Amz-Expires=300"), "the stream TTL: {url}");
    url
}

/// A GET straight to the bucket (no app involved).
async fn get_from_bucket(url: &str, range: Option<&str>) -> TestResponse {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client.get(url);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    let response = request.send().await.expect("the bucket answers");
    TestResponse::from_reqwest(response).await.unwrap()
}

/// The keys in `after` but not in `before` (the song view does not name its objects).
fn new_objects(before: &[String], after: &[String]) -> Vec<String> {
    after
        .iter()
        .filter(|k| !before.contains(k))
        .cloned()
        .collect()
}

#[tokio::test]
async fn uploads_land_in_the_bucket_stream_from_it_and_go_with_their_song() {
    let s3 = S3Server::start().expect("an S3 server");
    let app = start(&s3, &[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    assert!(s3.objects(BUCKET).is_empty());

    // An MP3 with a cover: two objects.
    let mp3_bytes = fixture("tone.mp3");
    let form = Form::new()
        .fixture("audio", "tone.mp3")
        .fixture("cover", "cover.jpg");
    let song = upload_ok(&app, &artist, &form).await;
    assert_duration(&song, 2000);
    assert_eq!(song["codec"], "mp3", "{song}");
    assert_eq!(song["sizeBytes"], mp3_bytes.len(), "{song}");
    assert_eq!(song["hasCover"], true, "{song}");
    let mp3_objects = s3.objects(BUCKET);
    assert_eq!(mp3_objects.len(), 2, "audio and cover: {mp3_objects:?}");
    assert!(mp3_objects.iter().all(|k| k.starts_with("media/")));
    // Nothing of it lives in the SQLite media database.
    assert!(
        !app.state_dir().join(".spin/media.db").exists(),
        "the SQLite backend is not used"
    );

    // A FLAC: one more.
    let flac = upload_ok(
        &app,
        &artist,
        &Form::new()
            .fixture("audio", "tone.flac")
            .text("title", "Flac"),
    )
    .await;
    assert_duration(&flac, 1500);
    assert_eq!(flac["codec"], "flac", "{flac}");
    let all = s3.objects(BUCKET);
    assert_eq!(new_objects(&mp3_objects, &all).len(), 1, "{all:?}");

    // Streaming: a presigned URL of the bucket, the exact bytes, and ranges from the bucket.
    let url = stream_url(&app, &s3, &artist, &id(&song)).await;
    let whole = get_from_bucket(&url, None).await;
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert!(whole.body[..] == mp3_bytes[..], "the exact bytes");
    assert_eq!(whole.content_type().as_deref(), Some("audio/mpeg"));
    let part = get_from_bucket(&url, Some("bytes=100-1099")).await;
    assert_eq!(part.status, 206, "{}", part.text());
    assert!(part.body[..] == mp3_bytes[100..1100], "the range's bytes");
    let flac_url = stream_url(&app, &s3, &artist, &id(&flac)).await;
    assert!(get_from_bucket(&flac_url, None).await.body[..] == fixture("tone.flac")[..]);
    // `?redirect=true`: a 302 to the bucket.
    let response = call(
        &app,
        Some(&artist.token),
        Method::GET,
        &format!("/api/songs/{}/stream?redirect=true", id(&song)),
    )
    .await;
    assert_eq!(response.status, 302, "{}", response.text());
    assert!(
        response
            .header("location")
            .is_some_and(|l| l.starts_with(&s3.endpoint())),
        "{:?}",
        response.header("location")
    );

    // The cover, proxied from the bucket: bytes, type, ranges, HEAD.
    let cover_path = format!("/api/songs/{}/cover", id(&song));
    let cover = call(&app, None, Method::GET, &cover_path).await;
    assert_eq!(cover.status, 200, "{}", cover.text());
    assert!(
        cover.body[..] == fixture("cover.jpg")[..],
        "the cover's bytes"
    );
    assert_eq!(cover.content_type().as_deref(), Some("image/jpeg"));
    let etag = cover.header("etag").expect("an etag");
    let again = app
        .send(
            app.request(Method::GET, &cover_path)
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(again.status, 304);
    let part = app
        .send(
            app.request(Method::GET, &cover_path)
                .header("range", "bytes=10-19"),
        )
        .await;
    assert_eq!(part.status, 206);
    assert!(part.body[..] == fixture("cover.jpg")[10..20]);

    // Deleting the MP3 removes its audio and cover objects; the FLAC's stays.
    let response = call(
        &app,
        Some(&artist.token),
        Method::DELETE,
        &format!("/api/songs/{}", id(&song)),
    )
    .await;
    assert_eq!(response.status, 204, "{}", response.text());
    let left = s3.objects(BUCKET);
    assert_eq!(
        left,
        new_objects(&mp3_objects, &all),
        "only the FLAC's object is left"
    );
    assert_eq!(
        get_from_bucket(&url, None).await.status,
        404,
        "the URL is dead"
    );
}

#[tokio::test]
async fn a_large_upload_goes_up_in_parts_and_streams_whole() {
    let s3 = S3Server::start().expect("an S3 server");
    let app = start(&s3, &[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    // 8 MB: two parts of a multipart upload (5 MiB and the rest).
    let bytes = wav(500_000, 5);
    assert!(bytes.len() > 7 << 20);
    let song = upload_ok(
        &app,
        &artist,
        &Form::new()
            .file("audio", "long.wav", bytes.clone())
            .text("title", "Long"),
    )
    .await;
    assert_duration(&song, 500_000);
    assert_eq!(song["sizeBytes"], bytes.len());
    let objects = s3.objects(BUCKET);
    assert_eq!(objects.len(), 1, "one object: {objects:?}");
    let etag = s3.etag(BUCKET, &objects[0]).expect("an etag");
    assert!(etag.trim_matches('"').ends_with("-2"), "two parts: {etag}");
    assert!(
        s3.pending_uploads(BUCKET).is_empty(),
        "the upload completed"
    );

    let url = stream_url(&app, &s3, &artist, &id(&song)).await;
    let whole = get_from_bucket(&url, None).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body.len(), bytes.len());
    assert!(whole.body[..] == bytes[..], "the exact bytes");
    let (start, end) = ((5 << 20) - 10, (5 << 20) + 10);
    let part = get_from_bucket(&url, Some(&format!("bytes={start}-{}", end - 1))).await;
    assert_eq!(part.status, 206);
    assert!(part.body[..] == bytes[start..end], "across the parts' seam");
}

#[tokio::test]
async fn refused_uploads_leave_no_object_behind() {
    let s3 = S3Server::start().expect("an S3 server");
    // 6 MiB: a file over it has sent a whole part before it is refused.
    let app = start(&s3, &[("max_upload_bytes", &(6u64 << 20).to_string())]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let first = upload_ok(&app, &artist, &Form::new().fixture("audio", "tone.mp3")).await;
    let kept = s3.objects(BUCKET);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let clean = |what: &str| {
        assert_eq!(s3.objects(BUCKET), kept, "{what}: no object left behind");
        assert!(
            s3.pending_uploads(BUCKET).is_empty(),
            "{what}: no multipart upload left behind"
        );
    };

    let response = upload(
        &app,
        artist.bearer(),
        &Form::new().fixture("audio", "corrupt.mp3"),
    )
    .await;
    assert_problem(&response, 422, "a corrupt MP3");
    clean("a corrupt MP3");

    let form = Form::new()
        .fixture("audio", "tone.mp3")
        .fixture("cover", "cover.png")
        .text("title", "Again");
    let response = upload(&app, artist.bearer(), &form).await;
    let body = assert_problem(&response, 409, "the same file twice");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&id(&first))
    );
    clean("a duplicate with a cover");

    // Over the limit, past the first 5 MiB part: the multipart upload is aborted.
    let big = wav(500_000, 9);
    assert!(big.len() > 7 << 20);
    let response = upload(
        &app,
        artist.bearer(),
        &Form::new()
            .file("audio", "big.wav", big)
            .text("title", "Big"),
    )
    .await;
    assert_problem(&response, 413, "a WAV over max_upload_bytes");
    clean("an upload over the limit");
    let requests = s3.requests();
    let begun = |r: &&String| r.contains("POST /spindle-media/media/") && r.contains("uploads=");
    let aborted =
        |r: &&String| r.contains("DELETE /spindle-media/media/") && r.contains("uploadId=");
    assert_eq!(
        requests.iter().filter(begun).count(),
        1,
        "a multipart upload: {requests:#?}"
    );
    assert_eq!(
        requests.iter().filter(aborted).count(),
        1,
        "aborted: {requests:#?}"
    );

    // A large file that is not what it says, refused after it was stored whole (in parts).
    let mut fake = fixture("fake.flac");
    fake.resize(5_500_000, 0x55);
    let response = upload(
        &app,
        artist.bearer(),
        &Form::new().file("audio", "fake.flac", fake),
    )
    .await;
    assert_problem(&response, 422, "an unreadable FLAC of two parts");
    clean("an unreadable FLAC of two parts");

    // A bad field after the audio.
    let form = Form::new()
        .fixture("audio", "tone.flac")
        .text("isPublic", "maybe");
    let response = upload(&app, artist.bearer(), &form).await;
    assert_problem(&response, 422, "a bad isPublic");
    clean("a bad field");

    // A large duplicate: stored in parts, then refused.
    let long = Form::new()
        .file("audio", "long.wav", wav(340_000, 4))
        .text("title", "Long");
    upload_ok(&app, &artist, &long).await;
    let kept = s3.objects(BUCKET);
    assert_eq!(kept.len(), 2, "{kept:?}");
    let response = upload(&app, artist.bearer(), &long).await;
    assert_problem(&response, 409, "a large file twice");
    assert_eq!(
        s3.objects(BUCKET),
        kept,
        "a large duplicate: no object left behind"
    );
    assert!(s3.pending_uploads(BUCKET).is_empty());
}

#[tokio::test]
async fn visibility_is_still_enforced_at_stream_and_cover() {
    let s3 = S3Server::start().expect("an S3 server");
    let app = start(&s3, &[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    let other = register(&app, "bob@example.com", "artist").await;
    let listener = register(&app, "lee@example.com", "listener").await;
    let form = Form::new()
        .fixture("audio", "tone.flac")
        .fixture("cover", "cover.webp")
        .text("isPublic", "false");
    let private = upload_ok(&app, &artist, &form).await;
    let stream = format!("/api/songs/{}/stream", id(&private));
    let cover = format!("/api/songs/{}/cover", id(&private));

    for (token, who) in [
        (&other.token, "another artist"),
        (&listener.token, "a listener"),
    ] {
        let response = call(&app, Some(token), Method::GET, &stream).await;
        assert_problem(&response, 404, &format!("{who} streams a private song"));
        let response = call(&app, Some(token), Method::GET, &cover).await;
        assert_problem(&response, 404, &format!("{who} and a private cover"));
    }
    let response = call(&app, None, Method::GET, &stream).await;
    assert_problem(&response, 401, "anonymous stream");
    let response = call(&app, None, Method::GET, &cover).await;
    assert_problem(&response, 404, "anonymous and a private cover");

    // The owner streams it.
    let url = stream_url(&app, &s3, &artist, &id(&private)).await;
    assert!(get_from_bucket(&url, None).await.body[..] == fixture("tone.flac")[..]);
    let response = call(&app, Some(&artist.token), Method::GET, &cover).await;
    assert_eq!(response.status, 200);
    assert!(response.body[..] == fixture("cover.webp")[..]);
}

#[tokio::test]
async fn a_deleted_artists_objects_leave_the_bucket() {
    let s3 = S3Server::start().expect("an S3 server");
    let app = start(&s3, &[]).await;
    let doomed = register(&app, "dora@example.com", "artist").await;
    let stays = register(&app, "sam@example.com", "artist").await;
    let form = Form::new()
        .fixture("audio", "tone.mp3")
        .fixture("cover", "cover.png");
    upload_ok(&app, &doomed, &form).await;
    upload_ok(&app, &doomed, &Form::new().fixture("audio", "tone.flac")).await;
    let before = s3.objects(BUCKET);
    upload_ok(&app, &stays, &Form::new().fixture("audio", "tone.ogg")).await;
    let kept = new_objects(&before, &s3.objects(BUCKET));
    assert_eq!((before.len(), kept.len()), (3, 1));

    // `user.deleted`, as auth publishes it.
    let mut bus = EventBus::connect(&app.redis.url()).await;
    let envelope = new_envelope(
        Event::UserDeleted(UserDeleted {
            user_id: doomed.id.clone(),
        }),
        "catalog-s3-test",
        "test-correlation",
    );
    bus.publish(&envelope).await;
    eventually(
        Duration::from_secs(20),
        "the doomed artist's objects gone",
        || async { (s3.objects(BUCKET) == kept).then_some(()) },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// SigV4, checked here: moto does not verify presigned signatures, so every presigned request it
// logged is verified against this independent computation (AWS's "authenticating requests:
// query parameters", UNSIGNED-PAYLOAD, host the only signed header).
// ---------------------------------------------------------------------------------------------

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `target` (path and query, as sent to `host`) carries a valid SigV4 query
/// signature made with [`ACCESS_KEY`] and [`SECRET_KEY`]; the reason when not.
fn check_presigned(method: &str, target: &str, host: &str) -> Result<(), String> {
    use sha2::Digest;
    use spindle_shared::http::{percent_decode, percent_encode};
    let (path, query) = target.split_once('?').ok_or("no query")?;
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode(&s.replace('+', "%2B")).unwrap();
            (decode(k), decode(v))
        })
        .collect();
    let take = |pairs: &[(String, String)], name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(format!("no {name}"))
    };
    let signature = take(&pairs, "X-Amz-Signature")?;
    let date = take(&pairs, "X-Amz-Date")?;
    let credential = take(&pairs, "X-Amz-Credential")?;
    if take(&pairs, "X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err("not AWS4-HMAC-SHA256".into());
    }
    if take(&pairs, "X-Amz-SignedHeaders")? != "host" {
        return Err("signed headers other than host".into());
    }
    let (key, scope) = credential.split_once('/').ok_or("bad credential")?;
    if key != ACCESS_KEY {
        return Err(format!("access key {key}"));
    }
    pairs.retain(|(k, _)| k != "X-Amz-Signature");
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    let canonical_query: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let canonical = format!(
        "{method}\n{path}\n{}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD",
        canonical_query.join("&")
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&sha2::Sha256::digest(canonical.as_bytes()))
    );
    let mut signing_key = format!("AWS4{SECRET_KEY}").into_bytes();
    for part in scope.split('/') {
        signing_key = hmac_sha256(&signing_key, part);
    }
    let expected = hex(&hmac_sha256(&signing_key, &to_sign));
    if expected == signature {
        Ok(())
    } else {
        Err(format!("signature {signature}, expected {expected}"))
    }
}

/// Every presigned request in the server's log is validly signed; answers how many there were.
fn assert_all_signed(s3: &S3Server) -> usize {
    let host = format!("127.0.0.1:{}", s3.port());
    let mut checked = 0;
    for line in s3.requests() {
        let Some((method, target)) =
            ["GET", "HEAD", "PUT", "POST", "DELETE"]
                .iter()
                .find_map(|m| {
                    let start = line.find(&format!("{m} /"))?;
                    let rest = &line[start + m.len() + 1..];
                    Some((*m, &rest[..rest.find(" HTTP/1.")?]))
                })
        else {
            continue;
        };
        if !target.contains("X-Amz-Signature=") {
            continue;
        }
        if let Err(why) = check_presigned(method, target, &host) {
            panic!("{method} {target}: {why}");
        }
        checked += 1;
    }
    checked
}

#[tokio::test]
async fn every_request_to_the_bucket_is_validly_presigned() {
    let s3 = S3Server::start().expect("an S3 server");
    let app = start(&s3, &[]).await;
    let artist = register(&app, "ann@example.com", "artist").await;
    // Small (PutObject) and large (multipart) uploads with a cover, a probe, a cover read, a
    // refused upload and a deletion: every kind of request the catalog sends.
    let form = Form::new()
        .fixture("audio", "tone.mp3")
        .fixture("cover", "cover.png");
    let small = upload_ok(&app, &artist, &form).await;
    let large = Form::new()
        .file("audio", "long.wav", wav(400_000, 3))
        .text("title", "Long");
    let large = upload_ok(&app, &artist, &large).await;
    let cover = format!("/api/songs/{}/cover", id(&small));
    assert_eq!(call(&app, None, Method::GET, &cover).await.status, 200);
    let response = upload(
        &app,
        artist.bearer(),
        &Form::new().fixture("audio", "corrupt.mp3"),
    )
    .await;
    assert_problem(&response, 422, "a corrupt MP3");
    let url = stream_url(&app, &s3, &artist, &id(&large)).await;
    let target = url.strip_prefix(&s3.endpoint()).expect("on the endpoint");
    check_presigned("GET", target, &format!("127.0.0.1:{}", s3.port()))
        .unwrap_or_else(|why| panic!("the stream URL {url}: {why}"));
    // The check is not a rubber stamp: another key, method or expiry breaks it.
    let host = format!("127.0.0.1:{}", s3.port());
    let tampered = target.replace("/media/", "/media/x");
    assert!(check_presigned("GET", &tampered, &host).is_err());
    assert!(check_presigned("PUT", target, &host).is_err());
    assert!(
        check_presigned(
            "GET",
            &target.replace("X-Amz-Expires=300", "X-Amz-Expires=301"),
            &host
        )
        .is_err()
    );
    let response = call(
        &app,
        Some(&artist.token),
        Method::DELETE,
        &format!("/api/songs/{}", id(&small)),
    )
    .await;
    assert_eq!(response.status, 204);

    let checked = assert_all_signed(&s3);
    assert!(checked >= 12, "only {checked} presigned requests seen");
}
