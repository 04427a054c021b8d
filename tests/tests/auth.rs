//! The `auth` component, end to end: the real `spin.toml` started in-process against its own
//! `redis-server`, driven over HTTP as the web app drives it (accounts, sessions, one-time
//! codes, administration, signing keys), with the events it publishes read back from Redis
//! (`spindle:events:TOPIC`, field `e`) and the access tokens it mints taken apart here.
//!
//! Every test starts its own app: the rate limits (per client address, and every request here
//! comes from 127.0.0.1) never leak from one test into another.

use jwt_simple::algorithms::{
    Ed25519KeyPair, Ed25519PublicKey, EdDSAKeyPairLike, EdDSAPublicKeyLike, HS256Key, MACLike,
};
use jwt_simple::claims::{Claims, JWTClaims};
use jwt_simple::common::VerificationOptions;
use jwt_simple::reexports::coarsetime::{Clock, Duration as JwtDuration};
use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding as B64, Decoder, Encoder};
use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{Envelope, Event, UserOtpRequested};
use spindle_tests::bus::EventBus;
use spindle_tests::{
    TestApp, TestResponse, assert_invalid, assert_problem, eventually, object_keys, rfc3339_ms,
    spawn_app_with, string_set,
};
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const PROBLEM_JSON: &str = "application/problem+json";
const PASSWORD: &str = "Tr0ub4dor&3-spindle";
const NEW_PASSWORD: &str = "a much longer passphrase 42";
const ADMIN_EMAIL: &str = "boss@example.com";
/// The 401 body of every failed login, whether the email exists or not.
const WRONG_LOGIN: &str = "the email or password is wrong";
/// The 400 body of every failed one-time code.
const WRONG_CODE: &str = "the code is wrong or has expired";
const ACCESS_LIFETIME: i64 = 900;

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// The real app with nothing configured for auth: it generates its own signing key.
async fn start() -> TestApp {
    start_with(&[]).await
}

async fn start_with(variables: &[(&str, &str)]) -> TestApp {
    spawn_app_with(variables).await
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A request with a body sent as is, under `content_type` (none when `None`).
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> TestResponse {
    let mut request = app.request(method, path).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    app.send(request).await
}

async fn me(app: &TestApp, token: &str) -> TestResponse {
    app.send_as(token, Method::GET, "/api/auth/me", None).await
}

/// What `POST /api/auth/{register,login,refresh}` and the code sign-in answer.
#[derive(Debug, Clone)]
struct Tokens {
    user: Value,
    access: String,
    refresh: String,
}

impl Tokens {
    fn id(&self) -> String {
        self.user["id"].as_str().expect("user.id").to_string()
    }
}

/// The tokens of a `status` TokenResponse, after checking its shape.
#[track_caller]
fn tokens(response: &TestResponse, status: u16) -> Tokens {
    assert_eq!(response.status, status, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&[
            "user",
            "accessToken",
            "refreshToken",
            "tokenType",
            "expiresIn"
        ]),
        "{body}"
    );
    assert_eq!(body["tokenType"], "Bearer", "{body}");
    assert_eq!(body["expiresIn"], 900, "{body}");
    assert_me_shape(&body["user"]);
    let access = body["accessToken"].as_str().expect("accessToken");
    let refresh = body["refreshToken"].as_str().expect("refreshToken");
    assert!(!refresh.is_empty() && access != refresh, "{body}");
    Tokens {
        user: body["user"].clone(),
        access: access.to_string(),
        refresh: refresh.to_string(),
    }
}

fn register_body(email: &str, name: &str, role: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "displayName": name, "role": role })
}

async fn register(app: &TestApp, body: Value) -> TestResponse {
    app.post_json("/api/auth/register", &body).await
}

/// Registers `email` (with [`PASSWORD`]) as `role`.
async fn register_user(app: &TestApp, email: &str, role: &str) -> Tokens {
    let name = email.split('@').next().unwrap();
    tokens(&register(app, register_body(email, name, role)).await, 201)
}

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.post_json(
        "/api/auth/login",
        &json!({ "email": email, "password": password }),
    )
    .await
}

async fn login_user(app: &TestApp, email: &str, password: &str) -> Tokens {
    tokens(&login(app, email, password).await, 200)
}

async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    app.post_json(
        "/api/auth/refresh",
        &json!({ "refreshToken": refresh_token }),
    )
    .await
}

async fn refresh_ok(app: &TestApp, refresh_token: &str) -> Tokens {
    tokens(&refresh(app, refresh_token).await, 200)
}

async fn admin(
    app: &TestApp,
    admin: &Tokens,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    app.send_as(&admin.access, method, path, body).await
}

async fn block(app: &TestApp, by: &Tokens, user_id: &str, blocked: bool) -> TestResponse {
    let path = format!("/api/admin/users/{user_id}/block");
    admin(
        app,
        by,
        Method::PATCH,
        &path,
        Some(json!({ "blocked": blocked })),
    )
    .await
}

async fn set_role(app: &TestApp, by: &Tokens, user_id: &str, role: &str) -> TestResponse {
    let path = format!("/api/admin/users/{user_id}/role");
    admin(app, by, Method::PATCH, &path, Some(json!({ "role": role }))).await
}

async fn delete_user(app: &TestApp, by: &Tokens, user_id: &str) -> TestResponse {
    let path = format!("/api/admin/users/{user_id}");
    admin(app, by, Method::DELETE, &path, None).await
}

// ---------------------------------------------------------------------------------------------
// Shapes and problems
// ---------------------------------------------------------------------------------------------

/// The fields of Me (the spec's shape). Extra fields are checked once, by
/// `me_has_exactly_the_specified_fields`, so that one deviation does not hide the others.
const ME_FIELDS: &[&str] = &[
    "id",
    "email",
    "emailVerified",
    "displayName",
    "role",
    "hasPassword",
    "googleLinked",
    "createdAt",
];

#[track_caller]
fn assert_me_shape(me: &Value) {
    for field in ME_FIELDS {
        assert!(me.get(field).is_some(), "Me has {field}: {me}");
    }
    for field in ["emailVerified", "hasPassword"] {
        assert!(me[field].is_boolean(), "{field} is a boolean: {me}");
    }
    for field in ["id", "email", "displayName", "role", "createdAt"] {
        let text = me[field].as_str();
        assert!(text.is_some_and(|t| !t.is_empty()), "{field}: {me}");
    }
}

#[track_caller]
fn assert_admin_user_shape(user: &Value) {
    assert!(
        user["blocked"].is_boolean(),
        "AdminUser has blocked: {user}"
    );
    assert_me_shape(user);
}

/// A 429 problem with a `Retry-After` of 1..=`window` seconds.
#[track_caller]
fn assert_limited(response: &TestResponse, window: u64, what: &str) {
    assert_problem(response, 429, what);
    let retry: u64 = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: a 429 carries Retry-After"))
        .parse()
        .unwrap_or_else(|e| panic!("{what}: Retry-After is seconds: {e}"));
    assert!((1..=window).contains(&retry), "{what}: Retry-After {retry}");
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Every event on `topic`'s stream so far, oldest first.
async fn events(app: &TestApp, topic: &str) -> Vec<Envelope> {
    let envelopes = EventBus::connect(&app.redis.url())
        .await
        .envelopes(topic)
        .await;
    for envelope in &envelopes {
        assert_eq!(envelope.producer, "auth", "{envelope:?}");
    }
    envelopes
}

/// Waits for the first event on `topic` that `pick` accepts.
async fn wait_event<T>(app: &TestApp, topic: &str, pick: impl Fn(Event) -> Option<T>) -> T {
    eventually(WAIT, &format!("an event on {topic}"), || async {
        events(app, topic)
            .await
            .into_iter()
            .find_map(|e| pick(e.payload))
    })
    .await
}

async fn request_otp(app: &TestApp, email: &str, purpose: &str) -> TestResponse {
    app.post_json(
        "/api/auth/otp/request",
        &json!({ "email": email, "purpose": purpose }),
    )
    .await
}

/// The `user.otp_requested` events for `email`.
async fn otp_events(app: &TestApp, email: &str) -> Vec<UserOtpRequested> {
    events(app, "user.otp_requested")
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Event::UserOtpRequested(otp) if otp.email == email => Some(otp),
            _ => None,
        })
        .collect()
}

/// Asks for a code for `email` (an existing account) and returns the one that went out.
async fn otp_code(app: &TestApp, email: &str, purpose: &str) -> String {
    otp_event(app, email, purpose).await.code
}

async fn otp_event(app: &TestApp, email: &str, purpose: &str) -> UserOtpRequested {
    let before = otp_events(app, email).await.len();
    let response = request_otp(app, email, purpose).await;
    assert_eq!(response.status, 202, "{}", response.text());
    let otp = eventually(WAIT, "the code's event", || async {
        otp_events(app, email).await.into_iter().nth(before)
    })
    .await;
    assert_eq!(otp.purpose, purpose);
    otp
}

async fn verify_otp(
    app: &TestApp,
    email: &str,
    purpose: &str,
    code: &str,
    new_password: Option<&str>,
) -> TestResponse {
    let mut body = json!({ "email": email, "purpose": purpose, "code": code });
    if let Some(password) = new_password {
        body["newPassword"] = json!(password);
    }
    app.post_json("/api/auth/otp/verify", &body).await
}

/// A six-digit code other than `code`.
fn other_code(code: &str, n: u32) -> String {
    let code: u32 = code.parse().expect("a numeric code");
    format!("{:06}", (code + n) % 1_000_000)
}

#[track_caller]
fn assert_wrong_code(response: &TestResponse, what: &str) {
    let body = assert_problem(response, 400, what);
    assert_eq!(body["detail"], WRONG_CODE, "{what}: {body}");
}

fn now_ms() -> i64 {
    spindle_shared::time::now_ms() as i64
}

/// Runs `update` (one `?1` parameter, a time in ms) on auth's database, the schema of
/// `migrations/auth/0001_init.sql`: how a test moves auth's clock forward. Returns the rows
/// changed.
fn age(app: &TestApp, update: &str, time_ms: i64) -> usize {
    let db = app.state_dir().join(".spin/auth.db");
    let conn =
        rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute(update, [time_ms])
        .unwrap_or_else(|e| panic!("{update}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Tokens and keys
// ---------------------------------------------------------------------------------------------

/// The header and claims of a JWT, decoded without any check.
fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let decode = |part: &str| -> Value {
        let bytes = B64::decode_to_vec(part, None).expect("base64url without padding");
        serde_json::from_slice(&bytes).expect("a JSON object")
    };
    (decode(parts[0]), decode(parts[1]))
}

fn b64(bytes: &[u8]) -> String {
    B64::encode_to_string(bytes).unwrap()
}

/// `GET /.well-known/jwks.json`: its keys.
async fn jwks(app: &TestApp) -> Vec<Value> {
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("public, max-age=300")
    );
    let body: Value = response.json();
    let published = body["keys"].as_array().expect("keys").clone();
    for key in &published {
        assert_eq!(
            object_keys(key),
            string_set(&["kty", "crv", "x", "kid", "alg", "use"]),
            "{key}"
        );
        assert_eq!(
            (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
            (
                &json!("OKP"),
                &json!("Ed25519"),
                &json!("EdDSA"),
                &json!("sig")
            ),
            "{key}"
        );
        // The kid is the key's RFC 7638 thumbprint.
        assert_eq!(key["kid"], thumbprint(&public_key(key)), "{key}");
    }
    published
}

async fn kids(app: &TestApp) -> BTreeSet<String> {
    jwks(app)
        .await
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn public_key(jwk: &Value) -> Ed25519PublicKey {
    Ed25519PublicKey::from_jwk(&jwk.to_string())
        .unwrap_or_else(|e| panic!("not an Ed25519 JWK ({e}): {jwk}"))
}

/// RFC 7638: base64url(SHA-256(`{"crv":"Ed25519","kty":"OKP","x":"..."}`)), as jwt-simple
/// computes it (checked against RFC 8037's example in `the_thumbprint_is_rfc_7638s`).
fn thumbprint(key: &Ed25519PublicKey) -> String {
    key.jwk_thumbprint()
}

/// The claims beyond the registered ones.
#[derive(serde::Serialize, serde::Deserialize)]
struct Custom {
    role: String,
    sid: String,
}

/// Verifies `token` with the JWKS key named by its `kid`, as another component would.
async fn verify_with_jwks(app: &TestApp, token: &str) -> JWTClaims<Custom> {
    let (header, _) = jwt_parts(token);
    let keys = jwks(app).await;
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("kid {} is not in the JWKS", header["kid"]));
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from(["spindle".to_string()])),
        allowed_audiences: Some(HashSet::from(["spindle-api".to_string()])),
        ..Default::default()
    };
    public_key(jwk)
        .verify_token::<Custom>(token, Some(options))
        .unwrap_or_else(|e| panic!("the token does not verify with the JWKS key: {e}"))
}

/// A signing key for the `auth_signing_key` variable, with its PEM and kid.
struct SigningKey {
    key: Ed25519KeyPair,
    pem: String,
    kid: String,
}

impl SigningKey {
    fn generate() -> Self {
        let key = Ed25519KeyPair::generate();
        let pem = key.to_pem();
        let kid = thumbprint(&key.public_key());
        Self {
            key: key.with_key_id(&kid),
            pem,
            kid,
        }
    }

    fn x(&self) -> String {
        b64(&self.key.public_key().to_bytes())
    }
}

/// Claims as auth mints them for `sub`'s session `sid`, issued `age` seconds ago.
fn claims(sub: &str, sid: &str, role: &str, iss: &str, aud: &str, age: u64) -> JWTClaims<Custom> {
    let now = Clock::now_since_epoch().as_secs();
    let custom = Custom {
        role: role.into(),
        sid: sid.into(),
    };
    let mut claims = Claims::with_custom_claims(custom, JwtDuration::from_secs(900))
        .with_issuer(iss)
        .with_audience(aud)
        .with_subject(sub)
        .with_jwt_id(format!("test-{now}-{age}"));
    claims.issued_at = Some(JwtDuration::from_secs(now - age));
    claims.invalid_before = claims.issued_at;
    claims.expires_at = Some(JwtDuration::from_secs(now - age + 900));
    claims
}

// ---------------------------------------------------------------------------------------------
// Admins
// ---------------------------------------------------------------------------------------------

/// Registers `email` (listed in `admin_emails`), verifies it with a code and refreshes: the
/// tokens of an admin.
async fn become_admin(app: &TestApp, email: &str) -> Tokens {
    let tokens = register_user(app, email, "listener").await;
    let code = otp_code(app, email, "verify_email").await;
    let verified = verify_otp(app, email, "verify_email", &code, None).await;
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(verified.json::<Value>()["role"], "admin");
    let admin = refresh_ok(app, &tokens.refresh).await;
    assert_eq!(jwt_parts(&admin.access).1["role"], "admin");
    admin
}

/// An app whose `admin_emails` is [`ADMIN_EMAIL`], and that admin signed in.
async fn admin_app(variables: &[(&str, &str)]) -> (TestApp, Tokens) {
    let mut all = vec![("admin_emails", ADMIN_EMAIL)];
    all.extend_from_slice(variables);
    let app = start_with(&all).await;
    let admin = become_admin(&app, ADMIN_EMAIL).await;
    (app, admin)
}

/// `GET /api/admin/users?query` as `by`: (items, nextCursor).
async fn list_users(app: &TestApp, by: &Tokens, query: &str) -> (Vec<Value>, Option<String>) {
    let response = admin(
        app,
        by,
        Method::GET,
        &format!("/api/admin/users?{query}"),
        None,
    )
    .await;
    assert_eq!(response.status, 200, "?{query}: {}", response.text());
    let body: Value = response.json();
    assert_eq!(
        object_keys(&body),
        string_set(&["items", "nextCursor"]),
        "{body}"
    );
    let items = body["items"].as_array().expect("items").clone();
    items.iter().for_each(assert_admin_user_shape);
    let cursor = match &body["nextCursor"] {
        Value::Null => None,
        Value::String(cursor) => Some(cursor.clone()),
        other => panic!("nextCursor is a string or null: {other}"),
    };
    (items, cursor)
}

/// Percent-encodes everything but unreserved characters.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn emails(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect()
}

// =============================================================================================
// Registration
// =============================================================================================

#[tokio::test]
async fn register_creates_a_normalised_account_signs_it_in_and_announces_it() {
    let app = start().await;

    let response = register(
        &app,
        json!({
            "email": "  Ann@Example.COM ",
            "password": PASSWORD,
            "displayName": "  Ann Artist ",
            "role": "artist",
        }),
    )
    .await;
    let ann = tokens(&response, 201);
    assert_eq!(ann.user["email"], "ann@example.com");
    assert_eq!(ann.user["displayName"], "Ann Artist");
    assert_eq!(ann.user["role"], "artist");
    assert_eq!(ann.user["emailVerified"], false);
    assert_eq!(ann.user["hasPassword"], true);

    // The access token works at once, and says the same.
    let me_response = me(&app, &ann.access).await;
    assert_eq!(me_response.status, 200, "{}", me_response.text());
    assert_eq!(me_response.json::<Value>(), ann.user);

    // The new account is announced.
    let created = wait_event(&app, "user.created", |e| match e {
        Event::UserCreated(created) => Some(created),
        _ => None,
    })
    .await;
    assert_eq!(created.user_id, ann.id());
    assert_eq!(created.email, "ann@example.com");
    assert_eq!(created.display_name, "Ann Artist");
    assert_eq!(created.role, "artist");

    // A listener, the default audience of the platform.
    let lee = register_user(&app, "lee@example.com", "listener").await;
    assert_eq!(lee.user["role"], "listener");
    assert_ne!(lee.id(), ann.id());
    eventually(WAIT, "two user.created events", || async {
        (events(&app, "user.created").await.len() == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn me_has_exactly_the_specified_fields() {
    let (app, boss) = admin_app(&[]).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let me_fields = string_set(ME_FIELDS);
    let mut admin_fields = me_fields.clone();
    admin_fields.insert("blocked".into());

    assert_eq!(object_keys(&lee.user), me_fields, "register: {}", lee.user);
    assert_eq!(object_keys(&boss.user), me_fields, "refresh: {}", boss.user);
    let me_now: Value = me(&app, &lee.access).await.json();
    assert_eq!(
        object_keys(&me_now),
        me_fields,
        "GET /api/auth/me: {me_now}"
    );
    let (items, _) = list_users(&app, &boss, "").await;
    for item in &items {
        assert_eq!(object_keys(item), admin_fields, "AdminUser: {item}");
    }
}

#[tokio::test]
async fn register_refuses_a_taken_email_in_any_case_or_spacing() {
    let app = start().await;
    register_user(&app, "ann@example.com", "listener").await;

    for email in ["ann@example.com", "ANN@EXAMPLE.COM", " Ann@Example.com  "] {
        let response = register(&app, register_body(email, "Another Ann", "artist")).await;
        assert_problem(&response, 409, email);
    }
    // Nothing changed: one account, still the first password, one event.
    login_user(&app, "ann@example.com", PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events(&app, "user.created").await.len(), 1);
}

#[tokio::test]
async fn register_names_every_bad_field_and_stores_nothing() {
    let app = start().await;

    let all_bad = json!({
        "email": "not-an-email",
        "password": "short",
        "displayName": "   ",
        "role": "admin",
    });
    assert_invalid(
        &register(&app, all_bad).await,
        &["email", "password", "displayName", "role"],
        "everything wrong",
    );

    // Nobody registers as an admin, nor with a role that does not exist.
    for role in ["admin", "superuser", "Listener"] {
        let response = register(&app, register_body("r@example.com", "R", role)).await;
        assert_invalid(&response, &["role"], role);
    }
    for email in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@@example.com",
        "ann smith@example.com",
    ] {
        let response = register(&app, register_body(email, "Ann", "listener")).await;
        assert_invalid(&response, &["email"], email);
    }
    let too_long = "n".repeat(65);
    for name in ["", "   ", too_long.as_str(), "bell\u{7}name", "two\nlines"] {
        let response = register(&app, register_body("name@example.com", name, "listener")).await;
        assert_invalid(&response, &["displayName"], &format!("{name:?}"));
    }

    // None of these made an account.
    for email in ["r@example.com", "name@example.com"] {
        let response = login(&app, email, PASSWORD).await;
        assert_problem(&response, 401, email);
    }
    assert!(events(&app, "user.created").await.is_empty());

    // The limits themselves are fine: 64 characters (after trimming).
    let longest = "é".repeat(64);
    let response = register(
        &app,
        register_body("name@example.com", &format!(" {longest} "), "listener"),
    )
    .await;
    assert_eq!(tokens(&response, 201).user["displayName"], longest);
}

#[tokio::test]
async fn register_refuses_weak_passwords() {
    let app = start().await;
    let body = |email: &str, password: &str| json!({ "email": email, "password": password, "displayName": "Pat", "role": "listener" });

    let too_long = "x7#kQ2mz".repeat(16) + "a"; // 129 characters
    let seven_chars = "é".repeat(6) + "1"; // 13 bytes, 7 characters
    for password in [
        "password",
        "12345678",
        "qwerty123",
        "iloveyou",
        "Sh0rt!x",
        seven_chars.as_str(),
        too_long.as_str(),
    ] {
        let response = register(&app, body("pat@example.com", password)).await;
        assert_invalid(&response, &["password"], password);
    }
    let response = register(&app, body("pat@example.com", "pat@example.com")).await;
    assert_invalid(&response, &["password"], "the email as password");
    assert_problem(
        &login(&app, "pat@example.com", "Sh0rt!x").await,
        401,
        "none",
    );

    // Exactly 8 and exactly 128 characters are fine; characters, not bytes.
    let eight_chars = "é".repeat(7) + "1";
    let longest = "x7#kQ2mz".repeat(16);
    for (email, password) in [
        ("eight@example.com", eight_chars.as_str()),
        ("long@example.com", longest.as_str()),
    ] {
        tokens(&register(&app, body(email, password)).await, 201);
        login_user(&app, email, password).await;
    }
}

#[tokio::test]
async fn events_wait_in_the_outbox_while_redis_is_away_and_leave_in_order() {
    let mut app = start().await;
    app.redis.stop();
    // Sign-ups do not need Redis: the change commits, its event waits in auth's outbox.
    let ann = register_user(&app, "ann@example.com", "listener").await;
    let lee = register_user(&app, "lee@example.com", "artist").await;

    app.redis.restart().expect("restart redis-server");
    assert!(events(&app, "user.created").await.is_empty());
    // The next write flushes the outbox, oldest first, then its own event.
    let kim = register_user(&app, "kim@example.com", "listener").await;
    let created = eventually(WAIT, "three user.created events", || async {
        let created = events(&app, "user.created").await;
        (created.len() >= 3).then_some(created)
    })
    .await;
    let ids: Vec<String> = created
        .iter()
        .map(|envelope| match &envelope.payload {
            Event::UserCreated(user) => user.user_id.clone(),
            other => panic!("not user.created: {other:?}"),
        })
        .collect();
    assert_eq!(ids, [ann.id(), lee.id(), kim.id()]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events(&app, "user.created").await.len(), 3, "each once");
}

// =============================================================================================
// Login
// =============================================================================================

#[tokio::test]
async fn login_signs_in_and_never_tells_whether_the_email_exists() {
    let app = start().await;
    let registered = register_user(&app, "ann@example.com", "artist").await;

    let ann = login_user(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(ann.user, registered.user);
    assert_ne!(ann.refresh, registered.refresh);
    let (_, claims) = jwt_parts(&ann.access);
    assert_ne!(
        claims["sid"],
        jwt_parts(&registered.access).1["sid"],
        "each sign-in is its own session"
    );
    assert_eq!(me(&app, &ann.access).await.status, 200);

    let wrong_password = login(&app, "ann@example.com", "Tr0ub4dor&4-spindle").await;
    let unknown_email = login(&app, "nobody@example.com", PASSWORD).await;
    let body = assert_problem(&wrong_password, 401, "wrong password");
    assert_eq!(body["detail"], WRONG_LOGIN);
    assert_eq!(unknown_email.status, wrong_password.status);
    assert_eq!(
        unknown_email.text(),
        wrong_password.text(),
        "the same body, byte for byte"
    );
    assert_eq!(unknown_email.content_type(), wrong_password.content_type());
}

// =============================================================================================
// Access tokens and keys
// =============================================================================================

#[test]
fn the_thumbprint_is_rfc_7638s() {
    // RFC 8037, appendix A.3.
    let key = Ed25519PublicKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    assert_eq!(
        thumbprint(&key),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[tokio::test]
async fn access_tokens_are_eddsa_jwts_signed_with_a_published_key() {
    let app = start().await;
    let before = Clock::now_since_epoch().as_secs() as i64;
    let ann = register_user(&app, "ann@example.com", "artist").await;
    let after = Clock::now_since_epoch().as_secs() as i64;

    let (header, claims) = jwt_parts(&ann.access);
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["typ"], "JWT", "{header}");
    let kid = header["kid"].as_str().expect("a kid").to_string();
    assert_eq!(kids(&app).await, BTreeSet::from([kid.clone()]));

    assert_eq!(claims["iss"], "spindle", "{claims}");
    assert_eq!(claims["aud"], "spindle-api", "{claims}");
    assert_eq!(claims["sub"], ann.user["id"], "{claims}");
    assert_eq!(claims["role"], "artist", "{claims}");
    assert!(!claims["sid"].as_str().unwrap().is_empty(), "{claims}");
    assert!(!claims["jti"].as_str().unwrap().is_empty(), "{claims}");
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((before - 1..=after + 1).contains(&iat), "{claims}");
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, ACCESS_LIFETIME);
    assert!(claims["nbf"].as_i64().expect("nbf") <= iat, "{claims}");

    // The signature holds with the published key.
    let verified = verify_with_jwks(&app, &ann.access).await;
    assert_eq!(verified.subject.as_deref(), Some(ann.id().as_str()));
    assert_eq!(verified.custom.role, "artist");

    // Every token is its own (jti); a refresh stays in its session (sid).
    let refreshed = refresh_ok(&app, &ann.refresh).await;
    let (header2, claims2) = jwt_parts(&refreshed.access);
    assert_eq!(header2["kid"], kid.as_str());
    assert_ne!(claims2["jti"], claims["jti"]);
    assert_eq!(claims2["sid"], claims["sid"]);
}

#[tokio::test]
async fn a_configured_signing_key_signs_under_its_thumbprint() {
    let key = SigningKey::generate();
    let app = start_with(&[("auth_signing_key", &key.pem)]).await;
    let ann = register_user(&app, "ann@example.com", "listener").await;

    let published = jwks(&app).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0]["x"], key.x());
    assert_eq!(published[0]["kid"], key.kid.as_str());
    assert_eq!(jwt_parts(&ann.access).0["kid"], key.kid.as_str());
    key.key
        .public_key()
        .verify_token::<Custom>(&ann.access, None)
        .expect("signed with the configured key");
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_refused() {
    let key = SigningKey::generate();
    let app = start_with(&[("auth_signing_key", &key.pem)]).await;
    let ann = register_user(&app, "ann@example.com", "listener").await;
    let (header, real) = jwt_parts(&ann.access);
    let sub = real["sub"].as_str().unwrap();
    let sid = real["sid"].as_str().unwrap();
    let sign = |claims| key.key.sign(claims).unwrap();

    // A token minted here with the real key and sane claims is accepted: each refusal below
    // is for the one thing that differs.
    let genuine = sign(claims(sub, sid, "listener", "spindle", "spindle-api", 0));
    assert_eq!(me(&app, &genuine).await.status, 200, "a well-formed token");

    let parts: Vec<&str> = ann.access.split('.').collect();
    let mut escalated = real.clone();
    escalated["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(escalated.to_string().as_bytes()),
        parts[2]
    );
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!(
        "{}.{}.",
        b64(none_header.to_string().as_bytes()),
        b64(escalated.to_string().as_bytes())
    );
    let stranger = Ed25519KeyPair::generate();
    let stranger_kid = thumbprint(&stranger.public_key());
    let unknown_kid = stranger
        .clone()
        .with_key_id(&stranger_kid)
        .sign(claims(sub, sid, "admin", "spindle", "spindle-api", 0))
        .unwrap();
    let stolen_kid = stranger
        .with_key_id(&key.kid)
        .sign(claims(sub, sid, "admin", "spindle", "spindle-api", 0))
        .unwrap();
    // HS256 keyed with the public key, the classic algorithm confusion.
    let public_bytes = key.key.public_key().to_bytes();
    let hs256 = |secret: &[u8]| {
        HS256Key::from_bytes(secret)
            .with_key_id(&key.kid)
            .authenticate(claims(sub, sid, "admin", "spindle", "spindle-api", 0))
            .unwrap()
    };

    let attacks = [
        ("payload tampered with", tampered),
        ("alg none", alg_none),
        (
            "expired",
            sign(claims(sub, sid, "listener", "spindle", "spindle-api", 2000)),
        ),
        (
            "another audience",
            sign(claims(sub, sid, "listener", "spindle", "spindle-web", 0)),
        ),
        (
            "another issuer",
            sign(claims(sub, sid, "listener", "evil", "spindle-api", 0)),
        ),
        ("an unknown kid", unknown_kid),
        ("another key under the real kid", stolen_kid),
        ("HS256 with the public key", hs256(&public_bytes)),
        ("HS256 with the public key's x", hs256(key.x().as_bytes())),
        ("not a JWT", "not-a-token".to_string()),
        ("a JWT cut short", format!("{}.{}", parts[0], parts[1])),
    ];
    for (what, token) in &attacks {
        assert_problem(&me(&app, token).await, 401, what);
    }

    // No token, or another scheme.
    assert_problem(&app.get("/api/auth/me").await, 401, "no token");
    let basic = app.request(Method::GET, "/api/auth/me").header(
        "authorization",
        format!("Basic {}", b64(b"ann@example.com:x")),
    );
    assert_problem(&app.send(basic).await, 401, "Basic");
    // Ann herself is fine throughout.
    assert_eq!(me(&app, &ann.access).await.status, 200);
}

#[tokio::test]
async fn listeners_and_artists_are_forbidden_on_admin_routes_and_strangers_unauthorised() {
    let app = start().await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let ann = register_user(&app, "ann@example.com", "artist").await;
    let target = ann.id();

    let routes = [
        (Method::GET, "/api/admin/users".to_string(), None),
        (
            Method::PATCH,
            format!("/api/admin/users/{target}/block"),
            Some(json!({ "blocked": true })),
        ),
        (
            Method::PATCH,
            format!("/api/admin/users/{target}/role"),
            Some(json!({ "role": "admin" })),
        ),
        (Method::DELETE, format!("/api/admin/users/{target}"), None),
        (
            Method::POST,
            "/api/admin/auth/keys/rotate".to_string(),
            None,
        ),
    ];
    for (method, path, body) in &routes {
        for who in [&lee, &ann] {
            let response = app
                .send_as(&who.access, method.clone(), path, body.clone())
                .await;
            assert_problem(&response, 403, &format!("{method} {path}"));
        }
        let mut anonymous = app.request(method.clone(), path);
        if let Some(body) = body {
            anonymous = anonymous.json(body);
        }
        assert_problem(&app.send(anonymous).await, 401, &format!("{method} {path}"));
    }
    // Nothing happened to Ann, nor to the keys.
    assert_eq!(
        login_user(&app, "ann@example.com", PASSWORD).await.user["role"],
        "artist"
    );
    assert_eq!(kids(&app).await.len(), 1);
}

// =============================================================================================
// Sessions
// =============================================================================================

#[tokio::test]
async fn refresh_rotates_and_reusing_a_rotated_token_revokes_its_family() {
    let app = start().await;
    let first = register_user(&app, "ann@example.com", "listener").await;
    let other = login_user(&app, "ann@example.com", PASSWORD).await;

    let second = refresh_ok(&app, &first.refresh).await;
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(second.user["id"], first.user["id"]);
    assert_eq!(me(&app, &second.access).await.status, 200);
    let third = refresh_ok(&app, &second.refresh).await;

    // The first token again: a thief or a replay. The whole family ends.
    assert_problem(&refresh(&app, &first.refresh).await, 401, "reused token");
    assert_problem(
        &refresh(&app, &third.refresh).await,
        401,
        "the newest token of the revoked family",
    );
    assert_problem(&refresh(&app, &second.refresh).await, 401, "a middle token");

    // The user's other session goes on.
    let other2 = refresh_ok(&app, &other.refresh).await;
    assert_eq!(me(&app, &other2.access).await.status, 200);

    // Tokens that never were.
    for token in ["garbage", &format!("{}x", other2.refresh)] {
        assert_problem(&refresh(&app, token).await, 401, token);
    }
    refresh_ok(&app, &other2.refresh).await;
}

#[tokio::test]
async fn logout_ends_only_this_session() {
    let app = start().await;
    let phone = register_user(&app, "ann@example.com", "listener").await;
    let laptop = login_user(&app, "ann@example.com", PASSWORD).await;

    let response = app
        .send_as(&phone.access, Method::POST, "/api/auth/logout", None)
        .await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_problem(
        &refresh(&app, &phone.refresh).await,
        401,
        "refresh after logout",
    );
    assert_problem(&me(&app, &phone.access).await, 401, "access after logout");

    assert_eq!(me(&app, &laptop.access).await.status, 200);
    refresh_ok(&app, &laptop.refresh).await;

    let anonymous = app.request(Method::POST, "/api/auth/logout");
    assert_problem(&app.send(anonymous).await, 401, "logout without a token");
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user_only() {
    let app = start().await;
    let phone = register_user(&app, "ann@example.com", "listener").await;
    let laptop = login_user(&app, "ann@example.com", PASSWORD).await;
    let tablet = login_user(&app, "ann@example.com", PASSWORD).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;

    let response = app
        .send_as(&laptop.access, Method::POST, "/api/auth/logout-all", None)
        .await;
    assert_eq!(response.status, 204, "{}", response.text());
    for session in [&phone, &laptop, &tablet] {
        assert_problem(&refresh(&app, &session.refresh).await, 401, "refresh");
        assert_problem(&me(&app, &session.access).await, 401, "access");
    }
    // Somebody else is not affected; Ann can sign in again.
    refresh_ok(&app, &lee.refresh).await;
    let again = login_user(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(me(&app, &again.access).await.status, 200);
}

// =============================================================================================
// The account
// =============================================================================================

#[tokio::test]
async fn a_user_renames_themselves() {
    let app = start().await;
    let ann = register_user(&app, "ann@example.com", "artist").await;
    let patch = |body| app.send_as(&ann.access, Method::PATCH, "/api/auth/me", Some(body));

    let response = patch(json!({ "displayName": "  Ann the Bold " })).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let updated: Value = response.json();
    assert_me_shape(&updated);
    assert_eq!(updated["displayName"], "Ann the Bold");
    assert_eq!(me(&app, &ann.access).await.json::<Value>(), updated);
    let profile = app.get(&format!("/api/users/{}", ann.id())).await;
    assert_eq!(profile.json::<Value>()["displayName"], "Ann the Bold");

    for name in ["", "  ", "bell\u{7}"] {
        let response = patch(json!({ "displayName": name })).await;
        assert_invalid(&response, &["displayName"], &format!("{name:?}"));
    }
    assert_eq!(
        me(&app, &ann.access).await.json::<Value>()["displayName"],
        "Ann the Bold"
    );
    let anonymous = app
        .request(Method::PATCH, "/api/auth/me")
        .json(&json!({ "displayName": "Mallory" }));
    assert_problem(&app.send(anonymous).await, 401, "anonymous");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = start().await;
    let this = register_user(&app, "ann@example.com", "listener").await;
    let other = login_user(&app, "ann@example.com", PASSWORD).await;
    let patch = |body| app.send_as(&this.access, Method::PATCH, "/api/auth/me", Some(body));

    let response = patch(json!({ "newPassword": NEW_PASSWORD })).await;
    assert_problem(&response, 422, "no current password");
    let response = patch(json!({
        "currentPassword": "not my password",
        "newPassword": NEW_PASSWORD,
    }))
    .await;
    assert_problem(&response, 403, "wrong current password");
    let response = patch(json!({ "currentPassword": PASSWORD, "newPassword": "password" })).await;
    assert_problem(&response, 422, "a weak new password");
    // None of that changed anything.
    refresh_ok(&app, &other.refresh).await;
    let other = login_user(&app, "ann@example.com", PASSWORD).await;

    let response = patch(json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD })).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_me_shape(&response.json());

    // Every other session is over; this one goes on.
    assert_problem(&refresh(&app, &other.refresh).await, 401, "other session");
    assert_eq!(me(&app, &this.access).await.status, 200);
    let this = refresh_ok(&app, &this.refresh).await;
    assert_eq!(me(&app, &this.access).await.status, 200);

    let old = login(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(
        assert_problem(&old, 401, "old password")["detail"],
        WRONG_LOGIN
    );
    login_user(&app, "ann@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn public_profiles_never_show_the_email() {
    let app = start().await;
    let ann = register_user(&app, "ann@example.com", "artist").await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let path = format!("/api/users/{}", ann.id());

    let anonymous = app.get(&path).await;
    let signed_in = app.send_as(&lee.access, Method::GET, &path, None).await;
    let own = app.send_as(&ann.access, Method::GET, &path, None).await;
    for response in [&anonymous, &signed_in, &own] {
        assert_eq!(response.status, 200, "{}", response.text());
        let profile: Value = response.json();
        assert_eq!(
            object_keys(&profile),
            string_set(&["id", "displayName", "role", "createdAt"]),
            "{profile}"
        );
        assert_eq!(profile["id"], ann.user["id"]);
        assert_eq!(profile["displayName"], "ann");
        assert_eq!(profile["role"], "artist");
        assert_eq!(profile["createdAt"], ann.user["createdAt"]);
        assert!(!response.text().contains("ann@example.com"));
    }

    for unknown in ["/api/users/01HZZZZZZZZZZZZZZZZZZZZZZZ", "/api/users/nobody"] {
        assert_problem(&app.get(unknown).await, 404, unknown);
    }
}

// =============================================================================================
// One-time codes
// =============================================================================================

#[tokio::test]
async fn a_code_request_answers_the_same_whether_or_not_the_account_exists() {
    let app = start().await;
    let ann = register_user(&app, "ann@example.com", "listener").await;

    let requested_at = now_ms();
    let known = request_otp(&app, "ann@example.com", "verify_email").await;
    let unknown = request_otp(&app, "nobody@example.com", "verify_email").await;
    for response in [&known, &unknown] {
        assert_eq!(response.status, 202, "{}", response.text());
        assert_eq!(response.json::<Value>(), json!({ "status": "accepted" }));
    }
    assert_eq!(known.text(), unknown.text(), "byte for byte");
    assert_eq!(known.content_type(), unknown.content_type());

    let otp = eventually(WAIT, "the code's event", || async {
        otp_events(&app, "ann@example.com").await.pop()
    })
    .await;
    assert_eq!(otp.user_id.as_deref(), Some(ann.id().as_str()));
    assert_eq!(otp.purpose, "verify_email");
    assert_eq!(otp.code.len(), 6, "{}", otp.code);
    assert!(otp.code.bytes().all(|b| b.is_ascii_digit()), "{}", otp.code);
    let lifetime = rfc3339_ms(&otp.expires_at) as i64 - requested_at;
    assert!(
        (590_000..=610_000).contains(&lifetime),
        "a code lives 10 minutes: {} ({lifetime} ms)",
        otp.expires_at
    );

    // Every purpose works for an account; none sends a code to a stranger.
    for purpose in ["reset_password", "login"] {
        otp_code(&app, "ann@example.com", purpose).await;
        let response = request_otp(&app, "nobody@example.com", purpose).await;
        assert_eq!(response.text(), known.text());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(otp_events(&app, "nobody@example.com").await.is_empty());
    assert_eq!(events(&app, "user.otp_requested").await.len(), 3);

    for (email, purpose, field) in [
        ("ann@example.com", "delete_everything", "purpose"),
        ("ann@example.com", "", "purpose"),
        ("not-an-email", "login", "email"),
    ] {
        let response = request_otp(&app, email, purpose).await;
        assert_invalid(&response, &[field], &format!("{email} {purpose}"));
    }
}

#[tokio::test]
async fn verifying_the_email_with_a_code_marks_it_verified() {
    let app = start().await;
    let ann = register_user(&app, "ann@example.com", "listener").await;
    let code = otp_code(&app, "ann@example.com", "verify_email").await;

    let response = verify_otp(&app, "ann@example.com", "verify_email", &code, None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let verified: Value = response.json();
    assert_me_shape(&verified);
    assert_eq!(verified["emailVerified"], true);
    assert_eq!(verified["role"], "listener", "not in admin_emails");
    assert_eq!(
        me(&app, &ann.access).await.json::<Value>()["emailVerified"],
        true
    );

    // Used once, it is gone.
    let again = verify_otp(&app, "ann@example.com", "verify_email", &code, None).await;
    assert_wrong_code(&again, "a used code");
}

#[tokio::test]
async fn resetting_the_password_with_a_code_sets_it_and_ends_every_session() {
    let app = start().await;
    let phone = register_user(&app, "ann@example.com", "listener").await;
    let laptop = login_user(&app, "ann@example.com", PASSWORD).await;

    let code = otp_code(&app, "ann@example.com", "reset_password").await;
    let missing = verify_otp(&app, "ann@example.com", "reset_password", &code, None).await;
    assert_problem(&missing, 422, "no new password");
    let weak = verify_otp(
        &app,
        "ann@example.com",
        "reset_password",
        &code,
        Some("12345678"),
    )
    .await;
    assert_problem(&weak, 422, "a weak new password");
    // Nothing changed yet.
    login_user(&app, "ann@example.com", PASSWORD).await;

    let code = otp_code(&app, "ann@example.com", "reset_password").await;
    let response = verify_otp(
        &app,
        "ann@example.com",
        "reset_password",
        &code,
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());

    for session in [&phone, &laptop] {
        assert_problem(&refresh(&app, &session.refresh).await, 401, "refresh");
        assert_problem(&me(&app, &session.access).await, 401, "access");
    }
    let old = login(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(
        assert_problem(&old, 401, "old password")["detail"],
        WRONG_LOGIN
    );
    login_user(&app, "ann@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn signing_in_with_a_code_gives_tokens() {
    let app = start().await;
    let registered = register_user(&app, "ann@example.com", "artist").await;
    let code = otp_code(&app, "ann@example.com", "login").await;

    let response = verify_otp(&app, "ann@example.com", "login", &code, None).await;
    let ann = tokens(&response, 200);
    assert_eq!(ann.user["id"], registered.user["id"]);
    assert_eq!(me(&app, &ann.access).await.status, 200);
    assert_eq!(jwt_parts(&ann.access).1["role"], "artist");
    refresh_ok(&app, &ann.refresh).await;

    // A code for another purpose does not sign in.
    let code = otp_code(&app, "ann@example.com", "verify_email").await;
    let response = verify_otp(&app, "ann@example.com", "login", &code, None).await;
    assert_wrong_code(&response, "a verify_email code used to sign in");
}

#[tokio::test]
async fn a_code_allows_five_tries_then_even_the_right_code_fails() {
    let app = start().await;
    register_user(&app, "ann@example.com", "listener").await;
    let unknown = verify_otp(&app, "nobody@example.com", "login", "123456", None).await;
    assert_wrong_code(&unknown, "an unknown email");

    // Four wrong tries leave the fifth.
    let code = otp_code(&app, "ann@example.com", "login").await;
    for n in 1..=4 {
        let wrong = other_code(&code, n);
        let response = verify_otp(&app, "ann@example.com", "login", &wrong, None).await;
        assert_wrong_code(&response, "a wrong code");
        assert_eq!(
            response.text(),
            unknown.text(),
            "the same body, byte for byte"
        );
    }
    tokens(
        &verify_otp(&app, "ann@example.com", "login", &code, None).await,
        200,
    );

    // Five wrong tries kill the code.
    let code = otp_code(&app, "ann@example.com", "login").await;
    for n in 1..=5 {
        let wrong = other_code(&code, n);
        let response = verify_otp(&app, "ann@example.com", "login", &wrong, None).await;
        assert_wrong_code(&response, "a wrong code");
    }
    let response = verify_otp(&app, "ann@example.com", "login", &code, None).await;
    assert_wrong_code(&response, "the right code after five wrong ones");
    assert_eq!(response.text(), unknown.text());

    // A new code works again.
    let code = otp_code(&app, "ann@example.com", "login").await;
    tokens(
        &verify_otp(&app, "ann@example.com", "login", &code, None).await,
        200,
    );
}

#[tokio::test]
async fn superseded_used_and_expired_codes_fail() {
    let app = start().await;
    register_user(&app, "ann@example.com", "listener").await;

    let first = otp_code(&app, "ann@example.com", "verify_email").await;
    let second = otp_code(&app, "ann@example.com", "verify_email").await;
    if first != second {
        let response = verify_otp(&app, "ann@example.com", "verify_email", &first, None).await;
        assert_wrong_code(&response, "a code replaced by a newer one");
    }
    let response = verify_otp(&app, "ann@example.com", "verify_email", &second, None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let response = verify_otp(&app, "ann@example.com", "verify_email", &second, None).await;
    assert_wrong_code(&response, "a used code");

    // Ten minutes later (the clock moved by ageing the stored code).
    let code = otp_code(&app, "ann@example.com", "login").await;
    let aged = age(
        &app,
        "UPDATE one_time_codes SET expires_at = ?1 WHERE used_at IS NULL",
        now_ms() - 1000,
    );
    assert!(aged >= 1, "the login code is stored");
    let response = verify_otp(&app, "ann@example.com", "login", &code, None).await;
    assert_wrong_code(&response, "an expired code");
}

// =============================================================================================
// Administration
// =============================================================================================

#[tokio::test]
async fn an_admin_email_becomes_admin_only_once_verified() {
    let app = start_with(&[("admin_emails", ADMIN_EMAIL)]).await;
    let response = register(
        &app,
        register_body(" Boss@Example.com", "The Boss", "listener"),
    )
    .await;
    let boss = tokens(&response, 201);
    assert_eq!(boss.user["role"], "listener", "not at plain register");
    assert_eq!(jwt_parts(&boss.access).1["role"], "listener");
    let denied = app
        .send_as(&boss.access, Method::GET, "/api/admin/users", None)
        .await;
    assert_problem(&denied, 403, "before verification");
    // Signing in again changes nothing.
    let again = login_user(&app, ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(again.user["role"], "listener");

    let code = otp_code(&app, ADMIN_EMAIL, "verify_email").await;
    let response = verify_otp(&app, ADMIN_EMAIL, "verify_email", &code, None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let verified: Value = response.json();
    assert_eq!(verified["role"], "admin");
    assert_eq!(verified["emailVerified"], true);

    let boss = refresh_ok(&app, &boss.refresh).await;
    assert_eq!(boss.user["role"], "admin");
    assert_eq!(jwt_parts(&boss.access).1["role"], "admin");
    let (items, _) = list_users(&app, &boss, "").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["role"], "admin");

    // Somebody not on the list stays a listener after verification.
    register_user(&app, "lee@example.com", "listener").await;
    let code = otp_code(&app, "lee@example.com", "verify_email").await;
    let response = verify_otp(&app, "lee@example.com", "verify_email", &code, None).await;
    assert_eq!(response.json::<Value>()["role"], "listener");
}

#[tokio::test]
async fn admins_page_through_users_oldest_first_and_filter_them() {
    let (app, boss) = admin_app(&[]).await;
    let mut all = vec![ADMIN_EMAIL.to_string()];
    for (email, role) in [
        ("ann@example.com", "artist"),
        ("arthur@example.com", "artist"),
        ("lee@example.com", "listener"),
        ("liz@example.com", "listener"),
        ("archie@example.com", "listener"),
        ("mo@example.com", "listener"),
    ] {
        register_user(&app, email, role).await;
        all.push(email.to_string());
    }

    // Default limit (50): everyone, oldest first, one page.
    let (items, cursor) = list_users(&app, &boss, "").await;
    assert_eq!(emails(&items), all);
    assert_eq!(cursor, None);
    assert!(items.iter().all(|u| u["blocked"] == false));

    // Pages of two: 2, 2, 2, 1.
    let mut paged = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            None => "limit=2".to_string(),
            Some(c) => format!("limit=2&cursor={}", urlencode(c)),
        };
        let (items, next) = list_users(&app, &boss, &query).await;
        sizes.push(items.len());
        paged.extend(emails(&items));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end: {sizes:?}");
    }
    assert_eq!(paged, all);
    assert_eq!(sizes, [2, 2, 2, 1]);

    // Filters.
    let (items, _) = list_users(&app, &boss, "role=artist").await;
    assert_eq!(emails(&items), ["ann@example.com", "arthur@example.com"]);
    let (items, _) = list_users(&app, &boss, "emailPrefix=ar").await;
    assert_eq!(emails(&items), ["arthur@example.com", "archie@example.com"]);
    let lee = &list_users(&app, &boss, "emailPrefix=lee").await.0[0];
    let response = block(&app, &boss, lee["id"].as_str().unwrap(), true).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let (items, _) = list_users(&app, &boss, "blocked=true").await;
    assert_eq!(emails(&items), ["lee@example.com"]);
    let (items, _) = list_users(&app, &boss, "blocked=false&role=listener").await;
    assert_eq!(
        emails(&items),
        ["liz@example.com", "archie@example.com", "mo@example.com"]
    );
    let (items, cursor) = list_users(&app, &boss, "role=listener&limit=1&emailPrefix=l").await;
    assert_eq!(emails(&items), ["lee@example.com"]);
    let next = format!(
        "role=listener&limit=1&emailPrefix=l&cursor={}",
        urlencode(&cursor.expect("a second listener starting with l"))
    );
    assert_eq!(
        emails(&list_users(&app, &boss, &next).await.0),
        ["liz@example.com"]
    );

    // Every bad query is a 422 problem naming the parameter, as for body fields and the
    // notification inbox (all are tried before the verdict).
    let mut answers = Vec::new();
    for query in [
        "limit=0",
        "limit=101",
        "limit=many",
        "limit=-1",
        "blocked=maybe",
    ] {
        let path = format!("/api/admin/users?{query}");
        let response = admin(&app, &boss, Method::GET, &path, None).await;
        assert_eq!(response.content_type().as_deref(), Some(PROBLEM_JSON));
        answers.push((query, response.status));
    }
    assert!(
        answers.iter().all(|(_, status)| *status == 422),
        "bad queries answer 422: {answers:?}"
    );
    let (items, _) = list_users(&app, &boss, "limit=100").await;
    assert_eq!(items.len(), all.len());
}

#[tokio::test]
async fn blocking_a_user_ends_their_sessions_and_keeps_them_out_until_unblocked() {
    let (app, boss) = admin_app(&[]).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let id = lee.id();

    let response = block(&app, &boss, &id, true).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let blocked: Value = response.json();
    assert_admin_user_shape(&blocked);
    assert_eq!(blocked["blocked"], true);
    assert_eq!(blocked["email"], "lee@example.com");
    let event = wait_event(&app, "user.blocked", |e| match e {
        Event::UserBlocked(b) => Some(b),
        _ => None,
    })
    .await;
    assert_eq!((event.user_id.as_str(), event.blocked), (id.as_str(), true));

    let refused = refresh(&app, &lee.refresh).await;
    assert!(
        [401, 403].contains(&refused.status),
        "refresh while blocked: {} {}",
        refused.status,
        refused.text()
    );
    let refused = me(&app, &lee.access).await;
    assert!(
        [401, 403].contains(&refused.status),
        "access while blocked: {} {}",
        refused.status,
        refused.text()
    );
    assert_problem(
        &login(&app, "lee@example.com", PASSWORD).await,
        403,
        "login while blocked",
    );
    assert_problem(
        &app.get(&format!("/api/users/{id}")).await,
        404,
        "profile while blocked",
    );

    let response = block(&app, &boss, &id, false).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>()["blocked"], false);
    let unblocked = wait_event(&app, "user.blocked", |e| match e {
        Event::UserBlocked(b) if !b.blocked => Some(b),
        _ => None,
    })
    .await;
    assert_eq!(unblocked.user_id, id);
    let lee = login_user(&app, "lee@example.com", PASSWORD).await;
    assert_eq!(me(&app, &lee.access).await.status, 200);
    assert_eq!(app.get(&format!("/api/users/{id}")).await.status, 200);

    let path = format!("/api/admin/users/{id}/block");
    let response = admin(
        &app,
        &boss,
        Method::PATCH,
        &path,
        Some(json!({ "blocked": "yes" })),
    )
    .await;
    assert_problem(&response, 422, "blocked is a boolean");
}

#[tokio::test]
async fn changing_a_role_is_announced_and_shows_in_the_next_token() {
    let (app, boss) = admin_app(&[]).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let id = lee.id();

    let response = set_role(&app, &boss, &id, "artist").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let changed: Value = response.json();
    assert_admin_user_shape(&changed);
    assert_eq!(changed["role"], "artist");
    // (The boss's own promotion may have been announced before.)
    let event = wait_event(&app, "user.role_changed", |e| match e {
        Event::UserRoleChanged(c) if c.user_id == id => Some(c),
        _ => None,
    })
    .await;
    assert_eq!(
        (event.old_role.as_str(), event.new_role.as_str()),
        ("listener", "artist")
    );

    let lee = refresh_ok(&app, &lee.refresh).await;
    assert_eq!(lee.user["role"], "artist");
    assert_eq!(jwt_parts(&lee.access).1["role"], "artist");

    for role in ["superuser", ""] {
        assert_problem(&set_role(&app, &boss, &id, role).await, 422, role);
    }
    let lees = |e: &Envelope| matches!(&e.payload, Event::UserRoleChanged(c) if c.user_id == id);
    let changes = events(&app, "user.role_changed").await;
    assert_eq!(changes.iter().filter(|e| lees(e)).count(), 1, "{changes:?}");
}

#[tokio::test]
async fn deleting_a_user_erases_the_account() {
    let (app, boss) = admin_app(&[]).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let id = lee.id();

    let response = delete_user(&app, &boss, &id).await;
    assert_eq!(response.status, 204, "{}", response.text());
    let deleted = wait_event(&app, "user.deleted", |e| match e {
        Event::UserDeleted(d) => Some(d),
        _ => None,
    })
    .await;
    assert_eq!(deleted.user_id, id);

    let gone = login(&app, "lee@example.com", PASSWORD).await;
    let never = login(&app, "never@example.com", PASSWORD).await;
    assert_eq!(gone.status, 401, "{}", gone.text());
    assert_eq!(gone.text(), never.text(), "like an unknown email");
    assert_problem(&refresh(&app, &lee.refresh).await, 401, "refresh");
    assert_problem(&me(&app, &lee.access).await, 401, "access");
    assert_problem(&app.get(&format!("/api/users/{id}")).await, 404, "profile");
    assert_eq!(emails(&list_users(&app, &boss, "").await.0), [ADMIN_EMAIL]);
    assert_problem(&delete_user(&app, &boss, &id).await, 404, "delete again");
}

#[tokio::test]
async fn the_last_admin_stays_and_unknown_users_are_404() {
    let (app, boss) = admin_app(&[]).await;
    let boss_id = boss.id();

    assert_problem(
        &set_role(&app, &boss, &boss_id, "listener").await,
        409,
        "demote",
    );
    assert_problem(&block(&app, &boss, &boss_id, true).await, 409, "block");
    assert_problem(&delete_user(&app, &boss, &boss_id).await, 409, "delete");
    let (items, _) = list_users(&app, &boss, "").await;
    assert_eq!(
        (&items[0]["role"], &items[0]["blocked"]),
        (&json!("admin"), &json!(false))
    );

    let unknown = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
    assert_problem(&set_role(&app, &boss, unknown, "artist").await, 404, "role");
    assert_problem(&block(&app, &boss, unknown, true).await, 404, "block");
    assert_problem(&delete_user(&app, &boss, unknown).await, 404, "delete");

    // With a second admin the first may step down; then the second is the last.
    let lee = register_user(&app, "lee@example.com", "listener").await;
    assert_eq!(set_role(&app, &boss, &lee.id(), "admin").await.status, 200);
    let lee = refresh_ok(&app, &lee.refresh).await;
    assert_eq!(jwt_parts(&lee.access).1["role"], "admin");
    let response = set_role(&app, &lee, &boss_id, "listener").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let lee_id = lee.id();
    assert_problem(
        &set_role(&app, &lee, &lee_id, "artist").await,
        409,
        "demote the last",
    );
    assert_problem(
        &block(&app, &lee, &lee_id, true).await,
        409,
        "block the last",
    );
    assert_problem(
        &delete_user(&app, &lee, &lee_id).await,
        409,
        "delete the last",
    );
}

// =============================================================================================
// Signing keys
// =============================================================================================

#[tokio::test]
async fn rotating_the_generated_key_keeps_earlier_tokens_valid() {
    let (app, boss) = admin_app(&[]).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let old_kid = jwt_parts(&lee.access).0["kid"]
        .as_str()
        .unwrap()
        .to_string();

    let response = admin(
        &app,
        &boss,
        Method::POST,
        "/api/admin/auth/keys/rotate",
        None,
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let rotated: Value = response.json();
    assert_eq!(object_keys(&rotated), string_set(&["kid"]), "{rotated}");
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert_eq!(
        kids(&app).await,
        BTreeSet::from([old_kid.clone(), new_kid.clone()])
    );

    // Tokens signed before stay good for their 15 minutes...
    assert_eq!(me(&app, &lee.access).await.status, 200);
    verify_with_jwks(&app, &lee.access).await;
    // ...and everything from now on is signed with the new key.
    let fresh = refresh_ok(&app, &lee.refresh).await;
    assert_eq!(jwt_parts(&fresh.access).0["kid"], new_kid.as_str());
    verify_with_jwks(&app, &fresh.access).await;
    let again = login_user(&app, "lee@example.com", PASSWORD).await;
    assert_eq!(jwt_parts(&again.access).0["kid"], new_kid.as_str());
    assert_eq!(me(&app, &again.access).await.status, 200);
}

#[tokio::test]
async fn a_retired_key_is_published_for_fifteen_and_a_half_minutes_then_dropped() {
    let (app, boss) = admin_app(&[]).await;
    let lee = register_user(&app, "lee@example.com", "listener").await;
    let response = admin(
        &app,
        &boss,
        Method::POST,
        "/api/admin/auth/keys/rotate",
        None,
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let new_kid = response.json::<Value>()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let retire = "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NOT NULL";

    // Retired 15 minutes ago: the last tokens it signed may still be alive.
    assert_eq!(age(&app, retire, now_ms() - 15 * 60_000), 1);
    assert_eq!(kids(&app).await.len(), 2);
    assert_eq!(me(&app, &lee.access).await.status, 200);

    // Retired 16 minutes ago: gone, and nothing it signed is accepted any more.
    assert_eq!(age(&app, retire, now_ms() - 16 * 60_000), 1);
    assert_eq!(kids(&app).await, BTreeSet::from([new_kid.clone()]));
    assert_problem(&me(&app, &lee.access).await, 401, "signed by a dropped key");
    let fresh = refresh_ok(&app, &lee.refresh).await;
    assert_eq!(jwt_parts(&fresh.access).0["kid"], new_kid.as_str());
}

#[tokio::test]
async fn a_configured_key_is_not_rotated_by_the_api() {
    let key = SigningKey::generate();
    let (app, boss) = admin_app(&[("auth_signing_key", &key.pem)]).await;
    let response = admin(
        &app,
        &boss,
        Method::POST,
        "/api/admin/auth/keys/rotate",
        None,
    )
    .await;
    assert_problem(&response, 409, "rotate a configured key");
    assert_eq!(kids(&app).await, BTreeSet::from([key.kid.clone()]));
}

#[tokio::test]
async fn the_generated_key_and_the_sessions_survive_a_restart() {
    let mut app = start().await;
    let ann = register_user(&app, "ann@example.com", "listener").await;
    let before = kids(&app).await;
    assert_eq!(before.len(), 1);

    app.restart(vec![]).await;

    assert_eq!(kids(&app).await, before, "the same key");
    assert_eq!(me(&app, &ann.access).await.status, 200);
    let ann = refresh_ok(&app, &ann.refresh).await;
    assert_eq!(
        &jwt_parts(&ann.access).0["kid"],
        before.first().unwrap().as_str()
    );
    login_user(&app, "ann@example.com", PASSWORD).await;
}

#[tokio::test]
async fn a_replaced_configured_key_stays_published_for_its_tokens() {
    let a = SigningKey::generate();
    let b = SigningKey::generate();
    let mut app = start_with(&[("auth_signing_key", &a.pem)]).await;
    let ann = register_user(&app, "ann@example.com", "listener").await;
    assert_eq!(jwt_parts(&ann.access).0["kid"], a.kid.as_str());

    app.restart(vec![("auth_signing_key".into(), b.pem.clone())])
        .await;

    assert_eq!(
        kids(&app).await,
        BTreeSet::from([a.kid.clone(), b.kid.clone()])
    );
    assert_eq!(me(&app, &ann.access).await.status, 200, "signed by A");
    let fresh = refresh_ok(&app, &ann.refresh).await;
    assert_eq!(jwt_parts(&fresh.access).0["kid"], b.kid.as_str());
    b.key
        .public_key()
        .verify_token::<Custom>(&fresh.access, None)
        .expect("signed with B");
}

// =============================================================================================
// Other components
// =============================================================================================

#[tokio::test]
async fn another_component_accepts_auths_tokens_through_its_jwks() {
    // No `auth_jwks`: notification asks auth for its keys over service chaining.
    let app = start().await;
    let ann = register_user(&app, "ann@example.com", "listener").await;

    let response = app
        .send_as(&ann.access, Method::GET, "/api/notifications", None)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());

    let forged = SigningKey::generate()
        .key
        .sign(claims(
            &ann.id(),
            "s",
            "listener",
            "spindle",
            "spindle-api",
            0,
        ))
        .unwrap();
    let response = app
        .send_as(&forged, Method::GET, "/api/notifications", None)
        .await;
    assert_problem(&response, 401, "a token auth never signed");
}

// =============================================================================================
// Rate limits
// =============================================================================================

/// Rate limits count in fixed windows (aligned on the epoch, or from the first attempt): when
/// fewer than `needed` seconds are left of the current `window`, waits for the next one, so
/// that every attempt of a test falls into one window.
async fn early_in_window(window: u64, needed: u64) {
    let window_ms = window as i64 * 1000;
    let left = window_ms - now_ms() % window_ms;
    if left < needed as i64 * 1000 {
        tokio::time::sleep(Duration::from_millis(left as u64 + 500)).await;
    }
}

#[tokio::test]
async fn ten_failed_logins_lock_the_email_even_against_the_right_password() {
    let app = start().await;
    register_user(&app, "ann@example.com", "listener").await;
    register_user(&app, "lee@example.com", "listener").await;
    early_in_window(15 * 60, 30).await;

    for attempt in 1..=10 {
        let response = login(&app, "ann@example.com", &format!("guess number {attempt}")).await;
        assert_problem(&response, 401, &format!("attempt {attempt}"));
    }
    let response = login(&app, "ann@example.com", "guess number 11").await;
    assert_limited(&response, 15 * 60, "the 11th failure");
    let response = login(&app, "ann@example.com", PASSWORD).await;
    assert_limited(&response, 15 * 60, "the right password, too late");

    // Per email: somebody else signs in.
    login_user(&app, "lee@example.com", PASSWORD).await;
}

#[tokio::test]
async fn thirty_logins_a_minute_from_one_address_are_the_most() {
    let app = start().await;
    register_user(&app, "ann@example.com", "listener").await;
    early_in_window(60, 40).await;
    for n in 1..=29 {
        let response = login(&app, &format!("nobody{n}@example.com"), PASSWORD).await;
        assert_problem(&response, 401, &format!("attempt {n}"));
    }
    login_user(&app, "ann@example.com", PASSWORD).await; // the 30th
    assert_limited(
        &login(&app, "ann@example.com", PASSWORD).await,
        60,
        "the 31st",
    );
}

#[tokio::test]
async fn a_registration_flood_from_one_address_is_cut_off() {
    let app = start().await;
    early_in_window(60 * 60, 60).await;
    for n in 1..=20 {
        register_user(&app, &format!("user{n}@example.com"), "listener").await;
    }
    let response = register(&app, register_body("user21@example.com", "U", "listener")).await;
    assert_limited(&response, 60 * 60, "the 21st registration");
    // Limited, so nothing happened.
    assert_problem(
        &login(&app, "user21@example.com", PASSWORD).await,
        401,
        "never created",
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events(&app, "user.created").await.len(), 20);
}

#[tokio::test]
async fn five_code_requests_per_email_are_the_most() {
    let app = start().await;
    register_user(&app, "ann@example.com", "listener").await;
    // An hour's window: with five tries per code, 25 guesses an hour at one account.
    early_in_window(60 * 60, 30).await;
    for _ in 1..=5 {
        otp_code(&app, "ann@example.com", "login").await;
    }
    let response = request_otp(&app, "ann@example.com", "login").await;
    assert_limited(&response, 60 * 60, "the 6th request");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(otp_events(&app, "ann@example.com").await.len(), 5);
}

// =============================================================================================
// Bad bodies
// =============================================================================================

#[tokio::test]
async fn bad_bodies_are_refused_on_every_route_and_change_nothing() {
    let app = start().await;
    let ann = register_user(&app, "ann@example.com", "listener").await;
    let code = otp_code(&app, "ann@example.com", "login").await;

    // A body each route would accept, and a route's bearer token if it needs one.
    let cases: Vec<(Method, &str, Option<&str>, Value)> = vec![
        (
            Method::POST,
            "/api/auth/register",
            None,
            register_body("new@example.com", "New", "listener"),
        ),
        (
            Method::POST,
            "/api/auth/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        ),
        (
            Method::POST,
            "/api/auth/refresh",
            None,
            json!({ "refreshToken": ann.refresh }),
        ),
        (
            Method::POST,
            "/api/auth/otp/request",
            None,
            json!({ "email": "ann@example.com", "purpose": "verify_email" }),
        ),
        (
            Method::POST,
            "/api/auth/otp/verify",
            None,
            json!({ "email": "ann@example.com", "purpose": "login", "code": code }),
        ),
        (
            Method::POST,
            "/api/auth/handoff",
            None,
            json!({ "code": "no-such-handoff" }),
        ),
        (
            Method::PATCH,
            "/api/auth/me",
            Some(ann.access.as_str()),
            json!({ "displayName": "Changed" }),
        ),
    ];
    for (method, path, token, good) in &cases {
        let what = |case: &str| format!("{method} {path}: {case}");
        let send = |content_type: Option<&'static str>, body: Vec<u8>| {
            send_raw(&app, method.clone(), path, *token, content_type, body)
        };
        let good_bytes = serde_json::to_vec(good).unwrap();

        let response = send(Some("text/plain"), good_bytes.clone()).await;
        assert_problem(&response, 415, &what("text/plain"));
        let response = send(None, good_bytes.clone()).await;
        assert_problem(&response, 415, &what("no content type"));
        let response = send(Some("application/json"), b"{\"email\": ".to_vec()).await;
        assert_problem(&response, 400, &what("malformed JSON"));
        let response = send(Some("application/json"), b"".to_vec()).await;
        assert_problem(&response, 400, &what("an empty body"));

        // A good body, padded with whitespace beyond 16 KiB.
        let mut big = good_bytes.clone();
        big.resize(16 * 1024 + 1, b' ');
        let response = send(Some("application/json"), big).await;
        assert_problem(&response, 413, &what("16 KiB + 1"));

        let response = send(Some("application/json"), b"[]".to_vec()).await;
        assert_problem(&response, 422, &what("an array"));
        let mut wrong_types = good.clone();
        for value in wrong_types.as_object_mut().unwrap().values_mut() {
            *value = json!(42);
        }
        let body = serde_json::to_vec(&wrong_types).unwrap();
        let response = send(Some("application/json"), body).await;
        assert_problem(&response, 422, &what("numbers for strings"));
    }

    // Nothing happened: no account, the refresh token and the code unused, no new code, the
    // name unchanged.
    assert_problem(
        &login(&app, "new@example.com", PASSWORD).await,
        401,
        "never registered",
    );
    assert_eq!(events(&app, "user.created").await.len(), 1);
    assert_eq!(otp_events(&app, "ann@example.com").await.len(), 1);
    let me_now: Value = me(&app, &ann.access).await.json();
    assert_eq!(me_now["displayName"], "ann");
    let ann = refresh_ok(&app, &ann.refresh).await;
    tokens(
        &verify_otp(&app, "ann@example.com", "login", &code, None).await,
        200,
    );

    // Exactly 16 KiB is still fine.
    let mut body = serde_json::to_vec(&json!({ "displayName": "Padded" })).unwrap();
    body.resize(16 * 1024, b' ');
    let response = send_raw(
        &app,
        Method::PATCH,
        "/api/auth/me",
        Some(&ann.access),
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>()["displayName"], "Padded");

    // Every error is a problem, a route that does not exist too.
    assert_problem(&app.get("/api/auth/no-such-route").await, 404, "no route");
}
