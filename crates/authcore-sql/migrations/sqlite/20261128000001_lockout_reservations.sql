-- Sign-in reservations: an attempt is counted before its password is checked (see
-- authcore_core::lockout). One row per attempt in flight; settling deletes it, and one older
-- than the stale time counts as a failure.
CREATE TABLE authcore_lockout_reservations (
    id         TEXT PRIMARY KEY,   -- a random UUID
    uid        TEXT NOT NULL,      -- the lockout key (authcore_lockout.uid)
    started_at TEXT NOT NULL
);
CREATE INDEX authcore_lockout_reservations_uid ON authcore_lockout_reservations (uid);

-- One row whose lock serialises every change that can affect the set of active admins.
CREATE TABLE authcore_admin_guard (
    id INTEGER PRIMARY KEY
);
INSERT INTO authcore_admin_guard (id) VALUES (1);
