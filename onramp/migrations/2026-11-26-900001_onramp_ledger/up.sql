-- The on-ramp's ledger. Every table is prefixed `onramp_` because the database may be shared with
-- the indexer; this migration's version (20261126900001: diesel drops the dashes) cannot collide
-- with the indexer's (20261126000001, 20261126000002, ...).

-- One row per quote; the same row carries the order's status to the end. Amounts are integers
-- in base units: fiat in cents, ERG in nanoERG, SigUSD in cents (2 decimals), GPUC in mGPUC
-- (3 decimals).
CREATE TABLE onramp_orders (
    id               TEXT PRIMARY KEY,
    status           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at       TIMESTAMPTZ NOT NULL,
    fiat_currency    TEXT NOT NULL,
    fiat_cents       BIGINT NOT NULL CHECK (fiat_cents > 0),
    fee_cents        BIGINT NOT NULL CHECK (fee_cents >= 0),
    asset            TEXT NOT NULL CHECK (asset IN ('ERG', 'SigUSD', 'GPUC')),
    asset_amount     BIGINT NOT NULL CHECK (asset_amount > 0),
    -- nanoERG in the delivered box (the amount itself for ERG)
    box_nanoerg      BIGINT NOT NULL CHECK (box_nanoerg > 0),
    -- where the rate came from: {source, value, oracle_box_id, oracle_height}
    rate             JSONB NOT NULL,
    address          TEXT NOT NULL,
    ergo_tree        BYTEA NOT NULL,
    -- retries of the next step (fulfilment or refund)
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    last_error       TEXT
);

-- The provider's side of an order: checkout session, payment, refund. Created when the
-- checkout is reserved.
CREATE TABLE onramp_payments (
    order_id           TEXT PRIMARY KEY REFERENCES onramp_orders (id),
    provider           TEXT NOT NULL,
    checkout_id        TEXT UNIQUE,
    checkout_url       TEXT,
    checkout_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    payment_id         TEXT,
    paid_cents         BIGINT,
    paid_currency      TEXT,
    paid_at            TIMESTAMPTZ,
    -- a payment that must not be filled (quote expired first, amount mismatch, ...)
    refund_reason      TEXT,
    refund_flagged_at  TIMESTAMPTZ,
    refund_id          TEXT
);

CREATE INDEX onramp_payments_payment ON onramp_payments (payment_id);
CREATE INDEX onramp_orders_status ON onramp_orders (status, next_attempt_at);
CREATE INDEX onramp_orders_address ON onramp_orders (address, created_at);
CREATE INDEX onramp_orders_created ON onramp_orders (created_at);
CREATE INDEX onramp_payments_checkout_at ON onramp_payments (checkout_at);

-- The treasury transaction that fills an order. The row, with the signed bytes, is written
-- BEFORE the transaction is submitted, and the primary key allows one per order: after a crash
-- the same bytes (the same transaction id) are re-broadcast, never a second transaction.
CREATE TABLE onramp_payouts (
    order_id            TEXT PRIMARY KEY REFERENCES onramp_orders (id),
    tx_id               TEXT NOT NULL UNIQUE,
    tx_bytes            BYTEA NOT NULL,
    input_ids           TEXT[] NOT NULL,
    signed_height       INTEGER NOT NULL,
    signed_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    submitted_at        TIMESTAMPTZ,
    submit_attempts     INTEGER NOT NULL DEFAULT 0,
    inclusion_height    INTEGER,
    inclusion_block_id  TEXT,
    confirmations       INTEGER NOT NULL DEFAULT 0,
    confirmed_at        TIMESTAMPTZ,
    -- blocks up to here were searched for the transaction (re-searched near the tip for reorgs)
    scanned_height      INTEGER
);

-- Every webhook event, recorded once: the primary key makes a redelivery a no-op.
CREATE TABLE onramp_events (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    created      TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    order_id     TEXT REFERENCES onramp_orders (id),
    outcome      TEXT NOT NULL,
    payload      JSONB NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- The order's history, for support: one row per status change.
CREATE TABLE onramp_order_log (
    id        BIGSERIAL PRIMARY KEY,
    order_id  TEXT NOT NULL REFERENCES onramp_orders (id),
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    status    TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX onramp_order_log_order ON onramp_order_log (order_id, id);
