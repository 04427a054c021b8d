//! Waking the polls that wait on a scope. Each change adds an entry to the Redis stream
//! `spindle:sync:{scope}` with the id `{version}-*`; a poll that has seen version V blocks in
//! `XREAD` after `V-0`, so a change made between its read and its wait is not missed. A
//! rejection (no new version) adds `{version}-N`, which wakes the polls to look again.
//! `XREAD`, not a list pop: every waiting device must wake, not one of them.

use spindle_shared::events::redis::{Arg, Redis, text};

/// Entries kept per stream: a poll only needs the newest.
const KEEP: i64 = 32;

pub fn stream_key(scope: &str) -> String {
    format!("spindle:sync:{scope}")
}

fn redis() -> Result<Redis, String> {
    let url = spindle_shared::variable("redis_url").ok_or("the redis_url variable is not set")?;
    Redis::open(&url).map_err(|e| e.0)
}

/// Announces `version` of `scope`. Best effort: polls that miss it see the change when their
/// wait ends.
pub fn changed(scope: &str, version: i64) {
    if let Err(e) = redis().and_then(|conn| add(&conn, scope, version)) {
        eprintln!("sync notify {scope} v{version}: {e}");
    }
}

fn add(conn: &Redis, scope: &str, version: i64) -> Result<(), String> {
    let key = stream_key(scope);
    let id = format!("{version}-*");
    let args = [
        Arg::from(&key),
        "MAXLEN".into(),
        KEEP.into(),
        (&id).into(),
        "v".into(),
        version.into(),
    ];
    match conn.run("XADD", &args) {
        Ok(_) => Ok(()),
        // The stream holds newer ids than this state (its database was replaced): start over.
        Err(e) if e.0.contains("equal or smaller") => {
            conn.run("DEL", &[(&key).into()]).map_err(|e| e.0)?;
            conn.run("XADD", &args).map(drop).map_err(|e| e.0)
        }
        Err(e) => Err(e.0),
    }
}

/// Wakes the Redis-triggered command handler (for a command whose own wake-up was lost).
pub fn wake_handler() {
    let channel = spindle_shared::events::wake_channel("sync.command");
    if let Err(e) = redis().and_then(|c| c.publish(&channel, b"stuck").map_err(|e| e.0)) {
        eprintln!("sync: cannot wake the command handler: {e}");
    }
}

/// A connection a poll waits on.
pub struct Waiter {
    conn: Redis,
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
        let block = ms.max(1) as i64;
        let args = [
            "COUNT".into(),
            1.into(),
            "BLOCK".into(),
            block.into(),
            "STREAMS".into(),
            Arg::from(&self.key),
            Arg::from(&self.last),
        ];
        let reply = self.conn.run("XREAD", &args).map_err(|e| e.0)?;
        // Flattened: [key, id, "v", version], or nothing / [nil] when the wait ran out.
        match reply.get(1).and_then(text) {
            Some(id) => {
                self.last = id;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Forgets a scope's stream (its state is gone).
pub fn forget(scope: &str) {
    let key = stream_key(scope);
    if let Err(e) = redis().and_then(|c| c.run("DEL", &[(&key).into()]).map_err(|e| e.0)) {
        eprintln!("sync notify: {e}");
    }
}
