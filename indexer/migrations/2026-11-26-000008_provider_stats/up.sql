-- Reputation counters per provider, kept by the indexer in the same transaction that applies or
-- rolls back a block (`Store::apply_many`, `Store::rollback`). A listing page shows a reputation
-- per row; aggregating each provider's lease history there cost ~0.3 ms per provider with
-- seventeen past leases (15 ms for a page of 50), where this table is one primary-key probe.
-- Exact across reorgs: a rolled-back block subtracts what it added, and a provider whose counts
-- return to zero loses its row, so the table equals a fresh index of the same chain. Every
-- provider with a listing box has a row (`listings`), so a search sorted by reputation can walk
-- providers in score order (`provider_stats_score`) and each one's listings
-- (`listings_provider`) instead of sorting every matching listing.
CREATE TABLE provider_stats (
    provider_pk      BYTEA  PRIMARY KEY,
    -- listing boxes (every version)
    listings         BIGINT NOT NULL,
    -- lease boxes with completedAt = -1 (one per lease: the matched, running box)
    leases           BIGINT NOT NULL,
    -- lease boxes with completedAt >= 0 (the provider posted a completion)
    completed        BIGINT NOT NULL,
    -- lease boxes spent on the slash / dispute paths
    slashed          BIGINT NOT NULL,
    disputed         BIGINT NOT NULL,
    -- usedBlocks summed over completed boxes (30 blocks = 1 hour)
    completed_blocks BIGINT NOT NULL
);

-- What the chain rows at heights lo..hi add to each provider's counters: listing and lease boxes
-- created there, and lease boxes spent there on the slash or dispute path.
CREATE FUNCTION provider_stats_delta(lo INTEGER, hi INTEGER)
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

INSERT INTO provider_stats SELECT * FROM provider_stats_delta(-2147483648, 2147483647);
CREATE INDEX provider_stats_score ON provider_stats (reputation_score(completed, slashed), provider_pk);
CREATE INDEX listings_provider ON listings (provider_pk, box_id);

-- Same columns as before, now read from the counters.
CREATE OR REPLACE VIEW provider_reputation AS
SELECT s.provider_pk, s.leases, s.completed, s.slashed, s.disputed,
       s.completed::float8 / NULLIF(s.completed + s.slashed, 0) AS on_time_rate,
       s.completed_blocks::float8 / 30 AS total_hours,
       reputation_score(s.completed, s.slashed) AS score
  FROM provider_stats s;

DROP FUNCTION provider_score(BYTEA);

-- Lease lists filtered on an ended state (settled, slashed, disputed, cancelled) start from the
-- spends on that path; only inputs of DGCM boxes carry a path.
CREATE INDEX inputs_path ON inputs (path) WHERE path IS NOT NULL;

-- "Unspent boxes of kind X" is how every current-state query starts; without joint statistics
-- PostgreSQL multiplies the two selectivities (half the boxes are leases, half are unspent:
-- a quarter) where the truth is the few running leases among a long history.
CREATE STATISTICS boxes_kind_spent (mcv) ON kind, spent_height FROM boxes;
