-- Refresh tokens are bound to the client they were issued to (RFC 6749 §6, §10.4): only that
-- client may redeem one. Tokens from before this column existed were issued almost all by the
-- JSON login, so they are taken to be the first-party client's (`auth-json-api`): they keep
-- working at /auth/refresh, and no OAuth client can redeem them.
ALTER TABLE refresh_tokens ADD COLUMN client_id TEXT NOT NULL DEFAULT 'auth-json-api';
