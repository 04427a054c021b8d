//! The `sync` component (issue 7) for tests and benchmarks: devices, commands with fresh
//! command ids, polls of the playback state, listening rooms, and a reference client for the
//! shared clock that computes the current playback position as every device does.
//!
//! [`Api`] is a cheap clone of the app's address and HTTP client, so that requests can run in
//! spawned tasks (long polls held while another device sends a command). Make a new one after
//! `app.restart(..)`: the app's client is new then.

use crate::accounts::{User, listener};
use crate::{TestApp, TestResponse, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const DEVICES: &str = "/api/sync/devices";
pub const COMMANDS: &str = "/api/sync/commands";
pub const STATE: &str = "/api/sync/state";
pub const TIME: &str = "/api/sync/time";
pub const ROOMS: &str = "/api/sync/rooms";

/// The header naming the calling device.
pub const DEVICE_HEADER: &str = "x-device-id";

/// The characters of a room code.
pub const CODE_ALPHABET: &str = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// How long a command may take to be applied in the tests.
pub const APPLY_WAIT: Duration = Duration::from_secs(20);

/// A command id nobody used yet in this test process: `cmd-<pid>-<n>-<nanos>`.
pub fn command_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("cmd-{}-{n}-{nanos}", std::process::id())
}

/// A device of a user: its id and its owner's access token.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub token: String,
    pub user_id: String,
}

/// Whether `code` looks like a room code: 6 characters of [`CODE_ALPHABET`].
pub fn is_room_code(code: &str) -> bool {
    code.len() == 6 && code.chars().all(|c| CODE_ALPHABET.contains(c))
}

/// The app's address and HTTP client, cheap to clone into spawned tasks.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: app.client.clone(),
            base: app.url(""),
        }
    }

    /// A request to `path` as `token` (anonymous when `None`), from `device` when given.
    pub fn request(
        &self,
        token: Option<&str>,
        device: Option<&str>,
        method: Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(device) = device {
            request = request.header(DEVICE_HEADER, device);
        }
        request
    }

    /// Sends a request and reads the whole answer; panics when no answer comes.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        crate::send(request).await
    }

    /// A request with an optional JSON body.
    pub async fn call(
        &self,
        token: Option<&str>,
        device: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = self.request(token, device, method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    // -----------------------------------------------------------------------------------------
    // Devices
    // -----------------------------------------------------------------------------------------

    /// `POST /api/sync/devices` with `body` as `token`.
    pub async fn create_device(&self, token: Option<&str>, body: Value) -> TestResponse {
        self.call(token, None, Method::POST, DEVICES, Some(body))
            .await
    }

    /// Registers a device `name` of `kind` for `user`: 201, or the test fails.
    pub async fn device(&self, user: &User, name: &str, kind: &str) -> Device {
        let response = self
            .create_device(Some(&user.token), json!({ "name": name, "kind": kind }))
            .await;
        assert_eq!(
            response.status,
            201,
            "register device {name}: {}",
            response.text()
        );
        let body: Value = response.json();
        Device {
            id: body["id"].as_str().expect("device id").to_string(),
            name: name.to_string(),
            token: user.token.clone(),
            user_id: user.id.clone(),
        }
    }

    /// `GET /api/sync/devices` as `token`: 200, its `items`.
    pub async fn devices(&self, token: &str) -> Vec<Value> {
        let response = self
            .call(Some(token), None, Method::GET, DEVICES, None)
            .await;
        assert_eq!(response.status, 200, "list devices: {}", response.text());
        let body: Value = response.json();
        body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("devices have items: {body}"))
            .clone()
    }

    /// The device `id` in `token`'s list (panics if it is missing).
    pub async fn listed_device(&self, token: &str, id: &str) -> Value {
        self.devices(token)
            .await
            .into_iter()
            .find(|d| d["id"] == id)
            .unwrap_or_else(|| panic!("device {id} is not listed"))
    }

    /// `PATCH /api/sync/devices/:id` with `{"name": name}` as `token`.
    pub async fn rename_device(
        &self,
        token: &str,
        id: &str,
        name: impl serde::Serialize,
    ) -> TestResponse {
        let path = format!("{DEVICES}/{id}");
        let body = json!({ "name": name });
        self.call(Some(token), None, Method::PATCH, &path, Some(body))
            .await
    }

    /// `DELETE /api/sync/devices/:id` as `token`.
    pub async fn delete_device(&self, token: &str, id: &str) -> TestResponse {
        let path = format!("{DEVICES}/{id}");
        self.call(Some(token), None, Method::DELETE, &path, None)
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Commands
    // -----------------------------------------------------------------------------------------

    /// `POST /api/sync/commands` with `body` as it is, as `token` from `device`.
    pub async fn post_command(
        &self,
        token: Option<&str>,
        device: Option<&str>,
        body: Value,
    ) -> TestResponse {
        self.call(token, device, Method::POST, COMMANDS, Some(body))
            .await
    }

    /// A command document: a fresh command id, `kind`, `arguments` (left out when null).
    pub fn command_body(kind: &str, arguments: Value) -> Value {
        let mut body = json!({ "commandId": command_id(), "type": kind });
        if !arguments.is_null() {
            body["arguments"] = arguments;
        }
        body
    }

    /// Sends `body` from `device`: 202 (or the test fails), the answer.
    pub async fn send_command_body(&self, device: &Device, body: Value) -> Value {
        let response = self
            .post_command(Some(&device.token), Some(&device.id), body.clone())
            .await;
        assert_eq!(
            response.status,
            202,
            "command {body} from {}: {}",
            device.name,
            response.text()
        );
        let answer: Value = response.json();
        assert_eq!(answer["commandId"], body["commandId"], "{answer}");
        let id = body["commandId"].as_str().unwrap();
        assert_eq!(
            response.header("location").as_deref(),
            Some(format!("{COMMANDS}/{id}").as_str()),
            "the 202 names the command"
        );
        answer
    }

    /// Sends command `kind` with `arguments` (null: none) and a fresh id from `device`: 202,
    /// the command id.
    pub async fn command(&self, device: &Device, kind: &str, arguments: Value) -> String {
        let body = Self::command_body(kind, arguments);
        self.send_command_body(device, body.clone()).await;
        body["commandId"].as_str().unwrap().to_string()
    }

    /// Sends a command and waits until it is applied: the command's document.
    pub async fn apply(&self, device: &Device, kind: &str, arguments: Value) -> Value {
        let id = self.command(device, kind, arguments).await;
        let done = self.settled(&device.token, &id).await;
        assert_eq!(done["status"], "applied", "{kind}: {done}");
        done
    }

    /// `GET /api/sync/commands/:id` as `token`.
    pub async fn command_status(&self, token: &str, id: &str) -> TestResponse {
        self.call(
            Some(token),
            None,
            Method::GET,
            &format!("{COMMANDS}/{id}"),
            None,
        )
        .await
    }

    /// Waits until command `id` is no longer pending: its document.
    pub async fn settled(&self, token: &str, id: &str) -> Value {
        self.settled_within(token, id, APPLY_WAIT).await
    }

    /// [`settled`](Self::settled) with a timeout of the caller's.
    pub async fn settled_within(&self, token: &str, id: &str, timeout: Duration) -> Value {
        crate::eventually(timeout, &format!("command {id} to be applied"), || async {
            let response = self.command_status(token, id).await;
            assert_eq!(response.status, 200, "command {id}: {}", response.text());
            let body: Value = response.json();
            (body["status"] != "pending").then_some(body)
        })
        .await
    }

    // -----------------------------------------------------------------------------------------
    // State
    // -----------------------------------------------------------------------------------------

    /// `GET /api/sync/state{query}` (query: `""` or `"?since=3&wait=10"`) as `token`, from
    /// `device` when given, with `If-None-Match` when given.
    pub async fn poll(
        &self,
        token: &str,
        device: Option<&str>,
        query: &str,
        if_none_match: Option<&str>,
    ) -> TestResponse {
        let mut request =
            self.request(Some(token), device, Method::GET, &format!("{STATE}{query}"));
        if let Some(tag) = if_none_match {
            request = request.header("if-none-match", tag);
        }
        self.send(request).await
    }

    /// The user's state now (`GET /api/sync/state`, no device): 200, the state.
    pub async fn state(&self, token: &str) -> Value {
        let response = self.poll(token, None, "", None).await;
        assert_eq!(response.status, 200, "state: {}", response.text());
        response.json()
    }

    /// The state as `device` reads it (refreshes its lastSeenAt, carries its rejections).
    pub async fn state_from(&self, device: &Device) -> Value {
        let response = self.poll(&device.token, Some(&device.id), "", None).await;
        assert_eq!(response.status, 200, "state: {}", response.text());
        response.json()
    }

    /// A room's state now, as `token`.
    pub async fn room_state(&self, token: &str, code: &str) -> Value {
        let response = self.poll(token, None, &format!("?room={code}"), None).await;
        assert_eq!(response.status, 200, "room state: {}", response.text());
        response.json()
    }

    /// Waits until the user's state has at least `version`: that state.
    pub async fn state_at_least(&self, token: &str, version: u64) -> Value {
        crate::eventually(APPLY_WAIT, &format!("version {version}"), || async {
            let state = self.state(token).await;
            (version_of(&state) >= version).then_some(state)
        })
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Rooms
    // -----------------------------------------------------------------------------------------

    /// `POST /api/sync/rooms` with `body` as `token`.
    pub async fn post_room(&self, token: &str, body: Value) -> TestResponse {
        self.call(Some(token), None, Method::POST, ROOMS, Some(body))
            .await
    }

    /// `POST /api/sync/rooms` with `body` as `token`: 201, the room.
    pub async fn create_room(&self, token: &str, body: Value) -> Value {
        let response = self.post_room(token, body).await;
        assert_eq!(response.status, 201, "create room: {}", response.text());
        response.json()
    }

    /// `GET /api/sync/rooms/:code` as `token`.
    pub async fn room(&self, token: &str, code: &str) -> TestResponse {
        self.call(
            Some(token),
            None,
            Method::GET,
            &format!("{ROOMS}/{code}"),
            None,
        )
        .await
    }

    /// `POST /api/sync/rooms/:code/join` as `token`.
    pub async fn join(&self, token: &str, code: &str) -> TestResponse {
        self.call(
            Some(token),
            None,
            Method::POST,
            &format!("{ROOMS}/{code}/join"),
            None,
        )
        .await
    }

    /// `POST /api/sync/rooms/:code/leave` as `token`.
    pub async fn leave(&self, token: &str, code: &str) -> TestResponse {
        self.call(
            Some(token),
            None,
            Method::POST,
            &format!("{ROOMS}/{code}/leave"),
            None,
        )
        .await
    }

    /// `PATCH /api/sync/rooms/:code` with `body` as `token`.
    pub async fn patch_room(&self, token: &str, code: &str, body: Value) -> TestResponse {
        self.call(
            Some(token),
            None,
            Method::PATCH,
            &format!("{ROOMS}/{code}"),
            Some(body),
        )
        .await
    }
}

/// `app` with the listener Alice registered: (app, its [`Api`], Alice).
pub async fn with_alice(app: TestApp) -> (TestApp, Api, User) {
    let api = Api::new(&app);
    let alice = listener(&app, "Alice").await;
    (app, api, alice)
}

/// [`with_alice`], and Alice's device "Phone" (a phone) registered.
pub async fn with_alice_and_phone(app: TestApp) -> (TestApp, Api, User, Device) {
    let (app, api, alice) = with_alice(app).await;
    let phone = api.device(&alice, "Phone", "phone").await;
    (app, api, alice, phone)
}

/// A new app ([`spawn_app`]) with the listener Alice: (app, api, Alice).
pub async fn alice_app() -> (TestApp, Api, User) {
    with_alice(spawn_app().await).await
}

/// A new app ([`spawn_app`]) with Alice and her "Phone": (app, api, Alice, phone).
pub async fn alice_with_phone() -> (TestApp, Api, User, Device) {
    with_alice_and_phone(spawn_app().await).await
}

/// A state's `version`.
#[track_caller]
pub fn version_of(state: &Value) -> u64 {
    state["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("a state with a version: {state}"))
}

/// The song ids of a state's queue, in order.
#[track_caller]
pub fn queue_songs(state: &Value) -> Vec<String> {
    state["queue"]
        .as_array()
        .unwrap_or_else(|| panic!("a state with a queue: {state}"))
        .iter()
        .map(|e| e["songId"].as_str().expect("songId").to_string())
        .collect()
}

/// The entry ids of a state's queue, in order.
#[track_caller]
pub fn queue_entries(state: &Value) -> Vec<String> {
    state["queue"]
        .as_array()
        .unwrap_or_else(|| panic!("a state with a queue: {state}"))
        .iter()
        .map(|e| e["entryId"].as_str().expect("entryId").to_string())
        .collect()
}

/// The `ETag` of a state answer: `"v12"` → 12 (panics when missing or malformed).
#[track_caller]
pub fn state_etag(response: &TestResponse) -> u64 {
    let tag = response
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {} {}", response.status, response.text()));
    tag.strip_prefix("\"v")
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("ETag {tag:?} is not \"v<version>\""))
}

// ---------------------------------------------------------------------------------------------
// The shared clock
// ---------------------------------------------------------------------------------------------

/// The wall clock of this machine in ms since the epoch, with µs precision.
pub fn wall_clock_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// One exchange with `GET /api/sync/time`.
#[derive(Debug, Clone, Copy)]
pub struct ClockSample {
    /// t1: the client's clock when it sent the request.
    pub sent: f64,
    /// t2: the server's clock when it received it (`receivedAt`).
    pub received_at: f64,
    /// t3: the server's clock when it answered (`sentAt`).
    pub sent_at: f64,
    /// t4: the client's clock when the answer arrived.
    pub received: f64,
}

impl ClockSample {
    /// ((t2 − t1) + (t3 − t4)) / 2: what to add to the client's clock to get the server's.
    pub fn offset(&self) -> f64 {
        ((self.received_at - self.sent) + (self.sent_at - self.received)) / 2.0
    }

    /// (t4 − t1) − (t3 − t2): the round trip without the server's own time.
    pub fn delay(&self) -> f64 {
        (self.received - self.sent) - (self.sent_at - self.received_at)
    }
}

/// A device's view of the shared clock, as the reference client of issue 7: its local clock
/// is this machine's shifted by `skew_ms` (devices whose clocks are wrong), and it learns its
/// offset to the server NTP-style from the lowest-delay of several samples of
/// `GET /api/sync/time`.
#[derive(Debug, Clone)]
pub struct ClockClient {
    pub skew_ms: f64,
    /// The best sample so far (lowest delay); `None` before [`sync`](Self::sync).
    pub best: Option<ClockSample>,
}

impl ClockClient {
    pub fn new(skew_ms: f64) -> Self {
        Self {
            skew_ms,
            best: None,
        }
    }

    /// The device's own (skewed) clock, ms since the epoch.
    pub fn local_now(&self) -> f64 {
        wall_clock_ms() + self.skew_ms
    }

    /// Takes `samples` samples of `GET /api/sync/time` as `token` and keeps the lowest-delay
    /// one (also against earlier ones): the kept sample.
    pub async fn sync(&mut self, api: &Api, token: &str, samples: usize) -> ClockSample {
        for _ in 0..samples {
            let request = api.request(Some(token), None, Method::GET, TIME);
            let sent = self.local_now();
            let response = api.send(request).await;
            let received = self.local_now();
            assert_eq!(response.status, 200, "time: {}", response.text());
            let body: Value = response.json();
            let sample = ClockSample {
                sent,
                received_at: body["receivedAt"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("receivedAt: {body}")),
                sent_at: body["sentAt"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("sentAt: {body}")),
                received,
            };
            if self.best.is_none_or(|best| sample.delay() < best.delay()) {
                self.best = Some(sample);
            }
        }
        self.best.expect("at least one sample")
    }

    /// The offset to the server's clock (0 before any sync).
    pub fn offset(&self) -> f64 {
        self.best.map(|s| s.offset()).unwrap_or(0.0)
    }

    /// The server's clock as this device estimates it now.
    pub fn server_now(&self) -> f64 {
        self.local_now() + self.offset()
    }

    /// The current playback position of `state` as this device computes it now.
    pub fn position_ms(&self, state: &Value) -> f64 {
        position_at(state, self.server_now())
    }

    /// What a device that ignores the server's clock would compute (its own clock as if it
    /// were the server's).
    pub fn naive_position_ms(&self, state: &Value) -> f64 {
        position_at(state, self.local_now())
    }
}

/// `positionMs + (playing ? (server_now − positionAt) · playbackRate : 0)`.
#[track_caller]
pub fn position_at(state: &Value, server_now: f64) -> f64 {
    let position = state["positionMs"]
        .as_f64()
        .unwrap_or_else(|| panic!("positionMs: {state}"));
    if state["playing"] != true {
        return position;
    }
    let at = state["positionAt"]
        .as_f64()
        .unwrap_or_else(|| panic!("positionAt: {state}"));
    let rate = state["playbackRate"]
        .as_f64()
        .unwrap_or_else(|| panic!("playbackRate: {state}"));
    position + (server_now - at) * rate
}
