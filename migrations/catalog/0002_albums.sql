-- Albums as the catalog knows them, from the `album.changed` and `album.deleted` events of the
-- `playlists` component (which owns them): what search needs, and which songs belong to one
-- (`songs.album_id`). Times are milliseconds since the epoch.

CREATE TABLE albums (
    id          TEXT PRIMARY KEY,             -- the album's id at playlists (ULID)
    artist_id   TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT,
    listed      INTEGER NOT NULL DEFAULT 0,   -- listeners see it (public and not hidden)
    deleted     INTEGER NOT NULL DEFAULT 0,   -- a tombstone: no later event brings it back
    revision    INTEGER NOT NULL DEFAULT 0,   -- of the last album.changed applied (newer wins)
    updated_at  INTEGER NOT NULL
);

CREATE INDEX albums_artist ON albums (artist_id);
CREATE INDEX songs_album ON songs (album_id);
