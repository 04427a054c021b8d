//! Who is calling: verified through the shared token verifier (keys from `auth_jwks`, or
//! from the auth component's JWKS, cached in the `default` key-value store).

use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::auth::{Role, authenticate};

/// The key-value store that caches auth's public keys.
const KEYS_STORE: &str = "default";

/// The signed-in user's id, or 401.
pub fn signed_in(req: &Request) -> Result<String, Problem> {
    Ok(authenticate(req, KEYS_STORE)?.user_id)
}

/// Whether the request carries a valid admin token.
pub fn is_admin(req: &Request) -> bool {
    authenticate(req, KEYS_STORE).is_ok_and(|claims| claims.role == Role::Admin)
}
