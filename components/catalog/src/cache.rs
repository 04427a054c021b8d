//! A cache of hot JSON reads (song lists 5 minutes, single songs and artist profiles 10
//! minutes) in the key-value store, and `ETag`/304 on those reads.
//!
//! Invalidation is by generation: every write that changes what a read shows sets a new
//! random generation *after* its commit, and a reader notes the generation *before* it reads
//! the database. An entry is used only while its generation is current, so a reader that
//! raced a write files its stale answer under a generation nobody reads again — a hidden or
//! deleted song is never served from the cache. Keys are fixed per read (no generation in
//! them), so the store holds at most one entry per song, artist and cached list.

use sha2::{Digest, Sha256};
use spin_sdk::http::{Request, Response};
use spin_sdk::key_value::Store;
use spindle_shared::time::now_ms;

const STORE: &str = "default";
const GENERATION_KEY: &str = "catalog:generation";
pub const LIST_TTL_MS: u64 = 5 * 60 * 1000;
pub const ITEM_TTL_MS: u64 = 10 * 60 * 1000;

pub struct Cache {
    store: Option<Store>,
    generation: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    generation: String,
    expires_at_ms: u64,
    etag: String,
    body: String,
}

impl Cache {
    /// Opens the cache and notes the current generation (call before reading the database).
    /// Without a working store the cache is simply off.
    pub fn open() -> Self {
        let store = Store::open(STORE)
            .inspect_err(|e| eprintln!("cache off: {e}"))
            .ok();
        let generation = store
            .as_ref()
            .and_then(|s| s.get(GENERATION_KEY).ok().flatten())
            .and_then(|g| String::from_utf8(g).ok())
            .unwrap_or_default();
        Self { store, generation }
    }

    /// The cached JSON body for `key`, while fresh and of the current generation.
    pub fn get(&self, key: &str) -> Option<(String, String)> {
        let store = self.store.as_ref()?;
        let bytes = store.get(&format!("catalog:cache:{key}")).ok()??;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.generation == self.generation && entry.expires_at_ms > now_ms())
            .then_some((entry.etag, entry.body))
    }

    /// Files `body` under `key` for `ttl_ms`, with the generation noted at [`Cache::open`].
    pub fn put(&self, key: &str, body: &str, ttl_ms: u64) {
        let Some(store) = &self.store else { return };
        let entry = Entry {
            generation: self.generation.clone(),
            expires_at_ms: now_ms() + ttl_ms,
            etag: etag(body.as_bytes()),
            body: body.to_string(),
        };
        if let Ok(bytes) = serde_json::to_vec(&entry)
            && let Err(e) = store.set(&format!("catalog:cache:{key}"), &bytes)
        {
            eprintln!("cache: {e}");
        }
    }
}

/// Makes every cached answer stale; call after a write committed.
pub fn invalidate() {
    let generation = spindle_shared::events::new_ulid(now_ms());
    match Store::open(STORE) {
        Ok(store) => {
            if let Err(e) = store.set(GENERATION_KEY, generation.as_bytes()) {
                eprintln!("cache invalidation failed: {e}");
            }
        }
        Err(e) => eprintln!("cache invalidation failed: {e}"),
    }
}

/// A strong ETag for a body.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A JSON answer with its `ETag`, or 304 when the client's `If-None-Match` has it.
pub fn json_with_etag(req: &Request, etag: &str, body: String) -> Response {
    let matches = req
        .header("if-none-match")
        .and_then(|h| h.as_str())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = Response::builder();
    response
        .header("etag", etag)
        .header("cache-control", "no-cache");
    if matches {
        return response.status(304).build();
    }
    response
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .build()
}
