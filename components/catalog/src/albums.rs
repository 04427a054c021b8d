//! Albums as the catalog learns of them from the `playlists` component, which owns them:
//! `album.changed` and `album.deleted` keep the catalog's copy (the `albums` table), the search
//! index (kind `album`, only while listed) and `songs.album_id` up to date.
//!
//! Events may come twice or out of order: the newer state (by the album's `revision`) wins and
//! an older one arriving after it is ignored, and a deleted album stays a tombstone, so no
//! `album.changed` arriving after its `album.deleted` brings it back. Applying an event twice
//! changes nothing more.

use crate::store::Store;
use spindle_shared::Problem;
use spindle_shared::events::{AlbumChanged, AlbumDeleted};
use spindle_shared::sql::{get_int, get_text, int, opt_text, text};
use spindle_shared::time::now_ms;

/// What the catalog holds of an album: whether it is a tombstone, and the revision of the
/// last `album.changed` applied.
fn known(store: &Store, album_id: &str) -> Result<Option<(bool, i64)>, Problem> {
    let result = store.run(
        "SELECT deleted, revision FROM albums WHERE id = ?",
        &[text(album_id)],
    )?;
    Ok(result
        .rows
        .first()
        .map(|r| (get_int(&r.values, 0) != 0, get_int(&r.values, 1))))
}

/// `album.changed`: the album as it is at its `revision`.
pub fn changed(album: &AlbumChanged) -> Result<(), Problem> {
    let store = Store::open()?;
    // The artist's name goes into the index; asked of auth only when the catalog does not
    // know it yet (before the transaction: it may be a network call).
    let artist_name = match store.artist_name(&album.artist_id)? {
        Some(name) => name,
        None => crate::events::artist_name(&store, &album.artist_id)?,
    };
    let applied = store.transaction(|| {
        match known(&store, &album.album_id)? {
            Some((true, _)) => return Ok(false),
            Some((false, revision)) if revision > album.revision as i64 => return Ok(false),
            _ => {}
        }
        let now = now_ms() as i64;
        store.run(
            "INSERT INTO albums (id, artist_id, title, description, listed, deleted, revision,
               updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET artist_id = excluded.artist_id,
               title = excluded.title, description = excluded.description,
               listed = excluded.listed, revision = excluded.revision,
               updated_at = excluded.updated_at",
            &[
                text(&album.album_id),
                text(&album.artist_id),
                text(&album.title),
                opt_text(album.description.as_deref()),
                int(album.listed),
                int(album.revision as i64),
                int(now),
            ],
        )?;
        if album.listed {
            let extra = [Some(artist_name.as_str()), album.description.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            crate::search::index_album(&store, &album.album_id, &album.title, &extra)?;
        } else {
            crate::search::remove(&store, "album", &album.album_id)?;
        }
        let song_ids = serde_json::to_string(&album.song_ids).unwrap_or_else(|_| "[]".into());
        // Its songs: those named that are the artist's own (no other artist's song joins it).
        store.run(
            "UPDATE songs SET album_id = ?1, updated_at = ?2
             WHERE artist_id = ?3 AND id IN (SELECT value FROM json_each(?4))
               AND album_id IS NOT ?1",
            &[
                text(&album.album_id),
                int(now),
                text(&album.artist_id),
                text(&song_ids),
            ],
        )?;
        // Songs that pointed at it and are no longer named (or are not the artist's) leave it.
        store.run(
            "UPDATE songs SET album_id = NULL, updated_at = ?2
             WHERE album_id = ?1
               AND (artist_id <> ?3 OR id NOT IN (SELECT value FROM json_each(?4)))",
            &[
                text(&album.album_id),
                int(now),
                text(&album.artist_id),
                text(&song_ids),
            ],
        )?;
        Ok(true)
    })?;
    if applied {
        crate::cache::invalidate();
    }
    Ok(())
}

/// `album.deleted`: a tombstone, out of the index, its songs in no album. Also before any
/// `album.changed` of it arrived.
pub fn deleted(album: &AlbumDeleted) -> Result<(), Problem> {
    let store = Store::open()?;
    store.transaction(|| {
        store.run(
            "INSERT INTO albums (id, artist_id, title, description, listed, deleted, updated_at)
             VALUES (?1, ?2, '', NULL, 0, 1, ?3)
             ON CONFLICT (id) DO UPDATE SET listed = 0, deleted = 1,
               updated_at = excluded.updated_at",
            &[
                text(&album.album_id),
                text(&album.artist_id),
                int(now_ms() as i64),
            ],
        )?;
        forget(&store, &album.album_id)
    })?;
    crate::cache::invalidate();
    Ok(())
}

/// The albums of a deleted artist become tombstones (inside the caller's work; the caller
/// invalidates the cache).
pub fn erase_artist(store: &Store, artist_id: &str) -> Result<(), Problem> {
    let result = store.run(
        "SELECT id FROM albums WHERE artist_id = ? AND deleted = 0",
        &[text(artist_id)],
    )?;
    for row in &result.rows {
        let id = get_text(&row.values, 0);
        store.run(
            "UPDATE albums SET listed = 0, deleted = 1, updated_at = ? WHERE id = ?",
            &[int(now_ms() as i64), text(&id)],
        )?;
        forget(store, &id)?;
    }
    Ok(())
}

/// Out of the index, and no song points at it any more.
fn forget(store: &Store, album_id: &str) -> Result<(), Problem> {
    crate::search::remove(store, "album", album_id)?;
    store.run(
        "UPDATE songs SET album_id = NULL, updated_at = ? WHERE album_id = ?",
        &[int(now_ms() as i64), text(album_id)],
    )?;
    Ok(())
}
