-- One provider's reputation score (the `provider_reputation` definition) as a PL/pgSQL function:
-- the query API computes it for every listing on a page, and a PL/pgSQL body is planned once per
-- connection and always probes `leases_provider`, where a LATERAL over the view was re-planned on
-- every search and could flip to a sequential scan of all leases.
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
