-- Sessions: each user's token generation (epoch) and revoked token ids (logout).
-- Keyed by the canonical uid as text: directory (LDAP) users have an epoch here too. A row
-- outlives its user (deletion advances the epoch), so a token of a deleted user never
-- becomes valid again.
CREATE TABLE authcore_session_epochs (
    uid   TEXT PRIMARY KEY,
    epoch INTEGER NOT NULL
);

-- Revoked tokens, kept until their own expiry, then purged a batch at a time.
CREATE TABLE authcore_revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL                      -- fixed-width UTC text, as elsewhere
);
CREATE INDEX authcore_revoked_tokens_expiry ON authcore_revoked_tokens (expires_at);
