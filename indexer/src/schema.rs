//! diesel table definitions; they mirror `migrations/` exactly.

diesel::table! {
    sync_cursor (id) {
        id -> Int2,
        height -> Int4,
        header_id -> Bytea,
    }
}

diesel::table! {
    headers (height) {
        height -> Int4,
        header_id -> Bytea,
        parent_id -> Bytea,
        timestamp -> Int8,
        version -> Int2,
        tx_count -> Int4,
    }
}

diesel::table! {
    transactions (tx_id) {
        tx_id -> Bytea,
        height -> Int4,
        tx_index -> Int4,
    }
}

diesel::table! {
    boxes (box_id) {
        box_id -> Bytea,
        tx_id -> Bytea,
        output_index -> Int4,
        height -> Int4,
        creation_height -> Int4,
        value -> Int8,
        ergo_tree -> Bytea,
        kind -> Nullable<Text>,
        spent_tx_id -> Nullable<Bytea>,
        spent_height -> Nullable<Int4>,
    }
}

diesel::table! {
    inputs (tx_id, input_index) {
        tx_id -> Bytea,
        input_index -> Int4,
        box_id -> Bytea,
        height -> Int4,
        path -> Nullable<Int2>,
    }
}

diesel::table! {
    assets (box_id, asset_index) {
        box_id -> Bytea,
        asset_index -> Int2,
        token_id -> Bytea,
        amount -> Int8,
        height -> Int4,
    }
}

diesel::table! {
    registers (box_id, register) {
        box_id -> Bytea,
        register -> Int2,
        stype -> Text,
        serialized -> Bytea,
        height -> Int4,
    }
}

diesel::table! {
    tokens (token_id) {
        token_id -> Bytea,
        issuing_box_id -> Bytea,
        emission_amount -> Int8,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        decimals -> Nullable<Int4>,
        height -> Int4,
    }
}

diesel::table! {
    protocol_boxes (box_id) {
        box_id -> Bytea,
        kind -> Text,
        height -> Int4,
        decoded -> Nullable<Jsonb>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    listings (box_id) {
        box_id -> Bytea,
        listing_nft -> Bytea,
        provider_pk -> Bytea,
        price_per_hour -> Int8,
        collateral_per_hour -> Int8,
        min_hours -> Int8,
        max_hours -> Int8,
        vram_mib -> Int8,
        gpu_count -> Int8,
        benchmark_score -> Int8,
        model -> Text,
        region -> Text,
        endpoint -> Text,
        stake -> Int8,
        height -> Int4,
        capacity -> Jsonb,
    }
}

diesel::table! {
    orders (box_id) {
        box_id -> Bytea,
        consumer_pk -> Bytea,
        budget -> Int8,
        max_price_per_hour -> Int8,
        hours -> Int8,
        min_vram_mib -> Int8,
        min_gpu_count -> Int8,
        min_benchmark_score -> Int8,
        expiry_height -> Int8,
        matcher_fee_cap -> Int8,
        listing_nft -> Nullable<Bytea>,
        model -> Nullable<Text>,
        region -> Nullable<Text>,
        job_spec_hash -> Bytea,
        height -> Int4,
        capacity -> Jsonb,
    }
}

diesel::table! {
    leases (box_id) {
        box_id -> Bytea,
        consumer_pk -> Bytea,
        provider_pk -> Bytea,
        listing_nft -> Bytea,
        price_per_hour -> Int8,
        hours -> Int8,
        payment -> Int8,
        collateral -> Int8,
        start_height -> Int8,
        deadline -> Int8,
        exec_fee_cap -> Int8,
        used_blocks -> Int8,
        completed_at -> Int8,
        job_spec_hash -> Bytea,
        usage_commitment -> Bytea,
        height -> Int4,
    }
}

diesel::table! {
    lets_accounts (box_id) {
        box_id -> Bytea,
        owner_pk -> Bytea,
        balance -> Int8,
        erg_collateral -> Int8,
        sigusd_collateral -> Int8,
        height -> Int4,
    }
}

diesel::table! {
    arbitration_cases (box_id) {
        box_id -> Bytea,
        lease_box_id -> Bytea,
        consumer_pk -> Bytea,
        provider_pk -> Bytea,
        payment -> Int8,
        collateral -> Int8,
        claimed_pay -> Int8,
        timeout -> Int8,
        height -> Int4,
    }
}

diesel::table! {
    rosen_deposits (box_id) {
        box_id -> Bytea,
        owner_pk -> Bytea,
        value -> Int8,
        tokens -> Jsonb,
        height -> Int4,
    }
}

diesel::table! {
    rosen_events (box_id) {
        box_id -> Bytea,
        source_tx_id -> Text,
        from_chain -> Text,
        to_chain -> Text,
        from_address -> Text,
        to_address -> Text,
        amount -> Text,
        bridge_fee -> Text,
        network_fee -> Text,
        source_token -> Text,
        target_token -> Text,
        source_block -> Text,
        source_height -> Text,
        to_ergo_tree -> Nullable<Bytea>,
        height -> Int4,
    }
}

diesel::table! {
    mempool_transactions (tx_id) {
        tx_id -> Bytea,
        tx -> Jsonb,
        seen_at -> Timestamptz,
    }
}

diesel::table! {
    mempool_outputs (box_id) {
        box_id -> Bytea,
        tx_id -> Bytea,
        #[sql_name = "box"]
        box_json -> Jsonb,
    }
}

diesel::table! {
    mempool_inputs (box_id) {
        box_id -> Bytea,
        tx_id -> Bytea,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    sync_cursor,
    headers,
    transactions,
    boxes,
    inputs,
    assets,
    registers,
    tokens,
    protocol_boxes,
    listings,
    mempool_transactions,
    mempool_outputs,
    mempool_inputs,
);
