-- The notification component's own database (label `notification`).

-- Who can be notified: kept from user.created / user.deleted events.
CREATE TABLE users (
    user_id      TEXT PRIMARY KEY,
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL
);

-- Per-user choices; security mails (one-time codes) always go regardless.
CREATE TABLE preferences (
    user_id            TEXT PRIMARY KEY,
    new_releases_email INTEGER NOT NULL DEFAULT 0,
    updated_at         TEXT NOT NULL
);

-- Who follows which artist: kept from artist.followed / artist.unfollowed events.
CREATE TABLE follows (
    artist_id   TEXT NOT NULL,
    follower_id TEXT NOT NULL,
    PRIMARY KEY (artist_id, follower_id)
);
CREATE INDEX follows_by_follower ON follows (follower_id);

-- The in-app inbox. `id` is a ULID, so ordering by it is newest-first by time.
CREATE TABLE inbox (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT,
    created_at TEXT NOT NULL,
    read_at    TEXT,
    UNIQUE (event_id, user_id, kind)
);
CREATE INDEX inbox_by_user ON inbox (user_id, id);

-- Every email, with its delivery status; one row per (event, template, recipient), so a
-- redelivered event never sends a mail twice.
CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    template   TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    UNIQUE (event_id, template, recipient)
);
CREATE INDEX deliveries_by_status ON deliveries (status, id);
