DROP FUNCTION provider_score(BYTEA);
