//! User administration (admins only): list, block, change role, delete, and key rotation.
//! The last admin who can act can be neither blocked, demoted nor deleted.

use crate::account::{no_content, respond};
use crate::fields::Fields;
use crate::store::{Store, User, UserFilter, parse_role};
use crate::{keys, outbox, sessions};
use serde::Serialize;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::events::{Event, UserBlocked, UserDeleted, UserRoleChanged};
use spindle_shared::http::json;
use spindle_shared::sql::{int, text};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    items: Vec<crate::store::AdminUser>,
    /// Pass as `cursor` for the next page; null on the last one.
    next_cursor: Option<String>,
}

/// `GET /api/admin/users?limit=&cursor=&role=&blocked=&emailPrefix=`
pub fn list(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        sessions::admin(&store, &req)?;
        let (filter, limit) = query(req.query())?;
        let mut users = store.users(&filter, limit + 1)?;
        let next_cursor = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(|u| u.id.clone())
        } else {
            None
        };
        let items = users.iter().map(User::admin_view).collect();
        Ok(json(200, &Page { items, next_cursor }))
    })
}

/// `PATCH /api/admin/users/:id/block {blocked}`: blocking ends every session of the user.
pub fn block(req: Request, params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        sessions::admin(&store, &req)?;
        let mut fields = Fields::parse(&req)?;
        let blocked = fields.boolean("blocked");
        fields.finish()?;
        let correlation = outbox::correlation_id(&req);
        let user = store.transaction(|| {
            let user = target(&store, &params)?;
            if user.blocked == blocked {
                return Ok(user);
            }
            if blocked {
                keep_an_admin(&store, &user, "block")?;
                sessions::end_sessions(&store, &user.id, None, "blocked")?;
            }
            store.set_user(&user.id, "blocked", int(blocked))?;
            let event = Event::UserBlocked(UserBlocked {
                user_id: user.id.clone(),
                blocked,
            });
            outbox::record(&store, event, &correlation)?;
            Ok(User { blocked, ..user })
        })?;
        outbox::flush(&store);
        Ok(json(200, &user.admin_view()))
    })
}

/// `PATCH /api/admin/users/:id/role {role}`
pub fn role(req: Request, params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        sessions::admin(&store, &req)?;
        let mut fields = Fields::parse(&req)?;
        let name = fields.string("role");
        let role = parse_role(&name);
        if role.is_none() && fields.errors.is_empty() {
            fields.error("role", "must be \"listener\", \"artist\" or \"admin\"");
        }
        fields.finish()?;
        let role = role.unwrap_or(Role::Listener);
        let correlation = outbox::correlation_id(&req);
        let user = store.transaction(|| {
            let user = target(&store, &params)?;
            if user.role == role {
                return Ok(user);
            }
            keep_an_admin(&store, &user, "demote")?;
            store.set_user(&user.id, "role", text(role.as_str()))?;
            let event = Event::UserRoleChanged(UserRoleChanged {
                user_id: user.id.clone(),
                old_role: user.role.as_str().into(),
                new_role: role.as_str().into(),
            });
            outbox::record(&store, event, &correlation)?;
            Ok(User { role, ..user })
        })?;
        outbox::flush(&store);
        Ok(json(200, &user.admin_view()))
    })
}

/// `DELETE /api/admin/users/:id`: the account goes, and `user.deleted` tells every component
/// to erase what it holds about the user.
pub fn delete(req: Request, params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        sessions::admin(&store, &req)?;
        let correlation = outbox::correlation_id(&req);
        store.transaction(|| {
            let user = target(&store, &params)?;
            keep_an_admin(&store, &user, "delete")?;
            store.delete_user(&user.id)?;
            let event = Event::UserDeleted(UserDeleted {
                user_id: user.id.clone(),
            });
            outbox::record(&store, event, &correlation)
        })?;
        outbox::flush(&store);
        Ok(no_content())
    })
}

/// `POST /api/admin/auth/keys/rotate`: a new key signs from now on.
pub fn rotate_keys(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        sessions::admin(&store, &req)?;
        let kid = keys::rotate(&store)?;
        Ok(json(201, &serde_json::json!({ "kid": kid })))
    })
}

fn target(store: &Store, params: &Params) -> Result<User, Problem> {
    store
        .user(params.get("id").unwrap_or_default())?
        .ok_or_else(|| Problem::not_found("no such user"))
}

/// 409 when `user` is the last admin who can act.
fn keep_an_admin(store: &Store, user: &User, action: &str) -> Result<(), Problem> {
    if user.role == Role::Admin && !user.blocked && store.active_admins()? <= 1 {
        return Err(Problem::conflict(format!(
            "cannot {action} the last admin: make another admin first"
        )));
    }
    Ok(())
}

/// 422 naming a query parameter, as for body fields.
fn bad(name: &str, message: &str) -> Problem {
    Problem::invalid(vec![Problem::field(name, message)])
}

/// The list's query: `limit` (1 to 100), `cursor`, `role`, `blocked`, `emailPrefix`.
fn query(query: &str) -> Result<(UserFilter, u32), Problem> {
    let mut filter = UserFilter::default();
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in spindle_shared::http::query_pairs(query)? {
        match key.as_str() {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad("limit", "must be a whole number from 1 to 100"))?
            }
            "cursor" if !value.is_empty() => filter.after = Some(value),
            "role" => {
                let role = parse_role(&value)
                    .ok_or_else(|| bad("role", "must be listener, artist or admin"))?;
                filter.role = Some(role);
            }
            "blocked" => {
                filter.blocked = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("blocked", "must be true or false")),
                })
            }
            "emailPrefix" if !value.is_empty() => filter.email_prefix = Some(value.to_lowercase()),
            _ => {}
        }
    }
    Ok((filter, limit))
}
