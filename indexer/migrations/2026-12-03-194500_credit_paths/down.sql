DELETE FROM protocol_paths
WHERE (kind, path) IN (('lets_vault', 2), ('lets_member', 5), ('rosen_deposit', 2));
