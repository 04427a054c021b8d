//! Accounts for tests of the real app: users registered through the `auth` component, and
//! admins made the way an operator makes the first ones (`admin_emails`, then a verified email).

use crate::TestApp;
use crate::bus::EventBus;
use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::Event;
use std::time::Duration;

/// The password every test account has.
pub const PASSWORD: &str = "Tr0ub4dor&3-spindle";

/// An account registered through auth, and its tokens.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: String,
    pub token: String,
    pub refresh: String,
}

impl User {
    /// The access token, for helpers that take `Option<&str>` (`None`: anonymous).
    pub fn bearer(&self) -> Option<&str> {
        Some(&self.token)
    }
}

/// Registers `email` as `role` ("artist" or "listener") with [`PASSWORD`]; the display name is
/// derived from the email.
pub async fn register(app: &TestApp, email: &str, role: &str) -> User {
    let name = format!("{} the {role}", email.split('@').next().unwrap());
    register_named(app, email, role, &name).await
}

/// Like [`register`], with the display name `name`.
pub async fn register_named(app: &TestApp, email: &str, role: &str, name: &str) -> User {
    let body = json!({ "email": email, "password": PASSWORD, "displayName": name, "role": role });
    let response = app.post_json("/api/auth/register", &body).await;
    assert_eq!(
        response.status,
        201,
        "register {email}: {}",
        response.text()
    );
    let body: Value = response.json();
    User {
        id: body["user"]["id"].as_str().expect("user.id").to_string(),
        name: name.to_string(),
        token: body["accessToken"].as_str().expect("accessToken").into(),
        refresh: body["refreshToken"].as_str().expect("refreshToken").into(),
    }
}

/// A listener named `name` (email `name@example.com`, lower-cased).
pub async fn listener(app: &TestApp, name: &str) -> User {
    let email = format!("{}@example.com", name.to_lowercase());
    register_named(app, &email, "listener", name).await
}

/// An artist named `name` (email `name@example.com`, lower-cased).
pub async fn artist(app: &TestApp, name: &str) -> User {
    let email = format!("{}@example.com", name.to_lowercase());
    register_named(app, &email, "artist", name).await
}

/// `admin` deletes the account `user_id` (`DELETE /api/admin/users/:id`), which must answer 204.
pub async fn admin_delete_user(app: &TestApp, admin: &User, user_id: &str) {
    let path = format!("/api/admin/users/{user_id}");
    let response = app.send_as(&admin.token, Method::DELETE, &path, None).await;
    assert_eq!(response.status, 204, "{path}: {}", response.text());
}

/// An admin: `email` (the app must run with the variable `admin_emails` naming it) registered,
/// its email verified with the code read from `user.otp_requested`, its tokens refreshed.
pub async fn register_admin(app: &TestApp, email: &str) -> User {
    let user = register(app, email, "listener").await;
    let request = json!({ "email": email, "purpose": "verify_email" });
    let response = app.post_json("/api/auth/otp/request", &request).await;
    assert_eq!(response.status, 202, "{}", response.text());
    let url = app.redis.url();
    let code = crate::eventually(Duration::from_secs(20), "the verification code", || {
        let url = url.clone();
        async move {
            EventBus::connect(&url)
                .await
                .envelopes("user.otp_requested")
                .await
                .into_iter()
                .find_map(|e| match e.payload {
                    Event::UserOtpRequested(otp) if otp.email == email => Some(otp.code),
                    _ => None,
                })
        }
    })
    .await;
    let verify = json!({ "email": email, "purpose": "verify_email", "code": code });
    let response = app.post_json("/api/auth/otp/verify", &verify).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json::<Value>()["role"],
        "admin",
        "is {email} in admin_emails?"
    );
    let response = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refreshToken": user.refresh }),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    User {
        token: body["accessToken"].as_str().expect("accessToken").into(),
        refresh: body["refreshToken"].as_str().expect("refreshToken").into(),
        ..user
    }
}
