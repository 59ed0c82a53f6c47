DROP TABLE onramp_order_log;
DROP TABLE onramp_events;
DROP TABLE onramp_payouts;
DROP TABLE onramp_payments;
DROP TABLE onramp_orders;
