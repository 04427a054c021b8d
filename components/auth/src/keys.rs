//! Signing keys: Ed25519, named by their RFC 7638 thumbprint.
//!
//! The key comes from the secret variable `auth_signing_key` (PKCS#8 PEM) when it is set;
//! otherwise auth generates one on first use and keeps it in its own database. Either way the
//! database lists every key: a new key retires the one before, and a retired key stays in the
//! JWKS until every token it signed has expired.

use crate::store::Store;
use jwt_simple::algorithms::Ed25519KeyPair;
use spin_sdk::sqlite::Value;
use spindle_shared::Problem;
use spindle_shared::auth::{CLOCK_SKEW_SECS, MAX_LIFETIME_SECS};
use spindle_shared::sql::{get_opt_text, get_text, int, text};
use spindle_shared::time::now_ms;

pub const KEY_VARIABLE: &str = "auth_signing_key";

/// How long a retired key stays published.
const RETIRED_KEY_MS: u64 = (MAX_LIFETIME_SECS + CLOCK_SKEW_SECS) * 1000;

/// The DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The key that signs from now on.
pub struct SigningKey {
    pub kid: String,
    pub pair: Ed25519KeyPair,
}

/// The current signing key, recording it (and retiring others) when it is new.
pub fn current(store: &Store) -> Result<SigningKey, Problem> {
    if let Some(pem) = spindle_shared::variable(KEY_VARIABLE) {
        let pair = Ed25519KeyPair::from_pem(pem.trim()).map_err(|e| {
            Problem::internal(format!(
                "the variable {KEY_VARIABLE} is not an Ed25519 PKCS#8 PEM key: {e}"
            ))
        })?;
        let key = named(pair);
        if active_kids(store)? != [key.kid.as_str()] {
            store.transaction(|| install(store, &key, None))?;
        }
        return Ok(key);
    }
    if let Some(key) = generated(store)? {
        return Ok(key);
    }
    // First start (or the variable was removed): generate under the write lock, so two
    // instances starting together agree on one key.
    store.transaction(|| match generated(store)? {
        Some(key) => Ok(key),
        None => {
            let key = generate()?;
            install(store, &key, Some(&key.pair.to_pem()))?;
            Ok(key)
        }
    })
}

/// Generates a new key and makes it the signing key; 409 while the key comes from the variable.
pub fn rotate(store: &Store) -> Result<String, Problem> {
    if spindle_shared::variable(KEY_VARIABLE).is_some() {
        return Err(Problem::conflict(format!(
            "the signing key comes from the variable {KEY_VARIABLE}: rotate by setting a new one"
        )));
    }
    let key = generate()?;
    store.transaction(|| install(store, &key, Some(&key.pair.to_pem())))?;
    Ok(key.kid)
}

/// The public keys as a JWKS document: the signing key and the recently retired ones.
pub fn jwks(store: &Store) -> Result<String, Problem> {
    current(store)?;
    let since = now_ms().saturating_sub(RETIRED_KEY_MS) as i64;
    let result = store.run(
        "SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL OR retired_at > ?
         ORDER BY created_at DESC",
        &[int(since)],
    )?;
    let keys: Vec<String> = result.rows.iter().map(|r| get_text(&r.values, 0)).collect();
    Ok(format!(r#"{{"keys":[{}]}}"#, keys.join(",")))
}

fn named(pair: Ed25519KeyPair) -> SigningKey {
    let kid = pair.jwk_thumbprint();
    SigningKey {
        pair: pair.with_key_id(&kid),
        kid,
    }
}

fn generate() -> Result<SigningKey, Problem> {
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
    der.extend_from_slice(&seed);
    let pair = Ed25519KeyPair::from_der(&der)
        .map_err(|e| Problem::internal(format!("generating a signing key: {e}")))?;
    Ok(named(pair))
}

fn active_kids(store: &Store) -> Result<Vec<String>, Problem> {
    let result = store.run("SELECT kid FROM signing_keys WHERE retired_at IS NULL", &[])?;
    Ok(result.rows.iter().map(|r| get_text(&r.values, 0)).collect())
}

/// The newest generated key still signing, unless a key from the variable was installed since.
fn generated(store: &Store) -> Result<Option<SigningKey>, Problem> {
    let result = store.run(
        "SELECT kid, private_pem FROM signing_keys WHERE retired_at IS NULL
         ORDER BY created_at DESC LIMIT 1",
        &[],
    )?;
    let Some(row) = result.rows.first() else {
        return Ok(None);
    };
    let Some(pem) = get_opt_text(&row.values, 1) else {
        return Ok(None);
    };
    let pair = Ed25519KeyPair::from_pem(&pem)
        .map_err(|e| Problem::internal(format!("the stored signing key is unreadable: {e}")))?;
    Ok(Some(SigningKey {
        kid: get_text(&row.values, 0),
        pair: pair.with_key_id(&get_text(&row.values, 0)),
    }))
}

/// Records `key` as the signing key and retires every other.
fn install(store: &Store, key: &SigningKey, private_pem: Option<&str>) -> Result<(), Problem> {
    let now = now_ms() as i64;
    let jwk = key.pair.public_key().with_key_id(&key.kid).to_jwk();
    let mut jwk: serde_json::Value =
        serde_json::from_str(&jwk).map_err(|e| Problem::internal(e.to_string()))?;
    jwk["alg"] = "EdDSA".into();
    jwk["use"] = "sig".into();
    store.run(
        "INSERT INTO signing_keys (kid, public_jwk, private_pem, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (kid) DO UPDATE SET retired_at = NULL, created_at = excluded.created_at",
        &[
            text(&key.kid),
            text(jwk.to_string()),
            private_pem.map_or(Value::Null, text),
            int(now),
        ],
    )?;
    store.run(
        "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL AND kid != ?",
        &[int(now), text(&key.kid)],
    )?;
    Ok(())
}
