-- Authorization codes (RFC 6749 §4.1) with PKCE (RFC 7636). Like refresh tokens, a code is kept
-- only as its SHA-256 hash: whoever reads the table cannot redeem what they read. A code lives
-- 60 seconds and is redeemed once; the row outlives that so a second redemption is recognised
-- (and what the first one issued — the refresh-token family in `family_id` — revoked).
CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,      -- hex SHA-256 of the code
    client_id      TEXT NOT NULL,         -- the only client that may redeem it
    user_id        TEXT NOT NULL REFERENCES users (id),
    redirect_uri   TEXT,                  -- as sent in the authorization request; NULL if omitted
    code_challenge TEXT NOT NULL,         -- PKCE S256 challenge
    scope          TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,                -- set when redeemed
    family_id      TEXT,                  -- the refresh-token family the redemption started
    revoked_at     BIGINT                 -- set when a second redemption revoked it
);

CREATE INDEX authorization_codes_expiry_idx ON authorization_codes (expires_at);
