//! Publishing to the event bus from a test, exactly as `spindle_shared::events::Publisher`
//! does inside a component: append the envelope to its topic's stream, then wake the consumers.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use spindle_shared::events::{Envelope, stream_key, wake_channel};

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
}
