-- What executors (matchers, settlers, slashers, liquidators, relays) earned, per transaction.
-- A DGCM path pays the parties with outputs tagged by the spent box's id in R4 (PROTOCOL.md,
-- "Payout box") and continues protocol boxes; whatever ERG of the spent protocol boxes goes
-- elsewhere is the executor's gross reward, from which the executor pays the miner fee.
CREATE VIEW executor_rewards AS
WITH ex AS (
    SELECT DISTINCT tx_id, height FROM protocol_events WHERE executor
),
spent AS (
    SELECT ex.tx_id, i.box_id, b.value
    FROM ex JOIN inputs i ON i.tx_id = ex.tx_id JOIN boxes b ON b.box_id = i.box_id
    WHERE b.kind IS NOT NULL
),
kept AS (
    SELECT ex.tx_id, o.value
    FROM ex JOIN boxes o ON o.tx_id = ex.tx_id
    WHERE o.kind IS NOT NULL
       OR EXISTS (
            SELECT 1 FROM registers r JOIN spent s ON s.tx_id = ex.tx_id
            WHERE r.box_id = o.box_id AND r.register = 4
              AND r.serialized = '\x0e20'::bytea || s.box_id)
),
miner AS (
    SELECT ex.tx_id, o.value
    FROM ex JOIN boxes o ON o.tx_id = ex.tx_id
    WHERE o.ergo_tree = '\x1005040004000e36100204a00b08cd0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798ea02d192a39a8cc7a701730073011001020402d19683030193a38cc7b2a57300000193c2b2a57301007473027303830108cdeeac93b1a57304'::bytea
)
SELECT ex.tx_id, ex.height,
    (SELECT string_agg(DISTINCT pe.kind || '.' || pe.path_name, ',') FROM protocol_events pe
      WHERE pe.tx_id = ex.tx_id AND pe.executor) AS action,
    COALESCE((SELECT sum(value) FROM spent s WHERE s.tx_id = ex.tx_id), 0)
      - COALESCE((SELECT sum(value) FROM kept k WHERE k.tx_id = ex.tx_id), 0) AS reward_erg,
    COALESCE((SELECT sum(value) FROM miner m WHERE m.tx_id = ex.tx_id), 0) AS miner_fee_erg
FROM ex;
