//! Accounts and sessions: sign-up, sign-in, refresh, sign-out, and the caller's own account.

use crate::fields::Fields;
use crate::outbox;
use crate::passwords;
use crate::rate_limit::{self, client_address};
use crate::sessions::{self, TokenResponse};
use crate::store::{NewUser, Store, User, parse_role};
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::auth::Role;
use spindle_shared::events::{Event, UserCreated, UserRoleChanged};
use spindle_shared::http::json;
use spindle_shared::sql::{int, text};

/// The one answer to a failed login, whatever failed.
const WRONG_CREDENTIALS: &str = "the email or password is wrong";

pub fn register(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        rate_limit::REGISTER_PER_ADDRESS.hit(&store, &client_address(&req))?;
        let mut fields = Fields::parse(&req)?;
        let email = fields.email("email");
        let password = fields.string("password");
        let display_name = fields.display_name("displayName");
        let role = fields.string("role");
        let role = match parse_role(&role) {
            Some(Role::Admin) => {
                fields.error("role", "admin cannot be chosen at sign-up");
                Role::Listener
            }
            Some(role) => role,
            None => {
                if fields.errors.iter().all(|e| e.field != "role") {
                    fields.error("role", "must be \"listener\" or \"artist\"");
                }
                Role::Listener
            }
        };
        if fields.errors.iter().all(|e| e.field != "password")
            && let Err(message) = passwords::check_policy(&password, &email)
        {
            fields.error("password", message);
        }
        fields.finish()?;
        if store.user_by_email(&email)?.is_some() {
            return Err(taken());
        }
        let hash = passwords::hash(&password)?;
        let correlation = outbox::correlation_id(&req);
        let user = store.transaction(|| {
            let new = NewUser {
                email: &email,
                email_verified: false,
                password_hash: Some(&hash),
                display_name: &display_name,
                role,
                oidc_subject: None,
            };
            let user = store.insert_user(&new)?.ok_or_else(taken)?;
            announce_created(&store, &user, &correlation)?;
            Ok(user)
        })?;
        outbox::flush(&store);
        Ok(json(201, &sessions::sign_in(&store, &user)?))
    })
}

pub fn login(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        rate_limit::LOGIN_PER_ADDRESS.hit(&store, &client_address(&req))?;
        let mut fields = Fields::parse(&req)?;
        let email = fields.email("email");
        let password = fields.string("password");
        if fields.errors.iter().any(|e| e.field == "email") {
            // Not an email: it cannot be an account, and says nothing about one.
            fields.errors.retain(|e| e.field != "email");
        }
        fields.finish()?;
        rate_limit::LOGIN_FAILURES_PER_EMAIL.check(&store, &email)?;
        let user = store.user_by_email(&email)?;
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        if !passwords::verify(&password, hash) {
            rate_limit::LOGIN_FAILURES_PER_EMAIL.hit(&store, &email)?;
            return Err(Problem::unauthorized(WRONG_CREDENTIALS));
        }
        let user = user.ok_or_else(|| Problem::unauthorized(WRONG_CREDENTIALS))?;
        if user.blocked {
            return Err(Problem::forbidden("this account is blocked"));
        }
        rate_limit::LOGIN_FAILURES_PER_EMAIL.reset(&store, &email)?;
        Ok(json(200, &sessions::sign_in(&store, &user)?))
    })
}

pub fn refresh(req: Request, _params: Params) -> Response {
    respond(|| {
        let mut fields = Fields::parse(&req)?;
        let token = fields.string("refreshToken");
        fields.finish()?;
        let store = Store::open()?;
        Ok(json(200, &sessions::refresh(&store, &token)?))
    })
}

pub fn logout(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        let caller = sessions::caller(&store, &req)?;
        sessions::end_session(&store, &caller.session_id, "signed out")?;
        Ok(no_content())
    })
}

pub fn logout_all(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        let caller = sessions::caller(&store, &req)?;
        sessions::end_sessions(&store, &caller.user.id, None, "signed out everywhere")?;
        Ok(no_content())
    })
}

pub fn me(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        let caller = sessions::caller(&store, &req)?;
        Ok(json(200, &caller.user.me()))
    })
}

/// `{displayName?, currentPassword?, newPassword?}`: a new password needs the current one and
/// ends every other session.
pub fn update_me(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        let caller = sessions::caller(&store, &req)?;
        let user = caller.user;
        let mut fields = Fields::parse(&req)?;
        let display_name = fields
            .optional_string("displayName")
            .map(|name| fields.check_display_name("displayName", &name));
        let current = fields.optional_string("currentPassword");
        let new_password = fields.optional_string("newPassword");
        if let Some(new_password) = &new_password {
            if current.is_none() && fields.errors.iter().all(|e| e.field != "currentPassword") {
                fields.error("currentPassword", "is required to set a new password");
            }
            if let Err(message) = passwords::check_policy(new_password, &user.email) {
                fields.error("newPassword", message);
            }
        }
        fields.finish()?;
        let new_hash = match (&new_password, &current) {
            (Some(new_password), Some(current)) => {
                rate_limit::LOGIN_FAILURES_PER_EMAIL.check(&store, &user.email)?;
                if user.password_hash.is_none() {
                    return Err(Problem::forbidden(
                        "this account has no password yet: set one with a reset_password code",
                    ));
                }
                if !passwords::verify(current, user.password_hash.as_deref()) {
                    rate_limit::LOGIN_FAILURES_PER_EMAIL.hit(&store, &user.email)?;
                    return Err(Problem::forbidden("the current password is wrong"));
                }
                Some(passwords::hash(new_password)?)
            }
            _ => None,
        };
        store.transaction(|| {
            if let Some(name) = &display_name {
                store.set_user(&user.id, "display_name", text(name))?;
            }
            if let Some(hash) = &new_hash {
                store.set_user(&user.id, "password_hash", text(hash))?;
                sessions::end_sessions(
                    &store,
                    &user.id,
                    Some(&caller.session_id),
                    "password changed",
                )?;
            }
            Ok(())
        })?;
        let user = store
            .user(&user.id)?
            .ok_or_else(|| Problem::not_found("no such user"))?;
        Ok(json(200, &user.me()))
    })
}

/// A public profile: never the email; blocked accounts are hidden.
pub fn profile(_req: Request, params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        match store.user(params.get("id").unwrap_or_default())? {
            Some(user) if !user.blocked => Ok(json(200, &user.public_profile())),
            _ => Err(Problem::not_found("no such user")),
        }
    })
}

/// Signs `user` in after another proof of identity (a code, Google).
pub fn tokens_for(store: &Store, user: &User) -> Result<TokenResponse, Problem> {
    if user.blocked {
        return Err(Problem::forbidden("this account is blocked"));
    }
    sessions::sign_in(store, user)
}

/// Records `user.created`; inside the transaction that created the user.
pub fn announce_created(store: &Store, user: &User, correlation: &str) -> Result<(), Problem> {
    let event = Event::UserCreated(UserCreated {
        user_id: user.id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        role: user.role.as_str().into(),
    });
    outbox::record(store, event, correlation)
}

/// Makes `user` an admin when their now-verified email is in `admin_emails` (the bootstrap of
/// the first admins). Inside a transaction; answers the user as it is now.
pub fn promote_if_listed(store: &Store, user: User, correlation: &str) -> Result<User, Problem> {
    let listed = spindle_shared::variable("admin_emails").is_some_and(|list| {
        list.split(',')
            .any(|e| crate::fields::normalise_email(e) == user.email)
    });
    if !listed || !user.email_verified || user.role == Role::Admin {
        return Ok(user);
    }
    store.set_user(&user.id, "role", text(Role::Admin.as_str()))?;
    let event = Event::UserRoleChanged(UserRoleChanged {
        user_id: user.id.clone(),
        old_role: user.role.as_str().into(),
        new_role: Role::Admin.as_str().into(),
    });
    outbox::record(store, event, correlation)?;
    Ok(User {
        role: Role::Admin,
        ..user
    })
}

/// Marks the email verified (and applies the admin bootstrap).
pub fn mark_verified(store: &Store, user: User, correlation: &str) -> Result<User, Problem> {
    store.set_user(&user.id, "email_verified", int(1))?;
    let user = User {
        email_verified: true,
        ..user
    };
    promote_if_listed(store, user, correlation)
}

fn taken() -> Problem {
    Problem::conflict("an account with this email already exists")
}

pub fn no_content() -> Response {
    Response::builder().status(204).build()
}

pub use spindle_shared::http::respond;
