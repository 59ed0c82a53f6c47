//! Stripe-style webhook signatures: header `Stripe-Signature: t=<unix seconds>,v1=<hex>` where
//! `v1` = HMAC-SHA256(secret, "<t>.<raw body>"). Several `v1` entries may be present (secret
//! rotation); one valid entry suffices. The timestamp must be within the tolerance of now, in
//! both directions, so a captured delivery cannot be replayed later.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header's name.
pub const HEADER: &str = "Stripe-Signature";

/// Longest header accepted: a timestamp and a few 64-hex-digit signatures fit many times over.
/// Checked before anything is parsed, so a crafted header costs nothing.
pub const MAX_HEADER_LEN: usize = 1024;

/// Most `v1` entries accepted (secret rotation needs two or three).
pub const MAX_V1: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Stripe-Signature: header missing")]
    Missing,
    #[error("Stripe-Signature: malformed ({0})")]
    Malformed(String),
    #[error("Stripe-Signature: timestamp {t} is {age} s away from now, outside the {tolerance} s tolerance")]
    Stale { t: i64, age: i64, tolerance: u64 },
    #[error("Stripe-Signature: no v1 signature matches the payload")]
    Mismatch,
}

/// HMAC-SHA256 of `t.payload`. `None` cannot happen (HMAC takes keys of any length), but the
/// type says so instead of a panic.
fn mac(secret: &str, t: &str, payload: &[u8]) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    m.update(t.as_bytes());
    m.update(b".");
    m.update(payload);
    Some(m)
}

/// The header value for `payload` signed at unix time `t`.
pub fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
    let sig = mac(secret, &t.to_string(), payload)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={t},v1={sig}")
}

/// Checks `header` against `payload` at unix time `now`.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    tolerance: Duration,
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed(format!(
            "{} bytes, longer than {MAX_HEADER_LEN}",
            header.len()
        )));
    }
    let mut t: Option<(i64, &str)> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    let mut v1_entries = 0usize;
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed(format!(
                "{part:?} is not key=value"
            )));
        };
        match k {
            "t" => {
                let parsed = v
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed(format!("t={v:?} is not a number")))?;
                if t.replace((parsed, v)).is_some() {
                    return Err(SignatureError::Malformed("two timestamps".into()));
                }
            }
            "v1" => {
                v1_entries += 1;
                if v1_entries > MAX_V1 {
                    return Err(SignatureError::Malformed(format!(
                        "more than {MAX_V1} v1= entries"
                    )));
                }
                // A v1 entry that is not 32 bytes of hex cannot match; skip it like an unknown
                // scheme.
                if let Ok(b) = hex::decode(v) {
                    if b.len() == 32 {
                        sigs.push(b);
                    }
                }
            }
            _ => {} // other schemes (v0, ...) are ignored, as Stripe's libraries do
        }
    }
    let (t, t_text) = t.ok_or_else(|| SignatureError::Malformed("no t=".into()))?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed("no v1= signature".into()));
    }
    // Check the signature first: an attacker learns nothing about the tolerance from timing.
    // One MAC over the payload, compared (in constant time) with each entry.
    let m = mac(secret, t_text, payload).ok_or(SignatureError::Mismatch)?;
    let ok = sigs.iter().any(|s| m.clone().verify_slice(s).is_ok());
    if !ok {
        return Err(SignatureError::Mismatch);
    }
    let age = now.saturating_sub(t);
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            t,
            age,
            tolerance: tolerance.as_secs(),
        });
    }
    Ok(t)
}

/// Unix time now, in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Duration = Duration::from_secs(300);

    #[test]
    fn roundtrip_and_every_way_to_fail() {
        let body = br#"{"id":"evt_1"}"#;
        let h = sign("whsec_a", 1_700_000_000, body);
        assert_eq!(
            verify("whsec_a", Some(&h), body, TOL, 1_700_000_010),
            Ok(1_700_000_000)
        );
        // another secret, another body
        assert_eq!(
            verify("whsec_b", Some(&h), body, TOL, 1_700_000_010),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_a", Some(&h), b"{}", TOL, 1_700_000_010),
            Err(SignatureError::Mismatch)
        );
        // stale and from the future
        assert!(matches!(
            verify("whsec_a", Some(&h), body, TOL, 1_700_000_301),
            Err(SignatureError::Stale { .. })
        ));
        assert!(matches!(
            verify("whsec_a", Some(&h), body, TOL, 1_699_999_600),
            Err(SignatureError::Stale { .. })
        ));
        // the timestamp is covered by the signature
        let moved = h.replace("t=1700000000", "t=1700000290");
        assert_eq!(
            verify("whsec_a", Some(&moved), body, TOL, 1_700_000_300),
            Err(SignatureError::Mismatch)
        );
        // rotation: one good v1 among others
        let sig = h.split("v1=").nth(1).unwrap();
        let rotated = format!("t=1700000000,v1={},v0=abc,v1={sig}", "00".repeat(32));
        assert!(verify("whsec_a", Some(&rotated), body, TOL, 1_700_000_000).is_ok());
        assert_eq!(
            verify("whsec_a", None, body, TOL, 0),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "garbage",
            "t=1,t=2,v1=00",
            "t=1,v1=00",
        ] {
            assert!(
                matches!(
                    verify("whsec_a", Some(bad), body, TOL, 1),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }
}
