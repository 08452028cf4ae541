-- Sessions: each user's token generation (epoch) and revoked token ids (logout).
-- Keyed by the canonical uid: directory (LDAP) users have an epoch here too. A row outlives
-- its user (deletion advances the epoch), so a token of a deleted user never becomes valid
-- again.
CREATE TABLE authcore_session_epochs (
    uid   VARBINARY(1024) NOT NULL PRIMARY KEY,
    epoch BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Revoked tokens, kept until their own expiry, then purged a batch at a time.
CREATE TABLE authcore_revoked_tokens (
    jti        VARBINARY(255) NOT NULL PRIMARY KEY,
    expires_at DATETIME(6) NOT NULL,
    INDEX authcore_revoked_tokens_expiry (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
