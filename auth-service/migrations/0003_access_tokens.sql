-- A record of every access token issued (its `jti`, never the token): which client it went to,
-- for whom, in which refresh-token family. The tokens themselves stay stateless JWTs, verified
-- without this table; the table lets introspection (RFC 7662) answer `active: false` for a token
-- whose session was ended (logout, reuse detection, revocation) before it expires, and lets
-- revocation (RFC 7009) check that a client revokes only its own tokens.
CREATE TABLE access_tokens (
    jti         TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,            -- `sub`: a user id, or a client id (client_credentials)
    family_id   TEXT,                     -- its refresh-token family; NULL for client_credentials
    scope       TEXT,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE INDEX access_tokens_family_idx ON access_tokens (family_id);
CREATE INDEX access_tokens_expiry_idx ON access_tokens (expires_at);
