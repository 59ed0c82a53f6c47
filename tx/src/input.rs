//! Parsing and checking what a user types: decimal amounts, addresses, box and token ids, hex.
//! Each error names the field and says why.

use ergo_lib::ergo_chain_types::Digest32;
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::BoxId;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::error::{Result, TxError};

/// Decimals of the units the command line speaks: GPUC (mGPUC base), ERG (nanoERG), SigUSD (cents).
pub const GPUC_DECIMALS: u32 = 3;
pub const ERG_DECIMALS: u32 = 9;
pub const SIGUSD_DECIMALS: u32 = 2;

/// A decimal amount (`"10"`, `"0.5"`, `"1.250"`) in base units of a currency with `decimals`
/// decimals. No sign, no exponent, no more decimals than the currency has.
pub fn amount(field: &'static str, text: &str, decimals: u32) -> Result<u64> {
    let t = text.trim();
    if t.is_empty() {
        return Err(TxError::input(field, "empty amount"));
    }
    if t.starts_with('-') {
        return Err(TxError::input(
            field,
            format!("{t:?} is negative; amounts are ≥ 0"),
        ));
    }
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(TxError::input(
            field,
            format!("{t:?} is not a decimal number (e.g. 10 or 0.5)"),
        ));
    }
    if frac.len() > decimals as usize {
        return Err(TxError::input(
            field,
            format!("{t:?} has more than {decimals} decimals"),
        ));
    }
    let scale = 10u128.pow(decimals);
    let too_large = || TxError::input(field, format!("{t:?} is too large"));
    let i: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_large())?
    };
    let f: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u128>().map_err(|_| too_large())? * 10u128.pow(decimals - frac.len() as u32)
    };
    let v = i
        .checked_mul(scale)
        .and_then(|x| x.checked_add(f))
        .ok_or_else(too_large)?;
    // Longs in registers and token amounts are signed 64-bit on chain.
    if v > i64::MAX as u128 {
        return Err(too_large());
    }
    Ok(v as u64)
}

/// Like [`amount`], and > 0.
pub fn positive(field: &'static str, text: &str, decimals: u32) -> Result<u64> {
    let v = amount(field, text, decimals)?;
    if v == 0 {
        return Err(TxError::input(field, "must be > 0"));
    }
    Ok(v)
}

/// Formats base units as a decimal (`10000`, 3 → `"10"`; `1500`, 3 → `"1.5"`).
pub fn format_units(v: u64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let (i, f) = (v / scale, v % scale);
    if f == 0 {
        return i.to_string();
    }
    let frac = format!("{f:0width$}", width = decimals as usize);
    format!("{i}.{}", frac.trim_end_matches('0'))
}

fn network_name(n: NetworkPrefix) -> &'static str {
    match n {
        NetworkPrefix::Mainnet => "mainnet",
        NetworkPrefix::Testnet => "testnet",
    }
}

/// Any address of `network`.
pub fn address(field: &'static str, text: &str, network: NetworkPrefix) -> Result<Address> {
    let t = text.trim();
    if t.is_empty() {
        return Err(TxError::input(field, "empty address"));
    }
    match AddressEncoder::new(network).parse_address_from_str(t) {
        Ok(a) => Ok(a),
        Err(e) => {
            let other = match network {
                NetworkPrefix::Mainnet => NetworkPrefix::Testnet,
                NetworkPrefix::Testnet => NetworkPrefix::Mainnet,
            };
            if AddressEncoder::new(other).parse_address_from_str(t).is_ok() {
                return Err(TxError::input(
                    field,
                    format!(
                        "{t:?} is a {} address, but this deployment is on {} (see --network)",
                        network_name(other),
                        network_name(network)
                    ),
                ));
            }
            Err(TxError::input(
                field,
                format!(
                    "{t:?} is not a valid {} address ({e})",
                    network_name(network)
                ),
            ))
        }
    }
}

/// The tree guarding boxes sent to an address of `network`.
pub fn address_tree(field: &'static str, text: &str, network: NetworkPrefix) -> Result<ErgoTree> {
    address(field, text, network)?
        .script()
        .map_err(|e| TxError::input(field, format!("cannot derive the address's script: {e}")))
}

/// The key of a P2PK address of `network`.
pub fn p2pk(field: &'static str, text: &str, network: NetworkPrefix) -> Result<ProveDlog> {
    match address(field, text, network)? {
        Address::P2Pk(pk) => Ok(pk),
        _ => Err(TxError::input(
            field,
            format!(
                "{:?} is a script address; this needs a wallet (P2PK) address",
                text.trim()
            ),
        )),
    }
}

/// The P2PK address of `pk` in `network`.
pub fn encode_p2pk(pk: &ProveDlog, network: NetworkPrefix) -> String {
    AddressEncoder::encode_address_as_string(network, &Address::P2Pk(pk.clone()))
}

/// Exactly `n` bytes of hex.
pub fn hex_bytes(field: &'static str, text: &str, n: usize) -> Result<Vec<u8>> {
    let t = text.trim();
    let bytes =
        hex::decode(t).map_err(|e| TxError::input(field, format!("{t:?} is not hex ({e})")))?;
    if bytes.len() != n {
        return Err(TxError::input(
            field,
            format!(
                "{} bytes, expected {n} ({} hex characters)",
                bytes.len(),
                2 * n
            ),
        ));
    }
    Ok(bytes)
}

fn id32(field: &'static str, text: &str) -> Result<[u8; 32]> {
    let b = hex_bytes(field, text, 32)?;
    let mut a = [0u8; 32];
    a.copy_from_slice(&b);
    Ok(a)
}

/// A box id: 64 hex characters.
pub fn box_id(field: &'static str, text: &str) -> Result<BoxId> {
    Ok(BoxId::from(Digest32::from(id32(field, text)?)))
}

/// A token id: 64 hex characters.
pub fn token_id(field: &'static str, text: &str) -> Result<TokenId> {
    Ok(TokenId::from(Digest32::from(id32(field, text)?)))
}

pub fn hex_id<T: AsRef<[u8]>>(id: &T) -> String {
    hex::encode(id.as_ref())
}

/// A short human text (model, region, endpoint, chain name): UTF-8, no control characters.
pub fn text(
    field: &'static str,
    value: &str,
    max_bytes: usize,
    allow_empty: bool,
) -> Result<String> {
    if value.is_empty() && !allow_empty {
        return Err(TxError::input(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(TxError::input(
            field,
            format!("{} bytes, at most {max_bytes}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(TxError::input(field, "contains control characters"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly_and_refuse_with_the_field_name() {
        assert_eq!(amount("gpuc", "10", 3).unwrap(), 10_000);
        assert_eq!(amount("gpuc", "0.5", 3).unwrap(), 500);
        assert_eq!(amount("gpuc", ".25", 3).unwrap(), 250);
        assert_eq!(amount("gpuc", "1.", 3).unwrap(), 1000);
        assert_eq!(amount("erg", "0.0011", 9).unwrap(), 1_100_000);
        assert_eq!(amount("sigusd", " 20.00 ", 2).unwrap(), 2000);
        for (t, want) in [
            ("", "empty"),
            ("-1", "negative"),
            ("1.2345", "more than 3 decimals"),
            ("1e3", "not a decimal"),
            ("abc", "not a decimal"),
            (".", "not a decimal"),
            ("1.2.3", "not a decimal"),
            ("99999999999999999999999", "too large"),
            ("9300000000000000", "too large"),
        ] {
            let e = amount("gpuc", t, 3).unwrap_err().to_string();
            assert!(e.starts_with("--gpuc: "), "{e}");
            assert!(e.contains(want), "{t:?}: {e}");
        }
        assert!(positive("gpuc", "0", 3)
            .unwrap_err()
            .to_string()
            .contains("must be > 0"));
        assert_eq!(format_units(10_000, 3), "10");
        assert_eq!(format_units(1_500, 3), "1.5");
        assert_eq!(format_units(1_100_000, 9), "0.0011");
    }

    #[test]
    fn ids_and_hex_are_checked() {
        assert!(box_id("lease", &"ab".repeat(32)).is_ok());
        let e = box_id("lease", "xyz").unwrap_err().to_string();
        assert!(e.starts_with("--lease: ") && e.contains("not hex"), "{e}");
        let e = box_id("lease", "abcd").unwrap_err().to_string();
        assert!(e.contains("2 bytes, expected 32"), "{e}");
        let e = text("model", "a\nb", 10, false).unwrap_err().to_string();
        assert!(e.contains("control"), "{e}");
    }

    #[test]
    fn addresses_name_the_network() {
        let pk = dgcm_contracts::testkit::pk("someone");
        let test = encode_p2pk(&pk, NetworkPrefix::Testnet);
        let main = encode_p2pk(&pk, NetworkPrefix::Mainnet);
        assert_eq!(p2pk("to", &test, NetworkPrefix::Testnet).unwrap(), pk);
        let e = p2pk("to", &main, NetworkPrefix::Testnet)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--to: ") && e.contains("mainnet address"),
            "{e}"
        );
        let e = p2pk("to", "9notanaddress", NetworkPrefix::Mainnet)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid mainnet address"), "{e}");
    }
}
