-- authcore: users, their passwords, failed sign-in bookkeeping.
-- Timestamps are UTC text of fixed width, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', so that text order is
-- time order.

CREATE TABLE authcore_users (
    uid        INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a deleted uid is never reused
    email      TEXT NOT NULL,                     -- login name, as given
    email_key  TEXT NOT NULL,                     -- normalize_username(email): lookups, uniqueness
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'locked', 'disabled')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT authcore_users_email_key UNIQUE (email_key),
    CONSTRAINT authcore_users_name_key UNIQUE (name)
);

-- One row per valid password (a user may hold several during a rotation).
CREATE TABLE authcore_passwords (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    uid       INTEGER NOT NULL REFERENCES authcore_users (uid) ON DELETE CASCADE,
    phc       TEXT NOT NULL,                      -- argon2 PHC string
    issued_at TEXT NOT NULL
);
CREATE INDEX authcore_passwords_uid ON authcore_passwords (uid, id);

-- Keyed by the canonical uid as text: directory (LDAP) users are locked here too.
CREATE TABLE authcore_lockout (
    uid             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL,
    locked_until    TEXT,                         -- a timed lock (may have expired)
    locked_by_admin INTEGER NOT NULL DEFAULT 0    -- locked until an admin resets the password
);
