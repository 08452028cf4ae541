-- A user may have no name (NULL); `name` stays unique among the names that are set: the
-- unique key is on `name_key`, which is NULL with `name`, and a unique index lets any number
-- of NULLs through.
ALTER TABLE authcore_users MODIFY name VARCHAR(512) NULL;
