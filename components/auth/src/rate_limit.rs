//! Rate limits: fixed windows counted in the database, per email and per client address.

use crate::store::Store;
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::sql::{get_int, int, text};
use spindle_shared::time::now_ms;

/// At most `max` attempts per `window_secs`, per key.
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window_secs: u64,
}

pub const LOGIN_FAILURES_PER_EMAIL: Limit = Limit {
    name: "login-failures-email",
    max: 10,
    window_secs: 15 * 60,
};
pub const LOGIN_PER_ADDRESS: Limit = Limit {
    name: "login-address",
    max: 30,
    window_secs: 60,
};
pub const REGISTER_PER_ADDRESS: Limit = Limit {
    name: "register-address",
    max: 20,
    window_secs: 60 * 60,
};
/// With 5 tries per code this allows 25 guesses an hour at one account's six digits.
pub const CODES_PER_EMAIL: Limit = Limit {
    name: "otp-email",
    max: 5,
    window_secs: 60 * 60,
};
pub const CODES_PER_ADDRESS: Limit = Limit {
    name: "otp-address",
    max: 20,
    window_secs: 15 * 60,
};
/// Each Google sign-in that starts keeps a row for ten minutes.
pub const GOOGLE_PER_ADDRESS: Limit = Limit {
    name: "google-address",
    max: 30,
    window_secs: 15 * 60,
};
pub const VERIFY_PER_ADDRESS: Limit = Limit {
    name: "otp-verify-address",
    max: 30,
    window_secs: 15 * 60,
};

impl Limit {
    /// `(max, window_secs)`: the defaults above, or the operator's override from the variable
    /// `auth_rate_limits` (`name=MAX/SECONDS,...`, e.g. `login-address=300/60` behind a NAT).
    fn settings(&self) -> (i64, u64) {
        let overrides = spindle_shared::variable("auth_rate_limits").unwrap_or_default();
        overrides
            .split(',')
            .filter_map(|entry| entry.trim().split_once('='))
            .filter(|(name, _)| *name == self.name)
            .filter_map(|(_, value)| {
                let (max, secs) = value.split_once('/')?;
                Some((max.trim().parse().ok()?, secs.trim().parse().ok()?))
            })
            .find(|&(_, secs): &(i64, u64)| secs > 0)
            .unwrap_or((self.max, self.window_secs))
    }

    fn window(&self) -> (i64, i64, u64) {
        let (max, window_secs) = self.settings();
        let window_ms = window_secs * 1000;
        let now = now_ms();
        let start = now - now % window_ms;
        let retry_after = (start + window_ms - now).div_ceil(1000).max(1);
        (max, start as i64, retry_after)
    }

    /// Counts one attempt for `key`; 429 when it is over the limit.
    pub fn hit(&self, store: &Store, key: &str) -> Result<(), Problem> {
        let (max, start, retry_after) = self.window();
        let result = store.run(
            "INSERT INTO rate_limits (bucket, window_start, count) VALUES (?1, ?2, 1)
             ON CONFLICT (bucket) DO UPDATE SET
               count = CASE WHEN window_start = ?2 THEN count + 1 ELSE 1 END,
               window_start = ?2
             RETURNING count",
            &[text(self.bucket(key)), int(start)],
        )?;
        let count = result.rows.first().map_or(0, |r| get_int(&r.values, 0));
        if count > max {
            return Err(Problem::too_many_requests(retry_after));
        }
        Ok(())
    }

    /// 429 when `key` has used up its attempts, without counting this one.
    pub fn check(&self, store: &Store, key: &str) -> Result<(), Problem> {
        let (max, start, retry_after) = self.window();
        let result = store.run(
            "SELECT count FROM rate_limits WHERE bucket = ? AND window_start = ?",
            &[text(self.bucket(key)), int(start)],
        )?;
        let count = result.rows.first().map_or(0, |r| get_int(&r.values, 0));
        if count >= max {
            return Err(Problem::too_many_requests(retry_after));
        }
        Ok(())
    }

    /// Forgets `key`'s count (after a successful login, its failures no longer matter).
    pub fn reset(&self, store: &Store, key: &str) -> Result<(), Problem> {
        store.run(
            "DELETE FROM rate_limits WHERE bucket = ?",
            &[text(self.bucket(key))],
        )?;
        Ok(())
    }

    fn bucket(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }
}

/// The client's address (Spin's `spin-client-addr` header, without the port).
pub fn client_address(req: &Request) -> String {
    let addr = req
        .header("spin-client-addr")
        .and_then(|h| h.as_str())
        .unwrap_or("unknown");
    match addr.parse::<std::net::SocketAddr>() {
        Ok(socket) => socket.ip().to_string(),
        Err(_) => addr.to_string(),
    }
}
