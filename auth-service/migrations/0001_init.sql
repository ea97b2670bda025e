-- One portable schema for SQLite and Postgres (run through sqlx's Any driver): TEXT ids,
-- BIGINT epoch seconds, no booleans (a NULL timestamp means "not yet").

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,   -- stored lower-case
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,          -- STUDENT | ADMIN
    password_hash TEXT NOT NULL,          -- argon2id PHC string, never the password
    created_at    BIGINT NOT NULL
);

-- Refresh tokens are stored only as SHA-256 hashes: a leaked table cannot be replayed.
-- Each login starts a family; each refresh marks the presented token used and adds the next
-- one to the same family. A used token presented again means theft: the family is revoked.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,         -- hex SHA-256 of the opaque token
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    scope       TEXT,                     -- OAuth scope granted with it, if any
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,                   -- set when rotated
    revoked_at  BIGINT                    -- set when its family is revoked
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
