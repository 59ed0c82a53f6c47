-- Back to aggregating the lease history on every read.
CREATE OR REPLACE VIEW provider_reputation AS
SELECT s.*, reputation_score(s.completed, s.slashed) AS score FROM (
    SELECT le.provider_pk,
        count(*) FILTER (WHERE le.completed_at < 0) AS leases,
        count(*) FILTER (WHERE le.completed_at >= 0) AS completed,
        count(*) FILTER (WHERE pp.name = 'slash') AS slashed,
        count(*) FILTER (WHERE pp.name = 'dispute') AS disputed,
        (count(*) FILTER (WHERE le.completed_at >= 0))::float8
            / NULLIF(count(*) FILTER (WHERE le.completed_at >= 0 OR pp.name = 'slash'), 0)
            AS on_time_rate,
        COALESCE(sum(le.used_blocks) FILTER (WHERE le.completed_at >= 0), 0)::float8 / 30
            AS total_hours
    FROM leases le
    LEFT JOIN inputs i ON i.box_id = le.box_id
    LEFT JOIN protocol_paths pp ON pp.kind = 'lease' AND pp.path = i.path
    GROUP BY le.provider_pk
) s;

CREATE FUNCTION provider_score(pk BYTEA) RETURNS DOUBLE PRECISION
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    completed BIGINT;
    slashed BIGINT;
BEGIN
    SELECT count(*) FILTER (WHERE le.completed_at >= 0), count(*) FILTER (WHERE pp.name = 'slash')
      INTO completed, slashed
      FROM leases le
      LEFT JOIN inputs i ON i.box_id = le.box_id
      LEFT JOIN protocol_paths pp ON pp.kind = 'lease' AND pp.path = i.path
     WHERE le.provider_pk = pk;
    RETURN reputation_score(completed, slashed);
END
$$;

DROP FUNCTION provider_stats_delta(INTEGER, INTEGER);
DROP STATISTICS boxes_kind_spent;
DROP INDEX inputs_path;
DROP INDEX listings_provider;
DROP TABLE provider_stats;
