-- User profiles. Accounts (e-mail + password) live in the auth-service; this service only keeps
-- what it shows: a profile created from the verified token the first time a user is seen.
CREATE TABLE users (
    -- The token's `sub`: the same id in every service, so no service needs another's database.
    id              TEXT    PRIMARY KEY NOT NULL,
    -- From the token's optional `email` claim; NULL until a token carries one.
    email           TEXT,
    name            TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('STUDENT', 'ADMIN', 'SERVICE')),
    -- 1 once the user renamed themself with PUT /users/me: from then on their chosen name wins
    -- over the `name` claim of later tokens.
    name_is_custom  INTEGER NOT NULL DEFAULT 0 CHECK (name_is_custom IN (0, 1)),
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
