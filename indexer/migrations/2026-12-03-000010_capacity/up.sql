-- Protocol v2 capacity (issues 23 and 24, PROTOCOL.md "Capacity"): a listing publishes the limits
-- its worker enforces on a job (R5[7..10]) and, after a match, R7 busyUntil (the lease's deadline;
-- absent = free); an order declares its job's requests (R5[8..11], 0 = none). The indexer writes
-- them as one JSON document per box (`capacity`: the codec's field names; diesel's tables stop
-- at 16 columns) and the columns below are derived from it for queries. Boxes of the older
-- layout do not decode, so existing rows read 0 (and NULL).
ALTER TABLE listings ADD COLUMN capacity JSONB NOT NULL DEFAULT '{}';
ALTER TABLE listings
    ADD COLUMN max_memory_mib BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'memory_mib')::bigint, 0)) STORED,
    ADD COLUMN max_cpu_millis BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'cpu_millis')::bigint, 0)) STORED,
    ADD COLUMN max_pids BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'pids')::bigint, 0)) STORED,
    ADD COLUMN max_disk_mib BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'disk_mib')::bigint, 0)) STORED,
    ADD COLUMN busy_until BIGINT GENERATED ALWAYS AS ((capacity->>'busy_until')::bigint) STORED;
ALTER TABLE orders ADD COLUMN capacity JSONB NOT NULL DEFAULT '{}';
ALTER TABLE orders
    ADD COLUMN memory_mib BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'memory_mib')::bigint, 0)) STORED,
    ADD COLUMN cpu_millis BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'cpu_millis')::bigint, 0)) STORED,
    ADD COLUMN pids BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'pids')::bigint, 0)) STORED,
    ADD COLUMN disk_mib BIGINT GENERATED ALWAYS AS (COALESCE((capacity->>'disk_mib')::bigint, 0)) STORED;
