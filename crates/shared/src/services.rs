//! What other components know, asked over Spin service chaining: songs from the catalog, users
//! from auth. No component reads another's tables.
//!
//! Songs come from `POST http://catalog.spin.internal/api/songs/batch` (at most 100 ids a
//! call, up to 16 calls at once) with the caller's own `Authorization`, so the catalog's
//! visibility rules apply.

use crate::Problem;
use crate::http::{Outbound, send_all};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const BATCH_URL: &str = "http://catalog.spin.internal/api/songs/batch";
/// The catalog's limit per batch call.
const BATCH_SIZE: usize = 100;
/// Batch calls in flight at once (a 10,000-entry playlist needs 100 of them).
const IN_FLIGHT: usize = 16;
const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_ANSWER_BYTES: usize = 8 << 20;

/// A song as the catalog showed it to the caller: its JSON as it came (passed on untouched),
/// and the field this component reads.
#[derive(Clone)]
pub struct Song {
    pub artist_id: String,
    pub json: Box<RawValue>,
}

/// The songs among `ids` the caller may see, by id.
pub fn songs(ids: &[&str], authorization: Option<&str>) -> Result<HashMap<String, Song>, Problem> {
    let mut seen = HashSet::new();
    let unique: Vec<&str> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    let bodies: Vec<Vec<u8>> = unique
        .chunks(BATCH_SIZE)
        .map(|chunk| serde_json::to_vec(&serde_json::json!({ "ids": chunk })).unwrap_or_default())
        .collect();
    let mut headers = vec![("content-type", "application/json")];
    if let Some(authorization) = authorization {
        headers.push(("authorization", authorization));
    }
    let requests: Vec<Outbound<'_>> = bodies
        .iter()
        .map(|body| Outbound {
            method: "POST",
            url: BATCH_URL,
            headers: &headers,
            body,
        })
        .collect();
    let unavailable = |why: String| {
        eprintln!("catalog batch: {why}");
        Problem::new(503, "the catalog cannot answer right now; try again")
    };
    let mut found = HashMap::new();
    let replies = requests
        .chunks(IN_FLIGHT)
        .flat_map(|wave| send_all(wave, TIMEOUT, MAX_ANSWER_BYTES));
    for reply in replies {
        let reply = reply.map_err(unavailable)?;
        if reply.status == 401 {
            return Err(Problem::unauthorized("the access token was refused"));
        }
        if reply.status != 200 {
            return Err(unavailable(format!("status {}", reply.status)));
        }
        #[derive(Deserialize)]
        struct Answer {
            items: Vec<Box<RawValue>>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            id: String,
            artist_id: String,
        }
        let answer: Answer =
            serde_json::from_slice(&reply.body).map_err(|e| unavailable(e.to_string()))?;
        for json in answer.items {
            let head: Head =
                serde_json::from_str(json.get()).map_err(|e| unavailable(e.to_string()))?;
            let song = Song {
                artist_id: head.artist_id,
                json,
            };
            found.insert(head.id, song);
        }
    }
    Ok(found)
}

/// A user's display name from auth's public profile; `None` when there is no such user.
pub fn user_name(user_id: &str) -> Result<Option<String>, Problem> {
    let url = format!(
        "http://auth.spin.internal/api/users/{}",
        crate::http::percent_encode(user_id)
    );
    let (status, body) =
        crate::http::get_with_timeout(&url, Duration::from_secs(5)).map_err(|e| {
            eprintln!("auth profile: {e}");
            Problem::new(503, "accounts cannot be checked right now; try again")
        })?;
    match status {
        200 => Ok(Some(
            serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["displayName"].as_str().map(str::to_string))
                .unwrap_or_default(),
        )),
        404 => Ok(None),
        other => {
            eprintln!("auth profile: status {other}");
            Err(Problem::new(
                503,
                "accounts cannot be checked right now; try again",
            ))
        }
    }
}
