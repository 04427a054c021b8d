//! A small but real OpenID Connect provider for tests: the authorization-code flow with PKCE
//! (S256), RS256-signed ID tokens and a JWKS, on a free loopback port, served in-process by a
//! tokio task (start it from the test's runtime; it stops when dropped).
//!
//! ```no_run
//! # async fn story() {
//! use spindle_tests::oidc::{Identity, IdTokenFault, OidcProvider};
//! let provider = OidcProvider::start().await;
//! provider.next_login(Identity::new("google-sub-1", "ada@example.org", "Ada"));
//! provider.tamper_next_id_token(IdTokenFault::Expired);
//! let app = provider
//!     .configure(spindle_tests::TestApp::builder(spindle_tests::app_manifest()))
//!     .start()
//!     .await
//!     .unwrap();
//! # }
//! ```
//!
//! Endpoints (all under [`origin`](OidcProvider::origin), which is also the
//! [`issuer`](OidcProvider::issuer)):
//!
//! * `GET /authorize?response_type=code&client_id&redirect_uri&scope&state&nonce&code_challenge
//!   &code_challenge_method=S256`: logs in the identity set by
//!   [`next_login`](OidcProvider::next_login) and answers `302` to
//!   `redirect_uri?code=CODE&state=STATE`. An unknown `client_id` or a `redirect_uri` other
//!   than [`REDIRECT_URL`] answer `400` (as a provider shows an error page instead of
//!   redirecting); any other problem redirects with `error=...` (`invalid_request`,
//!   `unsupported_response_type`, `invalid_scope`, or `access_denied` after
//!   [`deny_next_login`](OidcProvider::deny_next_login)).
//! * `POST /token` (form: `grant_type=authorization_code`, `code`, `redirect_uri`, `client_id`,
//!   `client_secret` (or HTTP Basic), `code_verifier`): checks the client, the code (single use,
//!   10 minutes), the redirect URI and PKCE, and answers
//!   `{access_token, token_type:"Bearer", expires_in, id_token, scope}`; errors are `400`
//!   `{"error":"invalid_grant"|"invalid_request"|"unsupported_grant_type"}` or `401`
//!   `{"error":"invalid_client"}`. Every request is recorded
//!   ([`token_requests`](OidcProvider::token_requests)).
//! * `GET /jwks`: `{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid","n","e"}]}`.
//! * `GET /.well-known/openid-configuration`: the discovery document.
//!
//! The signing key (2048-bit RSA) is generated once per test process and shared by every
//! provider in it, as is a second key used to forge signatures
//! ([`IdTokenFault::MisSigned`]).

use crate::TestAppBuilder;
use jwt_simple::algorithms::{RS256KeyPair, RSAKeyPairLike};
use jwt_simple::claims::{Claims, JWTClaims};
use jwt_simple::reexports::coarsetime::{Clock, Duration as JwtDuration};
use jwt_simple::reexports::ct_codecs::{
    Base64, Base64UrlSafeNoPadding as B64Url, Decoder, Encoder,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The redirect URI registered for the app: the value of `oidc_redirect_url`. Nothing listens
/// there; a test takes the query of the provider's redirect and calls the app's real
/// `/api/auth/google/callback` with it.
pub const REDIRECT_URL: &str = "http://spindle.test/api/auth/google/callback";

/// The client id [`OidcProvider::start`] registers.
pub const CLIENT_ID: &str = "spindle-test-client.apps.example";

/// The client secret [`OidcProvider::start`] registers.
pub const CLIENT_SECRET: &str = "spindle-test-client-secret";

/// The scope the token endpoint reports granted.
const GRANTED_SCOPE: &str = "openid email profile";

/// How long an authorization code can be redeemed.
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// How long an ID token lives.
const ID_TOKEN_LIFETIME_SECS: u64 = 3600;

/// The audience of an ID token given [`IdTokenFault::WrongAudience`].
pub const WRONG_AUDIENCE: &str = "someone-elses-client.apps.example";

/// The issuer of an ID token given [`IdTokenFault::WrongIssuer`].
pub const WRONG_ISSUER: &str = "https://issuer.invalid";

/// The nonce of an ID token given [`IdTokenFault::WrongNonce`].
pub const WRONG_NONCE: &str = "not-the-nonce-the-app-sent";

/// Who logs in at the provider: the claims of the ID tokens it issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

impl Identity {
    /// An identity with a verified email.
    pub fn new(sub: impl Into<String>, email: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            email: email.into(),
            email_verified: true,
            name: name.into(),
        }
    }

    /// The same identity with `email_verified: false`.
    pub fn unverified(mut self) -> Self {
        self.email_verified = false;
        self
    }
}

/// Ways to spoil the next ID token the token endpoint issues
/// ([`OidcProvider::tamper_next_id_token`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdTokenFault {
    /// `nonce` is [`WRONG_NONCE`] instead of the one of the authorization request.
    WrongNonce,
    /// Issued two hours ago, expired an hour ago (`exp` in the past, well beyond any leeway).
    Expired,
    /// Signed by another RSA key under the same `kid`: the signature does not verify against
    /// the JWKS.
    MisSigned,
    /// `aud` is [`WRONG_AUDIENCE`].
    WrongAudience,
    /// `iss` is [`WRONG_ISSUER`].
    WrongIssuer,
    /// `email_verified` is `false`.
    EmailUnverified,
}

/// One request the provider's `/authorize` received: its decoded query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub params: BTreeMap<String, String>,
}

impl AuthorizeRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// One request the provider's `/token` received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub method: String,
    /// The `content-type` header as sent.
    pub content_type: Option<String>,
    /// The `authorization` header as sent (HTTP Basic client authentication).
    pub authorization: Option<String>,
    /// The form fields, decoded (the first value of a repeated field).
    pub form: BTreeMap<String, String>,
    /// The body as sent.
    pub body: String,
}

impl TokenRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }
}

/// What the provider remembers of a code it handed out.
#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: String,
    identity: Identity,
    issued: Instant,
}

#[derive(Default)]
struct State {
    identity: Option<Identity>,
    deny_next: bool,
    faults: Vec<IdTokenFault>,
    fail_next_token: bool,
    codes: HashMap<String, Grant>,
    authorize_requests: Vec<AuthorizeRequest>,
    token_requests: Vec<TokenRequest>,
    id_tokens: Vec<String>,
    jwks_requests: usize,
}

struct Shared {
    port: u16,
    client_id: String,
    client_secret: String,
    redirect_url: String,
    state: Mutex<State>,
}

impl Shared {
    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The provider: see the [module documentation](self).
pub struct OidcProvider {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl OidcProvider {
    /// Starts a provider for client [`CLIENT_ID`] / [`CLIENT_SECRET`] on a free loopback port.
    pub async fn start() -> Self {
        Self::start_for(CLIENT_ID, CLIENT_SECRET).await
    }

    /// Starts a provider that knows one client, `client_id` with `client_secret`.
    pub async fn start_for(client_id: &str, client_secret: &str) -> Self {
        Self::start_with(client_id, client_secret, REDIRECT_URL).await
    }

    /// Starts a provider for client [`CLIENT_ID`] whose registered redirect URI is
    /// `redirect_url` instead of [`REDIRECT_URL`]: for a real browser, which must come back
    /// to the app it started from.
    pub async fn start_redirecting_to(redirect_url: &str) -> Self {
        Self::start_with(CLIENT_ID, CLIENT_SECRET, redirect_url).await
    }

    async fn start_with(client_id: &str, client_secret: &str, redirect_url: &str) -> Self {
        // The keys first: generating them takes a moment, once per process.
        let _ = keys();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the OIDC provider");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            port,
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            redirect_url: redirect_url.to_string(),
            state: Mutex::new(State::default()),
        });
        let server = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = serve_one(stream, &server).await;
                });
            }
        });
        Self { shared, task }
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// `http://127.0.0.1:PORT`: the `iss` of the ID tokens.
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// `http://127.0.0.1:PORT`: the origin of every endpoint (for `allowed_outbound_hosts`).
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.shared.port)
    }

    /// `{origin}/authorize`
    pub fn authorization_url(&self) -> String {
        format!("{}/authorize", self.origin())
    }

    /// `{origin}/token`
    pub fn token_url(&self) -> String {
        format!("{}/token", self.origin())
    }

    /// `{origin}/jwks`
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.origin())
    }

    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// The registered redirect URI ([`REDIRECT_URL`] unless started with another).
    pub fn redirect_url(&self) -> &str {
        &self.shared.redirect_url
    }

    /// The `kid` of the provider's signing key (the JWK thumbprint of its public key).
    pub fn kid(&self) -> &'static str {
        &keys().kid
    }

    /// The JWKS document `/jwks` serves.
    pub fn jwks(&self) -> Value {
        jwks_document()
    }

    /// The Spin variables that point the app at this provider: `oidc_client_id`,
    /// `oidc_client_secret`, `oidc_issuer`, `oidc_authorization_url`, `oidc_token_url`,
    /// `oidc_jwks_url`, `oidc_token_origin`, `oidc_jwks_origin`, `oidc_redirect_url`.
    pub fn variables(&self) -> Vec<(String, String)> {
        [
            ("oidc_client_id", self.client_id().to_string()),
            ("oidc_client_secret", self.client_secret().to_string()),
            ("oidc_issuer", self.issuer()),
            ("oidc_authorization_url", self.authorization_url()),
            ("oidc_token_url", self.token_url()),
            ("oidc_jwks_url", self.jwks_url()),
            ("oidc_token_origin", self.origin()),
            ("oidc_jwks_origin", self.origin()),
            ("oidc_redirect_url", self.redirect_url().to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
    }

    /// `builder` with [`variables`](Self::variables) set.
    pub fn configure(&self, builder: TestAppBuilder) -> TestAppBuilder {
        self.variables()
            .into_iter()
            .fold(builder, |builder, (name, value)| {
                builder.variable(name, value)
            })
    }

    /// Who logs in at the following authorization requests (until changed).
    pub fn next_login(&self, identity: Identity) {
        self.state().identity = Some(identity);
    }

    /// The next authorization request is refused by the user: `302` to
    /// `redirect_uri?error=access_denied&state=STATE`.
    pub fn deny_next_login(&self) {
        self.state().deny_next = true;
    }

    /// Spoils the next ID token the token endpoint issues (faults add up until then).
    pub fn tamper_next_id_token(&self, fault: IdTokenFault) {
        self.state().faults.push(fault);
    }

    /// The next token request is answered `500 {"error":"server_error"}` (and recorded).
    pub fn fail_next_token_request(&self) {
        self.state().fail_next_token = true;
    }

    /// Every authorization request so far, in order.
    pub fn authorize_requests(&self) -> Vec<AuthorizeRequest> {
        self.state().authorize_requests.clone()
    }

    /// Every token request so far, in order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.state().token_requests.clone()
    }

    /// Every ID token issued so far, in order.
    pub fn id_tokens(&self) -> Vec<String> {
        self.state().id_tokens.clone()
    }

    /// How many times `/jwks` was fetched.
    pub fn jwks_requests(&self) -> usize {
        self.state().jwks_requests
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

struct Keys {
    kid: String,
    /// The provider's key, published in the JWKS.
    signing: RS256KeyPair,
    /// Another key under the same `kid`, for forged signatures.
    forger: RS256KeyPair,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let signing = RS256KeyPair::generate(2048).expect("generate an RSA key");
        let kid = signing.public_key().jwk_thumbprint();
        let forger = RS256KeyPair::generate(2048)
            .expect("generate an RSA key")
            .with_key_id(&kid);
        Keys {
            signing: signing.with_key_id(&kid),
            forger,
            kid,
        }
    })
}

fn jwks_document() -> Value {
    let keys = keys();
    let components = keys.signing.public_key().to_components();
    json!({
        "keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": keys.kid,
            "n": B64Url::encode_to_string(&components.n).unwrap(),
            "e": B64Url::encode_to_string(&components.e).unwrap(),
        }]
    })
}

/// base64url-no-pad(SHA-256(`verifier`)): the S256 code challenge of a PKCE verifier.
pub fn s256_challenge(verifier: &str) -> String {
    B64Url::encode_to_string(Sha256::digest(verifier.as_bytes())).unwrap()
}

/// The custom claims of an ID token.
#[derive(Serialize, Deserialize)]
struct IdClaims {
    email: String,
    email_verified: bool,
    name: String,
}

/// A fresh opaque value (codes, access tokens): unique in the process, not guessable by a
/// test's accident.
fn opaque(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let digest = Sha256::digest(format!("{prefix}/{n}/{nanos}/{}", std::process::id()));
    format!(
        "{prefix}{}",
        B64Url::encode_to_string(&digest[..24]).unwrap()
    )
}

fn id_token(shared: &Shared, grant: &Grant, faults: &[IdTokenFault]) -> String {
    let has = |fault| faults.contains(&fault);
    let identity = &grant.identity;
    let custom = IdClaims {
        email: identity.email.clone(),
        email_verified: identity.email_verified && !has(IdTokenFault::EmailUnverified),
        name: identity.name.clone(),
    };
    let mut claims: JWTClaims<IdClaims> =
        Claims::with_custom_claims(custom, JwtDuration::from_secs(ID_TOKEN_LIFETIME_SECS))
            .with_issuer(if has(IdTokenFault::WrongIssuer) {
                WRONG_ISSUER.to_string()
            } else {
                shared.issuer()
            })
            .with_audience(if has(IdTokenFault::WrongAudience) {
                WRONG_AUDIENCE
            } else {
                grant.client_id.as_str()
            })
            .with_subject(&identity.sub);
    // As Google's: no `nbf`.
    claims.invalid_before = None;
    let now = Clock::now_since_epoch().as_secs();
    if has(IdTokenFault::Expired) {
        claims.issued_at = Some(JwtDuration::from_secs(now - 2 * 3600));
        claims.expires_at = Some(JwtDuration::from_secs(now - 3600));
    }
    claims.nonce = if has(IdTokenFault::WrongNonce) {
        Some(WRONG_NONCE.to_string())
    } else {
        grant.nonce.clone()
    };
    let keys = keys();
    let key = if has(IdTokenFault::MisSigned) {
        &keys.forger
    } else {
        &keys.signing
    };
    key.sign(claims).expect("sign an ID token")
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    fn error(status: u16, error: &str, description: &str) -> Self {
        Self::json(
            status,
            json!({ "error": error, "error_description": description }),
        )
    }

    fn redirect(location: String) -> Self {
        Self {
            status: 302,
            headers: vec![("location".into(), location)],
            body: Vec::new(),
        }
    }

    fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: text.as_bytes().to_vec(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Other",
    }
}

async fn serve_one(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let response = handle(shared, &request);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        response.body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.shutdown().await
}

/// One request, read off the wire, with its target split into path and query.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let Some(raw) = crate::wire::read_request(stream).await? else {
        return Ok(None);
    };
    let (path, query) = match raw.target.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (raw.target, String::new()),
    };
    Ok(Some(Request {
        method: raw.method,
        path,
        query,
        headers: raw.headers,
        body: raw.body,
    }))
}

/// Decoded `application/x-www-form-urlencoded` pairs; the first value of a repeated name.
fn form(text: &[u8]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        map.entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    map
}

fn handle(shared: &Shared, request: &Request) -> Response {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/authorize") => authorize(shared, request),
        ("POST", "/token") => token(shared, request),
        ("GET", "/jwks") => {
            shared.state.lock().unwrap().jwks_requests += 1;
            let mut response = Response::json(200, jwks_document());
            response.headers[1].1 = "public, max-age=60".into();
            response
        }
        ("GET", "/.well-known/openid-configuration") => {
            let issuer = shared.issuer();
            Response::json(
                200,
                json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{issuer}/authorize"),
                    "token_endpoint": format!("{issuer}/token"),
                    "jwks_uri": format!("{issuer}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "scopes_supported": ["openid", "email", "profile"],
                    "token_endpoint_auth_methods_supported":
                        ["client_secret_post", "client_secret_basic"],
                    "code_challenge_methods_supported": ["S256"],
                    "claims_supported":
                        ["iss", "aud", "sub", "email", "email_verified", "name", "nonce", "iat", "exp"],
                }),
            )
        }
        (_, "/authorize" | "/token" | "/jwks") => Response::text(405, "method not allowed"),
        _ => Response::text(404, "not found"),
    }
}

/// Whether `value` is a PKCE verifier or S256 challenge: 43..=128 unreserved characters.
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `base` with `pairs` appended to its query.
fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(base).expect("a valid redirect URI");
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

fn authorize(shared: &Shared, request: &Request) -> Response {
    let params = form(request.query.as_bytes());
    let mut state = shared.state.lock().unwrap();
    state.authorize_requests.push(AuthorizeRequest {
        params: params.clone(),
    });
    let get = |name: &str| params.get(name).map(String::as_str);
    // What cannot be redirected: the client and its redirect URI.
    if get("client_id") != Some(shared.client_id.as_str()) {
        return Response::error(400, "invalid_client", "unknown client_id");
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return Response::error(400, "invalid_request", "redirect_uri is missing");
    };
    if redirect_uri != shared.redirect_url {
        return Response::error(
            400,
            "redirect_uri_mismatch",
            "redirect_uri is not registered for this client",
        );
    }
    let app_state = get("state");
    let refuse = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(app_state) = app_state {
            pairs.push(("state", app_state));
        }
        Response::redirect(with_query(redirect_uri, &pairs))
    };
    if get("response_type") != Some("code") {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    if !get("scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid")) {
        return refuse("invalid_scope", "scope must include openid");
    }
    if get("code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    let Some(code_challenge) = get("code_challenge").filter(|c| is_pkce_value(c)) else {
        return refuse("invalid_request", "code_challenge is missing or malformed");
    };
    if code_challenge.len() != 43 {
        return refuse(
            "invalid_request",
            "an S256 code_challenge has 43 characters",
        );
    }
    if std::mem::take(&mut state.deny_next) {
        return refuse("access_denied", "the user denied the request");
    }
    let Some(identity) = state.identity.clone() else {
        return Response::text(
            500,
            "the test set no identity to log in (OidcProvider::next_login)",
        );
    };
    let code = opaque("4/");
    state.codes.insert(
        code.clone(),
        Grant {
            client_id: shared.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            nonce: get("nonce").map(str::to_string),
            code_challenge: code_challenge.to_string(),
            identity,
            issued: Instant::now(),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(app_state) = app_state {
        pairs.push(("state", app_state));
    }
    pairs.push(("scope", GRANTED_SCOPE));
    Response::redirect(with_query(redirect_uri, &pairs))
}

/// The client credentials of a token request: HTTP Basic, else the form's.
fn client_credentials(
    request: &Request,
    form: &BTreeMap<String, String>,
) -> (Option<String>, Option<String>) {
    if let Some(basic) = request.header("authorization").and_then(|v| {
        v.strip_prefix("Basic ")
            .or_else(|| v.strip_prefix("basic "))
    }) {
        let decoded = Base64::decode_to_vec(basic.trim(), None).unwrap_or_default();
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        let (id, secret) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return (Some(unescape(id)), Some(unescape(secret)));
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

fn token(shared: &Shared, request: &Request) -> Response {
    let fields = form(&request.body);
    let mut state = shared.state.lock().unwrap();
    state.token_requests.push(TokenRequest {
        method: request.method.clone(),
        content_type: request.header("content-type").map(str::to_string),
        authorization: request.header("authorization").map(str::to_string),
        form: fields.clone(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
    });
    if std::mem::take(&mut state.fail_next_token) {
        return Response::error(500, "server_error", "the provider failed (as told)");
    }
    let form_encoded = request.header("content-type").is_some_and(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form_encoded {
        return Response::error(
            400,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let get = |name: &str| fields.get(name).map(String::as_str);
    if get("grant_type") != Some("authorization_code") {
        return Response::error(
            400,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let (client_id, client_secret) = client_credentials(request, &fields);
    if client_id.as_deref() != Some(shared.client_id.as_str())
        || client_secret.as_deref() != Some(shared.client_secret.as_str())
    {
        let mut response = Response::error(401, "invalid_client", "client authentication failed");
        response
            .headers
            .push(("www-authenticate".into(), "Basic realm=\"oidc\"".into()));
        return response;
    }
    let Some(code) = get("code") else {
        return Response::error(400, "invalid_request", "code is missing");
    };
    // Single use: a code is gone once presented, whatever comes next.
    let Some(grant) = state.codes.remove(code) else {
        return Response::error(400, "invalid_grant", "unknown, used or expired code");
    };
    if grant.issued.elapsed() > CODE_LIFETIME {
        return Response::error(400, "invalid_grant", "the code expired");
    }
    if grant.client_id != shared.client_id {
        return Response::error(400, "invalid_grant", "the code belongs to another client");
    }
    if get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Response::error(
            400,
            "invalid_grant",
            "redirect_uri differs from the authorization request's",
        );
    }
    let Some(verifier) = get("code_verifier") else {
        return Response::error(400, "invalid_request", "code_verifier is missing");
    };
    if !is_pkce_value(verifier) || s256_challenge(verifier) != grant.code_challenge {
        return Response::error(400, "invalid_grant", "PKCE verification failed");
    }
    let faults = std::mem::take(&mut state.faults);
    let id_token = id_token(shared, &grant, &faults);
    state.id_tokens.push(id_token.clone());
    Response::json(
        200,
        json!({
            "access_token": opaque("ya29."),
            "token_type": "Bearer",
            "expires_in": 3599,
            "id_token": id_token,
            "scope": GRANTED_SCOPE,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_simple::algorithms::{RS256PublicKey, RSAPublicKeyLike};
    use jwt_simple::common::VerificationOptions;
    use std::collections::HashSet;

    #[test]
    fn the_s256_challenge_is_base64url_of_sha256() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mJ0kZDuFrVnFcMjAZhD5mK7rBb6k7Q"),
            // Python: base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            "ATvAC9afdKGN2Pfg0Iq7Wadm1PxmCOAuo8HkqW7xilA"
        );
    }

    fn grant(nonce: &str) -> Grant {
        Grant {
            client_id: CLIENT_ID.into(),
            redirect_uri: REDIRECT_URL.into(),
            nonce: Some(nonce.into()),
            code_challenge: String::new(),
            identity: Identity::new("sub-1", "ada@example.org", "Ada"),
            issued: Instant::now(),
        }
    }

    fn shared() -> Shared {
        Shared {
            port: 1,
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_url: REDIRECT_URL.into(),
            state: Mutex::new(State::default()),
        }
    }

    fn public_key() -> RS256PublicKey {
        let jwk = &jwks_document()["keys"][0];
        let n = B64Url::decode_to_vec(jwk["n"].as_str().unwrap(), None).unwrap();
        let e = B64Url::decode_to_vec(jwk["e"].as_str().unwrap(), None).unwrap();
        RS256PublicKey::from_components(&n, &e).unwrap()
    }

    fn options() -> VerificationOptions {
        VerificationOptions {
            allowed_issuers: Some(HashSet::from(["http://127.0.0.1:1".to_string()])),
            allowed_audiences: Some(HashSet::from([CLIENT_ID.to_string()])),
            time_tolerance: Some(JwtDuration::from_secs(60)),
            ..Default::default()
        }
    }

    #[test]
    fn id_tokens_verify_against_the_jwks_and_faults_spoil_them() {
        let shared = shared();
        let key = public_key();
        let token = id_token(&shared, &grant("n-1"), &[]);
        let claims = key
            .verify_token::<IdClaims>(&token, Some(options()))
            .expect("a valid ID token");
        assert_eq!(claims.nonce.as_deref(), Some("n-1"));
        assert_eq!(claims.subject.as_deref(), Some("sub-1"));
        assert!(claims.custom.email_verified);
        let metadata = jwt_simple::token::Token::decode_metadata(&token).unwrap();
        assert_eq!(metadata.algorithm(), "RS256");
        assert_eq!(metadata.key_id(), Some(keys().kid.as_str()));

        for fault in [
            IdTokenFault::Expired,
            IdTokenFault::MisSigned,
            IdTokenFault::WrongAudience,
            IdTokenFault::WrongIssuer,
        ] {
            let token = id_token(&shared, &grant("n-1"), &[fault]);
            assert!(
                key.verify_token::<IdClaims>(&token, Some(options()))
                    .is_err(),
                "{fault:?} verifies"
            );
        }
        let token = id_token(&shared, &grant("n-1"), &[IdTokenFault::WrongNonce]);
        let claims = key
            .verify_token::<IdClaims>(&token, Some(options()))
            .unwrap();
        assert_eq!(claims.nonce.as_deref(), Some(WRONG_NONCE));
        let token = id_token(&shared, &grant("n-1"), &[IdTokenFault::EmailUnverified]);
        let claims = key
            .verify_token::<IdClaims>(&token, Some(options()))
            .unwrap();
        assert!(!claims.custom.email_verified);
    }

    #[tokio::test]
    async fn the_provider_runs_the_code_flow_with_pkce_over_http() {
        let provider = OidcProvider::start().await;
        provider.next_login(Identity::new("sub-9", "bo@example.org", "Bo"));
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let verifier = "v".repeat(50);
        let authorize = with_query(
            &provider.authorization_url(),
            &[
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT_URL),
                ("scope", "openid email profile"),
                ("state", "st-1"),
                ("nonce", "no-1"),
                ("code_challenge", &s256_challenge(&verifier)),
                ("code_challenge_method", "S256"),
            ],
        );
        let response = client.get(&authorize).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let back = form(location.query().unwrap().as_bytes());
        assert_eq!(back["state"], "st-1");
        let code = back["code"].clone();

        let token = |code: String, verifier: String, secret: &'static str| {
            let client = client.clone();
            let url = provider.token_url();
            async move {
                client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(
                        url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("grant_type", "authorization_code")
                            .append_pair("code", &code)
                            .append_pair("redirect_uri", REDIRECT_URL)
                            .append_pair("client_id", CLIENT_ID)
                            .append_pair("client_secret", secret)
                            .append_pair("code_verifier", &verifier)
                            .finish(),
                    )
                    .send()
                    .await
                    .unwrap()
            }
        };
        let wrong_secret = token(code.clone(), verifier.clone(), "nope").await;
        assert_eq!(wrong_secret.status(), 401);
        let wrong_verifier = token(code.clone(), "w".repeat(50), CLIENT_SECRET).await;
        assert_eq!(wrong_verifier.status(), 400);
        // The wrong verifier used the code up.
        let used = token(code.clone(), verifier.clone(), CLIENT_SECRET).await;
        assert_eq!(used.status(), 400);
        assert_eq!(
            used.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );

        let response = client.get(&authorize).send().await.unwrap();
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let code = form(location.query().unwrap().as_bytes())["code"].clone();
        let ok = token(code, verifier.clone(), CLIENT_SECRET).await;
        assert_eq!(ok.status(), 200);
        let body: Value = ok.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        let jwks: Value = client
            .get(provider.jwks_url())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks, provider.jwks());
        let jwk = &jwks["keys"][0];
        let n = B64Url::decode_to_vec(jwk["n"].as_str().unwrap(), None).unwrap();
        let e = B64Url::decode_to_vec(jwk["e"].as_str().unwrap(), None).unwrap();
        let key = RS256PublicKey::from_components(&n, &e).unwrap();
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from([provider.issuer()])),
            allowed_audiences: Some(HashSet::from([CLIENT_ID.to_string()])),
            ..Default::default()
        };
        let claims = key
            .verify_token::<IdClaims>(body["id_token"].as_str().unwrap(), Some(options))
            .unwrap();
        assert_eq!(claims.nonce.as_deref(), Some("no-1"));
        assert_eq!(claims.custom.email, "bo@example.org");
        assert_eq!(provider.token_requests().len(), 4);
        assert_eq!(provider.jwks_requests(), 1);

        // Refused logins and failures.
        provider.deny_next_login();
        let response = client.get(&authorize).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with(&format!("{REDIRECT_URL}?error=access_denied")),
            "{location}"
        );
        assert!(location.ends_with("state=st-1"), "{location}");
        provider.fail_next_token_request();
        let failed = token("x".into(), verifier, CLIENT_SECRET).await;
        assert_eq!(failed.status(), 500);
    }
}
