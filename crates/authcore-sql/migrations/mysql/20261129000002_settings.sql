-- Run-time settings (GET/PUT /v1/cluster, /v1/cluster/policy, /v1/cluster/ldap): one JSON
-- value per name (policy fields by Redis's names, `ldap`).
CREATE TABLE authcore_settings (
    name  VARCHAR(255) NOT NULL PRIMARY KEY,
    value LONGTEXT NOT NULL                       -- JSON
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row: advanced by every change of a setting or a mapping. Every writer updates it first,
-- which serialises writers; readers poll it to notice changes.
CREATE TABLE authcore_settings_version (
    id      INTEGER NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL
) ENGINE = InnoDB;
INSERT INTO authcore_settings_version (id, version) VALUES (1, 0);

-- LDAP group to role mappings (/v1/ldap_mappings). InnoDB keeps its AUTO_INCREMENT counter
-- across restarts (MariaDB 10.2.4+): a uid is never reused.
CREATE TABLE authcore_ldap_mappings (
    uid          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(255) NOT NULL,
    dn           VARCHAR(1024) NOT NULL,
    role         VARCHAR(255) NOT NULL,
    email        VARCHAR(320) NULL,
    email_alerts BOOLEAN NOT NULL,
    UNIQUE KEY authcore_ldap_mappings_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
