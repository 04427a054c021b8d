-- The auth component's own database (label `auth`): the only place with password hashes,
-- refresh tokens and signing keys. Times are milliseconds since the epoch.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,            -- ULID
    email          TEXT NOT NULL UNIQUE,        -- trimmed and lower-cased
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash  TEXT,                        -- argon2id PHC string; NULL for Google-only accounts
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('listener', 'artist', 'admin')),
    blocked        INTEGER NOT NULL DEFAULT 0,
    oidc_subject   TEXT UNIQUE,                 -- issuer + ' ' + sub of a linked OpenID account
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE INDEX users_role ON users (role, blocked);

-- A session is one sign-in: a family of refresh tokens, each replacing the one before.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens by SHA-256; `replaced_at` is set when the token is rotated, and presenting a
-- replaced token again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    replaced_at INTEGER
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- One-time codes, stored as SHA-256 of (id, code); dead after `max` wrong tries.
CREATE TABLE one_time_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE INDEX one_time_codes_user ON one_time_codes (user_id, purpose);

-- Ed25519 keys. `private_pem` only for keys auth generated itself (NULL for the key from the
-- `auth_signing_key` variable); a retired key stays published until its tokens have expired.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    public_jwk  TEXT NOT NULL,
    private_pem TEXT,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

-- Fixed-window counters for rate limits.
CREATE TABLE rate_limits (
    bucket       TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
);

-- Google (OpenID Connect) sign-ins in flight: state → PKCE verifier, nonce, and the SHA-256
-- of the cookie that ties the sign-in to the browser that started it.
CREATE TABLE oidc_logins (
    state         TEXT PRIMARY KEY,
    code_verifier TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    expires_at    INTEGER NOT NULL
);

-- Finished Google sign-ins waiting for the web app to collect their tokens (by SHA-256).
CREATE TABLE handoffs (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Cached documents fetched from elsewhere (the OpenID provider's JWKS).
CREATE TABLE cache (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
);

-- Events written in the same transaction as the change they announce, published after commit
-- and deleted once Redis has them: no change goes unannounced when Redis is briefly away.
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope TEXT NOT NULL
);
