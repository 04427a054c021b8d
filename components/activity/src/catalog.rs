//! What the catalog says, asked with the caller's own token so its visibility rules apply.

use serde_json::Value;
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::services::{self, Song};
use std::collections::HashMap;
use std::time::Duration;

fn authorization(req: &Request) -> Option<&str> {
    req.header("authorization").and_then(|h| h.as_str())
}

/// The songs among `ids` the caller may see, by id.
pub fn visible(ids: &[&str], req: &Request) -> Result<HashMap<String, Song>, Problem> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    services::songs(ids, authorization(req))
}

/// One song as the caller may see it, parsed; `None` when they may not (or it does not exist).
pub fn visible_song(id: &str, req: &Request) -> Result<Option<Value>, Problem> {
    Ok(visible(&[id], req)?
        .remove(id)
        .and_then(|song| serde_json::from_str(song.json.get()).ok()))
}

/// The artists the caller follows (empty when the catalog cannot say).
pub fn followed_artists(req: &Request) -> Vec<String> {
    let Some(auth) = authorization(req) else {
        return Vec::new();
    };
    let reply = spindle_shared::http::send(
        "GET",
        "http://catalog.spin.internal/api/me/following",
        &[("authorization", auth)],
        &[],
        Duration::from_secs(5),
        1 << 20,
    );
    match reply {
        Ok(r) if r.status == 200 => serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| {
                v["items"].as_array().map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i["id"].as_str().map(String::from))
                        .collect()
                })
            })
            .unwrap_or_default(),
        Ok(r) => {
            eprintln!("catalog following: status {}", r.status);
            Vec::new()
        }
        Err(e) => {
            eprintln!("catalog following: {e}");
            Vec::new()
        }
    }
}
