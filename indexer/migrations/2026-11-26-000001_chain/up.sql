-- Chain tables. Every row carries the height of the block that wrote it (`height`, or
-- `spent_height` for the spend marks on boxes), so undoing a block is a set of deletes and one
-- update keyed by its height: exact, with no separate undo log.

CREATE TABLE sync_cursor (
    id          SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    height      INTEGER NOT NULL,
    header_id   BYTEA   NOT NULL
);

CREATE TABLE headers (
    height      INTEGER PRIMARY KEY,
    header_id   BYTEA   NOT NULL UNIQUE,
    parent_id   BYTEA   NOT NULL,
    timestamp   BIGINT  NOT NULL,
    version     SMALLINT NOT NULL,
    tx_count    INTEGER NOT NULL
);

CREATE TABLE transactions (
    tx_id       BYTEA   PRIMARY KEY,
    height      INTEGER NOT NULL,
    tx_index    INTEGER NOT NULL
);
CREATE INDEX transactions_height ON transactions (height);

-- Genesis boxes have height 0 and the all-zero transaction id.
CREATE TABLE boxes (
    box_id          BYTEA   PRIMARY KEY,
    tx_id           BYTEA   NOT NULL,
    output_index    INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    creation_height INTEGER NOT NULL,
    value           BIGINT  NOT NULL,
    ergo_tree       BYTEA   NOT NULL,
    kind            TEXT,
    spent_tx_id     BYTEA,
    spent_height    INTEGER
);
CREATE INDEX boxes_height ON boxes (height);
CREATE INDEX boxes_spent_height ON boxes (spent_height) WHERE spent_height IS NOT NULL;
CREATE INDEX boxes_unspent_kind ON boxes (kind) WHERE spent_height IS NULL AND kind IS NOT NULL;
CREATE INDEX boxes_tree_hash ON boxes (md5(ergo_tree)) WHERE spent_height IS NULL;

-- Every input of every transaction, also when the spent box is not indexed (--from-height).
CREATE TABLE inputs (
    tx_id       BYTEA   NOT NULL,
    input_index INTEGER NOT NULL,
    box_id      BYTEA   NOT NULL,
    height      INTEGER NOT NULL,
    PRIMARY KEY (tx_id, input_index)
);
CREATE INDEX inputs_height ON inputs (height);
CREATE INDEX inputs_box ON inputs (box_id);

CREATE TABLE assets (
    box_id      BYTEA   NOT NULL,
    asset_index SMALLINT NOT NULL,
    token_id    BYTEA   NOT NULL,
    amount      BIGINT  NOT NULL,
    height      INTEGER NOT NULL,
    PRIMARY KEY (box_id, asset_index)
);
CREATE INDEX assets_height ON assets (height);
CREATE INDEX assets_token ON assets (token_id);

-- Registers R4..R9 as the serialized constant (node format) and its type.
CREATE TABLE registers (
    box_id      BYTEA    NOT NULL,
    register    SMALLINT NOT NULL,
    stype       TEXT     NOT NULL,
    serialized  BYTEA    NOT NULL,
    height      INTEGER  NOT NULL,
    PRIMARY KEY (box_id, register)
);
CREATE INDEX registers_height ON registers (height);

-- EIP-4 tokens: minted in a transaction whose first input id is the token id.
CREATE TABLE tokens (
    token_id        BYTEA   PRIMARY KEY,
    issuing_box_id  BYTEA   NOT NULL,
    emission_amount BIGINT  NOT NULL,
    name            TEXT,
    description     TEXT,
    decimals        INTEGER,
    height          INTEGER NOT NULL
);
CREATE INDEX tokens_height ON tokens (height);

-- Boxes guarded by a DGCM contract, decoded with the dgcm-contracts codecs (`decoded`), or the
-- reason they do not decode (`error`): recorded, never dropped.
CREATE TABLE protocol_boxes (
    box_id      BYTEA   PRIMARY KEY,
    kind        TEXT    NOT NULL,
    height      INTEGER NOT NULL,
    decoded     JSONB,
    error       TEXT
);
CREATE INDEX protocol_boxes_height ON protocol_boxes (height);
CREATE INDEX protocol_boxes_kind ON protocol_boxes (kind);

-- Listings, one row per listing box (history = all rows of one listing NFT).
CREATE TABLE listings (
    box_id              BYTEA   PRIMARY KEY,
    listing_nft         BYTEA   NOT NULL,
    provider_pk         BYTEA   NOT NULL,
    price_per_hour      BIGINT  NOT NULL,
    collateral_per_hour BIGINT  NOT NULL,
    min_hours           BIGINT  NOT NULL,
    max_hours           BIGINT  NOT NULL,
    vram_mib            BIGINT  NOT NULL,
    gpu_count           BIGINT  NOT NULL,
    benchmark_score     BIGINT  NOT NULL,
    model               TEXT    NOT NULL,
    region              TEXT    NOT NULL,
    endpoint            TEXT    NOT NULL,
    stake               BIGINT  NOT NULL,
    height              INTEGER NOT NULL
);
CREATE INDEX listings_height ON listings (height);
CREATE INDEX listings_nft ON listings (listing_nft, height);
CREATE INDEX listings_price ON listings (price_per_hour);

-- The node's mempool as last seen (replaced on every poll; not part of the chain state).
CREATE TABLE mempool_transactions (
    tx_id       BYTEA   PRIMARY KEY,
    tx          JSONB   NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE mempool_outputs (
    box_id      BYTEA   PRIMARY KEY,
    tx_id       BYTEA   NOT NULL,
    box         JSONB   NOT NULL
);
CREATE TABLE mempool_inputs (
    box_id      BYTEA   PRIMARY KEY,
    tx_id       BYTEA   NOT NULL
);
