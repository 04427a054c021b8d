//! Access tokens for 10,000 users without registering them (argon2 makes that far too slow):
//! the app gets a known Ed25519 signing key (the variable `auth_signing_key`, PKCS#8 PEM), so
//! `auth` publishes it in its JWKS, and the benchmark signs tokens as `auth` does
//! (components/auth/src/sessions.rs; checked by crates/shared/src/auth.rs `verify_token`):
//! header `alg: EdDSA` with `kid` = the key's RFC 7638 thumbprint; claims `iss`, `aud`, `sub`,
//! `jti`, `iat`, `nbf`, `exp` (15 minutes later), `role` and `sid`.

use anyhow::{Result, anyhow};
use jwt_simple::algorithms::{Ed25519KeyPair, EdDSAKeyPairLike};
use jwt_simple::claims::Claims;
use jwt_simple::reexports::coarsetime::Duration;
use serde_json::{Map, Value};
use spindle_shared::auth::{AUDIENCE, ISSUER, MAX_LIFETIME_SECS};
use std::sync::atomic::{AtomicU64, Ordering};

/// The DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

pub struct Minter {
    pair: Ed25519KeyPair,
    /// The private key as `auth_signing_key` takes it.
    pub pem: String,
    serial: AtomicU64,
}

impl Minter {
    /// A key from a fixed seed (the same on every run).
    pub fn new(seed: [u8; 32]) -> Result<Self> {
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let pair = Ed25519KeyPair::from_der(&der).map_err(|e| anyhow!("signing key: {e}"))?;
        let kid = pair.jwk_thumbprint();
        let pem = pair.to_pem();
        Ok(Self {
            pair: pair.with_key_id(&kid),
            pem,
            serial: AtomicU64::new(0),
        })
    }

    /// A token of `user_id` with `role` (`listener`, `admin`), valid for 15 minutes from now.
    pub fn token(&self, user_id: &str, role: &str) -> Result<String> {
        let mut custom = Map::new();
        custom.insert("role".into(), Value::from(role));
        custom.insert("sid".into(), Value::from(format!("bench-{user_id}")));
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let claims = Claims::with_custom_claims(custom, Duration::from_secs(MAX_LIFETIME_SECS))
            .with_issuer(ISSUER)
            .with_audience(AUDIENCE)
            .with_subject(user_id)
            .with_jwt_id(format!("bench-{serial}"));
        self.pair
            .sign(claims)
            .map_err(|e| anyhow!("signing a token: {e}"))
    }
}
