-- `name` used to default to the e-mail. Such a name made every login name a taken name, and
-- renaming oneself a test of whether an e-mail has an account (409 name_already_exists).
-- Users whose name is exactly their e-mail (byte for byte) get no name; others keep theirs.
UPDATE authcore_users SET name = NULL WHERE name = email;
