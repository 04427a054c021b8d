//! A transactional outbox: an event is written to the component's own database in the same
//! transaction as the change it announces, published to the bus after the commit, and deleted
//! once Redis has it. When Redis is away, events wait for the next flush; consumers handle each
//! envelope id once, so publishing again after a crash is harmless.
//!
//! The database needs `CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, envelope
//! TEXT NOT NULL)`.

use super::{Event, Publisher, new_envelope};
use crate::sql::{get_int, get_text, int, text};
use spin_sdk::sqlite::Connection;

/// Records `event` for publishing; call inside the transaction that makes the change.
pub fn record(
    conn: &Connection,
    producer: &str,
    event: Event,
    correlation_id: &str,
) -> Result<(), String> {
    let envelope = new_envelope(event, producer, correlation_id);
    let json = serde_json::to_string(&envelope).map_err(|e| e.to_string())?;
    conn.execute("INSERT INTO outbox (envelope) VALUES (?)", &[text(json)])
        .map_err(|e| format!("outbox: {e}"))?;
    Ok(())
}

/// Publishes what the outbox holds, oldest first, stopping at the first failure (so order is
/// kept). Failures are logged: the changes themselves already committed.
pub fn flush(conn: &Connection, producer: &str) {
    let Some(redis_url) = crate::variable("redis_url") else {
        eprintln!("outbox: the redis_url variable is not set; events wait");
        return;
    };
    let pending = match conn.execute(
        "SELECT seq, envelope FROM outbox ORDER BY seq LIMIT 100",
        &[],
    ) {
        Ok(result) => result,
        Err(e) => return eprintln!("outbox: {e}"),
    };
    if pending.rows.is_empty() {
        return;
    }
    let publisher = match Publisher::connect(&redis_url, producer) {
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
        if let Err(e) = published {
            return eprintln!("outbox: publishing event {seq}: {e}");
        }
        if let Err(e) = conn.execute("DELETE FROM outbox WHERE seq = ?", &[int(seq)]) {
            return eprintln!("outbox: {e}");
        }
    }
}

/// The request's `x-request-id` when it has a sane one, else a new id: it ties together the
/// events one request causes.
pub fn correlation_id(req: &spin_sdk::http::Request) -> String {
    req.header("x-request-id")
        .and_then(|h| h.as_str())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| super::new_ulid(crate::time::now_ms()))
}
