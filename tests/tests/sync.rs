//! The `sync` component (issue 7), end to end: the real `spin.toml` started in-process against
//! its own `redis-server`, with real accounts from `auth`, driven over HTTP as devices drive it:
//! devices registered per user, commands sent with client-made ids (applied by the
//! Redis-triggered handler), long polls of the playback state, the shared clock through a
//! reference client ([`ClockClient`]) with deliberately wrong local clocks, listening rooms of
//! three listeners, and the app surviving a Redis restart and a host restart.
//!
//! The contract is the specification of issue 7 (routes, answers, versions, rejections,
//! polling, rooms). Every test starts its own app and can run alone.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use spindle_tests::accounts::{User, admin_delete_user, listener, register_admin};
use spindle_tests::bus::EventBus;
use spindle_tests::sync::{
    APPLY_WAIT, Api, COMMANDS, ClockClient, DEVICES, Device, ROOMS, STATE, TIME, alice_app,
    alice_with_phone, command_id, is_room_code, position_at, queue_entries, queue_songs,
    state_etag, version_of, wall_clock_ms, with_alice, with_alice_and_phone,
};
use spindle_tests::{
    TestApp, TestResponse, app_manifest, assert_invalid, assert_problem, eventually, object_keys,
    rfc3339_ms, spawn_app, spawn_app_with, string_set,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// A well-formed id nobody has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// How long a poll that must be held is given to prove it (it must still be open then).
const HOLD: Duration = Duration::from_millis(400);

/// "Within a couple of seconds": how soon a held poll must answer after the change.
const WAKE: Duration = Duration::from_secs(2);

const DEVICE_FIELDS: &[&str] = &["id", "name", "kind", "createdAt", "lastSeenAt", "isActive"];

const KINDS: &[&str] = &[
    "web", "phone", "tablet", "desktop", "speaker", "tv", "car", "other",
];

/// The fields every state has (`rejections` comes with a device id).
const STATE_FIELDS: &[&str] = &[
    "version",
    "scope",
    "roomCode",
    "queue",
    "currentEntryId",
    "currentIndex",
    "currentSongId",
    "positionMs",
    "positionAt",
    "playing",
    "playbackRate",
    "shuffle",
    "playOrder",
    "repeat",
    "volume",
    "activeDeviceId",
    "changedByDeviceId",
    "changedAt",
    "lastCommandId",
    "serverTime",
    "room",
];

const ROOM_FIELDS: &[&str] = &[
    "code",
    "name",
    "hostId",
    "controlMode",
    "createdAt",
    "members",
    "closesAt",
];

const MEMBER_FIELDS: &[&str] = &[
    "userId",
    "displayName",
    "isHost",
    "joinedAt",
    "lastSeenAt",
    "online",
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The real app with a Redis that persists every write, so that it can be restarted.
async fn persistent_app() -> TestApp {
    TestApp::builder(app_manifest())
        .persistent_redis()
        .start()
        .await
        .expect("start the app")
}

/// A long poll (`GET /api/sync/state{query}`) running in the background: its answer and the
/// moment the answer came.
fn spawn_poll(api: &Api, device: &Device, query: String) -> JoinHandle<(TestResponse, Instant)> {
    let api = api.clone();
    let device = device.clone();
    tokio::spawn(async move {
        let response = api
            .poll(&device.token, Some(&device.id), &query, None)
            .await;
        (response, Instant::now())
    })
}

/// Waits [`HOLD`] and checks that the poll is still held.
async fn assert_held(poll: &JoinHandle<(TestResponse, Instant)>, what: &str) {
    tokio::time::sleep(HOLD).await;
    assert!(
        !poll.is_finished(),
        "{what}: the poll answered without a change instead of being held"
    );
}

/// The answer of a held poll, which must come within [`WAKE`] of `changed`: the state.
async fn woken(poll: JoinHandle<(TestResponse, Instant)>, changed: Instant, what: &str) -> Value {
    let (response, at) = poll.await.expect("the poll task");
    assert_eq!(response.status, 200, "{what}: {}", response.text());
    let after = at.saturating_duration_since(changed);
    assert!(
        after < WAKE,
        "{what}: the poll answered {after:?} after the change"
    );
    let state: Value = response.json();
    assert_eq!(state_etag(&response), version_of(&state), "{what}: ETag");
    state
}

/// A command for room `code` from `device`.
async fn room_command(
    api: &Api,
    device: &Device,
    code: &str,
    kind: &str,
    arguments: Value,
) -> TestResponse {
    let mut body = Api::command_body(kind, arguments);
    body["roomCode"] = json!(code);
    api.post_command(Some(&device.token), Some(&device.id), body)
        .await
}

/// A room command from `device` that must be accepted and applied: its document.
async fn apply_in_room(api: &Api, device: &Device, code: &str, kind: &str, args: Value) -> Value {
    let response = room_command(api, device, code, kind, args).await;
    assert_eq!(
        response.status,
        202,
        "{kind} in {code}: {}",
        response.text()
    );
    let id = response.json::<Value>()["commandId"]
        .as_str()
        .unwrap()
        .to_string();
    let done = api.settled(&device.token, &id).await;
    assert_eq!(done["status"], "applied", "{kind} in {code}: {done}");
    done
}

/// The `version` of an applied command's document.
#[track_caller]
fn applied_version(done: &Value) -> u64 {
    assert_eq!(done["status"], "applied", "{done}");
    done["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("an applied command has a version: {done}"))
}

/// A state's rejections: none when the field is absent.
fn rejections(state: &Value) -> Vec<Value> {
    match &state["rejections"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        other => panic!("rejections is a list: {other}"),
    }
}

/// Asserts `device` is a device document named `name` of `kind`.
#[track_caller]
fn assert_device(device: &Value, name: &str, kind: &str) {
    assert_eq!(object_keys(device), string_set(DEVICE_FIELDS), "{device}");
    assert!(
        device["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{device}"
    );
    assert_eq!(device["name"], name, "{device}");
    assert_eq!(device["kind"], kind, "{device}");
    assert!(device["isActive"].is_boolean(), "{device}");
    rfc3339_ms(device["createdAt"].as_str().expect("createdAt"));
    rfc3339_ms(device["lastSeenAt"].as_str().expect("lastSeenAt"));
}

/// A code of the room alphabet that is not `taken`.
fn other_code(taken: &[&str]) -> String {
    ["QQQQQ2", "WWWWW3", "XXXXX4", "ZZZZZ5"]
        .into_iter()
        .find(|c| !taken.iter().any(|t| t.eq_ignore_ascii_case(c)))
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn devices_are_created_listed_renamed_and_deleted() {
    let (app, api, alice) = alice_app().await;
    let bob = listener(&app, "Bob").await;

    assert!(api.devices(&alice.token).await.is_empty(), "no devices yet");

    // Created: 201 with Location, the name trimmed, not active.
    let response = api
        .create_device(
            Some(&alice.token),
            json!({ "name": "  Kitchen speaker  ", "kind": "speaker" }),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let speaker: Value = response.json();
    assert_device(&speaker, "Kitchen speaker", "speaker");
    assert_eq!(speaker["isActive"], false);
    let speaker_id = speaker["id"].as_str().unwrap().to_string();
    assert_eq!(
        response.header("location"),
        Some(format!("{DEVICES}/{speaker_id}"))
    );
    let created = rfc3339_ms(speaker["createdAt"].as_str().unwrap());
    assert!(
        (created - wall_clock_ms()).abs() < 60_000.0,
        "createdAt is now: {speaker}"
    );

    // Every kind is accepted; a 64-character name too.
    let mut ids = vec![speaker_id.clone()];
    for kind in KINDS {
        let name = format!("{kind} {}", "x".repeat(64 - kind.len() - 1));
        let response = api
            .create_device(Some(&alice.token), json!({ "name": name, "kind": kind }))
            .await;
        assert_eq!(response.status, 201, "{kind}: {}", response.text());
        let device: Value = response.json();
        assert_device(&device, &name, kind);
        ids.push(device["id"].as_str().unwrap().to_string());
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "device ids are unique: {ids:?}");

    // Listed oldest first; only the owner's.
    let listed: Vec<String> = api
        .devices(&alice.token)
        .await
        .iter()
        .map(|d| {
            assert_eq!(object_keys(d), string_set(DEVICE_FIELDS), "{d}");
            d["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(listed, ids, "oldest first");
    assert!(api.devices(&bob.token).await.is_empty(), "Bob sees none");

    // Renamed (trimmed again).
    let response = api
        .rename_device(&alice.token, &speaker_id, " Living room ")
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let renamed: Value = response.json();
    assert_device(&renamed, "Living room", "speaker");
    assert_eq!(renamed["id"], speaker_id);
    assert_eq!(renamed["createdAt"], speaker["createdAt"]);
    assert_eq!(
        api.listed_device(&alice.token, &speaker_id).await["name"],
        "Living room"
    );

    // Deleted: 204, gone from the list; then 404 for every route on it.
    let response = api.delete_device(&alice.token, &speaker_id).await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());
    let listed: Vec<Value> = api.devices(&alice.token).await;
    assert_eq!(listed.len(), ids.len() - 1);
    assert!(listed.iter().all(|d| d["id"] != speaker_id.as_str()));
    let response = api.delete_device(&alice.token, &speaker_id).await;
    assert_problem(&response, 404, "delete again");
    let response = api.rename_device(&alice.token, &speaker_id, "Back").await;
    assert_problem(&response, 404, "rename a deleted device");
    let response = api
        .post_command(
            Some(&alice.token),
            Some(&speaker_id),
            Api::command_body("pause", Value::Null),
        )
        .await;
    assert_problem(&response, 404, "a command from a deleted device");
}

#[tokio::test]
async fn device_names_and_kinds_are_validated_and_limited_to_50_per_user() {
    let (app, api, alice) = alice_app().await;

    let cases = [
        (json!({ "name": "", "kind": "phone" }), vec!["name"]),
        (json!({ "name": "   ", "kind": "phone" }), vec!["name"]),
        (
            json!({ "name": "x".repeat(65), "kind": "phone" }),
            vec!["name"],
        ),
        (json!({ "name": 7, "kind": "phone" }), vec!["name"]),
        (json!({ "kind": "phone" }), vec!["name"]),
        (json!({ "name": "Fridge", "kind": "fridge" }), vec!["kind"]),
        (json!({ "name": "Phone", "kind": "Phone" }), vec!["kind"]),
        (json!({ "name": "Phone" }), vec!["kind"]),
        (json!({}), vec!["name", "kind"]),
    ];
    for (body, fields) in &cases {
        let response = api.create_device(Some(&alice.token), body.clone()).await;
        assert_invalid(&response, fields, &format!("create {body}"));
    }
    assert!(api.devices(&alice.token).await.is_empty(), "nothing made");

    let phone = api.device(&alice, "Phone", "phone").await;
    for name in [json!(""), json!("  "), json!("y".repeat(65)), json!(null)] {
        let response = api.rename_device(&alice.token, &phone.id, &name).await;
        assert_invalid(&response, &["name"], &format!("rename to {name}"));
    }
    assert_eq!(
        api.listed_device(&alice.token, &phone.id).await["name"],
        "Phone"
    );

    // 50 devices per user; the 51st is a conflict.
    for i in 1..50 {
        api.device(&alice, &format!("Device {i}"), "other").await;
    }
    let response = api
        .create_device(
            Some(&alice.token),
            json!({ "name": "One too many", "kind": "web" }),
        )
        .await;
    assert_problem(&response, 409, "the 51st device");
    assert_eq!(api.devices(&alice.token).await.len(), 50);
    // Another user is not affected by Alice's limit.
    let bob = listener(&app, "Bob").await;
    api.device(&bob, "Bob's phone", "phone").await;
}

#[tokio::test]
async fn a_device_is_active_once_it_plays_and_its_last_seen_time_follows_its_requests() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;

    let listed = api.devices(&alice.token).await;
    assert!(listed.iter().all(|d| d["isActive"] == false), "{listed:?}");

    // Playing from the phone makes it the active device (none was).
    api.apply(&phone, "play", json!({ "songId": "song-1" }))
        .await;
    assert_eq!(api.state(&alice.token).await["activeDeviceId"], phone.id);
    let listed = api.devices(&alice.token).await;
    let active: Vec<&Value> = listed.iter().filter(|d| d["isActive"] == true).collect();
    assert_eq!(active.len(), 1, "{listed:?}");
    assert_eq!(active[0]["id"], phone.id);

    // The laptop's requests move its lastSeenAt; the phone's stays where it was.
    let phone_seen = api.listed_device(&alice.token, &phone.id).await["lastSeenAt"].clone();
    let laptop_seen = api.listed_device(&alice.token, &laptop.id).await["lastSeenAt"].clone();
    let before = rfc3339_ms(laptop_seen.as_str().unwrap());
    let moved = eventually(
        Duration::from_secs(10),
        "the laptop's lastSeenAt",
        || async {
            api.state_from(&laptop).await;
            let seen = api.listed_device(&alice.token, &laptop.id).await["lastSeenAt"].clone();
            (seen != laptop_seen).then_some(seen)
        },
    )
    .await;
    let after = rfc3339_ms(moved.as_str().unwrap());
    assert!(
        after > before,
        "lastSeenAt goes forward: {laptop_seen} → {moved}"
    );
    assert!(
        (after - wall_clock_ms()).abs() < 60_000.0,
        "lastSeenAt is now: {moved}"
    );
    assert_eq!(
        api.listed_device(&alice.token, &phone.id).await["lastSeenAt"],
        phone_seen,
        "the phone made no request"
    );
}

#[tokio::test]
async fn deleting_the_active_device_leaves_the_state_without_one() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    let version = applied_version(&api.apply(&phone, "play", json!({ "songId": "s1" })).await);

    // Deleting another device does not touch the state.
    let response = api.delete_device(&alice.token, &laptop.id).await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(version_of(&api.state(&alice.token).await), version);

    let response = api.delete_device(&alice.token, &phone.id).await;
    assert_eq!(response.status, 204, "{}", response.text());
    let state = api.state_at_least(&alice.token, version + 1).await;
    assert_eq!(version_of(&state), version + 1, "{state}");
    assert_eq!(state["activeDeviceId"], Value::Null, "{state}");
    assert_eq!(state["currentSongId"], "s1", "the queue stays: {state}");
}

#[tokio::test]
async fn another_users_device_is_forbidden_and_an_unknown_one_is_not_found() {
    let (app, api, alice) = alice_app().await;
    let bob = listener(&app, "Bob").await;
    let alice_phone = api.device(&alice, "Alice's phone", "phone").await;
    let bob_phone = api.device(&bob, "Bob's phone", "phone").await;

    for (device_id, status, what) in [
        (bob_phone.id.as_str(), 403, "Bob's device"),
        (UNKNOWN_ID, 404, "an unknown device"),
        ("not-a-device", 404, "a malformed device id"),
    ] {
        let response = api
            .post_command(
                Some(&alice.token),
                Some(device_id),
                Api::command_body("play", json!({ "songId": "s1" })),
            )
            .await;
        assert_problem(&response, status, &format!("a command from {what}"));

        let response = api.poll(&alice.token, Some(device_id), "", None).await;
        assert_problem(&response, status, &format!("a poll from {what}"));

        let response = api
            .poll(&alice.token, Some(device_id), "?since=0&wait=1", None)
            .await;
        assert_problem(&response, status, &format!("a long poll from {what}"));

        let response = api.rename_device(&alice.token, device_id, "Mine now").await;
        assert_problem(&response, status, &format!("renaming {what}"));

        let response = api.delete_device(&alice.token, device_id).await;
        assert_problem(&response, status, &format!("deleting {what}"));
    }

    // Bob's device and both states are untouched.
    let bobs = api.devices(&bob.token).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["name"], "Bob's phone");
    assert_eq!(version_of(&api.state(&alice.token).await), 0);
    assert_eq!(version_of(&api.state(&bob.token).await), 0);

    // A command needs a device: 400 without X-Device-Id.
    let response = api
        .post_command(
            Some(&alice.token),
            None,
            Api::command_body("pause", Value::Null),
        )
        .await;
    assert_problem(&response, 400, "a command without X-Device-Id");

    // Commands are the sender's: Bob cannot read Alice's command.
    let id = api
        .command(&alice_phone, "play", json!({ "songId": "s1" }))
        .await;
    api.settled(&alice.token, &id).await;
    let response = api.command_status(&bob.token, &id).await;
    assert_problem(&response, 404, "another user's command");
    let response = api.command_status(&alice.token, "never-sent").await;
    assert_problem(&response, 404, "an unknown command");
}

#[tokio::test]
async fn requests_need_a_token_json_and_a_body_of_at_most_64_kib() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let room = api.create_room(&alice.token, json!({})).await;
    let code = room["code"].as_str().unwrap();

    let device_path = format!("{DEVICES}/{}", phone.id);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, DEVICES.into(), None),
        (
            Method::POST,
            DEVICES.into(),
            Some(json!({ "name": "X", "kind": "web" })),
        ),
        (
            Method::PATCH,
            device_path.clone(),
            Some(json!({ "name": "X" })),
        ),
        (Method::DELETE, device_path.clone(), None),
        (
            Method::POST,
            COMMANDS.into(),
            Some(Api::command_body("pause", Value::Null)),
        ),
        (Method::GET, format!("{COMMANDS}/some-command"), None),
        (Method::GET, STATE.into(), None),
        (Method::GET, format!("{STATE}?since=0&wait=5"), None),
        (Method::GET, TIME.into(), None),
        (Method::POST, ROOMS.into(), Some(json!({}))),
        (Method::GET, format!("{ROOMS}/{code}"), None),
        (Method::PATCH, format!("{ROOMS}/{code}"), Some(json!({}))),
        (Method::POST, format!("{ROOMS}/{code}/join"), None),
        (Method::POST, format!("{ROOMS}/{code}/leave"), None),
    ];
    for (method, path, body) in &routes {
        for token in [None, Some("not-a-token")] {
            let response = api
                .call(token, Some(&phone.id), method.clone(), path, body.clone())
                .await;
            assert_problem(&response, 401, &format!("{method} {path} with {token:?}"));
        }
    }
    // Nothing happened.
    assert_eq!(api.devices(&alice.token).await.len(), 1);
    assert_eq!(version_of(&api.state(&alice.token).await), 0);

    // JSON only; at most 64 KiB.
    let big_device = format!(r#"{{"name": "{}", "kind": "web"}}"#, "x".repeat(70 * 1024));
    let big_command = format!(
        r#"{{"commandId": "{}", "type": "add_to_queue", "arguments": {{"songIds": ["{}"]}}}}"#,
        command_id(),
        "s".repeat(70 * 1024)
    );
    let json_routes: [(Method, &str, String, Vec<u8>); 4] = [
        (
            Method::POST,
            DEVICES,
            r#"{"name": "X", "kind": "web"}"#.into(),
            big_device.into_bytes(),
        ),
        (
            Method::PATCH,
            &device_path,
            r#"{"name": "X"}"#.into(),
            format!(r#"{{"name": "{}"}}"#, "x".repeat(70 * 1024)).into_bytes(),
        ),
        (
            Method::POST,
            COMMANDS,
            Api::command_body("pause", Value::Null).to_string(),
            big_command.into_bytes(),
        ),
        (
            Method::POST,
            ROOMS,
            r#"{"name": "Room"}"#.into(),
            format!(r#"{{"name": "{}"}}"#, "x".repeat(70 * 1024)).into_bytes(),
        ),
    ];
    for (method, path, small, big) in json_routes {
        let what = format!("{method} {path}");
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            let request = api
                .request(Some(&alice.token), Some(&phone.id), method.clone(), path)
                .header("content-type", content_type)
                .body(small.clone());
            let response = api.send(request).await;
            assert_problem(&response, 415, &format!("{what} as {content_type}"));
        }
        let request = api
            .request(Some(&alice.token), Some(&phone.id), method.clone(), path)
            .header("content-type", "application/json")
            .body(big);
        let response = api.send(request).await;
        assert_problem(&response, 413, &format!("{what} over 64 KiB"));
        let request = api
            .request(Some(&alice.token), Some(&phone.id), method.clone(), path)
            .header("content-type", "application/json")
            .body(small[..small.len() / 2].to_string());
        let response = api.send(request).await;
        assert_problem(&response, 400, &format!("{what} with broken JSON"));
    }
    assert_eq!(api.devices(&alice.token).await.len(), 1, "nothing made");
    assert_eq!(api.devices(&alice.token).await[0]["name"], "Phone");
    assert_eq!(version_of(&api.state(&alice.token).await), 0);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn commands_are_validated_before_they_are_accepted() {
    let (_app, api, alice, phone) = alice_with_phone().await;

    let id = || json!(command_id());
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
    let cases = [
        (json!({ "type": "pause" }), "commandId"),
        (json!({ "commandId": "", "type": "pause" }), "commandId"),
        (
            json!({ "commandId": "has space", "type": "pause" }),
            "commandId",
        ),
        (json!({ "commandId": "é", "type": "pause" }), "commandId"),
        (
            json!({ "commandId": "c".repeat(65), "type": "pause" }),
            "commandId",
        ),
        (json!({ "commandId": 12, "type": "pause" }), "commandId"),
        (json!({ "commandId": id() }), "type"),
        (json!({ "commandId": id(), "type": "dance" }), "type"),
        (
            json!({ "commandId": id(), "type": "pause", "expectedVersion": -1 }),
            "expectedVersion",
        ),
        (
            json!({ "commandId": id(), "type": "pause", "expectedVersion": "3" }),
            "expectedVersion",
        ),
        (
            json!({ "commandId": id(), "type": "seek", "arguments": { "positionMs": -1 } }),
            "arguments.positionMs",
        ),
        (
            json!({ "commandId": id(), "type": "seek", "arguments": {} }),
            "arguments.positionMs",
        ),
        (
            json!({ "commandId": id(), "type": "set_volume", "arguments": { "volume": 101 } }),
            "arguments.volume",
        ),
        (
            json!({ "commandId": id(), "type": "set_volume", "arguments": { "volume": -1 } }),
            "arguments.volume",
        ),
        (
            json!({ "commandId": id(), "type": "add_to_queue", "arguments": { "songIds": [] } }),
            "arguments.songIds",
        ),
        (
            json!({ "commandId": id(), "type": "add_to_queue", "arguments": { "songIds": hundred_and_one } }),
            "arguments.songIds",
        ),
        (
            json!({ "commandId": id(), "type": "set_queue", "arguments": { "songIds": [] } }),
            "arguments.songIds",
        ),
        (
            json!({ "commandId": id(), "type": "set_queue", "arguments": { "songIds": ["a", "b"], "startIndex": 2 } }),
            "arguments.startIndex",
        ),
        (
            json!({ "commandId": id(), "type": "set_repeat", "arguments": { "repeat": "twice" } }),
            "arguments.repeat",
        ),
        (
            json!({ "commandId": id(), "type": "set_shuffle", "arguments": { "shuffle": "yes" } }),
            "arguments.shuffle",
        ),
        (
            json!({ "commandId": id(), "type": "transfer", "arguments": {} }),
            "arguments.toDeviceId",
        ),
        (
            json!({ "commandId": id(), "type": "jump", "arguments": {} }),
            "arguments.entryId",
        ),
        (
            json!({ "commandId": id(), "type": "jump", "arguments": { "entryId": "" } }),
            "arguments.entryId",
        ),
    ];
    for (body, field) in &cases {
        let response = api
            .post_command(Some(&alice.token), Some(&phone.id), body.clone())
            .await;
        assert_invalid(&response, &[field], &format!("{body}"));
        if let Some(id) = body["commandId"]
            .as_str()
            .filter(|id| id.starts_with("cmd-"))
        {
            let response = api.command_status(&alice.token, id).await;
            assert_problem(&response, 404, &format!("no command kept for {body}"));
        }
    }
    // 64 characters of the allowed set are a fine id.
    let long_id = format!("A-z.0:9_{}", "k".repeat(56));
    let body = json!({ "commandId": long_id, "type": "set_volume", "arguments": { "volume": 0 } });
    api.send_command_body(&phone, body).await;
    let done = api.settled(&alice.token, &long_id).await;
    assert_eq!(applied_version(&done), 1, "{done}");
    assert_eq!(api.state(&alice.token).await["volume"], 0);
}

#[tokio::test]
async fn commands_that_cannot_apply_are_rejected_with_a_reason() {
    let (_app, api, alice, phone) = alice_with_phone().await;

    for kind in ["play", "next", "previous"] {
        let id = api.command(&phone, kind, Value::Null).await;
        let done = api.settled(&alice.token, &id).await;
        assert_eq!(
            done["status"], "rejected",
            "{kind} on an empty queue: {done}"
        );
        assert_eq!(done["reason"], "empty_queue", "{kind}: {done}");
    }
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), 0, "rejections change nothing: {state}");
    assert_eq!(state["playing"], false);
}

#[tokio::test]
async fn jump_plays_one_entry_of_the_queue_even_a_song_queued_twice() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    api.apply(
        &phone,
        "set_queue",
        json!({ "songIds": ["s1", "s2", "s1"] }),
    )
    .await;
    api.apply(&phone, "pause", Value::Null).await;
    let queue = api.state(&alice.token).await["queue"].clone();
    let second_s1 = queue[2]["entryId"].as_str().unwrap().to_string();

    api.apply(&phone, "jump", json!({ "entryId": second_s1 }))
        .await;

    let state = api.state(&alice.token).await;
    assert_eq!(state["currentEntryId"], second_s1.as_str(), "{state}");
    assert_eq!(state["playing"], true);
    assert_eq!(state["queue"], queue, "the queue stays as it was");
    let id = api
        .command(&phone, "jump", json!({ "entryId": "e999" }))
        .await;
    let done = api.settled(&alice.token, &id).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "unknown_entry");
}

#[tokio::test]
async fn a_new_state_has_the_documented_defaults() {
    let (_app, api, alice, phone) = alice_with_phone().await;

    let response = api.poll(&alice.token, None, "", None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("etag").as_deref(), Some("\"v0\""));
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-store")
    );
    let state: Value = response.json();
    let keys = object_keys(&state);
    assert!(
        keys.is_superset(&string_set(STATE_FIELDS)),
        "missing {:?}: {state}",
        string_set(STATE_FIELDS)
            .difference(&keys)
            .collect::<Vec<_>>()
    );
    assert_eq!(version_of(&state), 0);
    assert_eq!(state["scope"], "user");
    assert_eq!(state["roomCode"], Value::Null);
    assert_eq!(state["room"], Value::Null);
    assert_eq!(state["queue"], json!([]));
    assert_eq!(state["playOrder"], json!([]));
    for field in ["currentEntryId", "currentIndex", "currentSongId"] {
        assert_eq!(state[field], Value::Null, "{field}: {state}");
    }
    assert_eq!(state["playing"], false);
    assert_eq!(state["volume"], 100);
    assert_eq!(state["repeat"], "off");
    assert_eq!(state["shuffle"], false);
    assert_eq!(state["activeDeviceId"], Value::Null);
    assert_eq!(state["changedByDeviceId"], Value::Null);
    assert_eq!(state["lastCommandId"], Value::Null);
    assert!(
        (state["serverTime"].as_f64().expect("serverTime") - wall_clock_ms()).abs() < 60_000.0,
        "{state}"
    );

    let state = api.state_from(&phone).await;
    assert!(rejections(&state).is_empty(), "{state}");

    // The fields after a set_queue from the phone.
    let done = api
        .apply(
            &phone,
            "set_queue",
            json!({ "songIds": ["a", "b", "a"], "startIndex": 1 }),
        )
        .await;
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), applied_version(&done));
    assert_eq!(queue_songs(&state), ["a", "b", "a"]);
    let entries = queue_entries(&state);
    assert_eq!(entries.iter().collect::<HashSet<_>>().len(), 3, "{state}");
    assert_eq!(state["playOrder"], json!(entries));
    assert_eq!(state["currentIndex"], 1);
    assert_eq!(state["currentEntryId"], entries[1].as_str());
    assert_eq!(state["currentSongId"], "b");
    assert_eq!(state["playing"], true);
    assert_eq!(state["playbackRate"].as_f64(), Some(1.0));
    assert_eq!(state["activeDeviceId"], phone.id);
    assert_eq!(state["changedByDeviceId"], phone.id);
    let last = state["lastCommandId"].as_str().unwrap();
    assert_eq!(api.command_status(&alice.token, last).await.status, 200);
    let at = state["positionAt"].as_f64().expect("positionAt");
    let server = state["serverTime"].as_f64().unwrap();
    assert!(at <= server, "positionAt ≤ serverTime: {state}");
    assert!(state["changedAt"].as_f64().unwrap() <= server, "{state}");
}

#[tokio::test]
async fn a_pause_on_one_device_wakes_the_long_poll_of_another() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;

    let version = applied_version(
        &api.apply(&phone, "play", json!({ "songId": "song-1" }))
            .await,
    );
    let state = api.state_from(&laptop).await;
    assert_eq!(version_of(&state), version);
    assert_eq!(state["playing"], true);
    assert_eq!(state["activeDeviceId"], phone.id);

    let poll = spawn_poll(&api, &laptop, format!("?since={version}&wait=10"));
    assert_held(&poll, "nothing changed yet").await;
    let sent = Instant::now();
    let id = api.command(&phone, "pause", Value::Null).await;
    let state = woken(poll, sent, "the laptop's poll").await;
    assert_eq!(version_of(&state), version + 1, "{state}");
    assert_eq!(state["playing"], false, "{state}");
    assert_eq!(state["changedByDeviceId"], phone.id, "{state}");
    assert_eq!(state["lastCommandId"], id.as_str(), "{state}");
    assert_eq!(state["activeDeviceId"], phone.id, "{state}");
    assert_eq!(state["currentSongId"], "song-1", "{state}");
    assert!(state["positionMs"].as_u64().is_some(), "{state}");
}

#[tokio::test]
async fn a_transfer_hands_playback_to_the_other_device() {
    let (app, api, alice) = alice_app().await;
    let bob = listener(&app, "Bob").await;
    let phone = api.device(&alice, "Phone", "phone").await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    let bob_phone = api.device(&bob, "Bob's phone", "phone").await;

    let version = applied_version(
        &api.apply(&phone, "set_queue", json!({ "songIds": ["s1", "s2"] }))
            .await,
    );
    let state = api.state_from(&laptop).await;
    assert_eq!(state["activeDeviceId"], phone.id);
    assert_eq!(state["playing"], true);

    // The laptop, polling, learns it is the player now.
    let poll = spawn_poll(&api, &laptop, format!("?since={version}&wait=10"));
    assert_held(&poll, "before the transfer").await;
    let sent = Instant::now();
    api.command(
        &phone,
        "transfer",
        json!({ "toDeviceId": laptop.id, "keepPlaying": true }),
    )
    .await;
    let state = woken(poll, sent, "the laptop's poll").await;
    assert_eq!(version_of(&state), version + 1, "{state}");
    assert_eq!(state["activeDeviceId"], laptop.id, "{state}");
    assert_eq!(state["playing"], true, "{state}");
    assert_eq!(state["currentSongId"], "s1", "{state}");
    assert_eq!(state["changedByDeviceId"], phone.id, "{state}");
    let listed = api.devices(&alice.token).await;
    let active: Vec<&Value> = listed.iter().filter(|d| d["isActive"] == true).collect();
    assert_eq!(active.len(), 1, "{listed:?}");
    assert_eq!(active[0]["id"], laptop.id);

    // Back to the phone without keepPlaying: paused there.
    let done = api
        .apply(&laptop, "transfer", json!({ "toDeviceId": phone.id }))
        .await;
    assert_eq!(applied_version(&done), version + 2);
    let state = api.state(&alice.token).await;
    assert_eq!(state["activeDeviceId"], phone.id, "{state}");
    assert_eq!(state["playing"], false, "{state}");

    // Not to another user's device, nor to one that does not exist: 422 at once.
    for (target, what) in [
        (bob_phone.id.as_str(), "Bob's phone"),
        (UNKNOWN_ID, "unknown"),
    ] {
        let response = api
            .post_command(
                Some(&alice.token),
                Some(&phone.id),
                Api::command_body(
                    "transfer",
                    json!({ "toDeviceId": target, "keepPlaying": true }),
                ),
            )
            .await;
        assert_invalid(
            &response,
            &["arguments.toDeviceId"],
            &format!("transfer to {what}"),
        );
    }
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), version + 2);
    assert_eq!(state["activeDeviceId"], phone.id);
    assert_eq!(version_of(&api.state(&bob.token).await), 0, "Bob's state");
}

#[tokio::test]
async fn a_transfer_in_a_listening_room_is_refused() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    let room = api.create_room(&alice.token, json!({})).await;
    let code = room["code"].as_str().unwrap();

    let response = room_command(
        &api,
        &phone,
        code,
        "transfer",
        json!({ "toDeviceId": laptop.id, "keepPlaying": true }),
    )
    .await;
    assert_invalid(&response, &["type"], "transfer in a room");
    let state = api.room_state(&alice.token, code).await;
    assert_eq!(state["activeDeviceId"], Value::Null, "{state}");
    assert_eq!(version_of(&api.state(&alice.token).await), 0);
}

#[tokio::test]
async fn fifty_concurrent_commands_from_three_devices_apply_once_each_in_a_gap_free_sequence() {
    const TOTAL: usize = 50;
    let (_app, api, alice) = alice_app().await;
    let devices = [
        api.device(&alice, "Phone", "phone").await,
        api.device(&alice, "Laptop", "desktop").await,
        api.device(&alice, "Speaker", "speaker").await,
    ];
    let start = version_of(&api.state(&alice.token).await);
    let target = start + TOTAL as u64;

    // A watcher long-polls throughout and records every version it is shown.
    let watcher = {
        let api = api.clone();
        let token = alice.token.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut since: Option<u64> = None;
            while Instant::now() < deadline {
                let query = match since {
                    None => String::new(),
                    Some(v) => format!("?since={v}&wait=5"),
                };
                let response = api.poll(&token, None, &query, None).await;
                match response.status {
                    200 => {
                        let v = version_of(&response.json());
                        seen.push(v);
                        since = Some(v);
                        if v >= target {
                            break;
                        }
                    }
                    304 => {}
                    other => panic!("watcher: {other} {}", response.text()),
                }
            }
            seen
        })
    };

    // Each device sends its share one after another (202 is enough); the three at once.
    let streams = devices.len();
    let sends = devices.iter().enumerate().map(|(d, device)| {
        let api = api.clone();
        let device = device.clone();
        async move {
            let mut sent = Vec::new();
            for j in (d..TOTAL).step_by(streams) {
                let song = format!("song-{j:02}");
                let id = api
                    .command(&device, "add_to_queue", json!({ "songIds": [song] }))
                    .await;
                sent.push((id, song));
            }
            sent
        }
    });
    let per_device: Vec<Vec<(String, String)>> = join_all(sends).await;
    assert_eq!(per_device.iter().map(Vec::len).sum::<usize>(), TOTAL);

    // Every command is applied, each with its own version, together exactly start+1..=start+50;
    // a device's commands in the order it sent them.
    let mut versions = Vec::new();
    for sent in &per_device {
        let mut last = start;
        for (id, _) in sent {
            let done = api.settled(&alice.token, id).await;
            let v = applied_version(&done);
            assert!(
                v > last,
                "a device's commands apply in the order sent: {done}"
            );
            last = v;
            versions.push(v);
        }
    }
    versions.sort();
    let expected: Vec<u64> = (start + 1..=target).collect();
    assert_eq!(versions, expected, "one version per command, no gaps");

    // The final state holds each song once, every device's songs in its order.
    let state = api.state_at_least(&alice.token, target).await;
    assert_eq!(version_of(&state), target, "{state}");
    let songs = queue_songs(&state);
    assert_eq!(songs.len(), TOTAL, "{songs:?}");
    let all: BTreeSet<&String> = songs.iter().collect();
    assert_eq!(all.len(), TOTAL, "no doubles: {songs:?}");
    for sent in &per_device {
        let mine: Vec<&String> = songs
            .iter()
            .filter(|s| sent.iter().any(|(_, song)| song == *s))
            .collect();
        let order: Vec<&String> = sent.iter().map(|(_, song)| song).collect();
        assert_eq!(mine, order, "a device's songs keep their order");
    }
    let entries = queue_entries(&state);
    assert_eq!(
        entries.iter().collect::<HashSet<_>>().len(),
        TOTAL,
        "unique entryIds"
    );

    // The watcher never saw the version go down, and saw the end.
    let seen = watcher.await.expect("the watcher");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "versions only grow: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&target), "{seen:?}");
}

#[tokio::test]
async fn the_same_command_id_is_applied_once() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let start = version_of(&api.state(&alice.token).await);

    // Retried one after another, before and after it is applied.
    let first = Api::command_body("add_to_queue", json!({ "songIds": ["song-a"] }));
    let first_id = first["commandId"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let answer = api.send_command_body(&phone, first.clone()).await;
        assert!(
            ["pending", "applied"].contains(&answer["status"].as_str().unwrap_or_default()),
            "{answer}"
        );
    }
    let done = api.settled(&alice.token, &first_id).await;
    assert_eq!(applied_version(&done), start + 1);
    let again = api.send_command_body(&phone, first.clone()).await;
    assert_eq!(
        again["status"], "applied",
        "a retry answers the status: {again}"
    );
    assert_eq!(again["version"], start + 1, "{again}");

    // Retried concurrently.
    let second = Api::command_body("add_to_queue", json!({ "songIds": ["song-b"] }));
    let second_id = second["commandId"].as_str().unwrap().to_string();
    let answers = join_all((0..3).map(|_| api.send_command_body(&phone, second.clone()))).await;
    for answer in &answers {
        assert_eq!(answer["commandId"], second_id.as_str(), "{answer}");
    }
    let done = api.settled(&alice.token, &second_id).await;
    assert_eq!(applied_version(&done), start + 2);

    // A later command proves nothing else was waiting.
    let done = api
        .apply(&phone, "set_volume", json!({ "volume": 50 }))
        .await;
    assert_eq!(applied_version(&done), start + 3);
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), start + 3);
    assert_eq!(queue_songs(&state), ["song-a", "song-b"], "{state}");

    // The same id with a different command: 409, nothing changes.
    let mut other_arguments = first.clone();
    other_arguments["arguments"] = json!({ "songIds": ["song-c"] });
    let mut other_type = first.clone();
    other_type["type"] = json!("pause");
    other_type.as_object_mut().unwrap().remove("arguments");
    for body in [other_arguments, other_type] {
        let response = api
            .post_command(Some(&alice.token), Some(&phone.id), body.clone())
            .await;
        assert_problem(&response, 409, &format!("{body}"));
    }
    let done = api.settled(&alice.token, &first_id).await;
    assert_eq!(applied_version(&done), start + 1, "{done}");
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), start + 3);
    assert_eq!(queue_songs(&state), ["song-a", "song-b"], "{state}");
}

#[tokio::test]
async fn a_stale_expected_version_is_rejected_and_reported_to_the_sender_once() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    api.apply(&phone, "set_volume", json!({ "volume": 80 }))
        .await;
    let version = applied_version(
        &api.apply(&phone, "set_volume", json!({ "volume": 70 }))
            .await,
    );

    let mut stale = Api::command_body("set_volume", json!({ "volume": 20 }));
    stale["expectedVersion"] = json!(version - 1);
    let stale_id = stale["commandId"].as_str().unwrap().to_string();
    api.send_command_body(&phone, stale).await;
    let done = api.settled(&alice.token, &stale_id).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "stale_version", "{done}");

    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), version, "a rejection changes nothing");
    assert_eq!(state["volume"], 70);

    // The other device is not told.
    let state = api.state_from(&laptop).await;
    assert!(rejections(&state).is_empty(), "the laptop: {state}");
    let response = api
        .poll(
            &laptop.token,
            Some(&laptop.id),
            &format!("?since={version}&wait=0"),
            None,
        )
        .await;
    assert_eq!(response.status, 304, "the laptop: {}", response.text());

    // The sender's poll answers at once with the rejection, once.
    let asked = Instant::now();
    let response = api
        .poll(
            &phone.token,
            Some(&phone.id),
            &format!("?since={version}&wait=10"),
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "an unreported rejection answers the poll at once"
    );
    let state: Value = response.json();
    assert_eq!(version_of(&state), version);
    let reported = rejections(&state);
    assert_eq!(reported.len(), 1, "{state}");
    assert_eq!(reported[0]["commandId"], stale_id.as_str(), "{state}");
    assert_eq!(reported[0]["type"], "set_volume", "{state}");
    assert_eq!(reported[0]["reason"], "stale_version", "{state}");
    assert!(reported[0]["detail"].is_string(), "{state}");
    assert_eq!(reported[0]["version"], version, "{state}");

    let response = api
        .poll(
            &phone.token,
            Some(&phone.id),
            &format!("?since={version}&wait=0"),
            None,
        )
        .await;
    assert_eq!(response.status, 304, "reported once: {}", response.text());
    let state = api.state_from(&phone).await;
    assert!(rejections(&state).is_empty(), "reported once: {state}");

    // With the right expectedVersion it applies.
    let mut fresh = Api::command_body("set_volume", json!({ "volume": 20 }));
    fresh["expectedVersion"] = json!(version);
    let fresh_id = fresh["commandId"].as_str().unwrap().to_string();
    api.send_command_body(&phone, fresh).await;
    let done = api.settled(&alice.token, &fresh_id).await;
    assert_eq!(applied_version(&done), version + 1);
    assert_eq!(api.state(&alice.token).await["volume"], 20);

    // A rejection wakes the sender's held poll, not the other device's.
    let version = version + 1;
    let phone_poll = spawn_poll(&api, &phone, format!("?since={version}&wait=10"));
    let laptop_poll = spawn_poll(&api, &laptop, format!("?since={version}&wait=3"));
    assert_held(&phone_poll, "the phone, before its command").await;
    let mut stale = Api::command_body("set_volume", json!({ "volume": 5 }));
    stale["expectedVersion"] = json!(version - 1);
    let stale_id = stale["commandId"].as_str().unwrap().to_string();
    let sent = Instant::now();
    api.send_command_body(&phone, stale).await;
    let state = woken(phone_poll, sent, "the phone's poll").await;
    assert_eq!(version_of(&state), version, "{state}");
    let reported = rejections(&state);
    assert_eq!(reported.len(), 1, "{state}");
    assert_eq!(reported[0]["commandId"], stale_id.as_str(), "{state}");
    assert_eq!(reported[0]["reason"], "stale_version", "{state}");
    let (response, _) = laptop_poll.await.unwrap();
    assert_eq!(response.status, 304, "the laptop: {}", response.text());
    assert_eq!(api.state(&alice.token).await["volume"], 20);
}

#[tokio::test]
async fn commands_apply_in_the_order_they_were_accepted() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    let version = applied_version(
        &api.apply(&phone, "set_queue", json!({ "songIds": ["s1", "s2"] }))
            .await,
    );

    let mut ids = Vec::new();
    for kind in ["pause", "play", "pause"] {
        ids.push(api.command(&phone, kind, Value::Null).await);
    }
    for (i, id) in ids.iter().enumerate() {
        let done = api.settled(&alice.token, id).await;
        assert_eq!(applied_version(&done), version + 1 + i as u64, "{done}");
    }
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), version + 3, "{state}");
    assert_eq!(state["playing"], false, "{state}");
    assert_eq!(state["lastCommandId"], ids[2].as_str(), "{state}");
    assert_eq!(state["currentSongId"], "s1", "{state}");
}

// ---------------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn polls_answer_at_once_when_the_state_differs_and_304_when_the_wait_ends() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    api.apply(&phone, "play", json!({ "songId": "s1" })).await;
    let version = applied_version(&api.apply(&phone, "pause", Value::Null).await);
    let tag = format!("\"v{version}\"");

    // A plain poll: 200 with the ETag, not cached.
    let response = api.poll(&alice.token, None, "", None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("etag"), Some(tag.clone()));
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-store")
    );

    // `since` older or newer than the version: at once.
    for since in [version - 1, 0, version + 7] {
        let asked = Instant::now();
        let response = api
            .poll(&alice.token, None, &format!("?since={since}&wait=10"), None)
            .await;
        assert_eq!(response.status, 200, "since={since}: {}", response.text());
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "since={since} at once"
        );
        assert_eq!(version_of(&response.json()), version);
        assert_eq!(response.header("etag"), Some(tag.clone()));
    }

    // The same version: held for `wait`, then 304 with the ETag and no body.
    let asked = Instant::now();
    let response = api
        .poll(
            &alice.token,
            Some(&phone.id),
            &format!("?since={version}&wait=1"),
            None,
        )
        .await;
    let held = asked.elapsed();
    assert_eq!(response.status, 304, "{}", response.text());
    assert!(
        held >= Duration::from_millis(900),
        "held for the wait: {held:?}"
    );
    assert!(response.body.is_empty());
    assert_eq!(response.header("etag"), Some(tag.clone()));
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-store")
    );
    let response = api
        .poll(
            &alice.token,
            None,
            &format!("?since={version}&wait=0"),
            None,
        )
        .await;
    assert_eq!(response.status, 304, "wait=0: {}", response.text());
    let response = api
        .poll(&alice.token, None, &format!("?since={version}"), None)
        .await;
    assert_eq!(response.status, 304, "no wait: {}", response.text());

    // If-None-Match stands for `since` on a plain poll.
    let response = api.poll(&alice.token, None, "", Some(&tag)).await;
    assert_eq!(
        response.status,
        304,
        "If-None-Match {tag}: {}",
        response.text()
    );
    assert_eq!(response.header("etag"), Some(tag.clone()));
    let old = format!("\"v{}\"", version - 1);
    let response = api.poll(&alice.token, None, "", Some(&old)).await;
    assert_eq!(
        response.status,
        200,
        "If-None-Match {old}: {}",
        response.text()
    );
    let response = api
        .poll(
            &alice.token,
            None,
            &format!("?since={}", version - 1),
            Some(&tag),
        )
        .await;
    assert_eq!(response.status, 200, "since wins: {}", response.text());

    // A held poll wakes when the state changes (If-None-Match with wait as well).
    let poller = {
        let api = api.clone();
        let token = alice.token.clone();
        let tag = tag.clone();
        tokio::spawn(async move {
            let response = api.poll(&token, None, "?wait=10", Some(&tag)).await;
            (response, Instant::now())
        })
    };
    assert_held(&poller, "If-None-Match with wait").await;
    let sent = Instant::now();
    api.command(&phone, "seek", json!({ "positionMs": 5000 }))
        .await;
    let state = woken(poller, sent, "If-None-Match with wait").await;
    assert_eq!(version_of(&state), version + 1);
    assert_eq!(state["positionMs"], 5000);
}

#[tokio::test]
async fn bad_poll_parameters_and_foreign_rooms_are_refused() {
    let (app, api, alice) = alice_app().await;
    let bob = listener(&app, "Bob").await;
    let phone = api.device(&alice, "Phone", "phone").await;
    api.apply(&phone, "play", json!({ "songId": "s1" })).await;

    for (query, field) in [
        ("?since=-1", "since"),
        ("?since=abc", "since"),
        ("?since=1.5", "since"),
        ("?since=", "since"),
        ("?wait=-1", "wait"),
        ("?wait=31", "wait"),
        ("?wait=soon", "wait"),
        ("?since=0&wait=31", "wait"),
        ("?since=x&wait=1", "since"),
    ] {
        let response = api.poll(&alice.token, None, query, None).await;
        assert_invalid(&response, &[field], query);
    }
    // The bounds are fine (the state is newer than 0: at once).
    let response = api.poll(&alice.token, None, "?since=0&wait=30", None).await;
    assert_eq!(response.status, 200, "wait=30: {}", response.text());
    let response = api.poll(&alice.token, None, "?since=0&wait=0", None).await;
    assert_eq!(response.status, 200, "wait=0: {}", response.text());

    // Rooms: members only; unknown codes are not found.
    let room = api
        .create_room(&bob.token, json!({ "name": "Bob's" }))
        .await;
    let code = room["code"].as_str().unwrap();
    for query in [
        format!("?room={code}"),
        format!("?room={code}&since=0&wait=1"),
    ] {
        let response = api.poll(&alice.token, None, &query, None).await;
        assert_problem(&response, 403, &format!("a non-member's {query}"));
    }
    let unknown = other_code(&[code]);
    let response = api
        .poll(&alice.token, None, &format!("?room={unknown}"), None)
        .await;
    assert_problem(&response, 404, "an unknown room");
    let state = api.room_state(&bob.token, code).await;
    assert_eq!(state["scope"], "room");
    assert_eq!(state["roomCode"], code);
}

#[tokio::test]
async fn a_silent_active_device_stops_being_the_active_player() {
    let app = spawn_app_with(&[("sync_device_timeout_secs", "1")]).await;
    let (_app, api, alice, phone) = with_alice_and_phone(app).await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;

    // The phone plays and, polling, stays fresh until it sees its command applied.
    let id = api.command(&phone, "play", json!({ "songId": "s1" })).await;
    let state = eventually(APPLY_WAIT, "the play", || async {
        let state = api.state_from(&phone).await;
        (state["lastCommandId"] == id.as_str()).then_some(state)
    })
    .await;
    let version = version_of(&state);
    assert_eq!(state["activeDeviceId"], phone.id, "{state}");
    assert_eq!(state["playing"], true, "{state}");

    // Then it goes silent; the laptop's reads drop it after the timeout.
    let dropped = eventually(
        Duration::from_secs(15),
        "the phone to be dropped",
        || async {
            let state = api.state_from(&laptop).await;
            (state["activeDeviceId"].is_null()).then_some(state)
        },
    )
    .await;
    assert_eq!(version_of(&dropped), version + 1, "{dropped}");
    assert_eq!(dropped["playing"], false, "{dropped}");
    assert_eq!(dropped["changedByDeviceId"], Value::Null, "{dropped}");
    assert_eq!(dropped["currentSongId"], "s1", "{dropped}");
    let position = dropped["positionMs"].as_f64().expect("positionMs");
    assert!(
        position >= 900.0,
        "paused where it was after playing for over a second: {dropped}"
    );

    // The phone's own request does not revive it.
    let state = api.state_from(&phone).await;
    assert_eq!(state["activeDeviceId"], Value::Null, "{state}");
    assert_eq!(version_of(&state), version + 1, "{state}");
    let listed = api.devices(&alice.token).await;
    assert!(listed.iter().all(|d| d["isActive"] == false), "{listed:?}");
}

// ---------------------------------------------------------------------------------------------
// The shared clock
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_time_route_answers_the_servers_receive_and_send_times() {
    let (_app, api, alice) = alice_app().await;

    let mut fractional = false;
    for _ in 0..5 {
        let before = wall_clock_ms();
        let response = api
            .call(Some(&alice.token), None, Method::GET, TIME, None)
            .await;
        let after = wall_clock_ms();
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.header("cache-control").as_deref(),
            Some("no-store")
        );
        let body: Value = response.json();
        assert_eq!(
            object_keys(&body),
            string_set(&["receivedAt", "sentAt"]),
            "{body}"
        );
        let received = body["receivedAt"].as_f64().expect("receivedAt is a number");
        let sent = body["sentAt"].as_f64().expect("sentAt is a number");
        assert!(received <= sent, "receivedAt ≤ sentAt: {body}");
        // The server runs on this machine: its clock is ours, to a few ms.
        assert!(
            received >= before - 5.0 && sent <= after + 5.0,
            "between {before} and {after}: {body}"
        );
        fractional |= received.fract() != 0.0 || sent.fract() != 0.0;
    }
    assert!(fractional, "µs precision: fractional milliseconds");
}

#[tokio::test]
async fn devices_with_skewed_clocks_compute_the_same_position() {
    let (_app, api, alice, phone) = alice_with_phone().await;
    api.apply(&phone, "set_queue", json!({ "songIds": ["s1", "s2"] }))
        .await;
    api.apply(&phone, "seek", json!({ "positionMs": 90_000 }))
        .await;
    let state = api.state(&alice.token).await;
    assert_eq!(state["playing"], true, "{state}");

    // Two devices: one 5 s ahead, one 3 s behind.
    let mut ahead = ClockClient::new(5_000.0);
    let mut behind = ClockClient::new(-3_000.0);
    let best_ahead = ahead.sync(&api, &alice.token, 8).await;
    let best_behind = behind.sync(&api, &alice.token, 8).await;
    assert!(best_ahead.delay() >= 0.0 && best_behind.delay() >= 0.0);
    assert!(
        (ahead.offset() + 5_000.0).abs() < 50.0,
        "the fast device learns it is 5 s ahead: {}",
        ahead.offset()
    );
    assert!(
        (behind.offset() - 3_000.0).abs() < 50.0,
        "the slow device learns it is 3 s behind: {}",
        behind.offset()
    );

    // Both compute the position of the same playing state.
    let p_ahead = ahead.position_ms(&state);
    let p_behind = behind.position_ms(&state);
    let truth = position_at(&state, wall_clock_ms());
    assert!(
        (p_ahead - p_behind).abs() < 50.0,
        "the two devices agree within 50 ms: {p_ahead} vs {p_behind}"
    );
    assert!(
        (p_ahead - truth).abs() < 50.0 && (p_behind - truth).abs() < 50.0,
        "and with the true position {truth}: {p_ahead}, {p_behind}"
    );
    assert!(
        (90_000.0..150_000.0).contains(&truth),
        "the position moved on from the seek: {truth} ({state})"
    );
    // Without the offsets they would be 8 s apart.
    let naive = ahead.naive_position_ms(&state) - behind.naive_position_ms(&state);
    assert!((naive - 8_000.0).abs() < 50.0, "naive difference {naive}");

    // Paused, every device shows positionMs.
    api.apply(&phone, "pause", Value::Null).await;
    let paused = api.state(&alice.token).await;
    let at = paused["positionMs"].as_f64().unwrap();
    assert!(at >= 90_000.0, "{paused}");
    assert_eq!(ahead.position_ms(&paused), at);
    assert_eq!(behind.position_ms(&paused), at);
}

// ---------------------------------------------------------------------------------------------
// Listening rooms
// ---------------------------------------------------------------------------------------------

/// Asserts `room` is a room document; answers its members by user id.
#[track_caller]
fn room_members(room: &Value) -> BTreeMap<String, Value> {
    assert_eq!(object_keys(room), string_set(ROOM_FIELDS), "{room}");
    room["members"]
        .as_array()
        .unwrap_or_else(|| panic!("members: {room}"))
        .iter()
        .map(|m| {
            assert_eq!(object_keys(m), string_set(MEMBER_FIELDS), "{m}");
            (m["userId"].as_str().unwrap().to_string(), m.clone())
        })
        .collect()
}

#[tokio::test]
async fn a_listening_room_is_shared_by_three_listeners() {
    let (app, api, alice) = alice_app().await;
    let bob = listener(&app, "Bob").await;
    let carol = listener(&app, "Carol").await;
    let dave = listener(&app, "Dave").await;
    let alice_phone = api.device(&alice, "Alice's phone", "phone").await;
    let bob_laptop = api.device(&bob, "Bob's laptop", "desktop").await;
    let carol_tv = api.device(&carol, "Carol's TV", "tv").await;

    // Created: a code, Alice host and only member, controlled by the host.
    let response = api
        .post_room(&alice.token, json!({ "name": "Friday night" }))
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let room: Value = response.json();
    let members = room_members(&room);
    let code = room["code"].as_str().unwrap().to_string();
    assert!(is_room_code(&code), "code {code:?}");
    assert_eq!(room["name"], "Friday night");
    assert_eq!(room["hostId"], alice.id);
    assert_eq!(room["controlMode"], "host");
    assert_eq!(room["closesAt"], Value::Null);
    assert_eq!(members.len(), 1);
    assert_eq!(members[&alice.id]["isHost"], true);
    assert_eq!(members[&alice.id]["displayName"], "Alice");
    assert_eq!(members[&alice.id]["online"], true);
    // A default name; codes differ.
    let other = api.create_room(&dave.token, json!({})).await;
    assert_eq!(other["name"], "Listening room");
    assert_ne!(other["code"], code.as_str());
    let response = api
        .post_room(&alice.token, json!({ "name": "x".repeat(65) }))
        .await;
    assert_invalid(&response, &["name"], "a long room name");
    let response = api
        .post_room(&alice.token, json!({ "controlMode": "anyone" }))
        .await;
    assert_invalid(&response, &["controlMode"], "a bad control mode");

    // Bob joins with the code in lower case, Carol as given; joining twice is fine. A join
    // is a new version of the room's state.
    let created = version_of(&api.room_state(&alice.token, &code).await);
    let response = api.join(&bob.token, &code.to_lowercase()).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(room_members(&response.json()).len(), 2);
    let state = api.room_state(&alice.token, &code).await;
    assert!(
        version_of(&state) > created,
        "a join bumps the version: {state}"
    );
    let response = api.join(&carol.token, &code).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let response = api.join(&bob.token, &code).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let joined: Value = response.json();
    let members = room_members(&joined);
    assert_eq!(
        members.keys().cloned().collect::<BTreeSet<_>>(),
        [&alice.id, &bob.id, &carol.id]
            .into_iter()
            .cloned()
            .collect::<BTreeSet<_>>()
    );
    for (user, name) in [(&alice, "Alice"), (&bob, "Bob"), (&carol, "Carol")] {
        assert_eq!(members[&user.id]["displayName"], name);
        assert_eq!(members[&user.id]["isHost"], user.id == alice.id);
        assert_eq!(members[&user.id]["online"], true);
        let joined = rfc3339_ms(members[&user.id]["joinedAt"].as_str().expect("joinedAt"));
        let seen = rfc3339_ms(
            members[&user.id]["lastSeenAt"]
                .as_str()
                .expect("lastSeenAt"),
        );
        assert!(seen >= joined, "{}", members[&user.id]);
    }
    let joined_at = |id: &String| rfc3339_ms(members[id]["joinedAt"].as_str().unwrap());
    assert!(joined_at(&alice.id) <= joined_at(&bob.id));
    assert!(joined_at(&bob.id) <= joined_at(&carol.id));

    // Presence for members; others 403, unknown codes 404.
    let response = api.room(&carol.token, &code.to_lowercase()).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(room_members(&response.json()).len(), 3);
    assert_problem(&api.room(&dave.token, &code).await, 403, "a non-member");
    let unknown = other_code(&[&code, other["code"].as_str().unwrap()]);
    assert_problem(&api.room(&alice.token, &unknown).await, 404, "unknown room");
    assert_problem(&api.join(&dave.token, &unknown).await, 404, "join unknown");

    // The room's state, for members.
    let state = api.room_state(&bob.token, &code).await;
    assert_eq!(state["scope"], "room", "{state}");
    assert_eq!(state["roomCode"], code.as_str(), "{state}");
    assert_eq!(state["activeDeviceId"], Value::Null, "{state}");
    assert_eq!(state["room"]["hostId"], alice.id, "{state}");
    assert_eq!(state["room"]["members"].as_array().map(Vec::len), Some(3));

    // Host control: Bob's command and Carol's PATCH are refused; Alice's command applies.
    let response = room_command(&api, &bob_laptop, &code, "play", json!({ "songId": "r0" })).await;
    assert_problem(
        &response,
        403,
        "a member's command in a host-controlled room",
    );
    let response = api
        .patch_room(&carol.token, &code, json!({ "controlMode": "everyone" }))
        .await;
    assert_problem(&response, 403, "a member's PATCH");
    let outsider = outsider_device(&api, &dave).await;
    let response = room_command(&api, &outsider, &code, "pause", Value::Null).await;
    assert_problem(&response, 403, "a non-member's command");
    apply_in_room(
        &api,
        &alice_phone,
        &code,
        "set_queue",
        json!({ "songIds": ["r1", "r2", "r3"] }),
    )
    .await;

    let response = api
        .patch_room(&alice.token, &code, json!({ "controlMode": "everyone" }))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>()["controlMode"], "everyone");
    let done = apply_in_room(&api, &bob_laptop, &code, "next", Value::Null).await;
    let version = applied_version(&done);
    let state = api.room_state(&carol.token, &code).await;
    assert_eq!(version_of(&state), version);
    assert_eq!(state["currentSongId"], "r2", "{state}");
    assert_eq!(state["playing"], true, "{state}");
    assert_eq!(state["changedByDeviceId"], bob_laptop.id, "{state}");

    // All three hold a poll on the room; Alice's pause wakes every one.
    let polls: Vec<_> = [&alice_phone, &bob_laptop, &carol_tv]
        .into_iter()
        .map(|d| spawn_poll(&api, d, format!("?room={code}&since={version}&wait=10")))
        .collect();
    for poll in &polls {
        assert_held(poll, "a room poll").await;
    }
    let sent = Instant::now();
    let response = room_command(&api, &alice_phone, &code, "pause", Value::Null).await;
    assert_eq!(response.status, 202, "{}", response.text());
    for (poll, who) in polls.into_iter().zip(["Alice", "Bob", "Carol"]) {
        let state = woken(poll, sent, &format!("{who}'s room poll")).await;
        assert_eq!(version_of(&state), version + 1, "{who}: {state}");
        assert_eq!(state["playing"], false, "{who}: {state}");
        assert_eq!(state["changedByDeviceId"], alice_phone.id, "{who}: {state}");
    }
    // Room commands leave the members' own states alone.
    for user in [&alice, &bob, &carol] {
        assert_eq!(version_of(&api.state(&user.token).await), 0);
    }

    // Carol leaves: two members, a new room version; she is no member any more.
    let response = api.leave(&carol.token, &code).await;
    assert_eq!(response.status, 204, "{}", response.text());
    let state = api.room_state(&alice.token, &code).await;
    assert!(
        version_of(&state) > version + 1,
        "leaving bumps the version: {state}"
    );
    assert_eq!(state["room"]["members"].as_array().map(Vec::len), Some(2));
    assert_problem(&api.room(&carol.token, &code).await, 403, "after leaving");
    let response = room_command(&api, &carol_tv, &code, "play", Value::Null).await;
    assert_problem(&response, 403, "a command after leaving");

    // Alice, the host, leaves: Bob, the longest-joined member left, is host.
    let response = api.leave(&alice.token, &code).await;
    assert_eq!(response.status, 204, "{}", response.text());
    let response = api.room(&bob.token, &code).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let room: Value = response.json();
    let members = room_members(&room);
    assert_eq!(room["hostId"], bob.id, "{room}");
    assert_eq!(members.len(), 1);
    assert_eq!(members[&bob.id]["isHost"], true);
    let response = api
        .patch_room(
            &bob.token,
            &code,
            json!({ "name": "Bob's now", "controlMode": "host" }),
        )
        .await;
    assert_eq!(
        response.status,
        200,
        "the new host may PATCH: {}",
        response.text()
    );
    assert_eq!(response.json::<Value>()["name"], "Bob's now");
}

/// A device of `user`, for commands.
async fn outsider_device(api: &Api, user: &User) -> Device {
    api.device(user, "Outsider's phone", "phone").await
}

#[tokio::test]
async fn the_longest_joined_member_becomes_host_when_the_host_leaves() {
    let (app, api, alice) = alice_app().await;
    let bob = listener(&app, "Bob").await;
    let carol = listener(&app, "Carol").await;
    let room = api.create_room(&alice.token, json!({})).await;
    let code = room["code"].as_str().unwrap();
    // Carol joins before Bob.
    assert_eq!(api.join(&carol.token, code).await.status, 200);
    assert_eq!(api.join(&bob.token, code).await.status, 200);
    let before = version_of(&api.room_state(&bob.token, code).await);

    assert_eq!(api.leave(&alice.token, code).await.status, 204);
    let response = api.room(&bob.token, code).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let room: Value = response.json();
    assert_eq!(room["hostId"], carol.id, "{room}");
    let members = room_members(&room);
    assert_eq!(members[&carol.id]["isHost"], true);
    assert_eq!(members[&bob.id]["isHost"], false);
    let state = api.room_state(&bob.token, code).await;
    assert!(version_of(&state) > before, "{state}");
    assert_eq!(state["room"]["hostId"], carol.id, "{state}");
    // Bob may not control; Carol may.
    let response = api
        .patch_room(&bob.token, code, json!({ "controlMode": "everyone" }))
        .await;
    assert_problem(&response, 403, "Bob is no host");
    let response = api
        .patch_room(&carol.token, code, json!({ "controlMode": "everyone" }))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
}

#[tokio::test]
async fn more_than_ten_failed_joins_a_minute_are_rate_limited() {
    let app = spawn_app().await;
    let api = Api::new(&app);
    let mallory = listener(&app, "Mallory").await;
    let codes: Vec<String> = "ABCDEFGHJKMN"
        .chars()
        .map(|c| format!("{c}{c}{c}{c}{c}2"))
        .collect();
    for code in &codes[..10] {
        let response = api.join(&mallory.token, code).await;
        assert_problem(&response, 404, &format!("guess {code}"));
    }
    let response = api.join(&mallory.token, &codes[10]).await;
    assert_problem(&response, 429, "the 11th failed join");
    let retry: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Someone else is not limited.
    let other = listener(&app, "Olive").await;
    assert_problem(
        &api.join(&other.token, &codes[11]).await,
        404,
        "another user",
    );
}

#[tokio::test]
async fn an_empty_room_closes_after_the_idle_time() {
    let app = spawn_app_with(&[
        ("sync_device_timeout_secs", "1"),
        ("sync_room_idle_secs", "1"),
    ])
    .await;
    let (app, api, alice) = with_alice(app).await;
    let bob = listener(&app, "Bob").await;
    let carol = listener(&app, "Carol").await;
    let room = api
        .create_room(&alice.token, json!({ "name": "Short-lived" }))
        .await;
    let code = room["code"].as_str().unwrap().to_string();
    assert_eq!(api.join(&bob.token, &code).await.status, 200);

    // Bob goes silent: offline, while Alice keeps the room from being empty.
    let seen = eventually(Duration::from_secs(10), "Bob to be offline", || async {
        let response = api.room(&alice.token, &code).await;
        assert_eq!(response.status, 200, "{}", response.text());
        let room: Value = response.json();
        let members = room_members(&room);
        (members[&bob.id]["online"] == false).then_some(room)
    })
    .await;
    assert_eq!(room_members(&seen)[&alice.id]["online"], true, "{seen}");
    assert_eq!(seen["closesAt"], Value::Null, "not empty: {seen}");

    // Alice leaves: nobody online; the room closes after the idle time.
    assert_eq!(api.leave(&alice.token, &code).await.status, 204);
    eventually(Duration::from_secs(15), "the room to close", || async {
        let response = api.room(&alice.token, &code).await;
        match response.status {
            403 => None,
            404 => Some(()),
            other => panic!("{other}: {}", response.text()),
        }
    })
    .await;
    // Closed everywhere, for the silent member too.
    assert_problem(&api.room(&bob.token, &code).await, 404, "Bob's view");
    let response = api
        .poll(&bob.token, None, &format!("?room={code}"), None)
        .await;
    assert_problem(&response, 404, "the room's state");
    assert_problem(
        &api.join(&carol.token, &code).await,
        404,
        "joining a closed room",
    );
}

// ---------------------------------------------------------------------------------------------
// Restarts
// ---------------------------------------------------------------------------------------------

/// The channel the `sync.command` events wake the handler on.
const COMMAND_CHANNEL: &str = "spindle.events.sync.command";

/// How many clients subscribe to `channel` (`PUBSUB NUMSUB`).
async fn subscribers(url: &str, channel: &str) -> i64 {
    let mut bus = EventBus::connect(url).await;
    let (_, count): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut bus.conn)
        .await
        .unwrap_or_else(|e| panic!("PUBSUB NUMSUB {channel}: {e}"));
    count
}

#[tokio::test]
async fn commands_survive_a_redis_restart_without_loss_or_doubles() {
    let (mut app, api, alice, phone) = with_alice_and_phone(persistent_app().await).await;
    let start = version_of(&api.state(&alice.token).await);
    let mut sent: Vec<(String, String)> = Vec::new();
    let add = |song: String| {
        let api = api.clone();
        let phone = phone.clone();
        async move {
            let id = api
                .command(&phone, "add_to_queue", json!({ "songIds": [song] }))
                .await;
            (id, song)
        }
    };

    // Before: applied as usual.
    for i in 0..4 {
        let (id, song) = add(format!("before-{i}")).await;
        let done = api.settled(&alice.token, &id).await;
        assert_eq!(applied_version(&done), start + 1 + i as u64);
        sent.push((id, song));
    }

    // During: Redis is down; the commands are accepted all the same (they wait in the outbox).
    app.redis.stop();
    for i in 0..4 {
        let (id, song) = add(format!("during-{i}")).await;
        let response = api.command_status(&alice.token, &id).await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.json::<Value>()["status"], "pending");
        sent.push((id, song));
    }

    // After: Redis is back (with its data) and the app's Redis trigger has resubscribed (it
    // reconnects with backoff; a wake-up published before that reaches nobody).
    app.redis.restart().expect("restart redis-server");
    let url = app.redis.url();
    eventually(
        Duration::from_secs(20),
        "the trigger to resubscribe",
        || {
            let url = url.clone();
            async move { (subscribers(&url, COMMAND_CHANNEL).await > 0).then_some(()) }
        },
    )
    .await;
    for i in 0..4 {
        sent.push(add(format!("after-{i}")).await);
    }

    // Every command is applied exactly once, in the order accepted.
    let deadline = Instant::now() + Duration::from_secs(60);
    let documents = loop {
        let mut documents = Vec::new();
        for (id, _) in &sent {
            let response = api.command_status(&alice.token, id).await;
            assert_eq!(response.status, 200, "{}", response.text());
            documents.push(response.json::<Value>());
        }
        if documents.iter().all(|d| d["status"] != "pending") {
            break documents;
        }
        if Instant::now() > deadline {
            let state = api.state(&alice.token).await;
            panic!(
                "not every command was applied within 60 s:\n{}\nstate: {state}\nsync stderr:\n{}",
                documents
                    .iter()
                    .zip(&sent)
                    .map(|(d, (_, song))| format!("  {song}: {d}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                app.component_log("sync", "stderr")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let versions: Vec<u64> = documents.iter().map(applied_version).collect();
    let expected: Vec<u64> = (start + 1..=start + sent.len() as u64).collect();
    assert_eq!(versions, expected, "one version each, in order");
    let state = api
        .state_at_least(&alice.token, start + sent.len() as u64)
        .await;
    assert_eq!(version_of(&state), start + sent.len() as u64, "{state}");
    let songs: Vec<String> = sent.iter().map(|(_, song)| song.clone()).collect();
    assert_eq!(queue_songs(&state), songs, "every song once, in order");

    // And the app goes on: a poll wakes for the next command.
    let version = version_of(&state);
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    let poll = spawn_poll(&api, &laptop, format!("?since={version}&wait=10"));
    let id = api.command(&phone, "pause", Value::Null).await;
    let (response, _) = poll.await.unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(version_of(&response.json()), version + 1);
    assert_eq!(
        applied_version(&api.settled(&alice.token, &id).await),
        version + 1
    );
}

#[tokio::test]
async fn state_devices_and_version_survive_a_host_restart() {
    let (mut app, api, alice, phone) = alice_with_phone().await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    api.apply(
        &phone,
        "set_queue",
        json!({ "songIds": ["s1", "s2", "s3"], "startIndex": 1 }),
    )
    .await;
    api.apply(&phone, "set_repeat", json!({ "repeat": "all" }))
        .await;
    api.apply(&phone, "set_volume", json!({ "volume": 40 }))
        .await;
    api.apply(&phone, "seek", json!({ "positionMs": 12_345 }))
        .await;
    let last = api.command(&laptop, "pause", Value::Null).await;
    api.settled(&alice.token, &last).await;
    let response = api
        .rename_device(&alice.token, &laptop.id, "Work laptop")
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let room = api
        .create_room(&alice.token, json!({ "name": "Kept" }))
        .await;
    let code = room["code"].as_str().unwrap().to_string();

    let strip = |mut state: Value| {
        state.as_object_mut().unwrap().remove("serverTime");
        state
    };
    let before = strip(api.state(&alice.token).await);
    let devices_before: Vec<Value> = api.devices(&alice.token).await;

    app.restart(vec![]).await;
    let api = Api::new(&app);

    let after = strip(api.state(&alice.token).await);
    assert_eq!(after, before, "the state survives");
    assert_eq!(version_of(&after), 5);
    let devices_after = api.devices(&alice.token).await;
    assert_eq!(devices_after.len(), devices_before.len());
    for (b, a) in devices_before.iter().zip(&devices_after) {
        for field in ["id", "name", "kind", "createdAt", "isActive"] {
            assert_eq!(a[field], b[field], "{field}: {b} → {a}");
        }
    }
    let done = api.settled(&alice.token, &last).await;
    assert_eq!(applied_version(&done), 5);
    let response = api.room(&alice.token, &code).await;
    assert_eq!(
        response.status,
        200,
        "the room survives: {}",
        response.text()
    );

    // Commands and polls work as before.
    let poll = spawn_poll(&api, &laptop, "?since=5&wait=10".into());
    assert_held(&poll, "after the restart").await;
    let sent = Instant::now();
    api.command(&phone, "play", Value::Null).await;
    let state = woken(poll, sent, "the laptop's poll").await;
    assert_eq!(version_of(&state), 6);
    assert_eq!(state["playing"], true);
    assert_eq!(state["currentSongId"], "s2");
    assert_eq!(state["positionMs"], before["positionMs"]);
    assert!(state["positionMs"].as_u64().unwrap() >= 12_345);
}

#[tokio::test]
async fn a_command_sent_while_the_trigger_reconnects_is_applied_without_another_command() {
    let (mut app, api, alice, phone) = with_alice_and_phone(persistent_app().await).await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    let start = applied_version(
        &api.apply(&phone, "set_volume", json!({ "volume": 90 }))
            .await,
    );

    // One command while Redis is down, one right after it is back, before the app's trigger
    // has resubscribed (it reconnects with backoff): both are accepted...
    app.redis.stop();
    let during = api
        .command(&phone, "add_to_queue", json!({ "songIds": ["during"] }))
        .await;
    app.redis.restart().expect("restart redis-server");
    let after = api
        .command(&phone, "add_to_queue", json!({ "songIds": ["after"] }))
        .await;

    // ...and applied, once each, in order, with nothing more than the devices polling.
    let state = eventually(
        Duration::from_secs(30),
        "both commands to be applied",
        || async {
            let state = api.state_from(&laptop).await;
            (version_of(&state) >= start + 2).then_some(state)
        },
    )
    .await;
    assert_eq!(version_of(&state), start + 2, "{state}");
    assert_eq!(queue_songs(&state), ["during", "after"], "{state}");
    for (id, version) in [(&during, start + 1), (&after, start + 2)] {
        let done = api.settled(&alice.token, id).await;
        assert_eq!(applied_version(&done), version, "{done}");
    }
}

// ---------------------------------------------------------------------------------------------
// Playback semantics
// ---------------------------------------------------------------------------------------------

/// Applies a command from `device` and reads the state: it must be the command's version.
async fn step(api: &Api, device: &Device, kind: &str, arguments: Value) -> Value {
    let done = api.apply(device, kind, arguments.clone()).await;
    let state = api.state(&device.token).await;
    assert_eq!(
        version_of(&state),
        applied_version(&done),
        "{kind} {arguments}"
    );
    assert_eq!(state["lastCommandId"], done["commandId"], "{state}");
    state
}

/// The current song, its index, the position and whether it plays.
#[track_caller]
fn now_playing(state: &Value) -> (String, u64, u64, bool) {
    let entries = queue_entries(state);
    let index = state["currentIndex"]
        .as_u64()
        .unwrap_or_else(|| panic!("something is current: {state}"));
    assert_eq!(
        state["currentEntryId"],
        entries[index as usize].as_str(),
        "currentEntryId is the entry at currentIndex: {state}"
    );
    (
        state["currentSongId"].as_str().unwrap().to_string(),
        index,
        state["positionMs"].as_u64().expect("positionMs"),
        state["playing"].as_bool().expect("playing"),
    )
}

#[tokio::test]
async fn playback_commands_walk_the_queue_as_specified() {
    let (_app, api, _alice, phone) = alice_with_phone().await;
    let song = |s: &str| s.to_string();

    let state = step(
        &api,
        &phone,
        "set_queue",
        json!({ "songIds": ["a", "b", "c"] }),
    )
    .await;
    assert_eq!(now_playing(&state), (song("a"), 0, 0, true));
    assert_eq!(state["playOrder"], json!(queue_entries(&state)));

    let state = step(&api, &phone, "next", Value::Null).await;
    assert_eq!(now_playing(&state), (song("b"), 1, 0, true));
    let state = step(&api, &phone, "next", Value::Null).await;
    assert_eq!(now_playing(&state), (song("c"), 2, 0, true));
    // At the end with repeat off: stops on the last entry at 0 ms.
    let state = step(&api, &phone, "next", Value::Null).await;
    assert_eq!(now_playing(&state), (song("c"), 2, 0, false));

    // Repeat all wraps both ways.
    let state = step(&api, &phone, "set_repeat", json!({ "repeat": "all" })).await;
    assert_eq!(state["repeat"], "all");
    let state = step(&api, &phone, "next", Value::Null).await;
    let (current, index, position, _) = now_playing(&state);
    assert_eq!((current, index, position), (song("a"), 0, 0), "{state}");
    let state = step(&api, &phone, "previous", Value::Null).await;
    let (current, index, position, _) = now_playing(&state);
    assert_eq!((current, index, position), (song("c"), 2, 0), "{state}");

    // Seek keeps playing or paused as it was; previous after 3 s restarts the current entry.
    let state = step(&api, &phone, "play", Value::Null).await;
    assert!(now_playing(&state).3, "resumed: {state}");
    let state = step(&api, &phone, "seek", json!({ "positionMs": 5_000 })).await;
    assert_eq!(now_playing(&state), (song("c"), 2, 5_000, true));
    let state = step(&api, &phone, "previous", Value::Null).await;
    let (current, index, position, _) = now_playing(&state);
    assert_eq!((current, index, position), (song("c"), 2, 0), "{state}");
    let state = step(&api, &phone, "previous", Value::Null).await;
    let (current, index, position, _) = now_playing(&state);
    assert_eq!((current, index, position), (song("b"), 1, 0), "{state}");
    let state = step(&api, &phone, "pause", Value::Null).await;
    assert!(!now_playing(&state).3);
    let state = step(&api, &phone, "seek", json!({ "positionMs": 7_000 })).await;
    assert_eq!(now_playing(&state), (song("b"), 1, 7_000, false));

    // Repeat off: previous at the start restarts the first entry.
    step(&api, &phone, "set_repeat", json!({ "repeat": "off" })).await;
    let state = step(&api, &phone, "previous", Value::Null).await;
    assert_eq!(now_playing(&state).0, "b", "after 3 s: restart: {state}");
    let state = step(&api, &phone, "previous", Value::Null).await;
    assert_eq!(now_playing(&state).0, "a", "{state}");
    let state = step(&api, &phone, "previous", Value::Null).await;
    let (current, index, position, _) = now_playing(&state);
    assert_eq!((current, index, position), (song("a"), 0, 0), "{state}");

    // Repeat one: an explicit next still moves on.
    step(&api, &phone, "set_repeat", json!({ "repeat": "one" })).await;
    let state = step(&api, &phone, "next", Value::Null).await;
    assert_eq!(now_playing(&state).0, "b", "{state}");

    // play with a song: a new entry right after the current one, current at 0 ms, playing.
    let state = step(&api, &phone, "play", json!({ "songId": "x" })).await;
    assert_eq!(queue_songs(&state), ["a", "b", "x", "c"]);
    assert_eq!(now_playing(&state), (song("x"), 2, 0, true));
    // A song may repeat; entries stay unique.
    let state = step(
        &api,
        &phone,
        "add_to_queue",
        json!({ "songIds": ["a", "a"] }),
    )
    .await;
    assert_eq!(queue_songs(&state), ["a", "b", "x", "c", "a", "a"]);
    let entries = queue_entries(&state);
    assert_eq!(entries.iter().collect::<HashSet<_>>().len(), 6, "{state}");
    assert_eq!(state["playOrder"], json!(entries));
    assert_eq!(
        now_playing(&state).0,
        "x",
        "adding keeps the current entry: {state}"
    );

    // Shuffle: a permutation with the current entry first; off: queue order again.
    let state = step(&api, &phone, "set_shuffle", json!({ "shuffle": true })).await;
    assert_eq!(state["shuffle"], true);
    let order: Vec<String> = state["playOrder"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    let mut sorted_order = order.clone();
    sorted_order.sort();
    let mut sorted_entries = entries.clone();
    sorted_entries.sort();
    assert_eq!(sorted_order, sorted_entries, "a permutation: {state}");
    assert_eq!(
        state["currentEntryId"],
        order[0].as_str(),
        "current first: {state}"
    );
    assert_eq!(
        queue_entries(&state),
        entries,
        "the queue itself stays: {state}"
    );
    let state = step(&api, &phone, "next", Value::Null).await;
    assert_eq!(
        state["currentEntryId"],
        order[1].as_str(),
        "next follows playOrder"
    );
    let state = step(&api, &phone, "set_shuffle", json!({ "shuffle": false })).await;
    assert_eq!(state["shuffle"], false);
    assert_eq!(state["playOrder"], json!(entries));

    // Volume.
    let state = step(&api, &phone, "set_volume", json!({ "volume": 0 })).await;
    assert_eq!(state["volume"], 0);
    let state = step(&api, &phone, "set_volume", json!({ "volume": 100 })).await;
    assert_eq!(state["volume"], 100);

    // set_queue with startIndex replaces the queue with new entries.
    let state = step(
        &api,
        &phone,
        "set_queue",
        json!({ "songIds": ["p", "q"], "startIndex": 1 }),
    )
    .await;
    assert_eq!(queue_songs(&state), ["p", "q"]);
    assert_eq!(now_playing(&state), (song("q"), 1, 0, true));
    assert!(
        queue_entries(&state).iter().all(|e| !entries.contains(e)),
        "new entryIds, none of the replaced queue's: {entries:?} → {state}"
    );
}

#[tokio::test]
async fn commands_whose_device_went_away_before_they_applied_are_rejected() {
    let (mut app, api, alice, phone) = with_alice_and_phone(persistent_app().await).await;
    let laptop = api.device(&alice, "Laptop", "desktop").await;
    let tablet = api.device(&alice, "Tablet", "tablet").await;
    let start = applied_version(
        &api.apply(&phone, "set_queue", json!({ "songIds": ["s1"] }))
            .await,
    );

    // With Redis down the commands wait; meanwhile their devices are deleted.
    app.redis.stop();
    let removed = api
        .command(&tablet, "set_volume", json!({ "volume": 10 }))
        .await;
    let unknown = api
        .command(
            &phone,
            "transfer",
            json!({ "toDeviceId": laptop.id, "keepPlaying": true }),
        )
        .await;
    for device in [&tablet, &laptop] {
        let response = api.delete_device(&alice.token, &device.id).await;
        assert_eq!(response.status, 204, "{}", response.text());
    }
    app.redis.restart().expect("restart redis-server");
    let url = app.redis.url();
    eventually(
        Duration::from_secs(20),
        "the trigger to resubscribe",
        || {
            let url = url.clone();
            async move { (subscribers(&url, COMMAND_CHANNEL).await > 0).then_some(()) }
        },
    )
    .await;
    let ok = api
        .command(&phone, "set_volume", json!({ "volume": 55 }))
        .await;

    let done = api.settled(&alice.token, &removed).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "device_removed", "{done}");
    let done = api.settled(&alice.token, &unknown).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "unknown_device", "{done}");
    let done = api.settled(&alice.token, &ok).await;
    assert_eq!(
        applied_version(&done),
        start + 1,
        "only the last one applied"
    );
    let state = api.state_from(&phone).await;
    assert_eq!(state["volume"], 55);
    assert_eq!(state["activeDeviceId"], phone.id, "{state}");
    let reported = rejections(&state);
    assert_eq!(reported.len(), 1, "the phone's own rejection: {state}");
    assert_eq!(reported[0]["commandId"], unknown.as_str());
    assert_eq!(reported[0]["reason"], "unknown_device");
}

#[tokio::test]
async fn the_queue_holds_at_most_10000_entries() {
    let (_app, api, alice, phone) = alice_with_phone().await;

    // set_queue takes at most 1000 songs.
    let too_many: Vec<String> = (0..1001).map(|i| format!("s{i}")).collect();
    let response = api
        .post_command(
            Some(&alice.token),
            Some(&phone.id),
            Api::command_body("set_queue", json!({ "songIds": too_many })),
        )
        .await;
    assert_invalid(&response, &["arguments.songIds"], "1001 songs");

    let first: Vec<String> = (0..1000).map(|i| format!("s{i}")).collect();
    api.command(&phone, "set_queue", json!({ "songIds": first }))
        .await;
    let mut last = String::new();
    for batch in 0..90 {
        let songs: Vec<String> = (0..100).map(|i| format!("b{batch}-{i}")).collect();
        last = api
            .command(&phone, "add_to_queue", json!({ "songIds": songs }))
            .await;
    }
    let done = api
        .settled_within(&alice.token, &last, Duration::from_secs(60))
        .await;
    assert_eq!(applied_version(&done), 91, "{done}");
    let full = api
        .command(&phone, "add_to_queue", json!({ "songIds": ["one-more"] }))
        .await;
    let done = api.settled(&alice.token, &full).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "queue_full", "{done}");
    let play = api
        .command(&phone, "play", json!({ "songId": "one-more" }))
        .await;
    let done = api.settled(&alice.token, &play).await;
    assert_eq!(
        done["reason"], "queue_full",
        "play adds an entry too: {done}"
    );
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), 91);
    let songs = queue_songs(&state);
    assert_eq!(songs.len(), 10_000);
    assert_eq!(songs[999], "s999");
    assert_eq!(songs[9_999], "b89-99");
}

#[tokio::test]
async fn room_commands_that_lost_their_right_before_applying_are_rejected() {
    let (mut app, api, alice) = with_alice(persistent_app().await).await;
    let bob = listener(&app, "Bob").await;
    let carol = listener(&app, "Carol").await;
    let alice_phone = api.device(&alice, "Alice's phone", "phone").await;
    let bob_laptop = api.device(&bob, "Bob's laptop", "desktop").await;
    let carol_tv = api.device(&carol, "Carol's TV", "tv").await;
    let room = api
        .create_room(&alice.token, json!({ "controlMode": "everyone" }))
        .await;
    assert_eq!(room["controlMode"], "everyone");
    let code = room["code"].as_str().unwrap().to_string();
    for user in [&bob, &carol] {
        assert_eq!(api.join(&user.token, &code).await.status, 200);
    }
    apply_in_room(
        &api,
        &alice_phone,
        &code,
        "set_queue",
        json!({ "songIds": ["r1", "r2"] }),
    )
    .await;
    let start = version_of(&api.room_state(&alice.token, &code).await);

    // With Redis down, Bob's and Carol's commands wait; meanwhile the host takes control back
    // and Carol leaves.
    app.redis.stop();
    let mut waiting = Vec::new();
    for device in [&bob_laptop, &carol_tv] {
        let response = room_command(&api, device, &code, "pause", Value::Null).await;
        assert_eq!(response.status, 202, "{}", response.text());
        waiting.push(
            response.json::<Value>()["commandId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let response = api
        .patch_room(&alice.token, &code, json!({ "controlMode": "host" }))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let response = api.leave(&carol.token, &code).await;
    assert_eq!(response.status, 204, "{}", response.text());
    app.redis.restart().expect("restart redis-server");
    let url = app.redis.url();
    eventually(
        Duration::from_secs(20),
        "the trigger to resubscribe",
        || {
            let url = url.clone();
            async move { (subscribers(&url, COMMAND_CHANNEL).await > 0).then_some(()) }
        },
    )
    .await;
    let next = room_command(&api, &alice_phone, &code, "next", Value::Null).await;
    assert_eq!(next.status, 202, "{}", next.text());
    let next = next.json::<Value>()["commandId"]
        .as_str()
        .unwrap()
        .to_string();

    let done = api.settled(&bob.token, &waiting[0]).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "not_allowed", "Bob is no host now: {done}");
    let done = api.settled(&carol.token, &waiting[1]).await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["reason"], "not_a_member", "Carol left: {done}");
    let done = api.settled(&alice.token, &next).await;
    let applied = applied_version(&done);
    assert!(applied > start, "{done}");
    let state = api.room_state(&alice.token, &code).await;
    assert_eq!(state["playing"], true, "neither pause applied: {state}");
    assert_eq!(state["currentSongId"], "r2", "{state}");

    // Bob's device learns why on its next poll of the room.
    let response = api
        .poll(
            &bob.token,
            Some(&bob_laptop.id),
            &format!("?room={code}"),
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let state: Value = response.json();
    let reported = rejections(&state);
    assert_eq!(reported.len(), 1, "{state}");
    assert_eq!(reported[0]["commandId"], waiting[0].as_str());
    assert_eq!(reported[0]["reason"], "not_allowed");
}

#[tokio::test]
async fn a_deleted_users_devices_state_and_room_memberships_go() {
    let app = spawn_app_with(&[("admin_emails", "root@example.com")]).await;
    let api = Api::new(&app);
    let admin = register_admin(&app, "root@example.com").await;
    let alice = listener(&app, "Alice").await;
    let bob = listener(&app, "Bob").await;
    let phone = api.device(&alice, "Phone", "phone").await;
    let applied = api.apply(&phone, "play", json!({ "songId": "s1" })).await;
    assert_eq!(applied["status"], "applied", "{applied}");
    let room = api.create_room(&alice.token, json!({})).await;
    let code = room["code"].as_str().expect("a code").to_string();
    assert_eq!(api.join(&bob.token, &code).await.status, 200);

    admin_delete_user(&app, &admin, &alice.id).await;

    // Alice's token still verifies until it expires; what sync kept of her is gone.
    eventually(Duration::from_secs(10), "alice's devices to go", || async {
        api.devices(&alice.token).await.is_empty().then_some(())
    })
    .await;
    let state = api.state(&alice.token).await;
    assert_eq!(version_of(&state), 0, "a fresh state: {state}");
    assert!(
        state["queue"].as_array().is_some_and(|q| q.is_empty()),
        "{state}"
    );
    let room = api.room(&bob.token, &code).await;
    assert_eq!(room.status, 200, "{}", room.text());
    let room: Value = room.json();
    assert_eq!(room["hostId"], bob.id, "bob hosts now: {room}");
    let members: Vec<&str> = room["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["userId"].as_str())
        .collect();
    assert_eq!(members, [bob.id.as_str()], "{room}");
}
