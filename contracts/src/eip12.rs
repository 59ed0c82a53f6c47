//! EIP-12 unsigned transactions: what a dApp connector hands to any Ergo wallet to sign.
//! Inputs and data inputs are full boxes (the wallet must see what it spends); each input
//! carries its context extension (our path selectors); amounts are decimal strings.

use serde_json::{Map, Value};

use crate::tx::{BuildError, TxPlan};

/// The plan as an EIP-12 `UnsignedTransaction` JSON object.
pub fn unsigned_json(plan: &TxPlan) -> Result<Value, BuildError> {
    let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| BuildError::Tx(e.to_string()));
    let tx = json(serde_json::to_value(&plan.unsigned))?;
    let extensions: Vec<Value> = tx
        .get("inputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|i| {
                    i.get("extension")
                        .cloned()
                        .unwrap_or(Value::Object(Map::new()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut inputs = Vec::with_capacity(plan.inputs.len());
    for (i, bx) in plan.inputs.iter().enumerate() {
        let mut b = json(serde_json::to_value(bx))?;
        if let Value::Object(m) = &mut b {
            m.insert(
                "extension".into(),
                extensions
                    .get(i)
                    .cloned()
                    .unwrap_or(Value::Object(Map::new())),
            );
        }
        inputs.push(stringify_amounts(b));
    }
    let data_inputs = plan
        .data_inputs
        .iter()
        .map(|b| json(serde_json::to_value(b)).map(stringify_amounts))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = tx
        .get("outputs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(stringify_amounts)
        .collect::<Vec<_>>();
    Ok(serde_json::json!({
        "inputs": inputs,
        "dataInputs": data_inputs,
        "outputs": outputs,
    }))
}

/// EIP-12 writes `value` and token `amount` as strings (JavaScript numbers lose precision).
fn stringify_amounts(mut b: Value) -> Value {
    if let Some(v) = b.get_mut("value") {
        if let Some(n) = v.as_u64() {
            *v = Value::String(n.to_string());
        }
    }
    if let Some(Value::Array(assets)) = b.get_mut("assets") {
        for a in assets {
            if let Some(v) = a.get_mut("amount") {
                if let Some(n) = v.as_u64() {
                    *v = Value::String(n.to_string());
                }
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build;
    use crate::testkit::{funded_executor, pk};
    use crate::trees::{Contracts, ProtocolParams};

    #[test]
    fn eip12_has_full_inputs_extensions_and_string_amounts() {
        use crate::tx::{sel, Spend, TxDraft};
        let c = Contracts::new(ProtocolParams::devnet_default()).unwrap();
        let exec = funded_executor("eip12", 10_000_000_000, &[(c.params.gpuc_id, 5_000)]);
        // A protocol-style input with a selector, then the executor's funding.
        let protocol = funded_executor("eip12-protocol", 2_000_000, &[]).funding[0].clone();
        let mut d = TxDraft::new(100);
        d.inputs.push(Spend {
            bx: protocol.clone(),
            ext: sel(4),
        });
        let id = protocol.box_id();
        d.outputs
            .push(build::payout(&c, &pk("consumer"), &id, 1_000, 1_000_000, 100).unwrap());
        let plan = d.finish(&exec).unwrap();
        let j = unsigned_json(&plan).unwrap();
        let inputs = j["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), plan.inputs.len());
        assert_eq!(inputs[0]["boxId"], String::from(plan.inputs[0].box_id()));
        assert!(inputs[0]["ergoTree"].is_string(), "full box");
        assert!(inputs[0]["value"].is_string(), "value as a string");
        assert_eq!(
            inputs[0]["extension"].as_object().unwrap().len(),
            1,
            "the selector"
        );
        let outs = j["outputs"].as_array().unwrap();
        assert_eq!(outs.len(), plan.unsigned.output_candidates.len());
        assert!(outs.iter().all(|o| o["value"].is_string()));
        assert_eq!(outs[0]["assets"][0]["amount"], "1000");
    }
}
