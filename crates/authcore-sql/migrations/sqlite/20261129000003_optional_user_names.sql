-- A user may have no name (NULL); `name` stays unique among the names that are set (a UNIQUE
-- constraint lets any number of NULLs through).
--
-- SQLite cannot drop NOT NULL in place, so the users table is rebuilt, and with it the
-- passwords table that references it. This runs in sqlx's migration transaction with foreign
-- keys on: the passwords move to a table that references the new users table before the old
-- tables go, so dropping the old users table deletes (and cascades to) nothing. Rows keep
-- their uids and ids, and the AUTOINCREMENT counters move over: a uid handed out once, even to
-- a user deleted since, is never handed out again.

CREATE TABLE authcore_users_new (
    uid        INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a deleted uid is never reused
    email      TEXT NOT NULL,                     -- login name, as given
    email_key  TEXT NOT NULL,                     -- normalize_username(email): lookups, uniqueness
    name       TEXT,                              -- display name; NULL: the user has none
    role       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'locked', 'disabled')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT authcore_users_email_key UNIQUE (email_key),
    CONSTRAINT authcore_users_name_key UNIQUE (name)
);
INSERT INTO authcore_users_new (uid, email, email_key, name, role, status, created_at, updated_at)
    SELECT uid, email, email_key, name, role, status, created_at, updated_at
    FROM authcore_users;

CREATE TABLE authcore_passwords_new (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    uid       INTEGER NOT NULL REFERENCES authcore_users_new (uid) ON DELETE CASCADE,
    phc       TEXT NOT NULL,                      -- argon2 PHC string
    issued_at TEXT NOT NULL
);
INSERT INTO authcore_passwords_new (id, uid, phc, issued_at)
    SELECT id, uid, phc, issued_at FROM authcore_passwords;

-- The old counters are at least the largest id ever handed out (the copies above set the new
-- ones only to the largest id still present).
DELETE FROM sqlite_sequence WHERE name IN ('authcore_users_new', 'authcore_passwords_new');
INSERT INTO sqlite_sequence (name, seq)
    SELECT name || '_new', seq FROM sqlite_sequence
    WHERE name IN ('authcore_users', 'authcore_passwords');

DROP TABLE authcore_passwords;
DROP TABLE authcore_users;
-- Renaming also renames the counters and the new passwords table's reference.
ALTER TABLE authcore_users_new RENAME TO authcore_users;
ALTER TABLE authcore_passwords_new RENAME TO authcore_passwords;

CREATE INDEX authcore_passwords_uid ON authcore_passwords (uid, id);
-- Administration counts admins (the last admin cannot be demoted or deleted).
CREATE INDEX authcore_users_role ON authcore_users (role);
