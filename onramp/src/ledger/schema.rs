//! Diesel schema of `migrations/` (written by hand; keep it in step with `up.sql`).

diesel::table! {
    onramp_orders (id) {
        id -> Text,
        status -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        fiat_currency -> Text,
        fiat_cents -> Int8,
        fee_cents -> Int8,
        asset -> Text,
        asset_amount -> Int8,
        box_nanoerg -> Int8,
        rate -> Jsonb,
        address -> Text,
        ergo_tree -> Bytea,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    onramp_payments (order_id) {
        order_id -> Text,
        provider -> Text,
        checkout_id -> Nullable<Text>,
        checkout_url -> Nullable<Text>,
        checkout_at -> Timestamptz,
        payment_id -> Nullable<Text>,
        paid_cents -> Nullable<Int8>,
        paid_currency -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        refund_reason -> Nullable<Text>,
        refund_flagged_at -> Nullable<Timestamptz>,
        refund_id -> Nullable<Text>,
        chargeback -> Nullable<Text>,
        chargeback_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    onramp_payouts (order_id) {
        order_id -> Text,
        tx_id -> Text,
        tx_bytes -> Bytea,
        input_ids -> Array<Text>,
        signed_height -> Int4,
        signed_at -> Timestamptz,
        submitted_at -> Nullable<Timestamptz>,
        submit_attempts -> Int4,
        inclusion_height -> Nullable<Int4>,
        inclusion_block_id -> Nullable<Text>,
        confirmations -> Int4,
        confirmed_at -> Nullable<Timestamptz>,
        scanned_height -> Nullable<Int4>,
    }
}

diesel::table! {
    onramp_events (provider, event_id) {
        provider -> Text,
        event_id -> Text,
        event_type -> Text,
        created -> Timestamptz,
        received_at -> Timestamptz,
        order_id -> Nullable<Text>,
        outcome -> Text,
        payload -> Jsonb,
    }
}

diesel::table! {
    onramp_order_log (id) {
        id -> Int8,
        order_id -> Text,
        at -> Timestamptz,
        status -> Text,
        note -> Text,
    }
}

diesel::joinable!(onramp_payments -> onramp_orders (order_id));
diesel::joinable!(onramp_payouts -> onramp_orders (order_id));
diesel::joinable!(onramp_events -> onramp_orders (order_id));
diesel::joinable!(onramp_order_log -> onramp_orders (order_id));
diesel::allow_tables_to_appear_in_same_query!(
    onramp_orders,
    onramp_payments,
    onramp_payouts,
    onramp_events,
    onramp_order_log
);
