-- The catalog component's own database (label `catalog`): songs, artists and follows. The
-- media bytes live in the separate `media` database (or an S3 bucket). Times are milliseconds
-- since the epoch.

-- Artists as the catalog knows them: their id is the user id, their name comes from auth's
-- public profile when they first upload.
CREATE TABLE artists (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE songs (
    id             TEXT PRIMARY KEY,            -- ULID
    artist_id      TEXT NOT NULL,
    title          TEXT NOT NULL,
    album_id       TEXT,
    genre          TEXT,
    tags           TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    is_public      INTEGER NOT NULL DEFAULT 1,  -- set by the owner
    is_visible     INTEGER NOT NULL DEFAULT 1,  -- set by admins
    published_at   INTEGER,                     -- first time it became visible to listeners
    duration_ms    INTEGER NOT NULL,
    bitrate_kbps   INTEGER,
    sample_rate    INTEGER,
    channels       INTEGER,
    codec          TEXT NOT NULL,
    mime           TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    media_id       TEXT NOT NULL,
    cover_media_id TEXT,
    cover_mime     TEXT,
    play_count     INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (artist_id, sha256)
);

CREATE INDEX songs_artist ON songs (artist_id, created_at);
CREATE INDEX songs_listed ON songs (is_public, is_visible, created_at);

CREATE TABLE follows (
    artist_id   TEXT NOT NULL,
    follower_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (artist_id, follower_id)
);

CREATE INDEX follows_follower ON follows (follower_id);

-- Secrets the catalog made itself (the key that signs streaming URLs, when none is configured).
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Events written with the change they announce, published after the commit.
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope TEXT NOT NULL
);

-- Full-text search over songs (title, artist, genre, tags) and artists (name): prefix
-- matching, case and accent folding, ranked by bm25.
CREATE VIRTUAL TABLE search USING fts5(
    kind UNINDEXED,    -- 'song' or 'artist'
    ref_id UNINDEXED,
    name,
    extra,
    tokenize = 'unicode61 remove_diacritics 2'
);
