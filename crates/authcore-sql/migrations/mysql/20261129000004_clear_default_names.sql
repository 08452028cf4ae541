-- `name` used to default to the e-mail. Such a name made every login name a taken name, and
-- renaming oneself a test of whether an e-mail has an account (409 name_already_exists).
-- Users whose name is exactly their e-mail get no name; others keep theirs. Compared as bytes:
-- the table's utf8mb4_bin collation pads with spaces, so `name = email` would also clear a
-- name that is the e-mail followed by spaces.
UPDATE authcore_users SET name = NULL WHERE name_key = CAST(email AS BINARY);
