//! Publishing: append the envelope to the topic's stream, then wake its consumers.

use super::redis::{Arg, Redis};
use super::{BusError, Envelope, Event, RETENTION_MS, new_envelope, stream_key, wake_channel};
use crate::time;

pub struct Publisher {
    redis: Redis,
    producer: String,
}

impl Publisher {
    /// `producer` is the publishing component's id.
    pub fn connect(redis_url: &str, producer: &str) -> Result<Self, BusError> {
        Ok(Self {
            redis: Redis::open(redis_url)?,
            producer: producer.to_string(),
        })
    }

    /// Stores the event durably, then wakes its consumers; returns the envelope sent.
    pub fn publish(&self, event: Event, correlation_id: &str) -> Result<Envelope, BusError> {
        let envelope = new_envelope(event, &self.producer, correlation_id);
        self.publish_envelope(&envelope)?;
        Ok(envelope)
    }

    /// Publishes an envelope made earlier (for example kept in an outbox table until its
    /// change committed). Publishing the same envelope twice is harmless: consumers handle
    /// each id once.
    pub fn publish_envelope(&self, envelope: &Envelope) -> Result<(), BusError> {
        let topic = envelope.topic.as_str();
        let now = time::now_ms();
        let json = serde_json::to_vec(&envelope).map_err(|e| BusError(e.to_string()))?;
        let stream = stream_key(topic);
        // Entries older than the retention window are trimmed as new ones arrive.
        let min_id = format!("{}", now.saturating_sub(RETENTION_MS));
        self.redis.run(
            "XADD",
            &[
                Arg::from(&stream),
                "MINID".into(),
                "~".into(),
                Arg::from(&min_id),
                "*".into(),
                "e".into(),
                Arg::Bytes(&json),
            ],
        )?;
        self.redis
            .publish(&wake_channel(topic), envelope.id.as_bytes())?;
        Ok(())
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: 48 bits of milliseconds and 80 random bits, as 26 Crockford base-32 characters, so
/// ids sort by time.
pub fn new_ulid(now_ms: u64) -> String {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).expect("the host provides randomness");
    let mut value: u128 = (u128::from(now_ms & 0xFFFF_FFFF_FFFF)) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (8 * (9 - i));
    }
    (0..26)
        .rev()
        .map(|i| CROCKFORD[((value >> (5 * i)) & 0x1F) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_sort_by_time_and_are_unique() {
        let a = new_ulid(1_700_000_000_000);
        let b = new_ulid(1_700_000_000_001);
        let c = new_ulid(1_700_000_000_001);
        assert_eq!(a.len(), 26);
        assert!(a < b);
        assert_ne!(b, c);
        assert!(a.chars().all(|ch| CROCKFORD.contains(&(ch as u8))));
    }
}
