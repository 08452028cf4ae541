-- authcore: users, their passwords, failed sign-in bookkeeping. MySQL 8 / MariaDB 10.5+.
-- DATETIME(6) columns hold UTC. Keys compared byte for byte are VARBINARY: the usual
-- collations are case-insensitive and ignore trailing spaces, the username rule is neither.

CREATE TABLE authcore_users (
    uid        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email      VARCHAR(512) NOT NULL,           -- login name, as given
    email_key  VARBINARY(2048) NOT NULL,        -- normalize_username(email): lookups, uniqueness
    name       VARCHAR(512) NOT NULL,
    name_key   VARBINARY(2048) AS (CAST(name AS BINARY)) STORED,
    role       VARCHAR(255) NOT NULL,
    status     VARCHAR(16) NOT NULL CHECK (status IN ('active', 'locked', 'disabled')),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT authcore_users_email_key UNIQUE (email_key),
    CONSTRAINT authcore_users_name_key UNIQUE (name_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per valid password (a user may hold several during a rotation).
CREATE TABLE authcore_passwords (
    id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uid       BIGINT NOT NULL,
    phc       VARCHAR(2048) NOT NULL,           -- argon2 PHC string
    issued_at DATETIME(6) NOT NULL,
    INDEX authcore_passwords_uid (uid, id),
    CONSTRAINT authcore_passwords_user FOREIGN KEY (uid) REFERENCES authcore_users (uid) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Keyed by the canonical uid: directory (LDAP) users are locked here too.
CREATE TABLE authcore_lockout (
    uid             VARBINARY(1024) NOT NULL PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at DATETIME(6) NOT NULL,
    locked_until    DATETIME(6) NULL,           -- a timed lock (may have expired)
    locked_by_admin BOOLEAN NOT NULL DEFAULT FALSE -- locked until an admin resets the password
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
