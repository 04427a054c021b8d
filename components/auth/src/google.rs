//! Google sign-in, or any OpenID Connect provider: the authorization code flow with PKCE
//! (S256), `state` and `nonce` kept server-side for ten minutes, a cookie that ties the
//! sign-in to the browser that started it, and the ID token verified (RS256 against the
//! provider's JWKS, cached an hour; `iss`, `aud`, `exp`, `nonce`). The web app then collects
//! its tokens with a single-use handoff code, so no token ever travels in a URL.

use crate::account::{self, respond};
use crate::fields::Fields;
use crate::outbox;
use crate::rate_limit;
use crate::sessions::{self, random_token, sha256_hex};
use crate::store::{NewUser, Store, User};
use jwt_simple::algorithms::{RS256PublicKey, RSAPublicKeyLike};
use jwt_simple::common::VerificationOptions;
use jwt_simple::reexports::coarsetime::Duration;
use jwt_simple::token::Token;
use serde::Deserialize;
use spin_sdk::http::{Params, Request, Response};
use spin_sdk::sqlite::Value;
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::http::{encode_pairs, json, query_pairs, send_with_timeout};
use spindle_shared::sql::{get_int, get_text, int, text};
use spindle_shared::time::now_ms;
use std::collections::{HashMap, HashSet};

const LOGIN_MS: u64 = 10 * 60 * 1000;
const HANDOFF_MS: u64 = 60 * 1000;
const JWKS_FRESH_MS: u64 = 60 * 60 * 1000;
const COOKIE: &str = "spindle_oidc";
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The provider, from Spin variables; 404 while no client id is set.
struct Provider {
    client_id: String,
    client_secret: String,
    issuer: String,
    authorization_url: String,
    token_url: String,
    jwks_url: String,
    redirect_url: String,
}

fn provider() -> Result<Provider, Problem> {
    let var = spindle_shared::variable;
    let client_id = var("oidc_client_id").ok_or_else(|| {
        Problem::not_found(
            "Google sign-in is not configured on this server (set oidc_client_id and oidc_client_secret)",
        )
    })?;
    let required = |name: &str| {
        var(name).ok_or_else(|| Problem::internal(format!("the variable {name} is not set")))
    };
    Ok(Provider {
        client_id,
        client_secret: required("oidc_client_secret")?,
        issuer: required("oidc_issuer")?,
        authorization_url: required("oidc_authorization_url")?,
        token_url: required("oidc_token_url")?,
        jwks_url: required("oidc_jwks_url")?,
        redirect_url: var("oidc_redirect_url").unwrap_or_else(|| {
            format!(
                "{}/api/auth/google/callback",
                public_url().trim_end_matches('/')
            )
        }),
    })
}

fn public_url() -> String {
    spindle_shared::variable("public_url").unwrap_or_else(|| "http://127.0.0.1:3000".into())
}

/// `GET /api/auth/google`: 302 to the provider.
pub fn start(req: Request, _params: Params) -> Response {
    respond(|| {
        let provider = provider()?;
        let store = Store::open()?;
        rate_limit::GOOGLE_PER_ADDRESS.hit(&store, &rate_limit::client_address(&req))?;
        let (state, verifier, nonce, browser) = (
            random_token()?,
            random_token()?,
            random_token()?,
            random_token()?,
        );
        let now = now_ms() as i64;
        store.run("DELETE FROM oidc_logins WHERE expires_at <= ?", &[int(now)])?;
        store.run(
            "INSERT INTO oidc_logins (state, code_verifier, nonce, browser_hash, expires_at)
             VALUES (?, ?, ?, ?, ?)",
            &[
                text(&state),
                text(&verifier),
                text(&nonce),
                text(sha256_hex(&browser)),
                int(now + LOGIN_MS as i64),
            ],
        )?;
        let query = encode_pairs(&[
            ("response_type", "code"),
            ("client_id", &provider.client_id),
            ("redirect_uri", &provider.redirect_url),
            ("scope", "openid email profile"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &s256(&verifier)),
            ("code_challenge_method", "S256"),
        ]);
        let separator = if provider.authorization_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let secure = if public_url().starts_with("https:") {
            "; Secure"
        } else {
            ""
        };
        Ok(Response::builder()
            .status(302)
            .header("location", format!("{}{separator}{query}", provider.authorization_url))
            .header(
                "set-cookie",
                format!(
                    "{COOKIE}={browser}; Path=/api/auth/google; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                    LOGIN_MS / 1000
                ),
            )
            .header("cache-control", "no-store")
            .build())
    })
}

/// `GET /api/auth/google/callback?code=&state=`: 302 to the web app with a handoff code.
pub fn callback(req: Request, _params: Params) -> Response {
    respond(|| {
        let provider = provider()?;
        let query: HashMap<String, String> = query_pairs(req.query())?.into_iter().collect();
        let store = Store::open()?;
        let login = take_login(&store, &req, query.get("state"))?;
        if let Some(error) = query.get("error") {
            return Err(Problem::bad_request(format!(
                "the provider did not sign you in: {error}"
            )));
        }
        let code = query
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Problem::bad_request("the callback has no code"))?;
        let id_token = exchange(&provider, code, &login.verifier)?;
        let identity = verify_id_token(&store, &provider, &id_token, &login.nonce)?;
        let correlation = outbox::correlation_id(&req);
        let handoff = random_token()?;
        store.transaction(|| {
            let user = link(&store, &identity, &correlation)?;
            if user.blocked {
                return Err(Problem::forbidden("this account is blocked"));
            }
            store.run(
                "INSERT INTO handoffs (code_hash, user_id, expires_at) VALUES (?, ?, ?)",
                &[
                    text(sha256_hex(&handoff)),
                    text(&user.id),
                    int((now_ms() + HANDOFF_MS) as i64),
                ],
            )?;
            Ok(())
        })?;
        outbox::flush(&store);
        let location = format!(
            "{}/auth/callback?{}",
            public_url().trim_end_matches('/'),
            encode_pairs(&[("code", &handoff)])
        );
        Ok(Response::builder()
            .status(302)
            .header("location", location)
            .header(
                "set-cookie",
                format!("{COOKIE}=; Path=/api/auth/google; HttpOnly; SameSite=Lax; Max-Age=0"),
            )
            .header("cache-control", "no-store")
            .build())
    })
}

/// `POST /api/auth/handoff {code}`: the tokens of a finished sign-in, once.
pub fn handoff(req: Request, _params: Params) -> Response {
    respond(|| {
        let mut fields = Fields::parse(&req)?;
        let code = fields.string("code");
        fields.finish()?;
        let store = Store::open()?;
        let rejected = || Problem::bad_request("the sign-in code is wrong, used or expired");
        let taken = store.run(
            "DELETE FROM handoffs WHERE code_hash = ? RETURNING user_id, expires_at",
            &[text(sha256_hex(&code))],
        )?;
        let row = taken.rows.first().ok_or_else(rejected)?;
        if get_int(&row.values, 1) <= now_ms() as i64 {
            return Err(rejected());
        }
        let user = store
            .user(&get_text(&row.values, 0))?
            .ok_or_else(rejected)?;
        Ok(json(200, &account::tokens_for(&store, &user)?))
    })
}

struct Login {
    verifier: String,
    nonce: String,
}

/// The sign-in `state` belongs to, used up now; 400 when it is unknown, used, expired or was
/// started in another browser.
fn take_login(store: &Store, req: &Request, state: Option<&String>) -> Result<Login, Problem> {
    let state = state
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Problem::bad_request("the callback has no state"))?;
    let taken = store.run(
        "DELETE FROM oidc_logins WHERE state = ? RETURNING code_verifier, nonce, browser_hash, expires_at",
        &[text(state)],
    )?;
    let row = taken.rows.first().ok_or_else(|| {
        Problem::bad_request("unknown or already used state: start the sign-in again")
    })?;
    let row = &row.values;
    if get_int(row, 3) <= now_ms() as i64 {
        return Err(Problem::bad_request(
            "the sign-in took too long: start it again",
        ));
    }
    let cookie = req
        .header("cookie")
        .and_then(|h| h.as_str())
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string());
    if cookie.map(|c| sha256_hex(&c)) != Some(get_text(row, 2)) {
        return Err(Problem::bad_request(
            "this sign-in was started in another browser: start it again",
        ));
    }
    Ok(Login {
        verifier: get_text(row, 0),
        nonce: get_text(row, 1),
    })
}

/// The authorization code for an ID token, at the token endpoint (client_secret_post).
fn exchange(provider: &Provider, code: &str, verifier: &str) -> Result<String, Problem> {
    let form = encode_pairs(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &provider.redirect_url),
        ("client_id", &provider.client_id),
        ("client_secret", &provider.client_secret),
        ("code_verifier", verifier),
    ]);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("accept", "application/json"),
    ];
    let (status, body) = send_with_timeout(
        "POST",
        &provider.token_url,
        &headers,
        form.as_bytes(),
        TIMEOUT,
        1 << 20,
    )
    .map_err(|e| Problem::new(502, format!("the provider's token endpoint: {e}")))?;
    #[derive(Deserialize)]
    struct TokenAnswer {
        id_token: Option<String>,
        error: Option<String>,
    }
    let answer: Option<TokenAnswer> = serde_json::from_slice(&body).ok();
    match (status, answer) {
        (
            200,
            Some(TokenAnswer {
                id_token: Some(t), ..
            }),
        ) => Ok(t),
        (400..=499, Some(TokenAnswer { error: Some(e), .. })) => Err(Problem::bad_request(
            format!("the provider refused the code: {e}"),
        )),
        (status, _) => Err(Problem::new(
            502,
            format!("the provider's token endpoint answered {status} without an ID token"),
        )),
    }
}

/// Who the provider says signed in.
struct Identity {
    subject: String,
    email: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    email: Option<String>,
    #[serde(default)]
    email_verified: serde_json::Value,
    name: Option<String>,
}

fn verify_id_token(
    store: &Store,
    provider: &Provider,
    id_token: &str,
    nonce: &str,
) -> Result<Identity, Problem> {
    let invalid = |why: &str| Problem::unauthorized(format!("the ID token is invalid: {why}"));
    let meta = Token::decode_metadata(id_token).map_err(|_| invalid("malformed"))?;
    if meta.algorithm() != "RS256" {
        return Err(invalid("not signed with RS256"));
    }
    let kid = meta.key_id().unwrap_or_default().to_string();
    let mut keys = provider_keys(store, provider, false)?;
    if !keys.contains_key(&kid) {
        keys = provider_keys(store, provider, true)?;
    }
    let key = keys
        .get(&kid)
        .or_else(|| {
            (keys.len() == 1 && kid.is_empty())
                .then(|| keys.values().next())
                .flatten()
        })
        .ok_or_else(|| invalid("signed with a key the provider does not publish"))?;
    let mut issuers = HashSet::from([provider.issuer.clone()]);
    // Google's tokens name their issuer with or without the scheme.
    if let Some(bare) = provider.issuer.strip_prefix("https://") {
        issuers.insert(bare.to_string());
    }
    let options = VerificationOptions {
        allowed_issuers: Some(issuers),
        allowed_audiences: Some(HashSet::from([provider.client_id.clone()])),
        required_nonce: Some(nonce.to_string()),
        time_tolerance: Some(Duration::from_secs(60)),
        ..VerificationOptions::default()
    };
    let claims = key
        .verify_token::<IdClaims>(id_token, Some(options))
        .map_err(|e| invalid(&e.to_string()))?;
    if claims.expires_at.is_none() {
        return Err(invalid("it has no exp"));
    }
    let subject = claims
        .subject
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("no sub"))?;
    let verified = matches!(&claims.custom.email_verified, serde_json::Value::Bool(true))
        || claims.custom.email_verified == "true";
    let email = claims
        .custom
        .email
        .map(|e| crate::fields::normalise_email(&e))
        .filter(|e| crate::fields::check_email(e).is_ok());
    match email {
        Some(email) if verified => Ok(Identity {
            subject: format!("{} {subject}", provider.issuer),
            email,
            name: claims.custom.name,
        }),
        _ => Err(Problem::forbidden(
            "the provider has not verified this account's email address",
        )),
    }
}

/// The provider's RS256 keys by kid, from the cache unless stale or `refetch` (at most once a
/// minute, so forged kids cannot make every callback fetch).
fn provider_keys(
    store: &Store,
    provider: &Provider,
    refetch: bool,
) -> Result<HashMap<String, RS256PublicKey>, Problem> {
    let cache_key = format!("oidc-jwks {}", provider.jwks_url);
    let cached = store.run(
        "SELECT value, fetched_at FROM cache WHERE key = ?",
        &[text(&cache_key)],
    )?;
    let now = now_ms() as i64;
    if let Some(row) = cached.rows.first() {
        let age = now - get_int(&row.values, 1);
        let fresh = age < JWKS_FRESH_MS as i64 && !(refetch && age > 60_000);
        if fresh && let Ok(keys) = parse_rsa_jwks(&get_text(&row.values, 0)) {
            return Ok(keys);
        }
    }
    let (status, body) = spindle_shared::http::get_with_timeout(&provider.jwks_url, TIMEOUT)
        .map_err(|e| Problem::new(502, format!("the provider's keys: {e}")))?;
    let body = String::from_utf8(body).unwrap_or_default();
    let keys = match (status, parse_rsa_jwks(&body)) {
        (200, Ok(keys)) => keys,
        (status, _) => {
            return Err(Problem::new(
                502,
                format!(
                    "the provider's keys ({}) answered {status} without RSA keys",
                    provider.jwks_url
                ),
            ));
        }
    };
    store.run(
        "INSERT INTO cache (key, value, fetched_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at",
        &[text(&cache_key), text(&body), int(now)],
    )?;
    Ok(keys)
}

fn parse_rsa_jwks(json: &str) -> Result<HashMap<String, RS256PublicKey>, String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<serde_json::Value>,
    }
    let jwks: Jwks = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for jwk in jwks.keys {
        if jwk["kty"] != "RSA" || jwk.get("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let part = |name: &str| {
            jwk[name]
                .as_str()
                .and_then(|v| b64.decode(v.trim_end_matches('=')).ok())
        };
        let (Some(n), Some(e)) = (part("n"), part("e")) else {
            continue;
        };
        if let Ok(key) = RS256PublicKey::from_components(&n, &e) {
            let kid = jwk["kid"].as_str().unwrap_or_default().to_string();
            keys.insert(kid, key);
        }
    }
    if keys.is_empty() {
        return Err("no RSA signing key".into());
    }
    Ok(keys)
}

/// The account for `identity`: the one linked to it, else the one with its email (linked
/// now), else a new listener.
fn link(store: &Store, identity: &Identity, correlation: &str) -> Result<User, Problem> {
    if let Some(user) = store.user_by_subject(&identity.subject)? {
        return account::mark_verified(store, user, correlation);
    }
    if let Some(user) = store.user_by_email(&identity.email)? {
        if !user.email_verified {
            // Whoever chose this account's password never proved the address: the provider
            // just did, so the account is the provider user's, without that password.
            store.set_user(&user.id, "password_hash", Value::Null)?;
            sessions::end_sessions(store, &user.id, None, "claimed by the verified owner")?;
        }
        store.set_user(&user.id, "oidc_subject", text(&identity.subject))?;
        let user = User {
            password_hash: user.password_hash.filter(|_| user.email_verified),
            oidc_subject: Some(identity.subject.clone()),
            ..user
        };
        return account::mark_verified(store, user, correlation);
    }
    let name = display_name(identity);
    let new = NewUser {
        email: &identity.email,
        email_verified: true,
        password_hash: None,
        display_name: &name,
        role: Role::Listener,
        oidc_subject: Some(&identity.subject),
    };
    let user = store
        .insert_user(&new)?
        .ok_or_else(|| Problem::conflict("an account with this email was just created"))?;
    account::announce_created(store, &user, correlation)?;
    account::promote_if_listed(store, user, correlation)
}

/// The provider's name for the person, cleaned to the display-name rules, else the email's
/// local part.
fn display_name(identity: &Identity) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect::<String>()
            .trim()
            .to_string()
    };
    let name = identity.name.as_deref().map(clean).unwrap_or_default();
    if !name.is_empty() {
        return name;
    }
    let local = identity.email.split('@').next().unwrap_or_default();
    clean(local)
}

/// The PKCE S256 challenge of a verifier.
fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
