//! Events leave through an outbox: written in the same transaction as the change they
//! announce, published to the bus after the commit, and deleted once Redis has them. When
//! Redis is away they wait for the next write's flush; consumers handle each envelope id once,
//! so a publish repeated after a crash is harmless.

use crate::store::Store;
use spindle_shared::Problem;
use spindle_shared::events::{Event, Publisher, new_envelope};
use spindle_shared::sql::{get_int, get_text, int, text};

const PRODUCER: &str = "auth";

/// Records `event` for publishing; call inside the transaction that makes the change.
pub fn record(store: &Store, event: Event, correlation_id: &str) -> Result<(), Problem> {
    let envelope = new_envelope(event, PRODUCER, correlation_id);
    let json = serde_json::to_string(&envelope).map_err(|e| Problem::internal(e.to_string()))?;
    store.run("INSERT INTO outbox (envelope) VALUES (?)", &[text(json)])?;
    Ok(())
}

/// Publishes what the outbox holds, oldest first, stopping at the first failure (so order is
/// kept). Failures are logged: the change itself already committed.
pub fn flush(store: &Store) {
    let Some(redis_url) = spindle_shared::variable("redis_url") else {
        eprintln!("outbox: the redis_url variable is not set; events wait");
        return;
    };
    let pending = match store.run(
        "SELECT seq, envelope FROM outbox ORDER BY seq LIMIT 100",
        &[],
    ) {
        Ok(result) => result,
        Err(e) => return eprintln!("outbox: {e}"),
    };
    if pending.rows.is_empty() {
        return;
    }
    let publisher = match Publisher::connect(&redis_url, PRODUCER) {
        Ok(publisher) => publisher,
        Err(e) => return eprintln!("outbox: {e}"),
    };
    for row in &pending.rows {
        let seq = get_int(&row.values, 0);
        let published = serde_json::from_str(&get_text(&row.values, 1))
            .map_err(|e| e.to_string())
            .and_then(|envelope| {
                publisher
                    .publish_envelope(&envelope)
                    .map_err(|e| e.to_string())
            });
        match published {
            Ok(()) => {
                if let Err(e) = store.run("DELETE FROM outbox WHERE seq = ?", &[int(seq)]) {
                    return eprintln!("outbox: {e}");
                }
            }
            Err(e) => return eprintln!("outbox: publishing event {seq}: {e}"),
        }
    }
}

/// The request's `x-request-id` when it has a sane one, else a new id: it ties the events a
/// request causes together.
pub fn correlation_id(req: &spin_sdk::http::Request) -> String {
    req.header("x-request-id")
        .and_then(|h| h.as_str())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| spindle_shared::events::new_ulid(spindle_shared::time::now_ms()))
}
