//! auth's events leave through its outbox (`spindle_shared::events::outbox`): written with the
//! change they announce, published after the commit.

use crate::store::Store;
use spindle_shared::Problem;
use spindle_shared::events::{Event, outbox};

pub use outbox::correlation_id;

const PRODUCER: &str = "auth";

/// Records `event` for publishing; call inside the transaction that makes the change.
pub fn record(store: &Store, event: Event, correlation_id: &str) -> Result<(), Problem> {
    Ok(outbox::record(
        &store.conn,
        PRODUCER,
        event,
        correlation_id,
    )?)
}

/// Publishes what waits in the outbox (after a commit).
pub fn flush(store: &Store) {
    outbox::flush(&store.conn, PRODUCER);
}
