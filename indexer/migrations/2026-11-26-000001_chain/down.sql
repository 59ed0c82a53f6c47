DROP TABLE mempool_inputs, mempool_outputs, mempool_transactions, listings, protocol_boxes,
    tokens, registers, assets, inputs, boxes, transactions, headers, sync_cursor;
