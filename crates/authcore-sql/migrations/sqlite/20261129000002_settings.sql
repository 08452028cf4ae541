-- Run-time settings (GET/PUT /v1/cluster, /v1/cluster/policy, /v1/cluster/ldap): one JSON
-- value per name (policy fields by Redis's names, `ldap`).
CREATE TABLE authcore_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL                           -- JSON
);

-- One row: advanced by every change of a setting or a mapping. Every writer updates it first,
-- which serialises writers; readers poll it to notice changes.
CREATE TABLE authcore_settings_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO authcore_settings_version (id, version) VALUES (1, 0);

-- LDAP group to role mappings (/v1/ldap_mappings). AUTOINCREMENT: a uid is never reused.
CREATE TABLE authcore_ldap_mappings (
    uid          INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    dn           TEXT NOT NULL,
    role         TEXT NOT NULL,
    email        TEXT,
    email_alerts INTEGER NOT NULL
);
