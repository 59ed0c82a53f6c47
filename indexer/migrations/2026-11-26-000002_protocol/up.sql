-- Protocol tables decoded with the dgcm-contracts codecs, one row per box (a box's history is
-- the chain of boxes linked by the transactions that spend them). Like every chain table they
-- carry `height` and are undone by height.

-- The path selector (context variable 0, a Byte) of each input that set one: which spending
-- path of a DGCM contract a transaction took.
ALTER TABLE inputs ADD COLUMN path SMALLINT;

CREATE TABLE orders (
    box_id              BYTEA   PRIMARY KEY,
    consumer_pk         BYTEA   NOT NULL,
    budget              BIGINT  NOT NULL,
    max_price_per_hour  BIGINT  NOT NULL,
    hours               BIGINT  NOT NULL,
    min_vram_mib        BIGINT  NOT NULL,
    min_gpu_count       BIGINT  NOT NULL,
    min_benchmark_score BIGINT  NOT NULL,
    expiry_height       BIGINT  NOT NULL,
    matcher_fee_cap     BIGINT  NOT NULL,
    listing_nft         BYTEA,
    model               TEXT,
    region              TEXT,
    job_spec_hash       BYTEA   NOT NULL,
    height              INTEGER NOT NULL
);
CREATE INDEX orders_height ON orders (height);
CREATE INDEX orders_consumer ON orders (consumer_pk);

CREATE TABLE leases (
    box_id              BYTEA   PRIMARY KEY,
    consumer_pk         BYTEA   NOT NULL,
    provider_pk         BYTEA   NOT NULL,
    listing_nft         BYTEA   NOT NULL,
    price_per_hour      BIGINT  NOT NULL,
    hours               BIGINT  NOT NULL,
    payment             BIGINT  NOT NULL,
    collateral          BIGINT  NOT NULL,
    start_height        BIGINT  NOT NULL,
    deadline            BIGINT  NOT NULL,
    exec_fee_cap        BIGINT  NOT NULL,
    used_blocks         BIGINT  NOT NULL,
    completed_at        BIGINT  NOT NULL,
    job_spec_hash       BYTEA   NOT NULL,
    usage_commitment    BYTEA   NOT NULL,
    height              INTEGER NOT NULL
);
CREATE INDEX leases_height ON leases (height);
CREATE INDEX leases_consumer ON leases (consumer_pk);
CREATE INDEX leases_provider ON leases (provider_pk);
CREATE INDEX leases_listing ON leases (listing_nft);

CREATE TABLE lets_accounts (
    box_id      BYTEA   PRIMARY KEY,
    owner_pk    BYTEA   NOT NULL,
    balance     BIGINT  NOT NULL,
    erg_collateral    BIGINT NOT NULL,
    sigusd_collateral BIGINT NOT NULL,
    height      INTEGER NOT NULL
);
CREATE INDEX lets_accounts_height ON lets_accounts (height);
CREATE INDEX lets_accounts_owner ON lets_accounts (owner_pk);

CREATE TABLE arbitration_cases (
    box_id      BYTEA   PRIMARY KEY,
    lease_box_id BYTEA  NOT NULL,
    consumer_pk BYTEA   NOT NULL,
    provider_pk BYTEA   NOT NULL,
    payment     BIGINT  NOT NULL,
    collateral  BIGINT  NOT NULL,
    claimed_pay BIGINT  NOT NULL,
    timeout     BIGINT  NOT NULL,
    height      INTEGER NOT NULL
);
CREATE INDEX arbitration_cases_height ON arbitration_cases (height);

CREATE TABLE rosen_deposits (
    box_id      BYTEA   PRIMARY KEY,
    owner_pk    BYTEA   NOT NULL,
    value       BIGINT  NOT NULL,
    tokens      JSONB   NOT NULL,
    height      INTEGER NOT NULL
);
CREATE INDEX rosen_deposits_height ON rosen_deposits (height);
CREATE INDEX rosen_deposits_owner ON rosen_deposits (owner_pk);

-- Names of the spending paths (PROTOCOL.md), so queries read as the protocol does.
CREATE TABLE protocol_paths (
    kind    TEXT     NOT NULL,
    path    SMALLINT NOT NULL,
    name    TEXT     NOT NULL,
    executor BOOLEAN NOT NULL,
    PRIMARY KEY (kind, path)
);
INSERT INTO protocol_paths VALUES
    ('listing', 0, 'provider', false), ('listing', 1, 'match', true),
    ('order', 0, 'cancel', false), ('order', 1, 'match', true),
    ('lease', 0, 'complete', false), ('lease', 1, 'finalise', true), ('lease', 2, 'accept', false),
    ('lease', 3, 'dispute', false), ('lease', 4, 'slash', true), ('lease', 5, 'cancel', false),
    ('arbitration', 0, 'decide', false), ('arbitration', 1, 'timeout', true), ('arbitration', 2, 'settle', false),
    ('lets_vault', 0, 'flow', false), ('lets_vault', 1, 'join', false),
    ('lets_member', 0, 'owner', false), ('lets_member', 1, 'close', false), ('lets_member', 2, 'receive', false),
    ('lets_member', 3, 'top_up', false), ('lets_member', 4, 'liquidate', true),
    ('rosen_deposit', 0, 'owner', false), ('rosen_deposit', 1, 'convert', true);

-- Every spend of a DGCM box with the path it took: the state timeline of leases, orders,
-- listings and accounts, and who executed what.
CREATE VIEW protocol_events AS
SELECT pb.box_id, pb.kind, i.tx_id, i.input_index, i.height, i.path, pp.name AS path_name, pp.executor
FROM protocol_boxes pb
JOIN inputs i ON i.box_id = pb.box_id
LEFT JOIN protocol_paths pp ON pp.kind = pb.kind AND pp.path = i.path;

-- Leases settled (finalised after the window or accepted early) and slashed.
CREATE VIEW settlements AS
SELECT * FROM protocol_events WHERE kind = 'lease' AND path_name IN ('finalise', 'accept');
CREATE VIEW slashes AS
SELECT * FROM protocol_events WHERE kind = 'lease' AND path_name = 'slash';
