DROP VIEW provider_reputation;
DROP FUNCTION reputation_score(BIGINT, BIGINT);
