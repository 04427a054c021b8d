//! Who is calling, from auth's access tokens (keys from `auth_jwks` or auth's JWKS, cached in
//! the `default` key-value store).

use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::auth::{Claims, Role};

const KEYS_STORE: &str = "default";

/// The caller's claims, or 401.
pub fn signed_in(req: &Request) -> Result<Claims, Problem> {
    spindle_shared::auth::authenticate(req, KEYS_STORE)
}

/// The caller's claims when a token is sent; a bad token is still 401.
pub fn optional(req: &Request) -> Result<Option<Claims>, Problem> {
    spindle_shared::auth::authenticate_optional(req, KEYS_STORE)
}

/// 403 unless the caller is the song's artist or an admin.
pub fn owner_or_admin(claims: &Claims, artist_id: &str) -> Result<(), Problem> {
    if claims.user_id == artist_id || claims.role == Role::Admin {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "only the song's artist or an admin may do this",
        ))
    }
}
