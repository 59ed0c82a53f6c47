-- Provider reputation from chain history, defined once: the query API's provider profile
-- (`GET /api/v1/providers/{address}`) and its listing search (`sort=reputation`,
-- `min_reputation`) both read it from here.

-- The reputation score in [0, 1]: Laplace's rule of succession over finished leases,
-- (completed + 1) / (completed + slashed + 2). A provider without finished leases scores the
-- neutral prior 0.5; with history it tends to the on-time rate completed / (completed + slashed).
-- Disputes are reported beside it but not scored: a dispute is an accusation that arbitration
-- decides, and a disputed lease was completed first. Inlined by the planner (plain SQL,
-- IMMUTABLE).
CREATE FUNCTION reputation_score(completed BIGINT, slashed BIGINT) RETURNS DOUBLE PRECISION
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (completed + 1)::float8 / (completed + slashed + 2) $$;

-- Per provider with at least one lease box: leases matched (boxes with completedAt = −1, one per
-- lease), completed (boxes with completedAt ≥ 0), slashed and disputed (lease boxes spent on
-- those paths), the on-time rate and the GPU hours delivered (used blocks / 30). A filter on
-- provider_pk is pushed into the grouping, so one provider's row is an index scan on
-- leases_provider.
CREATE VIEW provider_reputation AS
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
