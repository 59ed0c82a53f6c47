-- Protocol v2's credit paths (a stable asset bought as GPUC credit at the oracle's price).
INSERT INTO protocol_paths VALUES
    ('lets_vault', 2, 'credit', false),
    ('lets_member', 5, 'credited', false),
    ('rosen_deposit', 2, 'credit', true);
