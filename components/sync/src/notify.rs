//! Waking the polls that wait on a scope. Each change adds an entry to the Redis stream
//! `spindle:sync:{scope}` with the id `{version}-*`; a poll that has seen version V blocks in
//! `XREAD` after `V-0`, so a change made between its read and its wait is not missed. A
//! rejection (no new version) adds `{version}-N`, which wakes the polls to look again.
//! `XREAD`, not a list pop: every waiting device must wake, not one of them.

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// Entries kept per stream: a poll only needs the newest.
const KEEP: i64 = 32;

pub fn stream_key(scope: &str) -> String {
    format!("spindle:sync:{scope}")
}

fn redis() -> Result<Connection, String> {
    let url = spindle_shared::variable("redis_url").ok_or("the redis_url variable is not set")?;
    Connection::open(&url).map_err(|e| format!("cannot open Redis: {e}"))
}

fn bin(s: &str) -> RedisParameter {
    RedisParameter::Binary(s.as_bytes().to_vec())
}

/// Announces `version` of `scope`. Best effort: polls that miss it see the change when their
/// wait ends.
pub fn changed(scope: &str, version: i64) {
    if let Err(e) = redis().and_then(|conn| add(&conn, scope, version)) {
        eprintln!("sync notify {scope} v{version}: {e}");
    }
}

fn add(conn: &Connection, scope: &str, version: i64) -> Result<(), String> {
    let key = stream_key(scope);
    let args = [
        bin(&key),
        bin("MAXLEN"),
        RedisParameter::Int64(KEEP),
        bin(&format!("{version}-*")),
        bin("v"),
        RedisParameter::Int64(version),
    ];
    match conn.execute("XADD", &args) {
        Ok(_) => Ok(()),
        // The stream holds newer ids than this state (its database was replaced): start over.
        Err(e) if e.to_string().contains("equal or smaller") => {
            conn.del(std::slice::from_ref(&key))
                .map_err(|e| e.to_string())?;
            conn.execute("XADD", &args)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Wakes the Redis-triggered command handler (for a command whose own wake-up was lost).
pub fn wake_handler() {
    let channel = spindle_shared::events::wake_channel("sync.command");
    if let Err(e) = redis().and_then(|c| c.publish(&channel, b"stuck").map_err(|e| e.to_string())) {
        eprintln!("sync: cannot wake the command handler: {e}");
    }
}

/// A connection a poll waits on.
pub struct Waiter {
    conn: Connection,
    key: String,
    last: String,
}

impl Waiter {
    /// Waits for changes of `scope` after `version`.
    pub fn new(scope: &str, version: i64) -> Result<Self, String> {
        Ok(Self {
            conn: redis()?,
            key: stream_key(scope),
            last: format!("{version}-0"),
        })
    }

    /// Blocks up to `ms` for the next entry; `Ok(true)` when one came.
    pub fn wait(&mut self, ms: u64) -> Result<bool, String> {
        let args = [
            bin("COUNT"),
            RedisParameter::Int64(1),
            bin("BLOCK"),
            RedisParameter::Int64(ms.max(1) as i64),
            bin("STREAMS"),
            bin(&self.key),
            bin(&self.last),
        ];
        let reply = self
            .conn
            .execute("XREAD", &args)
            .map_err(|e| format!("XREAD: {e}"))?;
        // Flattened: [key, id, "v", version], or nothing / [nil] when the wait ran out.
        match reply.get(1) {
            Some(RedisResult::Binary(id)) => {
                self.last = String::from_utf8_lossy(id).into_owned();
                Ok(true)
            }
            Some(RedisResult::Status(id)) => {
                self.last = id.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Forgets a scope's stream (its state is gone).
pub fn forget(scope: &str) {
    if let Err(e) = redis().and_then(|c| c.del(&[stream_key(scope)]).map_err(|e| e.to_string())) {
        eprintln!("sync notify: {e}");
    }
}
