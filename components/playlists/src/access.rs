//! Who is calling (auth's access tokens, keys cached in the `default` key-value store) and
//! what they may do with a collection.
//!
//! | who                        | see | change tracks | settings, share, collaborators | delete |
//! |----------------------------|-----|---------------|--------------------------------|--------|
//! | owner                      | yes | yes           | yes                            | yes    |
//! | editor (playlists)         | yes | yes           | 403                            | 403    |
//! | viewer (shared with)       | yes | 403           | 403                            | 403    |
//! | admin                      | yes | 403           | 403                            | yes    |
//! | anyone, listed collection  | yes | 403 (401 anonymous)                            ||
//! | anyone else                | 404 | 404           | 404                            | 404    |
//!
//! A share link gives read-only sight of a playlist while an admin has not hidden it.

use crate::store::{Collection, Kind, Store};
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

/// How the caller sees a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Owner,
    Editor,
    Viewer,
    Admin,
    Public,
    Link,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Owner => "owner",
            Access::Editor => "editor",
            Access::Viewer => "viewer",
            Access::Admin => "admin",
            Access::Public => "public",
            Access::Link => "link",
        }
    }

    /// Sees songs that became unavailable (as such) rather than not at all.
    pub fn sees_unavailable(self) -> bool {
        matches!(self, Access::Owner | Access::Editor | Access::Admin)
    }
}

/// How `claims` see `c`, or `None` when they may not see it at all.
pub fn access(
    store: &Store,
    c: &Collection,
    claims: Option<&Claims>,
) -> Result<Option<Access>, Problem> {
    if let Some(claims) = claims {
        if claims.user_id == c.owner_id {
            return Ok(Some(Access::Owner));
        }
        if c.kind == Kind::Playlist {
            match store.member_role(&c.id, &claims.user_id)?.as_deref() {
                Some("editor") => return Ok(Some(Access::Editor)),
                Some(_) => return Ok(Some(Access::Viewer)),
                None => {}
            }
        }
        if claims.role == Role::Admin {
            return Ok(Some(Access::Admin));
        }
    }
    Ok(c.is_listed().then_some(Access::Public))
}

/// The collection `id` of `kind` as `claims` see it: 404 when there is none or they may not
/// see it.
pub fn visible(
    store: &Store,
    id: &str,
    kind: Kind,
    claims: Option<&Claims>,
) -> Result<(Collection, Access), Problem> {
    let not_found = || Problem::not_found(format!("no {} {id}", kind.as_str()));
    let c = store.collection(id, kind)?.ok_or_else(not_found)?;
    let access = access(store, &c, claims)?.ok_or_else(not_found)?;
    Ok((c, access))
}

/// What a write needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Add, remove and order tracks: the owner or an editor.
    Tracks,
    /// Title, description, visibility, cover, sharing, collaborators: the owner.
    Settings,
    /// The owner or an admin.
    Delete,
}

/// 403 unless `access` allows `need` (the caller already may see the collection).
pub fn require(access: Access, need: Need) -> Result<(), Problem> {
    let allowed = match need {
        Need::Tracks => matches!(access, Access::Owner | Access::Editor),
        Need::Settings => access == Access::Owner,
        Need::Delete => matches!(access, Access::Owner | Access::Admin),
    };
    if allowed {
        Ok(())
    } else {
        Err(Problem::forbidden(match need {
            Need::Tracks => "only the owner and editors may change the tracks",
            Need::Settings => "only the owner may do this",
            Need::Delete => "only the owner or an admin may delete it",
        }))
    }
}
