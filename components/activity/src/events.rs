//! Consumed events: `track.published` (the song mirror), `track.deleted` (the song leaves every
//! list), `user.deleted` (the user's listens are anonymised; their counts and taste go),
//! `artist.followed` and `artist.unfollowed` (the follower's for-you list is made again).

use crate::store;
use spindle_shared::Problem;
use spindle_shared::events::{Consumer, DrainReport, Envelope, Event, new_ulid};
use spindle_shared::sql::text;
use spindle_shared::time::now_ms;

/// The consumer group: this component's id.
pub const GROUP: &str = "activity";

pub fn drain() -> Result<DrainReport, String> {
    let redis_url =
        spindle_shared::variable("redis_url").ok_or("the redis_url variable is not set")?;
    let handle = |envelope: &Envelope| {
        let result = match &envelope.payload {
            Event::TrackPublished(e) => store::open().and_then(|db| {
                store::remember_song(
                    &db,
                    &e.song_id,
                    &e.artist_id,
                    e.genre.as_deref(),
                    e.tags.as_deref().unwrap_or_default(),
                    now_ms(),
                )
            }),
            Event::TrackDeleted(e) => track_deleted(&e.song_id),
            Event::UserDeleted(e) => user_deleted(&e.user_id),
            // New releases of followed artists are part of for-you: a follow or an unfollow
            // makes the follower's cached list stale.
            Event::ArtistFollowed(e) => forget_for_you(&e.follower_id),
            Event::ArtistUnfollowed(e) => forget_for_you(&e.follower_id),
            _ => Ok(()),
        };
        result.map_err(|p| p.to_string())
    };
    Consumer::connect(&redis_url, GROUP)
        .map_err(|e| e.to_string())?
        .on("track.published", handle)
        .on("track.deleted", handle)
        .on("user.deleted", handle)
        .on("artist.followed", handle)
        .on("artist.unfollowed", handle)
        .drain()
        .map_err(|e| e.to_string())
}

fn forget_for_you(user_id: &str) -> Result<(), Problem> {
    store::uncache(&store::open()?, &crate::for_you::cache_key(user_id))
}

fn track_deleted(song_id: &str) -> Result<(), Problem> {
    let db = store::open()?;
    db.transaction(|| {
        db.run(
            "INSERT INTO songs (id, artist_id, published_at, deleted) VALUES (?, '', 0, 1)
             ON CONFLICT (id) DO UPDATE SET deleted = 1",
            &[text(song_id)],
        )?;
        db.run("DELETE FROM pairs WHERE a = ?1 OR b = ?1", &[text(song_id)])?;
        db.run("DELETE FROM song_tags WHERE song_id = ?", &[text(song_id)])?;
        db.run("DELETE FROM caches", &[])?;
        Ok(())
    })
}

/// The user's listens stay, anonymised (no longer theirs, no device), so per-song counts and
/// co-listening stay — also through a rebuild; their per-user counts, taste and history go.
fn user_deleted(user_id: &str) -> Result<(), Problem> {
    let db = store::open()?;
    let alias = format!("deleted:{}", new_ulid(now_ms()));
    db.transaction(|| {
        db.run(
            "UPDATE listens SET user_id = ?, device_id = NULL WHERE user_id = ?",
            &[text(&alias), text(user_id)],
        )?;
        for table in ["user_songs", "tastes"] {
            db.run(
                &format!("DELETE FROM {table} WHERE user_id = ?"),
                &[text(user_id)],
            )?;
        }
        store::uncache(&db, &crate::for_you::cache_key(user_id))
    })
}
