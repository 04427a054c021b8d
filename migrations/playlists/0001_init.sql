-- The playlists component's own database (label `playlists`): playlists and albums (one table,
-- `kind` tells them apart), their entries, collaborators, share links and covers. Songs are
-- the catalog's: only their ids are kept here. Times are milliseconds since the epoch.

CREATE TABLE collections (
    id          TEXT PRIMARY KEY,              -- ULID
    kind        TEXT NOT NULL CHECK (kind IN ('playlist', 'album')),
    owner_id    TEXT NOT NULL,
    owner_name  TEXT NOT NULL DEFAULT '',      -- from auth's public profile, refreshed on writes
    title       TEXT NOT NULL,
    description TEXT,
    is_public   INTEGER NOT NULL,              -- set by the owner
    is_visible  INTEGER NOT NULL DEFAULT 1,    -- set by admins
    revision    INTEGER NOT NULL DEFAULT 1,    -- +1 per write; the ETag
    track_count INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX collections_listed ON collections (kind, is_public, is_visible, created_at, id);
CREATE INDEX collections_owner ON collections (owner_id, kind, created_at, id);

-- The tracks, in order: `position` runs 0..track_count-1 without gaps. A playlist may hold a
-- song twice (each entry has its own id); an album holds each song once.
CREATE TABLE entries (
    id            TEXT PRIMARY KEY,            -- ULID
    collection_id TEXT NOT NULL,
    song_id       TEXT NOT NULL,
    position      INTEGER NOT NULL,
    added_by      TEXT,                        -- NULL once that user is deleted
    added_at      INTEGER NOT NULL,
    song_deleted  INTEGER NOT NULL DEFAULT 0   -- track.deleted heard: unavailable for good
);

CREATE INDEX entries_order ON entries (collection_id, position);
CREATE INDEX entries_song ON entries (song_id);

-- Who else may use a playlist: editors change its tracks, viewers (shared with) see it.
CREATE TABLE members (
    collection_id TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (collection_id, user_id)
);

CREATE INDEX members_user ON members (user_id);

-- Read-only links to a playlist; revoked ones stop working at once.
CREATE TABLE share_links (
    id            TEXT PRIMARY KEY,            -- ULID
    collection_id TEXT NOT NULL,
    token         TEXT NOT NULL UNIQUE,        -- 32 random bytes, base64url
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

CREATE INDEX share_links_collection ON share_links (collection_id);

CREATE TABLE covers (
    collection_id TEXT PRIMARY KEY,
    mime          TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    etag          TEXT NOT NULL
);

-- Events written with the change they announce, published after the commit.
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope TEXT NOT NULL
);
