-- The catalog's media database (label `media`): uploaded files as chunks of at most 1 MiB,
-- apart from the catalog metadata so each can be sized, backed up and moved on its own.

CREATE TABLE media (
    id         TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    sha256     TEXT,
    chunk_size INTEGER NOT NULL,
    complete   INTEGER NOT NULL DEFAULT 0,   -- 0 while an upload is writing it
    created_at INTEGER NOT NULL
);

CREATE TABLE chunks (
    media_id TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (media_id, seq)
);
