-- A user may have no name (NULL); `name` stays unique among the names that are set (a UNIQUE
-- constraint lets any number of NULLs through).
ALTER TABLE authcore_users ALTER COLUMN name DROP NOT NULL;
