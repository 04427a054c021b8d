//! The catalog's events: `track.published` and `track.deleted` through its outbox, the
//! artist names it asks auth for, and what it consumes (`user.deleted`, `album.changed`,
//! `album.deleted`).

use crate::store::{Song, Store};
use spindle_shared::Problem;
use spindle_shared::events::{
    ArtistFollowed, ArtistUnfollowed, Event, TrackDeleted, TrackPublished, outbox,
};

const PRODUCER: &str = "catalog";

/// `track.published`, inside the transaction that makes the song visible the first time.
pub fn record_published(store: &Store, song: &Song, correlation: &str) -> Result<(), Problem> {
    let event = Event::TrackPublished(TrackPublished {
        song_id: song.id.clone(),
        artist_id: song.artist_id.clone(),
        artist_name: song.artist_name.clone(),
        title: song.title.clone(),
        genre: song.genre.clone(),
        tags: Some(song.tags.clone()),
    });
    Ok(outbox::record(&store.conn, PRODUCER, event, correlation)?)
}

pub fn record_deleted(store: &Store, song: &Song, correlation: &str) -> Result<(), Problem> {
    let event = Event::TrackDeleted(TrackDeleted {
        song_id: song.id.clone(),
        artist_id: song.artist_id.clone(),
    });
    Ok(outbox::record(&store.conn, PRODUCER, event, correlation)?)
}

/// `artist.followed` or `artist.unfollowed`, inside the transaction that changes the follow.
pub fn record_follow(
    store: &Store,
    artist_id: &str,
    follower_id: &str,
    on: bool,
    correlation: &str,
) -> Result<(), Problem> {
    let (artist_id, follower_id) = (artist_id.to_string(), follower_id.to_string());
    let event = if on {
        Event::ArtistFollowed(ArtistFollowed {
            artist_id,
            follower_id,
        })
    } else {
        Event::ArtistUnfollowed(ArtistUnfollowed {
            artist_id,
            follower_id,
        })
    };
    Ok(outbox::record(&store.conn, PRODUCER, event, correlation)?)
}

pub fn flush(store: &Store) {
    outbox::flush(&store.conn, PRODUCER);
}

/// The artist's display name: from auth's public profile (service chaining), remembered;
/// the remembered one when auth cannot answer.
pub fn artist_name(store: &Store, artist_id: &str) -> Result<String, Problem> {
    let url = format!("http://auth.spin.internal/api/users/{artist_id}");
    let fetched = spindle_shared::http::get_with_timeout(&url, std::time::Duration::from_secs(2))
        .ok()
        .filter(|(status, _)| *status == 200)
        .and_then(|(_, body)| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .and_then(|profile| profile["displayName"].as_str().map(str::to_string));
    match fetched {
        Some(name) => {
            store.upsert_artist(artist_id, &name)?;
            crate::search::index_artist(store, artist_id, &name)?;
            Ok(name)
        }
        None => Ok(store
            .artist_name(artist_id)?
            .unwrap_or_else(|| "Unknown artist".into())),
    }
}

/// The consumer group: this component's id.
pub const GROUP: &str = "catalog";

/// Handles every pending event of the topics the catalog consumes: `user.deleted` (the
/// artist's songs, media and albums go, the user's follows end), `album.changed` and
/// `album.deleted` (the catalog's copy of albums, for search and `songs.album_id`).
pub fn drain() -> Result<spindle_shared::events::DrainReport, String> {
    let redis_url =
        spindle_shared::variable("redis_url").ok_or("the redis_url variable is not set")?;
    let handle = |envelope: &spindle_shared::events::Envelope| match &envelope.payload {
        Event::UserDeleted(e) => erase_user(&e.user_id).map_err(|p| p.to_string()),
        Event::AlbumChanged(e) => crate::albums::changed(e).map_err(|p| p.to_string()),
        Event::AlbumDeleted(e) => crate::albums::deleted(e).map_err(|p| p.to_string()),
        _ => Ok(()),
    };
    spindle_shared::events::Consumer::connect(&redis_url, GROUP)
        .map_err(|e| e.to_string())?
        .on("user.deleted", handle)
        .on("album.changed", handle)
        .on("album.deleted", handle)
        .drain()
        .map_err(|e| e.to_string())
}

/// Erases a deleted user from the catalog: their songs (each announced as deleted) with their
/// media, and their follows either way. Running it twice changes nothing more.
fn erase_user(user_id: &str) -> Result<(), Problem> {
    let store = Store::open()?;
    let media = crate::media::storage::Media::open()?;
    let correlation = spindle_shared::events::new_ulid(spindle_shared::time::now_ms());
    for song in store.songs_of(user_id)? {
        store.transaction(|| {
            store.delete_song(&song.id)?;
            crate::search::remove(&store, "song", &song.id)?;
            record_deleted(&store, &song, &correlation)
        })?;
        for id in [Some(&song.media_id), song.cover_media_id.as_ref()]
            .into_iter()
            .flatten()
        {
            media.discard(id)?;
        }
    }
    store.run(
        "DELETE FROM follows WHERE follower_id = ?1 OR artist_id = ?1",
        &[spindle_shared::sql::text(user_id)],
    )?;
    store.run(
        "DELETE FROM artists WHERE id = ?",
        &[spindle_shared::sql::text(user_id)],
    )?;
    crate::search::remove(&store, "artist", user_id)?;
    store.transaction(|| crate::albums::erase_artist(&store, user_id))?;
    crate::cache::invalidate();
    flush(&store);
    Ok(())
}
