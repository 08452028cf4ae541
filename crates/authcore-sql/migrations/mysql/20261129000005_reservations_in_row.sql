-- Sign-in reservations move into the lockout row (column `in_flight`), so that reserving and
-- settling are one upsert each on that row (see src/dialect/reservations.rs): a JSON array of
-- [id, started_at in Unix microseconds]. The reservations in flight move with their times (a
-- stale one still counts as a failure once it is past the stale time); a key that had
-- reservations but no lockout row gets a row without failures.
ALTER TABLE authcore_lockout ADD COLUMN in_flight LONGTEXT NOT NULL DEFAULT '[]';

INSERT IGNORE INTO authcore_lockout (uid, failures, last_failure_at, locked_until, locked_by_admin)
SELECT uid, 0, MIN(started_at), NULL, FALSE
FROM authcore_lockout_reservations
GROUP BY uid;

-- DATETIME(6) in UTC: microseconds since the epoch whatever the session's time zone.
UPDATE authcore_lockout l
JOIN (
    SELECT uid,
           JSON_ARRAYAGG(JSON_ARRAY(
               CONVERT(id USING utf8mb4),
               TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', started_at))) AS arr
    FROM authcore_lockout_reservations
    GROUP BY uid
) r ON r.uid = l.uid
SET l.in_flight = r.arr;

DROP TABLE authcore_lockout_reservations;
