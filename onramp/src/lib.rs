//! DGCM fiat on-ramp: quotes, payment-provider adapter, exactly-once fulfilment.
