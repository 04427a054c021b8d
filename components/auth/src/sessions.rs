//! Sessions and the tokens that carry them.
//!
//! A sign-in starts a session: a family of opaque refresh tokens, stored as SHA-256, each
//! replaced by the next on use. Presenting a replaced token again means two parties hold the
//! family, so the whole session ends. Access tokens are short-lived JWTs (EdDSA) that name
//! their session (`sid`), so auth's own routes can refuse those of an ended session.

use crate::keys;
use crate::store::{Store, User};
use jwt_simple::algorithms::EdDSAKeyPairLike;
use jwt_simple::claims::Claims;
use jwt_simple::reexports::coarsetime::Duration;
use serde::{Deserialize, Serialize};
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::auth::{AUDIENCE, ISSUER, MAX_LIFETIME_SECS, Role, Verifier};
use spindle_shared::events::new_ulid;
use spindle_shared::sql::{get_int, get_opt_int, get_text, int, text};
use spindle_shared::time::now_ms;

/// A session lives this long from sign-in, however often it is refreshed.
const SESSION_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// What a sign-in or a refresh answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub user: crate::store::Me,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

#[derive(Serialize, Deserialize)]
struct CustomClaims {
    role: Role,
    sid: String,
}

/// The signed-in caller of one of auth's own routes: a valid token of a live session of an
/// existing, unblocked user.
pub struct Caller {
    pub user: User,
    pub session_id: String,
}

/// Starts a session for `user` and answers its first tokens.
pub fn sign_in(store: &Store, user: &User) -> Result<TokenResponse, Problem> {
    if let Err(e) = store.tidy() {
        eprintln!("tidying expired rows: {e}");
    }
    let session_id = new_ulid(now_ms());
    let now = now_ms() as i64;
    let refresh_token = random_token()?;
    store.transaction(|| {
        store.run(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            &[
                text(&session_id),
                text(&user.id),
                int(now),
                int(now + SESSION_MS as i64),
            ],
        )?;
        store.run(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
            &[
                text(sha256_hex(&refresh_token)),
                text(&session_id),
                int(now),
            ],
        )?;
        Ok(())
    })?;
    respond(store, user, &session_id, refresh_token)
}

/// Exchanges a refresh token for new tokens. Reuse of a replaced token ends the session.
pub fn refresh(store: &Store, refresh_token: &str) -> Result<TokenResponse, Problem> {
    let rejected = || Problem::unauthorized("the refresh token is invalid or has expired");
    let hash = sha256_hex(refresh_token);
    let next = random_token()?;
    let now = now_ms() as i64;
    let outcome = store.transaction(|| {
        let found = store.run(
            "SELECT t.session_id, t.replaced_at, s.user_id, s.expires_at, s.revoked_at
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ?",
            &[text(&hash)],
        )?;
        let Some(row) = found.rows.first() else {
            return Ok(Err(rejected()));
        };
        let row = &row.values;
        let session_id = get_text(row, 0);
        if get_opt_int(row, 4).is_some() || get_int(row, 3) <= now {
            return Ok(Err(rejected()));
        }
        if get_opt_int(row, 1).is_some() {
            end_session(store, &session_id, "refresh token reused")?;
            return Ok(Err(Problem::unauthorized(
                "this refresh token was already used: the session has ended, sign in again",
            )));
        }
        let user = match store.user(&get_text(row, 2))? {
            Some(user) if !user.blocked => user,
            _ => return Ok(Err(rejected())),
        };
        store.run(
            "UPDATE refresh_tokens SET replaced_at = ? WHERE token_hash = ?",
            &[int(now), text(&hash)],
        )?;
        store.run(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
            &[text(sha256_hex(&next)), text(&session_id), int(now)],
        )?;
        Ok(Ok((user, session_id)))
    })?;
    let (user, session_id) = outcome?;
    respond(store, &user, &session_id, next)
}

/// Ends one session.
pub fn end_session(store: &Store, session_id: &str, reason: &str) -> Result<(), Problem> {
    store.run(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
        &[int(now_ms() as i64), text(reason), text(session_id)],
    )?;
    Ok(())
}

/// Ends every session of a user but `keep`.
pub fn end_sessions(
    store: &Store,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
) -> Result<(), Problem> {
    store.run(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ?
         WHERE user_id = ? AND revoked_at IS NULL AND id != COALESCE(?, '')",
        &[
            int(now_ms() as i64),
            text(reason),
            text(user_id),
            keep.map_or(spin_sdk::sqlite::Value::Null, text),
        ],
    )?;
    Ok(())
}

/// The caller of one of auth's routes, from its bearer token, checked against the database:
/// the session must be live and the user neither deleted nor blocked.
pub fn caller(store: &Store, req: &Request) -> Result<Caller, Problem> {
    spindle_shared::auth::bearer_token(req)?;
    let verifier = Verifier::from_jwks(&keys::jwks(store)?).map_err(Problem::internal)?;
    let claims = verifier.authenticate(req)?;
    let ended = || Problem::unauthorized("the session has ended; sign in again");
    let session_id = claims.session_id.ok_or_else(ended)?;
    let live = store.run(
        "SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        &[
            text(&session_id),
            text(&claims.user_id),
            int(now_ms() as i64),
        ],
    )?;
    if live.rows.is_empty() {
        return Err(ended());
    }
    match store.user(&claims.user_id)? {
        Some(user) if !user.blocked => Ok(Caller { user, session_id }),
        Some(_) => Err(Problem::forbidden("this account is blocked")),
        None => Err(ended()),
    }
}

/// Like [`caller`], and the account must be an admin now (the role in the database, not the
/// one in the token, which may be up to 15 minutes old).
pub fn admin(store: &Store, req: &Request) -> Result<Caller, Problem> {
    let caller = caller(store, req)?;
    if caller.user.role != Role::Admin {
        return Err(Problem::forbidden("this needs the role admin"));
    }
    Ok(caller)
}

fn respond(
    store: &Store,
    user: &User,
    session_id: &str,
    refresh_token: String,
) -> Result<TokenResponse, Problem> {
    Ok(TokenResponse {
        user: user.me(),
        access_token: access_token(store, user, session_id)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: MAX_LIFETIME_SECS,
    })
}

/// A signed access token: `sub`, `role`, `sid`, `iss`, `aud`, `iat`, `nbf`, `exp`, `jti`, and
/// the signing key's `kid` in the header.
fn access_token(store: &Store, user: &User, session_id: &str) -> Result<String, Problem> {
    let key = keys::current(store)?;
    let custom = CustomClaims {
        role: user.role,
        sid: session_id.to_string(),
    };
    let claims = Claims::with_custom_claims(custom, Duration::from_secs(MAX_LIFETIME_SECS))
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE)
        .with_subject(&user.id)
        .with_jwt_id(new_ulid(now_ms()));
    key.pair
        .sign(claims)
        .map_err(|e| Problem::internal(format!("signing the access token: {e}")))
}

/// 32 random bytes, base64url.
pub fn random_token() -> Result<String, Problem> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn sha256_hex(value: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
