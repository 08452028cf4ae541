-- Sign-in reservations move into the lockout row (column `in_flight`), so that reserving and
-- settling are one upsert each on that row (see src/dialect/reservations.rs): a JSON array of
-- [id, started_at in Unix microseconds]. The reservations in flight move with their times (a
-- stale one still counts as a failure once it is past the stale time); a key that had
-- reservations but no lockout row gets a row without failures.
ALTER TABLE authcore_lockout ADD COLUMN in_flight TEXT NOT NULL DEFAULT '[]';

INSERT INTO authcore_lockout (uid, failures, last_failure_at, locked_until, locked_by_admin)
SELECT r.uid, 0, MIN(r.started_at), NULL, 0
FROM authcore_lockout_reservations r
WHERE NOT EXISTS (SELECT 1 FROM authcore_lockout l WHERE l.uid = r.uid)
GROUP BY r.uid;

-- Timestamps are 'YYYY-MM-DDTHH:MM:SS.ffffffZ' text.
UPDATE authcore_lockout SET in_flight = (
    SELECT json_group_array(json_array(
        r.id,
        CAST(strftime('%s', substr(r.started_at, 1, 19)) AS INTEGER) * 1000000
            + CAST(substr(r.started_at, 21, 6) AS INTEGER)))
    FROM authcore_lockout_reservations r
    WHERE r.uid = authcore_lockout.uid)
WHERE uid IN (SELECT uid FROM authcore_lockout_reservations);

DROP TABLE authcore_lockout_reservations;
