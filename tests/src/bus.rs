//! The event bus from a test: publishing exactly as `spindle_shared::events::Publisher` does
//! inside a component (append the envelope to its topic's stream, then wake the consumers),
//! and reading what components published.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use spindle_shared::events::{Envelope, stream_key, wake_channel};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Clone)]
pub struct EventBus {
    pub conn: MultiplexedConnection,
}

impl EventBus {
    pub async fn connect(url: &str) -> Self {
        let conn = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        Self { conn }
    }

    /// Appends an event to its topic's stream without waking anyone.
    pub async fn append(&mut self, envelope: &Envelope) {
        let json = serde_json::to_vec(envelope).unwrap();
        self.append_raw(&envelope.topic, &json).await;
    }

    /// Appends `e = bytes` to `topic`'s stream, whatever the bytes are.
    pub async fn append_raw(&mut self, topic: &str, bytes: &[u8]) {
        let _: String = redis::cmd("XADD")
            .arg(stream_key(topic))
            .arg("*")
            .arg("e")
            .arg(bytes)
            .query_async(&mut self.conn)
            .await
            .unwrap();
    }

    /// Wakes the consumers of `topic`, as a publisher does after appending.
    pub async fn wake(&mut self, topic: &str) {
        let _: i64 = self
            .conn
            .publish(wake_channel(topic), "wake")
            .await
            .unwrap();
    }

    /// What `Publisher::publish` does: append, then wake.
    pub async fn publish(&mut self, envelope: &Envelope) {
        self.append(envelope).await;
        let _: i64 = self
            .conn
            .publish(wake_channel(&envelope.topic), &envelope.id)
            .await
            .unwrap();
    }

    /// Whether the consumer group `group` has handled the event `id` (it is in the group's
    /// processed set).
    pub async fn processed(&mut self, group: &str, id: &str) -> bool {
        let score: Option<f64> = self
            .conn
            .zscore(format!("spindle:processed:{group}"), id)
            .await
            .unwrap();
        score.is_some()
    }

    /// Waits up to `timeout` until the consumer group `group` has handled every event of `ids`.
    pub async fn wait_processed(&self, group: &str, ids: &[&str], timeout: Duration) {
        let what = format!("{group} to handle the events {ids:?}");
        crate::eventually(timeout, &what, || {
            let mut bus = self.clone();
            async move {
                for id in ids {
                    if !bus.processed(group, id).await {
                        return None;
                    }
                }
                Some(())
            }
        })
        .await
    }

    /// Every event on `topic`'s stream so far, oldest first, each once: an outbox publishes at
    /// least once (two flushes may both send an envelope before either deletes it), and
    /// consumers handle an envelope id once, so a repeated entry is the same event.
    pub async fn envelopes(&mut self, topic: &str) -> Vec<Envelope> {
        let mut seen = std::collections::HashSet::new();
        let mut envelopes = self.entries(topic).await;
        envelopes.retain(|envelope| seen.insert(envelope.id.clone()));
        envelopes
    }

    /// Every entry on `topic`'s stream so far, oldest first, repeats included; panics on an
    /// entry that is not an envelope of that topic.
    pub async fn entries(&mut self, topic: &str) -> Vec<Envelope> {
        let entries: Vec<(String, HashMap<String, Vec<u8>>)> = redis::cmd("XRANGE")
            .arg(stream_key(topic))
            .arg("-")
            .arg("+")
            .query_async(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("XRANGE {topic}: {e}"));
        entries
            .into_iter()
            .map(|(entry, fields)| {
                let e = fields
                    .get("e")
                    .unwrap_or_else(|| panic!("entry {entry} on {topic} has no field e"));
                let envelope: Envelope = serde_json::from_slice(e).unwrap_or_else(|err| {
                    panic!("entry {entry} on {topic} is not an envelope ({err}): {e:?}")
                });
                assert_eq!(envelope.topic, topic, "entry {entry}");
                envelope
            })
            .collect()
    }
}
