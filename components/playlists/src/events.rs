//! The component's events. Published through its outbox (written in the transaction of the
//! change, sent after the commit): `playlist.shared`, and `album.changed`/`album.deleted` so the
//! catalog can index albums and know which songs belong to one. Consumed: `track.deleted` and
//! `user.deleted`.

use crate::store::{Collection, Kind, Store};
use spin_sdk::http::Request;
use spindle_shared::Problem;
use spindle_shared::events::{
    AlbumChanged, AlbumDeleted, Consumer, DrainReport, Envelope, Event, PlaylistShared, outbox,
};
use spindle_shared::sql::text;

const PRODUCER: &str = "playlists";
/// The consumer group: this component's id.
pub const GROUP: &str = "playlists";

pub fn correlation(req: &Request) -> String {
    outbox::correlation_id(req)
}

fn record(store: &Store, event: Event, correlation: &str) -> Result<(), Problem> {
    Ok(outbox::record(&store.conn, PRODUCER, event, correlation)?)
}

/// `album.changed` with the album as it now is (inside the transaction of the write).
pub fn record_album(store: &Store, album: &Collection, correlation: &str) -> Result<(), Problem> {
    let song_ids = store
        .entries(&album.id)?
        .into_iter()
        .map(|e| e.song_id)
        .collect();
    let event = Event::AlbumChanged(AlbumChanged {
        album_id: album.id.clone(),
        artist_id: album.owner_id.clone(),
        title: album.title.clone(),
        description: album.description.clone(),
        listed: album.is_listed(),
        song_ids,
        revision: album.revision as u64,
    });
    record(store, event, correlation)
}

pub fn record_album_deleted(
    store: &Store,
    album: &Collection,
    correlation: &str,
) -> Result<(), Problem> {
    let event = Event::AlbumDeleted(AlbumDeleted {
        album_id: album.id.clone(),
        artist_id: album.owner_id.clone(),
    });
    record(store, event, correlation)
}

pub fn record_shared(
    store: &Store,
    playlist: &Collection,
    with: &str,
    correlation: &str,
) -> Result<(), Problem> {
    let event = Event::PlaylistShared(PlaylistShared {
        playlist_id: playlist.id.clone(),
        title: playlist.title.clone(),
        owner_id: playlist.owner_id.clone(),
        owner_name: playlist.owner_name.clone(),
        shared_with: with.to_string(),
    });
    record(store, event, correlation)
}

pub fn flush(store: &Store) {
    outbox::flush(&store.conn, PRODUCER);
}

/// Handles every pending event of the topics this component consumes.
pub fn drain() -> Result<DrainReport, String> {
    let redis_url =
        spindle_shared::variable("redis_url").ok_or("the redis_url variable is not set")?;
    let handle = |envelope: &Envelope| {
        let result = match &envelope.payload {
            Event::TrackDeleted(e) => track_deleted(&e.song_id, &envelope.correlation_id),
            Event::UserDeleted(e) => user_deleted(&e.user_id, &envelope.correlation_id),
            _ => Ok(()),
        };
        result.map_err(|p| p.to_string())
    };
    Consumer::connect(&redis_url, GROUP)
        .map_err(|e| e.to_string())?
        .on("track.deleted", handle)
        .on("user.deleted", handle)
        .drain()
        .map_err(|e| e.to_string())
}

/// A song is gone: playlist entries of it stay, unavailable for good; albums lose it (their
/// order closing up, their revision growing). Running it twice changes nothing more.
fn track_deleted(song_id: &str, correlation: &str) -> Result<(), Problem> {
    let store = Store::open()?;
    store.run(
        "UPDATE entries SET song_deleted = 1 WHERE song_id = ? AND song_deleted = 0",
        &[text(song_id)],
    )?;
    let albums = store.run(
        "SELECT DISTINCT e.collection_id FROM entries e JOIN collections c ON c.id = e.collection_id
         WHERE e.song_id = ? AND c.kind = 'album'",
        &[text(song_id)],
    )?;
    for row in &albums.rows {
        let album_id = spindle_shared::sql::get_text(&row.values, 0);
        store.transaction(|| {
            for entry in store.entries(&album_id)? {
                if entry.song_id == song_id {
                    store.remove_entry(&album_id, &entry)?;
                }
            }
            let album = store.bump(&album_id, Kind::Album)?;
            record_album(&store, &album, correlation)
        })?;
    }
    flush(&store);
    Ok(())
}

/// A user is gone: their playlists and albums go, their memberships end, and the entries they
/// added to others' playlists stay without their name.
fn user_deleted(user_id: &str, correlation: &str) -> Result<(), Problem> {
    let store = Store::open()?;
    let owned = store.run(
        "SELECT id, kind FROM collections WHERE owner_id = ?",
        &[text(user_id)],
    )?;
    for row in &owned.rows {
        let id = spindle_shared::sql::get_text(&row.values, 0);
        let kind = if spindle_shared::sql::get_text(&row.values, 1) == "album" {
            Kind::Album
        } else {
            Kind::Playlist
        };
        store.transaction(|| {
            let Some(c) = store.collection(&id, kind)? else {
                return Ok(());
            };
            store.delete(&id)?;
            if kind == Kind::Album {
                record_album_deleted(&store, &c, correlation)?;
            }
            Ok(())
        })?;
    }
    store.run("DELETE FROM members WHERE user_id = ?", &[text(user_id)])?;
    store.run(
        "UPDATE entries SET added_by = NULL WHERE added_by = ?",
        &[text(user_id)],
    )?;
    flush(&store);
    Ok(())
}
