-- A payment reversed after it was accepted (the provider refunded the charge, or the payer
-- opened a dispute): recorded and flagged on the order, whatever its status, so an operator sees
-- a payout whose money went back (chargeback fraud).
ALTER TABLE onramp_payments
    ADD COLUMN chargeback TEXT,
    ADD COLUMN chargeback_at TIMESTAMPTZ;
