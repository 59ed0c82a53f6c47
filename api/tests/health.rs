//! The API's account health is SQL that restates the member contract's `healthy`; it is checked
//! against the one definition in the contracts crate (`dgcm_contracts::lets_member::healthy`)
//! on a grid around the boundary, where a rounding difference would show.

use dgcm_contracts::lets_member::healthy;
use dgcm_contracts::ProtocolParams;
use dgcm_indexer::pgcluster::fresh_test_database;
use diesel::prelude::*;

#[test]
fn account_health_in_sql_equals_the_contracts_crate() {
    let db = fresh_test_database().unwrap();
    let _store = dgcm_indexer::Store::connect(&db).unwrap(); // migrations
    let mut conn = PgConnection::establish(&db).unwrap();
    let p = ProtocolParams::devnet_default();
    let mut cases = 0;
    let mut unhealthy = 0;
    for rate in [1i64, 7, 967_821_514, 2_000_000_000] {
        for debt in [1i64, 999, 10_000, 123_457, 9_999_999] {
            for sigusd in [0i64, 1, 2_000] {
                // The ERG collateral at which the account is exactly at the required ratio:
                // (v·100 + s·rate)·100000 = debt·price·ratio·rate; test around it.
                let need = debt as i128
                    * p.gpuc_price_cents as i128
                    * p.collateral_ratio_pct as i128
                    * rate as i128;
                let v0 = ((need / 100_000 - sigusd as i128 * rate as i128) / 100).max(0) as i64;
                for value in [v0 - 1, v0, v0 + 1, v0 + 2].into_iter().filter(|v| *v >= 0) {
                    let owner = format!("{cases:066x}");
                    let id = format!("{cases:064x}");
                    for q in [
                        format!(
                            "INSERT INTO boxes VALUES (decode('{id}', 'hex'), decode('{id}', 'hex'), \
                             0, 1, 1, {value}, '\\x00', 'lets_member', NULL, NULL)"
                        ),
                        format!(
                            "INSERT INTO lets_accounts VALUES (decode('{id}', 'hex'), \
                             decode('{owner}', 'hex'), {}, {value}, {sigusd}, 1)",
                            -debt
                        ),
                    ] {
                        diesel::sql_query(q)
                            .execute(&mut conn)
                            .unwrap_or_else(|e| panic!("insert: {e}"));
                    }
                    let owner_pk = hex::decode(&owner).unwrap();
                    let a = dgcm_api::queries::lets_account(
                        &mut conn,
                        &owner_pk,
                        Some(rate),
                        p.gpuc_price_cents,
                        p.collateral_ratio_pct,
                    )
                    .unwrap()
                    .expect("the account");
                    let want = healthy(&p, -debt, value as u64, sigusd as u64, rate);
                    assert_eq!(
                        a.healthy,
                        Some(want),
                        "rate {rate}, debt {debt}, ERG {value}, SigUSD {sigusd}"
                    );
                    unhealthy += !want as usize;
                    cases += 1;
                }
            }
        }
    }
    // the grid straddles the boundary: both answers occur
    assert!(unhealthy > 0 && unhealthy < cases, "{unhealthy} of {cases}");
}
