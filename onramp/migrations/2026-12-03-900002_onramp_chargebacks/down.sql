ALTER TABLE onramp_payments
    DROP COLUMN chargeback,
    DROP COLUMN chargeback_at;
