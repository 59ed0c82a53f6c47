-- Rosen Bridge EventTrigger boxes: the watchers' agreed view of a transfer from another chain
-- (R5 = Coll[Coll[Byte]] event data: sourceTxId, fromChain, toChain, fromAddress, toAddress,
-- amount, bridgeFee, networkFee, sourceChainTokenId, targetChainTokenId, sourceBlockId, height).
-- Recognised by that register shape. `to_ergo_tree` is the destination address's script when it
-- is an Ergo address, so a deposit's path joins: event -> boxes at that script (the guards'
-- payment, e.g. to a DGCM Rosen deposit) -> their spends (`protocol_events`, path `convert`).
CREATE TABLE rosen_events (
    box_id          BYTEA   PRIMARY KEY,
    source_tx_id    TEXT    NOT NULL,
    from_chain      TEXT    NOT NULL,
    to_chain        TEXT    NOT NULL,
    from_address    TEXT    NOT NULL,
    to_address      TEXT    NOT NULL,
    amount          TEXT    NOT NULL,
    bridge_fee      TEXT    NOT NULL,
    network_fee     TEXT    NOT NULL,
    source_token    TEXT    NOT NULL,
    target_token    TEXT    NOT NULL,
    source_block    TEXT    NOT NULL,
    source_height   TEXT    NOT NULL,
    to_ergo_tree    BYTEA,
    height          INTEGER NOT NULL
);
CREATE INDEX rosen_events_height ON rosen_events (height);
CREATE INDEX rosen_events_source_tx ON rosen_events (source_tx_id);
CREATE INDEX rosen_events_to_tree ON rosen_events (to_ergo_tree);

-- A bridged deposit's path: source chain and transaction -> the Ergo boxes paid to its
-- destination -> how each was spent (e.g. converted into LETS credit).
CREATE VIEW rosen_paths AS
SELECT e.source_tx_id, e.from_chain, e.amount, e.to_address, e.height AS event_height,
       b.box_id AS payment_box_id, b.tx_id AS payment_tx_id, b.height AS payment_height,
       b.spent_tx_id, pe.path_name AS spent_by_path
FROM rosen_events e
LEFT JOIN boxes b ON b.ergo_tree = e.to_ergo_tree AND b.height >= e.height
LEFT JOIN protocol_events pe ON pe.box_id = b.box_id;
