DROP VIEW slashes, settlements, protocol_events;
DROP TABLE protocol_paths, rosen_deposits, arbitration_cases, lets_accounts, leases, orders;
ALTER TABLE inputs DROP COLUMN path;
