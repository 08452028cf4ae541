-- Administration counts admins (the last admin cannot be demoted or deleted).
CREATE INDEX authcore_users_role ON authcore_users (role);
