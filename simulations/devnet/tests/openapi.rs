//! The devnet's answers validate against the real node's OpenAPI schemas
//! (testdata/ergo-node-openapi.yaml): /info, /blocks/{id}, /blocks/lastHeaders, /utxo/byId,
//! /transactions/unconfirmed and error bodies.

mod common;

use common::*;
use dgcm_devnet::genesis::ERG;
use serde_json::Value;

/// OpenAPI 3.0 `nullable: true` is not JSON Schema: rewrite it as `anyOf [null, schema]`.
fn openapi_to_json_schema(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (_, child) in m.iter_mut() {
                openapi_to_json_schema(child);
            }
            if m.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(m));
                m.insert("anyOf".into(), serde_json::json!([{"type": "null"}, inner]));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(openapi_to_json_schema),
        _ => {}
    }
}

fn spec() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ergo-node-openapi.yaml");
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut json = serde_json::to_value(yaml).unwrap();
    openapi_to_json_schema(&mut json);
    json
}

/// Validate `instance` against `#/components/schemas/<name>` (or an array of them).
fn check(spec: &Value, name: &str, array: bool, instance: &Value) {
    let r = serde_json::json!({"$ref": format!("#/components/schemas/{name}")});
    let mut schema = serde_json::json!({"components": spec["components"].clone()});
    if array {
        schema["type"] = "array".into();
        schema["items"] = r;
    } else {
        schema["$ref"] = r["$ref"].clone();
    }
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{name}: {instance:#}\n{errors:#?}");
}

#[tokio::test]
async fn devnet_answers_match_node_openapi_schemas() {
    let spec = spec();
    let (dn, node) = devnet().await;
    let url = dn.url();
    let get = |p: String| async move {
        reqwest::get(p)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };

    // Empty chain: nullable fields are null.
    check(&spec, "NodeInfo", false, &get(format!("{url}/info")).await);

    let d = dn.devnet.clone();
    let tx = transfer(&d, 0, boxes_of(&d, 0), &wallet(&d, 1).tree, 3 * ERG);
    node.submit_transaction(&tx).await.unwrap();
    check(
        &spec,
        "ErgoTransaction",
        true,
        &get(format!("{url}/transactions/unconfirmed")).await,
    );
    mine(&url, 3).await;

    check(&spec, "NodeInfo", false, &get(format!("{url}/info")).await);
    let id = node.block_ids_at(1).await.unwrap()[0];
    let block = get(format!("{url}/blocks/{}", String::from(id.0))).await;
    assert_eq!(
        block["blockTransactions"]["transactions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    check(&spec, "FullBlock", false, &block);
    check(
        &spec,
        "BlockHeader",
        false,
        &get(format!("{url}/blocks/{}/header", String::from(id.0))).await,
    );
    check(
        &spec,
        "BlockHeader",
        true,
        &get(format!("{url}/blocks/lastHeaders/10")).await,
    );
    let out = String::from(tx.outputs.first().box_id());
    check(
        &spec,
        "ErgoTransactionOutput",
        false,
        &get(format!("{url}/utxo/byId/{out}")).await,
    );
    check(
        &spec,
        "ErgoTransactionOutput",
        true,
        &get(format!("{url}/utxo/genesis")).await,
    );
    check(
        &spec,
        "ApiError",
        false,
        &get(format!("{url}/utxo/byId/{}", "00".repeat(32))).await,
    );
    dn.stop().await;
}
