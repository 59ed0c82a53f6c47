-- Protocol v2 provenance. Anyone can create a box at the lease script naming any provider (the
-- contracts make such a box harmless to others: it holds only its creator's funds), so the
-- indexer tells genuine from forged and reputation never counts a forged lease (PROTOCOL.md,
-- "Provenance"):
--   a lease is genuine iff it is output 0 of a transaction that spent, at input 1, a listing box
--   whose NFT and provider are the lease's (a match by the listing's path, or the provider's own
--   signature), or it continues (input 0 → output 0) a genuine lease of the same parties and start;
--   an arbitration case is genuine iff it is output 0 of the transaction that spent its lease at
--   input 0, and that lease is genuine. Output 0 only: the paths constrain that output and leave
--   the others free, so a match or a dispute may carry more boxes at the same script.
-- `forged` is NULL for a genuine box and the reason otherwise.
ALTER TABLE leases ADD COLUMN forged TEXT;
ALTER TABLE arbitration_cases ADD COLUMN forged TEXT;

-- Marks the leases and arbitration cases created at heights lo..hi (their inputs are indexed by
-- then). Each statement sees the previous ones: origins first, then their continuations (a lease
-- has at most two generations: matched, completed), then the disputes.
CREATE FUNCTION mark_forged(lo INTEGER, hi INTEGER) RETURNS void LANGUAGE sql AS $$
    UPDATE leases le
       SET forged = 'created without its listing: not output 0 of a transaction that spent a listing box with this NFT and provider at input 1'
      FROM boxes b
     WHERE le.height BETWEEN lo AND hi AND b.box_id = le.box_id
       AND NOT EXISTS (SELECT 1 FROM inputs i JOIN leases p ON p.box_id = i.box_id
                        WHERE i.tx_id = b.tx_id AND i.input_index = 0)
       AND NOT (b.output_index = 0 AND EXISTS (
                SELECT 1 FROM inputs i JOIN listings l ON l.box_id = i.box_id
                 WHERE i.tx_id = b.tx_id AND i.input_index = 1
                   AND l.listing_nft = le.listing_nft AND l.provider_pk = le.provider_pk));
    UPDATE leases le
       SET forged = 'does not continue a genuine lease of the same parties'
      FROM boxes b
     WHERE le.height BETWEEN lo AND hi AND b.box_id = le.box_id
       AND EXISTS (SELECT 1 FROM inputs i JOIN leases p ON p.box_id = i.box_id
                    WHERE i.tx_id = b.tx_id AND i.input_index = 0)
       AND NOT (b.output_index = 0 AND EXISTS (
                SELECT 1 FROM inputs i JOIN leases p ON p.box_id = i.box_id
                 WHERE i.tx_id = b.tx_id AND i.input_index = 0 AND p.forged IS NULL
                   AND p.listing_nft = le.listing_nft AND p.provider_pk = le.provider_pk
                   AND p.consumer_pk = le.consumer_pk AND p.start_height = le.start_height));
    UPDATE arbitration_cases a
       SET forged = 'not created by the dispute of a genuine lease'
      FROM boxes b
     WHERE a.height BETWEEN lo AND hi AND b.box_id = a.box_id
       AND NOT (b.output_index = 0 AND EXISTS (
                SELECT 1 FROM inputs i JOIN leases p ON p.box_id = i.box_id
                 WHERE i.tx_id = b.tx_id AND i.input_index = 0
                   AND p.box_id = a.lease_box_id AND p.forged IS NULL));
$$;

-- The reputation delta of migration 000008, counting genuine leases only.
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
              FROM leases le WHERE le.height BETWEEN lo AND hi AND le.forged IS NULL
            UNION ALL
            SELECT le.provider_pk, 0, 0, 0, (pp.name = 'slash')::int, (pp.name = 'dispute')::int, 0
              FROM inputs i
              JOIN leases le ON le.box_id = i.box_id
              JOIN protocol_paths pp ON pp.kind = 'lease' AND pp.path = i.path
             WHERE i.height BETWEEN lo AND hi AND pp.name IN ('slash', 'dispute')
               AND le.forged IS NULL) d
     GROUP BY d.provider_pk
$$;

-- An existing index: mark what is there and recount.
SELECT mark_forged(-2147483648, 2147483647);
DELETE FROM provider_stats;
INSERT INTO provider_stats SELECT * FROM provider_stats_delta(-2147483648, 2147483647);
CREATE INDEX leases_forged ON leases (box_id) WHERE forged IS NOT NULL;
