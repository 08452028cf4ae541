-- Sign-in reservations move into the lockout row (column `in_flight`), so that reserving and
-- settling are one upsert each on that row (see src/dialect/reservations.rs): a JSON array of
-- [id, started_at in Unix microseconds]. The reservations in flight move with their times (a
-- stale one still counts as a failure once it is past the stale time); a key that had
-- reservations but no lockout row gets a row without failures.
ALTER TABLE authcore_lockout ADD COLUMN in_flight JSONB NOT NULL DEFAULT '[]';

INSERT INTO authcore_lockout (uid, failures, last_failure_at, locked_until, locked_by_admin)
SELECT uid, 0, MIN(started_at), NULL, FALSE
FROM authcore_lockout_reservations
GROUP BY uid
ON CONFLICT (uid) DO NOTHING;

UPDATE authcore_lockout l SET in_flight = r.arr
FROM (
    SELECT uid,
           jsonb_agg(jsonb_build_array(
               id, round(EXTRACT(EPOCH FROM started_at) * 1000000)::bigint)) AS arr
    FROM authcore_lockout_reservations
    GROUP BY uid
) r
WHERE r.uid = l.uid;

DROP TABLE authcore_lockout_reservations;
