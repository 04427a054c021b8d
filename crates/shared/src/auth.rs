//! Access tokens: every component turns an `Authorization: Bearer` header into [`Claims`].
//!
//! Tokens are JWTs signed by the `auth` component with Ed25519 (`alg: EdDSA`), named by a `kid`
//! header, with `iss` = [`ISSUER`], `aud` = [`AUDIENCE`], `sub` (the user id), `role`, `jti`,
//! `iat` and `exp` at most [`MAX_LIFETIME_SECS`] later. This module only ever holds public keys:
//! nobody but `auth` can mint a token.
//!
//! Every 401 has as `detail` a `WWW-Authenticate` challenge (`Bearer realm="spindle", ...`).

use crate::problem::Problem;
use jwt_simple::algorithms::{Ed25519PublicKey, EdDSAPublicKeyLike};
use jwt_simple::claims::JWTClaims;
use jwt_simple::common::VerificationOptions;
use jwt_simple::reexports::coarsetime::Duration;
use jwt_simple::token::Token;
use jwt_simple::{Error as JwtError, JWTError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// `iss` of every access token.
pub const ISSUER: &str = "spindle";
/// `aud` of every access token.
pub const AUDIENCE: &str = "spindle-api";
/// The longest an access token may live (`exp - iat`).
pub const MAX_LIFETIME_SECS: u64 = 15 * 60;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const CLOCK_SKEW_SECS: u64 = 30;
/// The Spin variable that, when set and non-empty, holds the JWKS instead of asking `auth`.
pub const JWKS_VARIABLE: &str = "auth_jwks";
/// Where `auth` publishes its public keys, reached through service chaining.
pub const JWKS_URL: &str = "http://auth.spin.internal/.well-known/jwks.json";
/// The key of the cached JWKS in a component's key-value store.
pub const JWKS_KV_KEY: &str = "auth:jwks";
const JWKS_FRESH_MS: u64 = 5 * 60 * 1000;
/// An unknown `kid` refetches the JWKS only when the keys are at least this old, so forged kids
/// cannot turn every request into a call to `auth`.
const REFETCH_AFTER_MS: u64 = 30 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Listener,
    Artist,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Listener => "listener",
            Role::Artist => "artist",
            Role::Admin => "admin",
        }
    }
}

/// Who made a request, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub user_id: String,
    pub role: Role,
    /// `jti`, for revocation lists and logs.
    pub token_id: String,
    /// `exp`, in seconds since the epoch.
    pub expires_at: u64,
    /// `sid`: the sign-in session the token belongs to (auth ends sessions on logout).
    pub session_id: Option<String>,
}

impl Claims {
    /// 403 unless the role is one of `roles` (admin is not implied: list it).
    pub fn require(&self, roles: &[Role]) -> Result<(), Problem> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Problem::forbidden(format!(
            "this needs the role {}; the token has {}",
            names.join(" or "),
            self.role.as_str()
        )))
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The claims beyond the registered ones.
#[derive(Serialize, Deserialize)]
struct Custom {
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// Verifies access tokens with `auth`'s public keys, by `kid`.
pub struct Verifier {
    keys: HashMap<String, Ed25519PublicKey>,
    /// For keys from `auth`: the key-value label of the cache and when the keys were fetched.
    source: Option<(String, u64)>,
}

impl Verifier {
    /// From a JWKS JSON document (`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"...","kid":"..."}]}`);
    /// keys of other types are skipped, every Ed25519 key needs a `kid`.
    pub fn from_jwks(json: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<serde_json::Value>,
        }
        let jwks: Jwks = serde_json::from_str(json).map_err(|e| format!("not a JWKS: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in jwks.keys {
            if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
                continue;
            }
            let key = Ed25519PublicKey::from_jwk(&jwk.to_string())
                .map_err(|e| format!("invalid Ed25519 public key in the JWKS: {e}"))?;
            let kid = jwk["kid"].as_str().filter(|k| !k.is_empty());
            let kid = kid.ok_or("an Ed25519 key in the JWKS has no kid")?;
            keys.insert(kid.to_string(), key);
        }
        if keys.is_empty() {
            return Err("the JWKS has no Ed25519 key".into());
        }
        Ok(Self { keys, source: None })
    }

    /// For a component: keys from the variable `auth_jwks` when set and non-empty, else from
    /// `auth`'s JWKS (service chaining), cached 5 minutes under `auth:jwks` in the key-value
    /// store `kv_label`. When `auth` cannot be reached a stale cached copy is used; without one,
    /// 503. An unknown `kid` later refetches once (key rotation).
    pub fn for_component(kv_label: &str) -> Result<Self, Problem> {
        if let Ok(jwks) = spin_sdk::variables::get(JWKS_VARIABLE)
            && !jwks.trim().is_empty()
        {
            return Self::from_jwks(&jwks)
                .map_err(|e| Problem::internal(format!("variable {JWKS_VARIABLE}: {e}")));
        }
        let store = spin_sdk::key_value::Store::open(kv_label)
            .map_err(|e| Problem::internal(format!("key-value store {kv_label}: {e}")))?;
        let cached = store
            .get(JWKS_KV_KEY)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<CachedJwks>(&bytes).ok())
            .and_then(|c| Some((Self::from_jwks(&c.jwks).ok()?, c.fetched_at_ms)));
        let now = crate::time::now_ms();
        let stale = match cached {
            Some((verifier, at)) if now.saturating_sub(at) < JWKS_FRESH_MS => {
                return Ok(verifier.with_source(kv_label, at));
            }
            other => other,
        };
        match Self::fetch(kv_label) {
            Ok(verifier) => Ok(verifier),
            Err(e) => match stale {
                Some((verifier, at)) => {
                    eprintln!("auth: using the cached JWKS: {e}");
                    Ok(verifier.with_source(kv_label, at))
                }
                None => Err(Problem::new(503, format!("cannot get auth's keys: {e}"))),
            },
        }
    }

    /// Verifies the `Authorization: Bearer` header of `req`.
    pub fn authenticate(&self, req: &spin_sdk::http::Request) -> Result<Claims, Problem> {
        self.verify_token(bearer_token(req)?)
    }

    /// Like [`Self::authenticate`] for routes open to anonymous users: no header is `Ok(None)`,
    /// a bad token is still 401.
    pub fn optional(&self, req: &spin_sdk::http::Request) -> Result<Option<Claims>, Problem> {
        match req.header("authorization") {
            None => Ok(None),
            Some(_) => self.authenticate(req).map(Some),
        }
    }

    /// Verifies a token: `alg: EdDSA` only, a known `kid`, the signature, `iss`, `aud`, `exp`
    /// (30 s of skew), `iat` not in the future, a lifetime of at most 15 minutes, and `sub`,
    /// `jti` and `role`.
    pub fn verify_token(&self, token: &str) -> Result<Claims, Problem> {
        let meta = Token::decode_metadata(token).map_err(|_| invalid("the token is malformed"))?;
        if meta.algorithm() != "EdDSA" {
            return Err(invalid("the token is not signed with EdDSA"));
        }
        let kid = meta
            .key_id()
            .ok_or_else(|| invalid("the token has no kid"))?;
        let Some(key) = self.keys.get(kid) else {
            return match self.refetched() {
                Some(fresh) if fresh.keys.contains_key(kid) => fresh.verify_token(token),
                _ => Err(invalid("the token is signed with an unknown key")),
            };
        };
        let options = VerificationOptions {
            required_key_id: Some(kid.to_string()),
            allowed_issuers: Some(HashSet::from([ISSUER.to_string()])),
            allowed_audiences: Some(HashSet::from([AUDIENCE.to_string()])),
            time_tolerance: Some(Duration::from_secs(CLOCK_SKEW_SECS)),
            max_token_length: Some(8 * 1024),
            ..VerificationOptions::default()
        };
        let claims: JWTClaims<Custom> = key
            .verify_token(token, Some(options))
            .map_err(|e| invalid(reason(&e)))?;
        let (Some(iat), Some(exp)) = (claims.issued_at, claims.expires_at) else {
            return Err(invalid("the token has no iat or exp"));
        };
        if exp.as_secs() > iat.as_secs() + MAX_LIFETIME_SECS {
            return Err(invalid("the token lives longer than 15 minutes"));
        }
        match (claims.subject, claims.jwt_id) {
            (Some(user_id), Some(token_id)) if !user_id.is_empty() && !token_id.is_empty() => {
                Ok(Claims {
                    user_id,
                    role: claims.custom.role,
                    token_id,
                    expires_at: exp.as_secs(),
                    session_id: claims.custom.sid,
                })
            }
            _ => Err(invalid("the token has no sub or jti")),
        }
    }

    fn with_source(mut self, kv_label: &str, fetched_at_ms: u64) -> Self {
        self.source = Some((kv_label.to_string(), fetched_at_ms));
        self
    }

    /// `auth`'s JWKS, fetched now and written to the cache.
    fn fetch(kv_label: &str) -> Result<Self, String> {
        let timeout = std::time::Duration::from_secs(2);
        let (status, body) = crate::http::get_with_timeout(JWKS_URL, timeout)?;
        if status != 200 {
            return Err(format!("{JWKS_URL} answered {status}"));
        }
        let jwks = String::from_utf8(body).map_err(|_| "the JWKS is not UTF-8")?;
        let verifier = Self::from_jwks(&jwks)?;
        let fetched_at_ms = crate::time::now_ms();
        let cached = serde_json::to_vec(&CachedJwks {
            fetched_at_ms,
            jwks,
        });
        if let (Ok(store), Ok(cached)) = (spin_sdk::key_value::Store::open(kv_label), cached)
            && let Err(e) = store.set(JWKS_KV_KEY, &cached)
        {
            eprintln!("auth: caching the JWKS: {e}");
        }
        Ok(verifier.with_source(kv_label, fetched_at_ms))
    }

    /// Fresh keys from `auth` after an unknown `kid`, when these came from it and are not new.
    fn refetched(&self) -> Option<Self> {
        let (kv_label, fetched_at_ms) = self.source.as_ref()?;
        if crate::time::now_ms().saturating_sub(*fetched_at_ms) < REFETCH_AFTER_MS {
            return None;
        }
        Self::fetch(kv_label)
            .inspect_err(|e| eprintln!("auth: refetching the JWKS: {e}"))
            .ok()
            .map(|fresh| Self {
                source: None,
                ..fresh
            })
    }
}

#[derive(Serialize, Deserialize)]
struct CachedJwks {
    fetched_at_ms: u64,
    jwks: String,
}

/// 401 whose detail is a `WWW-Authenticate` challenge.
/// The token of an `Authorization: Bearer <token>` header, or the 401 for its absence or shape.
pub fn bearer_token(req: &spin_sdk::http::Request) -> Result<&str, Problem> {
    let Some(value) = req.header("authorization") else {
        return Err(challenge(None, "this needs an Authorization: Bearer token"));
    };
    value
        .as_str()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty() && !token.contains(' '))
        .ok_or_else(|| invalid("the Authorization header is not Bearer <token>"))
}

/// A component's one call: a request without a well-formed bearer token is refused before any
/// key is fetched; otherwise the token is verified with the component's keys.
pub fn authenticate(req: &spin_sdk::http::Request, kv_label: &str) -> Result<Claims, Problem> {
    bearer_token(req)?;
    Verifier::for_component(kv_label)?.authenticate(req)
}

/// Like [`authenticate`] for routes that anonymous callers may use too: `None` without an
/// `Authorization` header; a header that is there but bad is still 401.
pub fn authenticate_optional(
    req: &spin_sdk::http::Request,
    kv_label: &str,
) -> Result<Option<Claims>, Problem> {
    if req.header("authorization").is_none() {
        return Ok(None);
    }
    // A malformed header is refused before any key is fetched, as in `authenticate`.
    bearer_token(req)?;
    Verifier::for_component(kv_label)?.optional(req)
}

fn challenge(error: Option<&str>, description: &str) -> Problem {
    let error = error
        .map(|e| format!(", error=\"{e}\""))
        .unwrap_or_default();
    Problem::unauthorized(format!(
        "Bearer realm=\"{ISSUER}\"{error}, error_description=\"{description}\""
    ))
}

fn invalid(description: &str) -> Problem {
    challenge(Some("invalid_token"), description)
}

fn reason(error: &JwtError) -> &'static str {
    match error.downcast_ref::<JWTError>() {
        Some(JWTError::TokenHasExpired) => "the token has expired",
        Some(JWTError::ClockDrift | JWTError::TokenNotValidYet) => "the token is not valid yet",
        Some(JWTError::RequiredIssuerMismatch | JWTError::RequiredIssuerMissing) => {
            "the token has the wrong issuer"
        }
        Some(JWTError::RequiredAudienceMismatch | JWTError::RequiredAudienceMissing) => {
            "the token has the wrong audience"
        }
        Some(JWTError::InvalidSignature) => "the token's signature is invalid",
        _ => "the token is invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_simple::algorithms::{Ed25519KeyPair, EdDSAKeyPairLike, HS256Key, MACLike};
    use jwt_simple::reexports::coarsetime::Clock;
    use jwt_simple::reexports::ct_codecs::{Base64UrlSafeNoPadding as B64, Encoder};
    use spin_sdk::http::Request;

    struct Fixture {
        key: Ed25519KeyPair,
        verifier: Verifier,
    }

    fn fixture() -> Fixture {
        let key = Ed25519KeyPair::generate().with_key_id("k1");
        let jwk = key.public_key().with_key_id("k1").to_jwk();
        let verifier = Verifier::from_jwks(&format!(r#"{{"keys":[{jwk}]}}"#)).unwrap();
        Fixture { key, verifier }
    }

    /// Claims as `auth` mints them, issued `iat` seconds from now and living `life` seconds.
    fn claims(role: Role, iat: i64, life: u64) -> JWTClaims<Custom> {
        let now = Clock::now_since_epoch().as_secs() as i64;
        let mut c = jwt_simple::claims::Claims::with_custom_claims(
            Custom { role, sid: None },
            Duration::from_secs(life),
        )
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE)
        .with_subject("user-1")
        .with_jwt_id("token-1");
        c.issued_at = Some(Duration::from_secs((now + iat) as u64));
        c.invalid_before = c.issued_at;
        c.expires_at = Some(Duration::from_secs((now + iat) as u64 + life));
        c
    }

    fn b64(bytes: &[u8]) -> String {
        B64::encode_to_string(bytes).unwrap()
    }

    fn detail(result: Result<Claims, Problem>, status: u16) -> String {
        let problem = result.unwrap_err();
        assert_eq!(problem.status, status, "{problem}");
        problem.detail.unwrap()
    }

    fn request(authorization: Option<&str>) -> Request {
        let mut builder = Request::builder();
        builder.uri("/playlists");
        if let Some(value) = authorization {
            builder.header("Authorization", value);
        }
        builder.build()
    }

    #[test]
    fn a_valid_token_gives_its_claims() {
        let f = fixture();
        let token = f.key.sign(claims(Role::Artist, 0, 900)).unwrap();
        let claims = f.verifier.verify_token(&token).unwrap();
        assert_eq!(claims.user_id, "user-1");
        assert_eq!(claims.role, Role::Artist);
        assert_eq!(claims.token_id, "token-1");
        assert!(claims.expires_at > Clock::now_since_epoch().as_secs());
        let header = format!("Bearer {token}");
        assert_eq!(f.verifier.authenticate(&request(Some(&header))), Ok(claims));
    }

    #[test]
    fn expiry_allows_30_seconds_of_skew() {
        let f = fixture();
        let barely = f.key.sign(claims(Role::Listener, -910, 900)).unwrap();
        assert!(f.verifier.verify_token(&barely).is_ok());
        let expired = f.key.sign(claims(Role::Listener, -1000, 900)).unwrap();
        let d = detail(f.verifier.verify_token(&expired), 401);
        assert!(
            d.starts_with(r#"Bearer realm="spindle", error="invalid_token""#),
            "{d}"
        );
        assert!(d.contains("expired"), "{d}");
    }

    #[test]
    fn iat_in_the_future_is_fine_only_within_the_skew() {
        let f = fixture();
        let soon = f.key.sign(claims(Role::Listener, 20, 900)).unwrap();
        assert!(f.verifier.verify_token(&soon).is_ok());
        let later = f.key.sign(claims(Role::Listener, 300, 900)).unwrap();
        assert!(detail(f.verifier.verify_token(&later), 401).contains("not valid yet"));
    }

    #[test]
    fn lifetimes_over_15_minutes_are_rejected() {
        let f = fixture();
        let token = f.key.sign(claims(Role::Admin, 0, 3600)).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("15 minutes"));
    }

    #[test]
    fn wrong_audience_or_issuer_is_rejected() {
        let f = fixture();
        let aud = claims(Role::Listener, 0, 900).with_audience("other-api");
        let token = f.key.sign(aud).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("audience"));
        let iss = claims(Role::Listener, 0, 900).with_issuer("evil");
        let token = f.key.sign(iss).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("issuer"));
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let f = fixture();
        let token = f.key.sign(claims(Role::Listener, 0, 900)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = f.key.sign(claims(Role::Admin, 0, 900)).unwrap();
        let payload = forged.split('.').nth(1).unwrap();
        let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert!(detail(f.verifier.verify_token(&tampered), 401).contains("signature"));
    }

    #[test]
    fn another_key_with_the_same_kid_is_rejected() {
        let f = fixture();
        let other = Ed25519KeyPair::generate().with_key_id("k1");
        let token = other.sign(claims(Role::Admin, 0, 900)).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("signature"));
    }

    #[test]
    fn unknown_or_missing_kid_is_rejected() {
        let f = fixture();
        let other = Ed25519KeyPair::generate().with_key_id("k2");
        let token = other.sign(claims(Role::Admin, 0, 900)).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("unknown key"));
        let unnamed = Ed25519KeyPair::generate();
        let token = unnamed.sign(claims(Role::Admin, 0, 900)).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("no kid"));
    }

    #[test]
    fn alg_none_is_rejected() {
        let f = fixture();
        let header = b64(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let payload = b64(&serde_json::to_vec(&claims(Role::Admin, 0, 900)).unwrap());
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert!(detail(f.verifier.verify_token(&token), 401).contains("EdDSA"));
        }
    }

    #[test]
    fn hs256_is_rejected_even_keyed_with_the_public_key() {
        let f = fixture();
        let public = f.key.public_key().to_bytes();
        let hmac = HS256Key::from_bytes(&public).with_key_id("k1");
        let token = hmac.authenticate(claims(Role::Admin, 0, 900)).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("EdDSA"));
    }

    #[test]
    fn missing_claims_or_unknown_roles_are_rejected() {
        let f = fixture();
        let mut no_jti = claims(Role::Listener, 0, 900);
        no_jti.jwt_id = None;
        let token = f.key.sign(no_jti).unwrap();
        assert!(detail(f.verifier.verify_token(&token), 401).contains("jti"));
        let superuser = jwt_simple::claims::Claims::with_custom_claims(
            serde_json::json!({"role": "superuser"}),
            Duration::from_secs(900),
        )
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE)
        .with_subject("user-1")
        .with_jwt_id("token-1");
        let token = f.key.sign(superuser).unwrap();
        assert_eq!(f.verifier.verify_token(&token).unwrap_err().status, 401);
    }

    #[test]
    fn missing_or_garbled_headers_are_401() {
        let f = fixture();
        let token = f.key.sign(claims(Role::Listener, 0, 900)).unwrap();
        let missing = detail(f.verifier.authenticate(&request(None)), 401);
        assert!(missing.starts_with(r#"Bearer realm="spindle", error_description="#));
        for value in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "garbage",
        ] {
            let d = detail(f.verifier.authenticate(&request(Some(value))), 401);
            assert!(d.contains(r#"error="invalid_token""#), "{value}: {d}");
        }
        let lower = format!("bearer {token}");
        assert!(f.verifier.authenticate(&request(Some(&lower))).is_ok());
    }

    #[test]
    fn optional_allows_anonymous_but_not_bad_tokens() {
        let f = fixture();
        assert_eq!(f.verifier.optional(&request(None)), Ok(None));
        let bad = f.verifier.optional(&request(Some("Bearer nope")));
        assert_eq!(bad.unwrap_err().status, 401);
        let token = f.key.sign(claims(Role::Listener, 0, 900)).unwrap();
        let header = format!("Bearer {token}");
        assert!(
            f.verifier
                .optional(&request(Some(&header)))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn require_checks_the_role() {
        let listener = Claims {
            user_id: "u".into(),
            role: Role::Listener,
            token_id: "t".into(),
            expires_at: 0,
            session_id: None,
        };
        let problem = listener.require(&[Role::Admin]).unwrap_err();
        assert_eq!(problem.status, 403);
        assert!(!listener.is_admin());
        assert!(listener.require(&[Role::Listener, Role::Artist]).is_ok());
        let admin = Claims {
            role: Role::Admin,
            ..listener
        };
        assert!(admin.is_admin() && admin.require(&[Role::Admin]).is_ok());
    }

    #[test]
    fn jwks_parsing_is_strict_about_ed25519_keys() {
        let key = Ed25519KeyPair::generate();
        let public = key.public_key().with_key_id("k1").to_jwk();
        let rsa = r#"{"kty":"RSA","kid":"r1","n":"AQAB","e":"AQAB"}"#;
        assert!(Verifier::from_jwks(&format!(r#"{{"keys":[{rsa},{public}]}}"#)).is_ok());
        let private = key.with_key_id("k1").to_jwk();
        assert!(Verifier::from_jwks(&format!(r#"{{"keys":[{private}]}}"#)).is_err());
        let unnamed = Ed25519KeyPair::generate().public_key().to_jwk();
        assert!(Verifier::from_jwks(&format!(r#"{{"keys":[{unnamed}]}}"#)).is_err());
        assert!(Verifier::from_jwks(r#"{"keys":[]}"#).is_err());
        assert!(Verifier::from_jwks("not json").is_err());
    }
}
