//! Google sign-in of the `auth` component, end to end: the real `spin.toml` started in-process
//! against its own `redis-server` and a real OpenID Connect provider on a loopback port
//! ([`OidcProvider`]: authorization code + PKCE, RS256 ID tokens, JWKS), the browser played by
//! the test: `GET /api/auth/google` → the provider's `/authorize` → the app's
//! `/api/auth/google/callback` with the provider's redirect query → `{public_url}/auth/callback`
//! → `POST /api/auth/handoff`.

use reqwest::Url;
use serde_json::{Value, json};
use spindle_shared::events::{Envelope, Event, UserCreated, stream_key};
use spindle_tests::bus::EventBus;
use spindle_tests::oidc::{
    CLIENT_ID, CLIENT_SECRET, IdTokenFault, Identity, OidcProvider, REDIRECT_URL, s256_challenge,
};
use spindle_tests::{
    TestApp, TestAppBuilder, TestResponse, app_manifest, assert_problem, free_loopback_port,
};
use std::collections::BTreeMap;

const PUBLIC_URL: &str = "http://web.spindle.test";

// ---------------------------------------------------------------------------------------------
// The app and the browser's part of the flow
// ---------------------------------------------------------------------------------------------

fn app_builder(provider: &OidcProvider) -> TestAppBuilder {
    provider.configure(TestApp::builder(app_manifest()).variable("public_url", PUBLIC_URL))
}

async fn start(builder: TestAppBuilder) -> TestApp {
    builder
        .start()
        .await
        .unwrap_or_else(|e| panic!("failed to start the app: {e:?}"))
}

/// A provider and the app configured for it.
async fn start_with_provider() -> (OidcProvider, TestApp) {
    let provider = OidcProvider::start().await;
    let app = start(app_builder(&provider)).await;
    (provider, app)
}

/// The decoded query parameters of `url` (the first value of a repeated name).
fn query_params(url: &Url) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        params
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    params
}

#[track_caller]
fn location(response: &TestResponse, what: &str) -> Url {
    assert_eq!(response.status, 302, "{what}: {}", response.text());
    let location = response
        .header("location")
        .unwrap_or_else(|| panic!("{what}: a 302 without Location"));
    Url::parse(&location).unwrap_or_else(|e| panic!("{what}: Location {location:?}: {e}"))
}

/// A sign-in the browser started: where the app sent it, and the cookies the app set then
/// (as a `Cookie` header value; the app may tie the sign-in to the browser with one).
struct Started {
    authorize_url: Url,
    cookies: Option<String>,
}

/// The `name=value` of every cookie `response` sets (not those it deletes), as a `Cookie`
/// header value.
fn cookies_set(response: &TestResponse) -> Option<String> {
    let pairs: Vec<String> = response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.to_ascii_lowercase().contains("max-age=0"))
        .filter_map(|v| v.split(';').next())
        .map(|pair| pair.trim().to_string())
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

/// `GET /api/auth/google`: the provider's authorization URL the app redirects to.
async fn begin(app: &TestApp, provider: &OidcProvider) -> Started {
    let response = app.get("/api/auth/google").await;
    let url = location(&response, "GET /api/auth/google");
    let text = url.as_str();
    assert!(
        text.starts_with(&format!("{}?", provider.authorization_url())),
        "the app redirects to the authorization URL: {text}"
    );
    Started {
        authorize_url: url,
        cookies: cookies_set(&response),
    }
}

/// The browser at the provider: follows `authorize_url` and returns the query of the
/// provider's redirect back to the app (to pass to the app's callback).
async fn at_provider(app: &TestApp, authorize_url: &Url) -> String {
    let response = app
        .client
        .get(authorize_url.clone())
        .send()
        .await
        .expect("GET the provider's /authorize");
    let response = TestResponse::from_reqwest(response).await.unwrap();
    let back = location(&response, "the provider's /authorize");
    assert!(
        back.as_str().starts_with(&format!("{REDIRECT_URL}?")),
        "the provider redirects to the registered redirect URI: {back}"
    );
    back.query().unwrap_or_default().to_string()
}

/// The app's callback with `query`, from the browser that holds `cookies`.
async fn callback(app: &TestApp, query: &str, cookies: Option<&str>) -> TestResponse {
    let mut request = app.request(
        reqwest::Method::GET,
        &format!("/api/auth/google/callback?{query}"),
    );
    if let Some(cookies) = cookies {
        request = request.header("cookie", cookies);
    }
    app.send(request).await
}

/// The whole browser flow up to the app's answer to the callback.
async fn google_flow(app: &TestApp, provider: &OidcProvider) -> TestResponse {
    let started = begin(app, provider).await;
    let query = at_provider(app, &started.authorize_url).await;
    let params = query_params(&Url::parse(&format!("{REDIRECT_URL}?{query}")).unwrap());
    assert!(
        params.contains_key("code") && !params.contains_key("error"),
        "the provider logged the user in: {query}"
    );
    callback(app, &query, started.cookies.as_deref()).await
}

/// The handoff code of the callback's redirect to `{public_url}/auth/callback?code=H`.
#[track_caller]
fn handoff_code(response: &TestResponse) -> String {
    let url = location(response, "the Google callback");
    let prefix = format!("{PUBLIC_URL}/auth/callback?");
    assert!(
        url.as_str().starts_with(&prefix),
        "the callback hands off to the web app: {url}"
    );
    let code = query_params(&url)
        .remove("code")
        .unwrap_or_else(|| panic!("no handoff code in {url}"));
    assert!(!code.is_empty(), "an empty handoff code in {url}");
    code
}

async fn handoff(app: &TestApp, code: &str) -> TestResponse {
    app.post_json("/api/auth/handoff", &json!({ "code": code }))
        .await
}

/// Signs `identity` in with Google and returns the TokenResponse of the handoff.
async fn sign_in(app: &TestApp, provider: &OidcProvider, identity: &Identity) -> Value {
    provider.next_login(identity.clone());
    let response = google_flow(app, provider).await;
    let code = handoff_code(&response);
    let response = handoff(app, &code).await;
    assert_eq!(response.status, 200, "the handoff: {}", response.text());
    assert_eq!(response.content_type().as_deref(), Some("application/json"));
    let tokens: Value = response.json();
    assert_token_response(&tokens);
    tokens
}

#[track_caller]
fn assert_token_response(tokens: &Value) {
    assert!(
        tokens["accessToken"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "an access token (JWT): {tokens}"
    );
    assert!(
        tokens["refreshToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "a refresh token: {tokens}"
    );
    assert_eq!(tokens["tokenType"], "Bearer", "{tokens}");
    assert_eq!(tokens["expiresIn"], 900, "{tokens}");
    assert!(tokens["user"]["id"].is_string(), "{tokens}");
}

fn user_id(tokens: &Value) -> String {
    tokens["user"]["id"].as_str().unwrap().to_string()
}

fn access_token(tokens: &Value) -> String {
    tokens["accessToken"].as_str().unwrap().to_string()
}

async fn me(app: &TestApp, token: &str) -> Value {
    let response = app
        .send(
            app.request(reqwest::Method::GET, "/api/auth/me")
                .bearer_auth(token),
        )
        .await;
    assert_eq!(
        response.status,
        200,
        "GET /api/auth/me: {}",
        response.text()
    );
    response.json()
}

async fn register(app: &TestApp, email: &str, password: &str, name: &str) -> Value {
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({ "email": email, "password": password, "displayName": name, "role": "listener" }),
        )
        .await;
    assert_eq!(response.status, 201, "register: {}", response.text());
    response.json()
}

/// Every event of `topic` in the app's Redis (stream `spindle:events:TOPIC`, field `e`),
/// oldest first.
async fn events(app: &TestApp, topic: &str) -> Vec<Envelope> {
    let mut bus = EventBus::connect(&app.redis.url()).await;
    let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(stream_key(topic))
        .arg("-")
        .arg("+")
        .query_async(&mut bus.conn)
        .await
        .unwrap_or_else(|e| panic!("XRANGE {}: {e}", stream_key(topic)));
    entries
        .into_iter()
        .map(|(id, fields)| {
            let json = fields
                .chunks(2)
                .find(|pair| pair[0] == b"e")
                .map(|pair| pair[1].clone())
                .unwrap_or_else(|| panic!("{topic} entry {id} has no field `e`"));
            serde_json::from_slice(&json).unwrap_or_else(|e| {
                panic!(
                    "{topic} entry {id} is not an envelope ({e}): {}",
                    String::from_utf8_lossy(&json)
                )
            })
        })
        .collect()
}

/// Every `user.created` event in the app's Redis, oldest first.
async fn user_created_events(app: &TestApp) -> Vec<(Envelope, UserCreated)> {
    events(app, "user.created")
        .await
        .into_iter()
        .map(|envelope| {
            let Event::UserCreated(payload) = envelope.payload.clone() else {
                panic!("user.created carries {:?}", envelope.payload);
            };
            (envelope, payload)
        })
        .collect()
}

/// Verifies `email` by the one-time code `auth` publishes (`user.otp_requested`).
async fn verify_email(app: &TestApp, email: &str) {
    let response = app
        .post_json(
            "/api/auth/otp/request",
            &json!({ "email": email, "purpose": "verify_email" }),
        )
        .await;
    assert_eq!(response.status, 202, "OTP request: {}", response.text());
    let code = events(app, "user.otp_requested")
        .await
        .into_iter()
        .rev()
        .find_map(|envelope| match envelope.payload {
            Event::UserOtpRequested(otp) if otp.email == email => Some(otp.code),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no one-time code for {email}"));
    let response = app
        .post_json(
            "/api/auth/otp/verify",
            &json!({ "email": email, "purpose": "verify_email", "code": code }),
        )
        .await;
    assert_eq!(response.status, 200, "OTP verify: {}", response.text());
    assert_eq!(response.json::<Value>()["emailVerified"], true);
}

// ---------------------------------------------------------------------------------------------
// The happy path
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_person_signs_in_with_google_through_the_whole_flow() {
    let (provider, app) = start_with_provider().await;
    let ada = Identity::new("google-sub-ada", "ada@example.org", "Ada Lovelace");
    provider.next_login(ada.clone());

    // 1. The app sends the browser to the provider with every parameter, PKCE by S256.
    let started = begin(&app, &provider).await;
    let authorize_url = started.authorize_url.clone();
    let params = query_params(&authorize_url);
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    assert_eq!(param("response_type"), "code", "{authorize_url}");
    assert_eq!(param("client_id"), CLIENT_ID, "{authorize_url}");
    assert_eq!(param("redirect_uri"), REDIRECT_URL, "{authorize_url}");
    assert_eq!(param("scope"), "openid email profile", "{authorize_url}");
    assert_eq!(param("code_challenge_method"), "S256", "{authorize_url}");
    let challenge = param("code_challenge");
    assert_eq!(challenge.len(), 43, "an S256 challenge: {authorize_url}");
    assert!(
        challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url without padding: {challenge}"
    );
    let state = param("state");
    let nonce = param("nonce");
    assert!(!state.is_empty(), "a state: {authorize_url}");
    assert!(!nonce.is_empty(), "a nonce: {authorize_url}");
    assert_ne!(state, nonce, "state and nonce are separate values");

    // 2. The provider logs Ada in and sends the browser back with a code and the state.
    let query = at_provider(&app, &authorize_url).await;
    let back = query_params(&Url::parse(&format!("{REDIRECT_URL}?{query}")).unwrap());
    assert_eq!(back["state"], state);
    let provider_code = back["code"].clone();

    // 3. The app redeems the code and hands off to the web app.
    let response = callback(&app, &query, started.cookies.as_deref()).await;
    let code = handoff_code(&response);

    // The token request: a form with the client's secret and the PKCE verifier.
    let requests = provider.token_requests();
    assert_eq!(requests.len(), 1, "one token request: {requests:#?}");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.content_type.as_deref().map(|v| v
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_ascii_lowercase()),
        Some("application/x-www-form-urlencoded".to_string()),
        "{request:#?}"
    );
    assert_eq!(
        request.param("grant_type"),
        Some("authorization_code"),
        "{request:#?}"
    );
    assert_eq!(
        request.param("code"),
        Some(provider_code.as_str()),
        "{request:#?}"
    );
    assert_eq!(
        request.param("redirect_uri"),
        Some(REDIRECT_URL),
        "{request:#?}"
    );
    assert_eq!(request.param("client_id"), Some(CLIENT_ID), "{request:#?}");
    assert_eq!(
        request.param("client_secret"),
        Some(CLIENT_SECRET),
        "{request:#?}"
    );
    let verifier = request
        .param("code_verifier")
        .unwrap_or_else(|| panic!("no code_verifier: {request:#?}"));
    assert!(
        (43..=128).contains(&verifier.len()),
        "a PKCE verifier of 43..=128 characters: {verifier:?}"
    );
    assert_eq!(
        s256_challenge(verifier),
        challenge,
        "the verifier matches the challenge"
    );
    assert_eq!(
        provider.id_tokens().len(),
        1,
        "the provider issued an ID token"
    );

    // 4. The handoff gives the session.
    let response = handoff(&app, &code).await;
    assert_eq!(response.status, 200, "the handoff: {}", response.text());
    let tokens: Value = response.json();
    assert_token_response(&tokens);
    let user = &tokens["user"];
    assert_eq!(user["email"], "ada@example.org", "{tokens}");
    assert_eq!(user["emailVerified"], true, "{tokens}");
    assert_eq!(user["displayName"], "Ada Lovelace", "{tokens}");
    assert_eq!(user["role"], "listener", "{tokens}");
    assert_eq!(user["hasPassword"], false, "{tokens}");
    assert!(user["createdAt"].is_string(), "{tokens}");

    // 5. The access token works.
    let me = me(&app, &access_token(&tokens)).await;
    assert_eq!(me["id"], user["id"], "{me}");
    assert_eq!(me["email"], "ada@example.org", "{me}");
    assert_eq!(me["emailVerified"], true, "{me}");
    assert_eq!(me["hasPassword"], false, "{me}");
    assert_eq!(me["role"], "listener", "{me}");
    assert_eq!(me["displayName"], "Ada Lovelace", "{me}");
}

#[tokio::test]
async fn every_sign_in_gets_its_own_state_nonce_and_challenge() {
    let (provider, app) = start_with_provider().await;
    let first = query_params(&begin(&app, &provider).await.authorize_url);
    let second = query_params(&begin(&app, &provider).await.authorize_url);
    for name in ["state", "nonce", "code_challenge"] {
        assert_ne!(
            first.get(name),
            second.get(name),
            "two sign-ins share their {name}"
        );
    }
}

#[tokio::test]
async fn a_new_google_user_is_announced_once_with_user_created() {
    let (provider, app) = start_with_provider().await;
    let grace = Identity::new("google-sub-grace", "grace@example.org", "Grace Hopper");
    let tokens = sign_in(&app, &provider, &grace).await;
    let id = user_id(&tokens);

    let events = user_created_events(&app).await;
    assert_eq!(events.len(), 1, "one user.created: {events:#?}");
    let (envelope, payload) = &events[0];
    assert_eq!(envelope.topic, "user.created");
    assert_eq!(envelope.producer, "auth");
    assert_eq!(
        payload,
        &UserCreated {
            user_id: id.clone(),
            email: "grace@example.org".into(),
            display_name: "Grace Hopper".into(),
            role: "listener".into(),
        }
    );

    // Signing in again creates nobody.
    let again = sign_in(&app, &provider, &grace).await;
    assert_eq!(user_id(&again), id);
    assert_eq!(user_created_events(&app).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Linking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn signing_in_again_finds_the_same_user() {
    let (provider, app) = start_with_provider().await;
    let alan = Identity::new("google-sub-alan", "alan@example.org", "Alan Turing");
    let first = sign_in(&app, &provider, &alan).await;
    let second = sign_in(&app, &provider, &alan).await;
    assert_eq!(user_id(&first), user_id(&second));
    assert_ne!(
        first["refreshToken"], second["refreshToken"],
        "a new session each time"
    );
    let me = me(&app, &access_token(&second)).await;
    assert_eq!(me["id"], first["user"]["id"]);

    // Someone else is someone else.
    let other = Identity::new("google-sub-joan", "joan@example.org", "Joan Clarke");
    let joan = sign_in(&app, &provider, &other).await;
    assert_ne!(user_id(&joan), user_id(&first));
}

#[tokio::test]
async fn the_provider_subject_finds_the_user_whose_google_email_changed() {
    let (provider, app) = start_with_provider().await;
    let before = Identity::new("google-sub-kath", "kath@example.org", "Katherine Johnson");
    let first = sign_in(&app, &provider, &before).await;
    let after = Identity::new(
        "google-sub-kath",
        "katherine@example.org",
        "Katherine Johnson",
    );
    let second = sign_in(&app, &provider, &after).await;
    assert_eq!(
        user_id(&first),
        user_id(&second),
        "the same Google subject is the same user"
    );
    assert_eq!(user_created_events(&app).await.len(), 1);
}

#[tokio::test]
async fn google_sign_in_links_to_the_account_with_that_email() {
    let (provider, app) = start_with_provider().await;
    let registered = register(&app, "pat@example.org", "correct horse battery", "Pat").await;
    let id = user_id(&registered);
    assert_eq!(registered["user"]["emailVerified"], false, "{registered}");
    assert_eq!(user_created_events(&app).await.len(), 1);

    let pat = Identity::new("google-sub-pat", "pat@example.org", "Pat at Google");
    let tokens = sign_in(&app, &provider, &pat).await;
    assert_eq!(user_id(&tokens), id, "the same account: {tokens}");
    let me = me(&app, &access_token(&tokens)).await;
    assert_eq!(me["id"], id.as_str(), "{me}");
    assert_eq!(me["email"], "pat@example.org", "{me}");
    assert_eq!(
        me["emailVerified"], true,
        "Google vouched for the email: {me}"
    );
    assert_eq!(user_created_events(&app).await.len(), 1, "nobody new");
    assert_eq!(user_id(&sign_in(&app, &provider, &pat).await), id);
}

#[tokio::test]
async fn google_sign_in_linked_to_a_verified_account_keeps_its_password() {
    let (provider, app) = start_with_provider().await;
    let registered = register(&app, "quinn@example.org", "correct horse battery", "Quinn").await;
    let id = user_id(&registered);
    verify_email(&app, "quinn@example.org").await;

    let quinn = Identity::new("google-sub-quinn", "quinn@example.org", "Quinn at Google");
    let tokens = sign_in(&app, &provider, &quinn).await;
    assert_eq!(user_id(&tokens), id, "the same account: {tokens}");
    let me = me(&app, &access_token(&tokens)).await;
    assert_eq!(me["hasPassword"], true, "the password stays: {me}");
    assert_eq!(me["emailVerified"], true, "{me}");
    assert_eq!(user_created_events(&app).await.len(), 1, "nobody new");

    // The password still signs in to the same account, and so does Google again.
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({ "email": "quinn@example.org", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(response.status, 200, "login: {}", response.text());
    assert_eq!(user_id(&response.json()), id);
    assert_eq!(user_id(&sign_in(&app, &provider, &quinn).await), id);
}

#[tokio::test]
async fn a_google_user_listed_in_admin_emails_becomes_admin() {
    let provider = OidcProvider::start().await;
    let app = start(app_builder(&provider).variable("admin_emails", "boss@example.org")).await;
    let boss = Identity::new("google-sub-boss", "boss@example.org", "The Boss");
    let tokens = sign_in(&app, &provider, &boss).await;
    assert_eq!(tokens["user"]["role"], "admin", "{tokens}");
    let me = me(&app, &access_token(&tokens)).await;
    assert_eq!(me["role"], "admin", "{me}");

    let worker = Identity::new("google-sub-worker", "worker@example.org", "Worker");
    let tokens = sign_in(&app, &provider, &worker).await;
    assert_eq!(tokens["user"]["role"], "listener", "{tokens}");
}

#[tokio::test]
async fn a_blocked_user_cannot_sign_in_with_google() {
    let provider = OidcProvider::start().await;
    let app = start(app_builder(&provider).variable("admin_emails", "boss@example.org")).await;
    let boss = Identity::new("google-sub-boss", "boss@example.org", "The Boss");
    let admin = sign_in(&app, &provider, &boss).await;
    assert_eq!(admin["user"]["role"], "admin", "{admin}");
    let mallory = Identity::new("google-sub-mallory", "mallory@example.org", "Mallory");
    let id = user_id(&sign_in(&app, &provider, &mallory).await);

    let response = app
        .send(
            app.request(
                reqwest::Method::PATCH,
                &format!("/api/admin/users/{id}/block"),
            )
            .bearer_auth(access_token(&admin))
            .json(&json!({ "blocked": true })),
        )
        .await;
    assert_eq!(response.status, 200, "block: {}", response.text());

    provider.next_login(mallory);
    let response = google_flow(&app, &provider).await;
    assert_problem(&response, 403, "a blocked user's Google sign-in");
}

// ---------------------------------------------------------------------------------------------
// The handoff
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_handoff_code_works_once() {
    let (provider, app) = start_with_provider().await;
    provider.next_login(Identity::new("google-sub-once", "once@example.org", "Once"));
    let code = handoff_code(&google_flow(&app, &provider).await);
    let first = handoff(&app, &code).await;
    assert_eq!(first.status, 200, "the first handoff: {}", first.text());
    assert_token_response(&first.json());

    let second = handoff(&app, &code).await;
    assert_problem(&second, 400, "the same handoff code again");
    let unknown = handoff(&app, "no-such-handoff-code").await;
    assert_problem(&unknown, 400, "an unknown handoff code");
}

// ---------------------------------------------------------------------------------------------
// Refused callbacks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_callback_without_a_state_the_app_issued_is_refused() {
    let (provider, app) = start_with_provider().await;
    let someone = Identity::new("google-sub-someone", "someone@example.org", "Someone");
    provider.next_login(someone.clone());

    // A real code from the provider, in the browser that started a sign-in, but no state, or
    // one the app never issued.
    let started = begin(&app, &provider).await;
    let cookies = started.cookies.as_deref();
    let query = at_provider(&app, &started.authorize_url).await;
    let back = query_params(&Url::parse(&format!("{REDIRECT_URL}?{query}")).unwrap());
    let code = &back["code"];
    let response = callback(&app, &format!("code={code}"), cookies).await;
    assert_problem(&response, 400, "a callback without state");
    let response = callback(&app, &format!("code={code}&state=forged-state"), cookies).await;
    assert_problem(&response, 400, "a callback with an unknown state");
    let response = callback(&app, &format!("code={code}&state="), cookies).await;
    assert_problem(&response, 400, "a callback with an empty state");
    assert!(
        provider.token_requests().is_empty(),
        "no code is redeemed without a valid state: {:#?}",
        provider.token_requests()
    );
    assert!(user_created_events(&app).await.is_empty());

    // A state works once: the same callback again (cookies included) is refused.
    let started = begin(&app, &provider).await;
    let cookies = started.cookies.as_deref();
    let query = at_provider(&app, &started.authorize_url).await;
    let first = callback(&app, &query, cookies).await;
    handoff_code(&first);
    let again = callback(&app, &query, cookies).await;
    assert_problem(&again, 400, "a callback with an already used state");
    assert_eq!(
        provider.token_requests().len(),
        1,
        "the used state redeems nothing more"
    );
}

/// Beyond the letter of the contract: the app ties a sign-in's `state` to the browser that
/// started it (a cookie set by `GET /api/auth/google`), so a callback carried to another
/// browser (login CSRF) is a bad state too.
#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    let (provider, app) = start_with_provider().await;
    provider.next_login(Identity::new(
        "google-sub-victim",
        "victim@example.org",
        "Victim",
    ));
    let attacker = begin(&app, &provider).await;
    let query = at_provider(&app, &attacker.authorize_url).await;
    let victim = begin(&app, &provider).await;
    assert_ne!(
        victim.cookies, attacker.cookies,
        "each browser gets its own binding"
    );
    let response = callback(&app, &query, victim.cookies.as_deref()).await;
    assert_problem(&response, 400, "the callback in another browser");

    let started = begin(&app, &provider).await;
    let query = at_provider(&app, &started.authorize_url).await;
    let response = callback(&app, &query, None).await;
    assert_problem(&response, 400, "the callback in a browser without cookies");
    assert!(user_created_events(&app).await.is_empty());
}

#[tokio::test]
async fn the_provider_reporting_an_error_is_refused() {
    let (provider, app) = start_with_provider().await;
    provider.next_login(Identity::new("google-sub-no", "no@example.org", "No"));

    // The user declines at the provider.
    provider.deny_next_login();
    let started = begin(&app, &provider).await;
    let query = at_provider(&app, &started.authorize_url).await;
    assert!(query.contains("error=access_denied"), "{query}");
    let response = callback(&app, &query, started.cookies.as_deref()).await;
    assert_problem(&response, 400, "error=access_denied with the app's state");

    // Written by hand, without a state.
    let response = callback(&app, "error=access_denied", None).await;
    assert_problem(&response, 400, "error=access_denied without state");

    assert!(
        provider.token_requests().is_empty(),
        "{:#?}",
        provider.token_requests()
    );
    assert!(user_created_events(&app).await.is_empty());
}

/// Signs in with the next ID token spoiled by `fault`: the callback's answer must be a
/// `status` problem, nobody is created, and a clean sign-in works right after.
async fn refused_id_token(fault: IdTokenFault, status: u16) {
    let (provider, app) = start_with_provider().await;
    let eve = Identity::new("google-sub-eve", "eve@example.org", "Eve");
    provider.next_login(eve.clone());
    provider.tamper_next_id_token(fault);
    let response = google_flow(&app, &provider).await;
    assert_eq!(
        provider.id_tokens().len(),
        1,
        "{fault:?}: the app redeemed the code"
    );
    assert_problem(&response, status, &format!("an ID token with {fault:?}"));
    assert!(
        user_created_events(&app).await.is_empty(),
        "{fault:?}: nobody is created"
    );

    // The same person with a sound ID token gets in.
    let tokens = sign_in(&app, &provider, &eve).await;
    assert_eq!(tokens["user"]["email"], "eve@example.org");
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    refused_id_token(IdTokenFault::WrongNonce, 401).await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    refused_id_token(IdTokenFault::Expired, 401).await;
}

#[tokio::test]
async fn an_id_token_signed_by_another_key_is_refused() {
    refused_id_token(IdTokenFault::MisSigned, 401).await;
}

#[tokio::test]
async fn an_id_token_for_another_client_is_refused() {
    refused_id_token(IdTokenFault::WrongAudience, 401).await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    refused_id_token(IdTokenFault::WrongIssuer, 401).await;
}

#[tokio::test]
async fn an_unverified_google_email_is_refused() {
    refused_id_token(IdTokenFault::EmailUnverified, 403).await;
}

#[tokio::test]
async fn an_identity_whose_email_is_not_verified_cannot_link_or_sign_up() {
    let (provider, app) = start_with_provider().await;
    register(&app, "vic@example.org", "correct horse battery", "Vic").await;
    // Someone at the provider claiming Vic's email without having verified it.
    provider.next_login(
        Identity::new("google-sub-impostor", "vic@example.org", "Not Vic").unverified(),
    );
    let response = google_flow(&app, &provider).await;
    assert_problem(&response, 403, "an unverified email of an existing account");
    provider.next_login(Identity::new("google-sub-new", "new@example.org", "New").unverified());
    let response = google_flow(&app, &provider).await;
    assert_problem(&response, 403, "an unverified email of nobody yet");
    assert_eq!(
        user_created_events(&app).await.len(),
        1,
        "only the registration"
    );
}

#[tokio::test]
async fn a_failing_token_endpoint_is_a_bad_gateway() {
    let (provider, app) = start_with_provider().await;
    provider.next_login(Identity::new("google-sub-ty", "ty@example.org", "Ty"));
    provider.fail_next_token_request();
    let response = google_flow(&app, &provider).await;
    assert_eq!(provider.token_requests().len(), 1, "the app asked");
    assert_problem(&response, 502, "the token endpoint answered 500");
    assert!(user_created_events(&app).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_bad_gateway() {
    let provider = OidcProvider::start().await;
    let closed = format!("http://127.0.0.1:{}", free_loopback_port());
    let app = start(
        app_builder(&provider)
            .variable("oidc_token_url", format!("{closed}/token"))
            .variable("oidc_token_origin", closed),
    )
    .await;
    provider.next_login(Identity::new("google-sub-un", "un@example.org", "Un"));
    let response = google_flow(&app, &provider).await;
    assert_problem(&response, 502, "nobody listens at the token endpoint");
    assert!(user_created_events(&app).await.is_empty());
}

#[tokio::test]
async fn without_oidc_configuration_google_sign_in_is_not_found() {
    let app = start(TestApp::builder(app_manifest()).variable("public_url", PUBLIC_URL)).await;
    let response = app.get("/api/auth/google").await;
    assert_problem(&response, 404, "GET /api/auth/google unconfigured");
    let response = app
        .get("/api/auth/google/callback?code=some-code&state=some-state")
        .await;
    assert_problem(&response, 404, "the callback unconfigured");
}
