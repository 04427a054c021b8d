//! The event handlers: one per topic this component consumes.

use crate::config;
use crate::delivery::send_all;
use crate::email::{self, Transport};
use crate::store::Store;
use spindle_shared::events::{Consumer, DrainReport, Envelope, Event, new_ulid};

/// The consumer group: this component's id.
pub const GROUP: &str = "notification";

/// Topics consumed; each has a `[[trigger.redis]]` wake-up channel in spin.toml.
pub const TOPICS: &[&str] = &[
    "user.created",
    "user.otp_requested",
    "user.deleted",
    "track.published",
    "playlist.shared",
    "artist.followed",
    "artist.unfollowed",
];

/// Handles everything pending for the group.
pub fn drain() -> Result<DrainReport, String> {
    with_consumer(|consumer| consumer.drain().map_err(|e| e.to_string()))?
}

/// Runs `f` with the group's consumer, every topic's handler registered.
pub fn with_consumer<T>(f: impl FnOnce(&Consumer<'_>) -> T) -> Result<T, String> {
    let store = Store::open()?;
    let transport = config::transport();
    let handle = |envelope: &Envelope| handle(&store, &transport, envelope);
    let mut consumer = Consumer::connect(&config::redis_url()?, GROUP)
        .map_err(|e| e.to_string())?
        .retry_policy(config::retry_policy());
    for topic in TOPICS {
        consumer = consumer.on(topic, handle);
    }
    Ok(f(&consumer))
}

fn handle(store: &Store, transport: &Transport, envelope: &Envelope) -> Result<(), String> {
    let site = config::site();
    let event_id = envelope.id.as_str();
    match &envelope.payload {
        Event::UserCreated(e) => {
            store.upsert_user(&e.user_id, &e.email, &e.display_name)?;
            let welcome = email::welcome(&site, &e.email, &e.display_name);
            send_all(store, transport, event_id, &[("welcome", welcome)])
        }
        Event::UserOtpRequested(e) => {
            // Security mail: always sent, whatever the user's preferences.
            let code = email::one_time_code(&site, &e.email, &e.code, &e.purpose, &e.expires_at);
            send_all(store, transport, event_id, &[("one_time_code", code)])
        }
        Event::UserDeleted(e) => store.erase_user(&e.user_id),
        Event::ArtistFollowed(e) => store.follow(&e.artist_id, &e.follower_id, true),
        Event::ArtistUnfollowed(e) => store.follow(&e.artist_id, &e.follower_id, false),
        Event::TrackPublished(e) => {
            let link = format!("{}/songs/{}", site.web_url, e.song_id);
            let title = format!("New from {}", e.artist_name);
            let mut emails = Vec::new();
            for (follower, wants_email) in store.followers(&e.artist_id)? {
                let body = format!("{} released “{}”.", e.artist_name, e.title);
                store.add_notification(
                    &new_ulid(now_ms()),
                    &follower,
                    event_id,
                    "new_release",
                    (&title, &body, Some(&link)),
                )?;
                if wants_email && let Some(to) = store.user_email(&follower)? {
                    emails.push((
                        "new_release",
                        email::new_release(&site, &to, &e.artist_name, &e.title, &e.song_id),
                    ));
                }
            }
            send_all(store, transport, event_id, &emails)
        }
        Event::PlaylistShared(e) => {
            let link = format!("{}/playlists/{}", site.web_url, e.playlist_id);
            let title = format!("{} shared a playlist with you", e.owner_name);
            store.add_notification(
                &new_ulid(now_ms()),
                &e.shared_with,
                event_id,
                "playlist_shared",
                (&title, &e.title, Some(&link)),
            )?;
            match store.user_email(&e.shared_with)? {
                Some(to) => {
                    let mail =
                        email::playlist_shared(&site, &to, &e.owner_name, &e.title, &e.playlist_id);
                    send_all(store, transport, event_id, &[("playlist_shared", mail)])
                }
                None => Ok(()),
            }
        }
        // Topics this component does not act on.
        Event::UserRoleChanged(_)
        | Event::UserBlocked(_)
        | Event::TrackDeleted(_)
        | Event::SyncCommand(_)
        | Event::AlbumChanged(_)
        | Event::AlbumDeleted(_) => Ok(()),
    }
}

fn now_ms() -> u64 {
    spindle_shared::time::now_ms()
}
