//! Parameter parsing with a reason for every refusal: hex ids, addresses, bounded integers,
//! limits and opaque cursors.

use ergo_lib::ergo_chain_types::EcPoint;
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::ProveDlog;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

/// A 32-byte id (box, token, transaction) as 64 hex characters.
pub fn hex32(param: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    let b = hex::decode(s).map_err(|_| ApiError::param(param, format!("{s:?} is not hex")))?;
    if b.len() != 32 {
        return Err(ApiError::param(
            param,
            format!("must be 32 bytes (64 hex characters), got {}", b.len()),
        ));
    }
    Ok(b)
}

/// An Ergo address: its ErgoTree bytes, and the 33-byte public key when it is P2PK (the form
/// the protocol tables store in their `*_pk` columns).
pub struct ParsedAddress {
    pub tree: Vec<u8>,
    pub pk: Option<Vec<u8>>,
}

pub fn address(param: &str, s: &str) -> Result<ParsedAddress, ApiError> {
    // Unchecked: the network prefix is not ours to enforce (the devnet signs mainnet-style).
    let a = AddressEncoder::unchecked_parse_address_from_str(s)
        .map_err(|e| ApiError::param(param, format!("{s:?} is not an Ergo address ({e})")))?;
    let tree = a
        .script()
        .and_then(|t| t.sigma_serialize_bytes().map_err(Into::into))
        .map_err(|e| ApiError::param(param, format!("{s:?} has no script ({e})")))?;
    let pk = match &a {
        Address::P2Pk(p) => Some(
            p.h.sigma_serialize_bytes()
                .map_err(|e| ApiError::internal(e.to_string()))?,
        ),
        _ => None,
    };
    Ok(ParsedAddress { tree, pk })
}

/// A P2PK address as the 33-byte compressed key.
pub fn p2pk(param: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    address(param, s)?
        .pk
        .ok_or_else(|| ApiError::param(param, format!("{s:?} is not a P2PK address")))
}

/// The P2PK address of a 33-byte key stored as hex (None when the bytes are no valid key).
pub fn pk_address(pk_hex: &str, network: NetworkPrefix) -> Option<String> {
    let bytes = hex::decode(pk_hex).ok()?;
    let point = EcPoint::sigma_parse_bytes(&bytes).ok()?;
    Some(AddressEncoder::encode_address_as_string(
        network,
        &Address::P2Pk(ProveDlog::new(point)),
    ))
}

/// An integer query parameter within `min..=max`.
pub fn int(param: &str, v: Option<&str>, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let n: i64 = s
        .parse()
        .map_err(|_| ApiError::param(param, format!("{s:?} is not an integer")))?;
    if !(min..=max).contains(&n) {
        return Err(ApiError::param(
            param,
            format!("{n} is out of range ({min}..={max})"),
        ));
    }
    Ok(Some(n))
}

/// A number within `0..=1` (a reputation score).
pub fn fraction(param: &str, v: Option<&str>) -> Result<Option<f64>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let x: f64 = s
        .parse()
        .map_err(|_| ApiError::param(param, format!("{s:?} is not a number")))?;
    // NaN fails the range check too.
    if !(0.0..=1.0).contains(&x) {
        return Err(ApiError::param(
            param,
            format!("{s} is out of range (0..=1)"),
        ));
    }
    Ok(Some(x))
}

pub fn boolean(param: &str, v: Option<&str>) -> Result<Option<bool>, ApiError> {
    match v {
        None => Ok(None),
        Some("true") | Some("1") => Ok(Some(true)),
        Some("false") | Some("0") => Ok(Some(false)),
        Some(s) => Err(ApiError::param(
            param,
            format!("{s:?} is not true or false"),
        )),
    }
}

/// Free text (model, region): non-empty and bounded so it cannot be used to bloat a query.
pub fn text(param: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) if s.is_empty() || s.len() > 200 => {
            Err(ApiError::param(param, "must be 1 to 200 characters"))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

pub fn limit(v: Option<&str>) -> Result<i64, ApiError> {
    Ok(int("limit", v, 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT))
}

/// Keyset position: the sort key of the last item returned and its id. Opaque to clients (hex
/// of `scope:key:id`); `scope` binds it to the endpoint and sort that issued it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: i64,
    pub id: Vec<u8>,
}

impl Cursor {
    pub fn encode(&self, scope: &str) -> String {
        hex::encode(format!("{scope}:{}:{}", self.key, hex::encode(&self.id)))
    }

    pub fn decode(scope: &str, v: Option<&str>) -> Result<Option<Cursor>, ApiError> {
        let Some(s) = v else { return Ok(None) };
        let bad = || ApiError::param("cursor", "not a cursor issued by this endpoint and sort");
        let raw = String::from_utf8(hex::decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
        let mut parts = raw.rsplitn(3, ':');
        let (id, key, sc) = (parts.next(), parts.next(), parts.next());
        if sc != Some(scope) {
            return Err(bad());
        }
        let key = key.and_then(|k| k.parse().ok()).ok_or_else(bad)?;
        let id = id.and_then(|i| hex::decode(i).ok()).ok_or_else(bad)?;
        Ok(Some(Cursor { key, id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_is_scoped() {
        let c = Cursor {
            key: -5,
            id: vec![1, 2, 3],
        };
        let s = c.encode("listings:price");
        assert_eq!(Cursor::decode("listings:price", Some(&s)).unwrap(), Some(c));
        assert!(Cursor::decode("listings:vram", Some(&s)).is_err());
        assert!(Cursor::decode("listings:price", Some("zz")).is_err());
    }

    #[test]
    fn ids_and_integers_are_checked() {
        assert!(hex32("box_id", &"ab".repeat(32)).is_ok());
        let e = hex32("box_id", "abc").unwrap_err();
        assert!(e.detail.starts_with("box_id:"), "{}", e.detail);
        assert!(hex32("box_id", &"ab".repeat(31)).is_err());
        assert_eq!(int("n", Some("7"), 0, 10).unwrap(), Some(7));
        assert!(int("n", Some("11"), 0, 10).is_err());
        assert!(limit(Some("1001")).is_err());
        assert!(limit(Some("0")).is_err());
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(fraction("r", Some("0.75")).unwrap(), Some(0.75));
        assert_eq!(fraction("r", Some("1")).unwrap(), Some(1.0));
        for bad in ["2", "-1", "abc", "NaN", "inf", ""] {
            let e = fraction("r", Some(bad)).unwrap_err();
            assert!(e.detail.starts_with("r:"), "{bad}: {}", e.detail);
        }
    }
}
