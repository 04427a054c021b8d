-- activity: listening data and what is derived from it. Times are milliseconds since the epoch.

-- What this component knows of the catalog's songs (from track.published, and from the
-- catalog's answers when a song is tracked): enough to find candidates by artist, genre, tags.
CREATE TABLE songs (
    id           TEXT PRIMARY KEY,
    artist_id    TEXT NOT NULL,
    genre        TEXT,
    tags         TEXT NOT NULL DEFAULT '[]',
    published_at INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX songs_by_artist ON songs (artist_id, published_at);
CREATE INDEX songs_by_genre ON songs (genre, published_at);

-- One row per listen (one playthrough of a song on a device), named by the client's listenId.
CREATE TABLE listens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL,
    listen_id   TEXT NOT NULL,
    song_id     TEXT NOT NULL,
    device_id   TEXT,
    started_at  INTEGER NOT NULL,
    position_ms INTEGER NOT NULL,
    played      INTEGER NOT NULL DEFAULT 0,
    completed   INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, listen_id)
);
CREATE INDEX listens_by_user ON listens (user_id, started_at);
CREATE INDEX listens_by_song ON listens (song_id);

-- Derived, kept up to date by every tracking call (and rebuilt from `listens` on demand).
-- `trend`: each event's weight (play +1, complete +1, skip -1) times 2^((t - epoch) / half-life),
-- summed; ordering by it orders by the decayed score now. The epoch is in `meta`.
CREATE TABLE song_stats (
    song_id     TEXT PRIMARY KEY,
    plays       INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    skips       INTEGER NOT NULL DEFAULT 0,
    listeners   INTEGER NOT NULL DEFAULT 0,
    trend       REAL NOT NULL DEFAULT 0,
    trend_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX song_stats_by_trend ON song_stats (trend);

CREATE TABLE user_songs (
    user_id     TEXT NOT NULL,
    song_id     TEXT NOT NULL,
    plays       INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    skips       INTEGER NOT NULL DEFAULT 0,
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (user_id, song_id)
) WITHOUT ROWID;

-- Co-listening: how often two songs were played by one user close in time (a < b).
CREATE TABLE pairs (
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX pairs_by_b ON pairs (b);

-- The genres a user chose (for recommendations before they have listened to anything).
CREATE TABLE tastes (
    user_id TEXT PRIMARY KEY,
    genres  TEXT NOT NULL
);

-- Ranked candidate lists (before the caller's visibility is applied), with their expiry.
CREATE TABLE caches (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
