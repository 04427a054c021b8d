//! One-time codes: six digits by email, for verifying the address, resetting the password,
//! or signing in without one.
//!
//! A request always answers 202, account or not. A code is stored as SHA-256 of its id and
//! digits, lives 10 minutes, allows 5 tries (then it is dead, right or wrong), and a newer code
//! for the same purpose replaces it. It travels to the user in a `user.otp_requested` event.

use crate::account::{self, respond};
use crate::fields::Fields;
use crate::outbox;
use crate::passwords;
use crate::rate_limit::{self, client_address};
use crate::sessions::{self, sha256_hex};
use crate::store::Store;
use spin_sdk::http::{Params, Request, Response};
use spindle_shared::Problem;
use spindle_shared::events::{Event, UserOtpRequested, new_ulid};
use spindle_shared::http::json;
use spindle_shared::sql::{get_int, get_text, int, text};
use spindle_shared::time::{now_ms, rfc3339};

const LIFETIME_MS: u64 = 10 * 60 * 1000;
pub const MAX_TRIES: i64 = 5;
const PURPOSES: [&str; 3] = ["verify_email", "reset_password", "login"];

/// The one answer to every failed verification.
fn rejected() -> Problem {
    Problem::bad_request("the code is wrong or has expired")
}

pub fn request(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        rate_limit::CODES_PER_ADDRESS.hit(&store, &client_address(&req))?;
        let mut fields = Fields::parse(&req)?;
        let email = fields.email("email");
        let purpose = purpose(&mut fields);
        fields.finish()?;
        rate_limit::CODES_PER_EMAIL.hit(&store, &email)?;
        let user = store.user_by_email(&email)?.filter(|u| !u.blocked);
        if let Some(user) = user {
            let code = six_digits()?;
            let id = new_ulid(now_ms());
            let now = now_ms();
            let expires_at = now + LIFETIME_MS;
            let correlation = outbox::correlation_id(&req);
            store.transaction(|| {
                store.run(
                    "UPDATE one_time_codes SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
                    &[int(now as i64), text(&user.id), text(&purpose)],
                )?;
                store.run(
                    "INSERT INTO one_time_codes (id, user_id, purpose, code_hash, created_at, expires_at)
                     VALUES (?, ?, ?, ?, ?, ?)",
                    &[
                        text(&id),
                        text(&user.id),
                        text(&purpose),
                        text(code_hash(&id, &code)),
                        int(now as i64),
                        int(expires_at as i64),
                    ],
                )?;
                let event = Event::UserOtpRequested(UserOtpRequested {
                    user_id: Some(user.id.clone()),
                    email: user.email.clone(),
                    code,
                    purpose: purpose.clone(),
                    expires_at: rfc3339(expires_at),
                });
                outbox::record(&store, event, &correlation)
            })?;
            outbox::flush(&store);
        }
        Ok(json(202, &serde_json::json!({ "status": "accepted" })))
    })
}

/// `{email, purpose, code, newPassword?}` completes the purpose.
pub fn verify(req: Request, _params: Params) -> Response {
    respond(|| {
        let store = Store::open()?;
        rate_limit::VERIFY_PER_ADDRESS.hit(&store, &client_address(&req))?;
        let mut fields = Fields::parse(&req)?;
        let email = fields.email("email");
        let purpose = purpose(&mut fields);
        let code = fields.string("code");
        let new_password = fields.optional_string("newPassword");
        if purpose == "reset_password" {
            match &new_password {
                None => fields.error("newPassword", "is required to reset the password"),
                Some(p) => {
                    if let Err(message) = passwords::check_policy(p, &email) {
                        fields.error("newPassword", message);
                    }
                }
            }
        }
        fields.finish()?;
        // Hash before storing anything: a bad request changes nothing.
        let new_hash = match (&new_password, purpose.as_str()) {
            (Some(p), "reset_password") => Some(passwords::hash(p)?),
            _ => None,
        };
        let correlation = outbox::correlation_id(&req);
        let user = store.transaction(|| {
            let Some(user) = store.user_by_email(&email)?.filter(|u| !u.blocked) else {
                return Ok(None);
            };
            if !consume(&store, &user.id, &purpose, &code)? {
                return Ok(None);
            }
            let user = match purpose.as_str() {
                "verify_email" => account::mark_verified(&store, user, &correlation)?,
                "reset_password" => {
                    let hash = new_hash.as_deref().unwrap_or_default();
                    store.set_user(&user.id, "password_hash", text(hash))?;
                    sessions::end_sessions(&store, &user.id, None, "password reset")?;
                    // The code reached the mailbox: the address is proven too.
                    account::mark_verified(&store, user, &correlation)?
                }
                _ => account::mark_verified(&store, user, &correlation)?,
            };
            Ok(Some(user))
        })?;
        let user = user.ok_or_else(rejected)?;
        outbox::flush(&store);
        match purpose.as_str() {
            "verify_email" => Ok(json(200, &user.me())),
            "reset_password" => Ok(account::no_content()),
            _ => Ok(json(200, &account::tokens_for(&store, &user)?)),
        }
    })
}

/// Tries `code` against the user's live code for `purpose`: counts the try, and uses the code
/// up when it matches. The try is counted first, so a sixth try fails even when right.
fn consume(store: &Store, user_id: &str, purpose: &str, code: &str) -> Result<bool, Problem> {
    let now = now_ms() as i64;
    let live = store.run(
        "UPDATE one_time_codes SET attempts = attempts + 1
         WHERE id = (SELECT id FROM one_time_codes WHERE user_id = ? AND purpose = ?
                     AND used_at IS NULL ORDER BY created_at DESC LIMIT 1)
           AND expires_at > ? AND attempts < ?
         RETURNING id, code_hash",
        &[text(user_id), text(purpose), int(now), int(MAX_TRIES)],
    )?;
    let Some(row) = live.rows.first() else {
        return Ok(false);
    };
    let id = get_text(&row.values, 0);
    let expected = get_text(&row.values, 1);
    if !constant_time_eq(expected.as_bytes(), code_hash(&id, code.trim()).as_bytes()) {
        return Ok(false);
    }
    let used = store.run(
        "UPDATE one_time_codes SET used_at = ? WHERE id = ? AND used_at IS NULL RETURNING 1",
        &[int(now), text(&id)],
    )?;
    Ok(used
        .rows
        .first()
        .is_some_and(|r| get_int(&r.values, 0) == 1))
}

fn purpose(fields: &mut Fields) -> String {
    let purpose = fields.string("purpose");
    if fields.errors.iter().all(|e| e.field != "purpose") && !PURPOSES.contains(&purpose.as_str()) {
        fields.error(
            "purpose",
            "must be \"verify_email\", \"reset_password\" or \"login\"",
        );
    }
    purpose
}

/// Six uniformly random digits.
fn six_digits() -> Result<String, Problem> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
        let n = u32::from_le_bytes(bytes);
        // Reject the top sliver so every code is equally likely.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn code_hash(id: &str, code: &str) -> String {
    sha256_hex(&format!("{id}:{code}"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
