-- sync: devices, one playback state per user or listening room, the commands that change them,
-- listening rooms and their members. Times are milliseconds since the epoch.

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX devices_by_user ON devices (user_id, created_at);

-- The playback state of a scope: `user:{userId}` or `room:{roomId}`. `player` is its JSON
-- (queue, current entry, position, ...); `version` only grows.
CREATE TABLE states (
    scope   TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    player  TEXT NOT NULL
);

-- Every command accepted, in the order accepted (`seq`): pending until the Redis-triggered
-- handler applies or rejects it. (user_id, command_id) makes retries idempotent.
CREATE TABLE commands (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL,
    command_id  TEXT NOT NULL,
    scope       TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    command     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    reason      TEXT,
    detail      TEXT,
    version     INTEGER,
    accepted_at INTEGER NOT NULL,
    applied_at  INTEGER,
    reported    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, command_id)
);
CREATE INDEX commands_pending ON commands (scope, seq) WHERE status = 'pending';
CREATE INDEX commands_unreported ON commands (device_id, seq) WHERE status = 'rejected' AND reported = 0;
CREATE INDEX commands_by_age ON commands (accepted_at);

CREATE TABLE rooms (
    id           TEXT PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    control_mode TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Members past and present: `left_at` is set when one leaves (joining again clears it).
CREATE TABLE room_members (
    room_id      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    display_name TEXT,
    joined_at    INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    left_at      INTEGER,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_by_user ON room_members (user_id);

-- Failed joins (unknown codes), for the rate limit on guessing codes.
CREATE TABLE join_failures (
    user_id TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX join_failures_by_user ON join_failures (user_id, at);

CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope TEXT NOT NULL
);
