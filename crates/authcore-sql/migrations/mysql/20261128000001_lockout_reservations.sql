-- Sign-in reservations: an attempt is counted before its password is checked (see
-- authcore_core::lockout). One row per attempt in flight; settling deletes it, and one older
-- than the stale time counts as a failure.
CREATE TABLE authcore_lockout_reservations (
    id         VARBINARY(64) NOT NULL PRIMARY KEY,  -- a random UUID
    uid        VARBINARY(1024) NOT NULL,            -- the lockout key (authcore_lockout.uid)
    started_at DATETIME(6) NOT NULL,
    INDEX authcore_lockout_reservations_uid (uid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row whose lock serialises every change that can affect the set of active admins.
CREATE TABLE authcore_admin_guard (
    id INTEGER NOT NULL PRIMARY KEY
) ENGINE = InnoDB;
INSERT INTO authcore_admin_guard (id) VALUES (1);
