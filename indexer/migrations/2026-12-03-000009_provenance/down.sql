DROP INDEX leases_forged;
CREATE OR REPLACE FUNCTION provider_stats_delta(lo INTEGER, hi INTEGER)
    RETURNS TABLE (provider_pk BYTEA, listings BIGINT, leases BIGINT, completed BIGINT, slashed BIGINT,
                   disputed BIGINT, completed_blocks BIGINT)
    LANGUAGE sql STABLE AS $$
    SELECT d.provider_pk, sum(d.listings)::bigint, sum(d.leases)::bigint, sum(d.completed)::bigint, sum(d.slashed)::bigint,
           sum(d.disputed)::bigint, sum(d.blocks)::bigint
      FROM (SELECT l.provider_pk, 1 AS listings, 0 AS leases, 0 AS completed, 0 AS slashed,
                   0 AS disputed, 0 AS blocks
              FROM listings l WHERE l.height BETWEEN lo AND hi
            UNION ALL
            SELECT le.provider_pk, 0, (le.completed_at < 0)::int,
                   (le.completed_at >= 0)::int, 0, 0,
                   CASE WHEN le.completed_at >= 0 THEN le.used_blocks ELSE 0 END
              FROM leases le WHERE le.height BETWEEN lo AND hi
            UNION ALL
            SELECT le.provider_pk, 0, 0, 0, (pp.name = 'slash')::int, (pp.name = 'dispute')::int, 0
              FROM inputs i
              JOIN leases le ON le.box_id = i.box_id
              JOIN protocol_paths pp ON pp.kind = 'lease' AND pp.path = i.path
             WHERE i.height BETWEEN lo AND hi AND pp.name IN ('slash', 'dispute')) d
     GROUP BY d.provider_pk
$$;
DROP FUNCTION mark_forged(INTEGER, INTEGER);
ALTER TABLE arbitration_cases DROP COLUMN forged;
ALTER TABLE leases DROP COLUMN forged;
DELETE FROM provider_stats;
INSERT INTO provider_stats SELECT * FROM provider_stats_delta(-2147483648, 2147483647);
