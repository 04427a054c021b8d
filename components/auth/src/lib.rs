//! `auth`: identity for the whole platform. The only component that holds password hashes,
//! refresh tokens and signing keys (in its own SQLite database, label `auth`); every other
//! component verifies its access tokens with the public keys from `/.well-known/jwks.json`.
//!
//! | route                                   | who       | answer                                   |
//! |-----------------------------------------|-----------|------------------------------------------|
//! | `POST /api/auth/register`               | anyone    | 201 user and tokens                      |
//! | `POST /api/auth/login`                  | anyone    | user and tokens                          |
//! | `POST /api/auth/refresh`                | anyone    | new tokens (the refresh token rotates)   |
//! | `POST /api/auth/logout`                 | user      | 204, this session ends                   |
//! | `POST /api/auth/logout-all`             | user      | 204, every session ends                  |
//! | `GET/PATCH /api/auth/me`                | user      | own account; name, password              |
//! | `POST /api/auth/otp/request`            | anyone    | 202, a code by email if the account is   |
//! | `POST /api/auth/otp/verify`             | anyone    | completes verify / reset / login         |
//! | `GET /api/auth/google`                  | anyone    | 302 to the provider                      |
//! | `GET /api/auth/google/callback`         | provider  | 302 to the web app with a handoff code   |
//! | `POST /api/auth/handoff`                | anyone    | the tokens of a Google sign-in           |
//! | `GET /api/users/:id`                    | anyone    | public profile                           |
//! | `GET /api/admin/users`                  | admin     | accounts, filtered, paginated            |
//! | `PATCH /api/admin/users/:id/block`      | admin     | block or unblock                         |
//! | `PATCH /api/admin/users/:id/role`       | admin     | change the role                          |
//! | `DELETE /api/admin/users/:id`           | admin     | 204, `user.deleted`                      |
//! | `POST /api/admin/auth/keys/rotate`      | admin     | 201, a new signing key                   |
//! | `GET /.well-known/jwks.json`            | anyone    | the public keys                          |
//!
//! Events (through an outbox, so none is lost when Redis is away): `user.created`,
//! `user.otp_requested`, `user.role_changed`, `user.blocked`, `user.deleted`.

mod account;
mod admin;
mod codes;
mod fields;
mod google;
mod keys;
mod outbox;
mod passwords;
mod rate_limit;
mod sessions;
mod store;

use spin_sdk::http::{Params, Request, Response, Router};
use spin_sdk::http_component;
use spindle_shared::http::problem_fallback;

#[http_component]
fn handle(req: Request) -> Response {
    let mut router = Router::new();
    // Asked by the health component through service chaining.
    router.get("/health", |_req: Request, _params| {
        spindle_shared::health::answer("auth")
    });
    router.get("/.well-known/jwks.json", jwks);
    router.post("/api/auth/register", account::register);
    router.post("/api/auth/login", account::login);
    router.post("/api/auth/refresh", account::refresh);
    router.post("/api/auth/logout", account::logout);
    router.post("/api/auth/logout-all", account::logout_all);
    router.get("/api/auth/me", account::me);
    router.patch("/api/auth/me", account::update_me);
    router.post("/api/auth/otp/request", codes::request);
    router.post("/api/auth/otp/verify", codes::verify);
    router.get("/api/auth/google", google::start);
    router.get("/api/auth/google/callback", google::callback);
    router.post("/api/auth/handoff", google::handoff);
    router.get("/api/users/:id", account::profile);
    router.get("/api/admin/users", admin::list);
    router.patch("/api/admin/users/:id/block", admin::block);
    router.patch("/api/admin/users/:id/role", admin::role);
    router.delete("/api/admin/users/:id", admin::delete);
    router.post("/api/admin/auth/keys/rotate", admin::rotate_keys);
    problem_fallback(router.handle(req))
}

/// The public keys, for every component's token verification (cached by them 5 minutes).
fn jwks(_req: Request, _params: Params) -> Response {
    account::respond(|| {
        let store = store::Store::open()?;
        Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("cache-control", "public, max-age=300")
            .body(keys::jwks(&store)?)
            .build())
    })
}
