//! The component's settings (Spin variables) and limits.

/// The largest JSON body (a `set_queue` of 1,000 song ids fits).
pub const MAX_BODY: usize = spindle_shared::http::MAX_JSON_BODY;
/// Devices one user may register.
pub const MAX_DEVICES: i64 = 50;
/// The longest a poll may wait, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// Song ids per `set_queue` and per `add_to_queue`.
pub const MAX_SET_QUEUE: usize = 1_000;
pub const MAX_ADD_TO_QUEUE: usize = 100;
/// Failed room joins a user may make per window before 429.
pub const MAX_JOIN_FAILURES: i64 = 10;
pub const JOIN_WINDOW_MS: u64 = 60_000;
/// How long a command id is remembered (retries within it are applied once).
pub const COMMAND_RETENTION_MS: u64 = 7 * 24 * 60 * 60 * 1000;

use std::sync::OnceLock;

/// A variable in seconds, read once per instance (a room's view asks for each member).
fn secs(cell: &OnceLock<u64>, name: &str, default: u64) -> u64 {
    *cell.get_or_init(|| {
        spindle_shared::variable(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    })
}

/// A device that made no request for this long is gone: it stops being the active player.
pub fn device_timeout_ms() -> u64 {
    static SECS: OnceLock<u64> = OnceLock::new();
    secs(&SECS, "device_timeout_secs", 60) * 1000
}

/// A listening room closes after it has been empty this long.
pub fn room_idle_ms() -> u64 {
    static SECS: OnceLock<u64> = OnceLock::new();
    secs(&SECS, "room_idle_secs", 300) * 1000
}

/// Last-seen times are written at most this often (a tenth of the device timeout, at most
/// 5 s): precise enough to judge the timeout, without a write per poll.
pub fn touch_every_ms() -> u64 {
    (device_timeout_ms() / 10).min(5_000)
}
