//! The event bus: publishing is one call, consuming is one handler per topic.
//!
//! Plain Redis pub/sub drops what is sent while nobody listens, and Spin's Redis trigger neither
//! acknowledges nor retries, so pub/sub here is only the wake-up. Delivery goes through Redis
//! Streams:
//!
//! * each topic is a stream, `spindle:events:TOPIC`, holding the JSON envelope of each event;
//! * each consuming component is a consumer group on the streams it reads; a wake-up (the
//!   `spindle.events.TOPIC` channel, or the retry timer's expiry) drains everything pending;
//! * an event is acknowledged only after its handler succeeded; a failure stays pending and is
//!   retried with exponential backoff, and after the last attempt it moves, with its error, to
//!   the group's dead-letter stream `spindle:dead:GROUP`, from where it can be replayed;
//! * handled event ids are remembered per group (`spindle:processed:GROUP`, seven days), so an
//!   event delivered twice is handled once.

pub mod admin;
mod consume;
pub mod outbox;
mod publish;
pub mod redis;

pub use crate::platform::events::*;
pub use consume::{Consumer, DeadLetter, DrainReport, Handler, RetryPolicy};
pub use publish::{Publisher, new_ulid};

/// Streams keep this long a history for consumers that were away.
pub const RETENTION_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// The topic of an event: the name of its stream and wake-up channel.
pub fn topic(event: &Event) -> &'static str {
    match event {
        Event::UserCreated(_) => "user.created",
        Event::UserOtpRequested(_) => "user.otp_requested",
        Event::UserRoleChanged(_) => "user.role_changed",
        Event::UserBlocked(_) => "user.blocked",
        Event::UserDeleted(_) => "user.deleted",
        Event::TrackPublished(_) => "track.published",
        Event::TrackDeleted(_) => "track.deleted",
        Event::PlaylistShared(_) => "playlist.shared",
        Event::AlbumChanged(_) => "album.changed",
        Event::AlbumDeleted(_) => "album.deleted",
        Event::ArtistFollowed(_) => "artist.followed",
        Event::ArtistUnfollowed(_) => "artist.unfollowed",
        Event::SyncCommand(_) => "sync.command",
    }
}

/// The current schema version of every payload.
pub const SCHEMA_VERSION: u32 = 1;

/// A new envelope for `event`, stamped with the current time and a fresh ULID.
pub fn new_envelope(event: Event, producer: &str, correlation_id: &str) -> Envelope {
    let now = crate::time::now_ms();
    Envelope {
        id: new_ulid(now),
        topic: topic(&event).to_string(),
        version: SCHEMA_VERSION,
        occurred_at: crate::time::rfc3339(now),
        producer: producer.to_string(),
        correlation_id: correlation_id.to_string(),
        payload: event,
    }
}

pub fn stream_key(topic: &str) -> String {
    format!("spindle:events:{topic}")
}

/// The pub/sub channel that wakes the consumers of `topic` (a `[[trigger.redis]] channel`).
pub fn wake_channel(topic: &str) -> String {
    format!("spindle.events.{topic}")
}

/// The channel Redis announces expired keys on (database 0); consumers subscribe to it to wake
/// up when a retry timer runs out.
pub const TIMER_CHANNEL: &str = "__keyevent@0__:expired";

/// Errors talking to Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct BusError(pub String);

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event bus: {}", self.0)
    }
}

impl std::error::Error for BusError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_through_json_with_their_topic() {
        let command = Event::SyncCommand(SyncCommand {
            command_id: "c1".into(),
            user_id: "u1".into(),
            device_id: "d1".into(),
            room_code: None,
            expected_version: Some(7),
            action: SyncAction::Transfer(Transfer {
                to_device_id: "d2".into(),
                keep_playing: true,
            }),
        });
        let envelope = new_envelope(command, "sync", "req-1");
        assert_eq!(envelope.topic, "sync.command");
        assert_eq!(envelope.version, SCHEMA_VERSION);
        let json = serde_json::to_string(&envelope).unwrap();
        let back: Envelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back, envelope);
    }

    #[test]
    fn a_consumer_reads_what_an_older_publisher_wrote_without_later_optional_fields() {
        // An `option` field added in a later version is simply absent in older events.
        let json = r#"{"id":"01J","topic":"user.otp_requested","version":1,
            "occurred_at":"2026-01-01T00:00:00.000Z","producer":"auth","correlation_id":"r",
            "payload":{"UserOtpRequested":{"email":"a@b.c","code":"123456",
            "purpose":"login","expires_at":"2026-01-01T00:10:00.000Z"}}}"#;
        let envelope: Envelope = serde_json::from_str(json).unwrap();
        match envelope.payload {
            Event::UserOtpRequested(otp) => assert_eq!(otp.user_id, None),
            other => panic!("read as {other:?}"),
        }
    }
}
