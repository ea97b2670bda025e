-- Invoices and their lines. Money is integer cents: floating point cannot represent 0.10 exactly,
-- and a bill that is off by a cent is a bug report.
CREATE TABLE invoices (
    -- Invoice numbers come from this counter. AUTOINCREMENT guarantees a number is never reused,
    -- even after a deletion: in most countries a reused invoice number is a legal problem.
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The public id (a UUID), so ids reveal nothing about how many invoices exist.
    id           TEXT    NOT NULL UNIQUE,
    -- The customer's `sub`, the same id the auth-service and the user-service use.
    user_id      TEXT    NOT NULL,
    -- Calendar dates, ISO 8601 (YYYY-MM-DD), so they sort and compare as text.
    issued_on    TEXT    NOT NULL,
    due_on       TEXT    NOT NULL CHECK (due_on >= issued_on),
    -- NULL while unpaid. "overdue" is not stored: it is "unpaid and past due_on", which changes
    -- with the calendar, so it is computed when the invoice is read.
    paid_on      TEXT,
    currency     TEXT    NOT NULL CHECK (length(currency) = 3),
    total_cents  INTEGER NOT NULL CHECK (total_cents >= 0)
);

CREATE INDEX invoices_by_user ON invoices (user_id, issued_on);

CREATE TABLE invoice_lines (
    invoice_seq       INTEGER NOT NULL REFERENCES invoices (seq) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    description       TEXT    NOT NULL,
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents  INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (invoice_seq, position)
);
