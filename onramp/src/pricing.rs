//! Quote arithmetic, pure: fiat amounts, fees, and how many base units of an asset a fiat amount
//! buys. Integers only (cents, nanoERG, SigUSD cents, mGPUC); every division rounds down, in the
//! operator's favour by less than one base unit.

use std::fmt;
use std::str::FromStr;

/// What the on-ramp sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Asset {
    Erg,
    SigUsd,
    Gpuc,
}

impl Asset {
    pub const ALL: [Asset; 3] = [Asset::Gpuc, Asset::SigUsd, Asset::Erg];

    /// The name clients send and the ledger stores.
    pub fn name(self) -> &'static str {
        match self {
            Asset::Erg => "ERG",
            Asset::SigUsd => "SigUSD",
            Asset::Gpuc => "GPUC",
        }
    }

    /// Decimals of one base unit: nanoERG (9), SigUSD cents (2), mGPUC (3).
    pub fn decimals(self) -> u32 {
        match self {
            Asset::Erg => 9,
            Asset::SigUsd => 2,
            Asset::Gpuc => 3,
        }
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Asset {
    type Err = String;
    fn from_str(s: &str) -> Result<Asset, String> {
        Asset::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("{s:?} is not one of GPUC, SigUSD, ERG"))
    }
}

/// Where a quote's rate came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rate {
    /// The ERG/USD oracle pool box: nanoERG per USD (R4), the box and its creation height.
    Oracle {
        nanoerg_per_usd: i64,
        box_id: String,
        height: u32,
    },
    /// SigUSD at 1 USD.
    Peg,
    /// GPUC at the protocol's `GPUC_PRICE_CENTS` per whole GPUC.
    Protocol { gpuc_price_cents: i64 },
}

impl Rate {
    /// (source, value) as the ledger stores them.
    pub fn stored(&self) -> (&'static str, i64) {
        match self {
            Rate::Oracle {
                nanoerg_per_usd, ..
            } => ("oracle_pool", *nanoerg_per_usd),
            Rate::Peg => ("peg", 100),
            Rate::Protocol { gpuc_price_cents } => ("protocol", *gpuc_price_cents),
        }
    }
}

/// Largest fiat amount the parser accepts (10^12 cents): far above any limit, far below i64.
const MAX_CENTS: i64 = 1_000_000_000_000;

/// A fiat amount as clients send it: a JSON string (`"25"`, `"25.5"`, `"25.50"`) or number
/// (`25`, `25.5`), at most 2 decimals, positive. Returns cents.
pub fn parse_fiat_amount(v: &serde_json::Value) -> Result<i64, String> {
    let text = match v {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Null => return Err("missing".into()),
        other => return Err(format!("{other} is not an amount (e.g. \"25.00\")")),
    };
    parse_decimal_cents(&text)
}

fn parse_decimal_cents(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an amount with at most 2 decimals (e.g. \"25.00\")");
    if text.is_empty() {
        return Err("empty".into());
    }
    if text.starts_with('-') {
        return Err(format!("{text:?} is negative"));
    }
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (text.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    if frac.len() > 2 {
        return Err(format!("{text:?} has more than 2 decimals"));
    }
    if whole.len() > 12 {
        return Err(format!("{text:?} is too large"));
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().map_err(|_| bad())?
    };
    let cents = w * 100 + f;
    if cents <= 0 {
        return Err(format!("{text:?} must be positive"));
    }
    if cents > MAX_CENTS {
        return Err(format!("{text:?} is too large"));
    }
    Ok(cents)
}

/// `bps` basis points of `cents`, rounded up, plus the fixed part.
pub fn fee_cents(cents: i64, bps: u32, fixed_cents: i64) -> i64 {
    let prop = (cents as i128 * bps as i128 + 9_999) / 10_000;
    fixed_cents.saturating_add(prop as i64)
}

/// Base units of `asset` that `net_cents` US cents buy at `rate` (rounded down).
pub fn asset_amount(asset: Asset, net_cents: i64, rate: &Rate) -> Result<i64, String> {
    if net_cents <= 0 {
        return Err("nothing left after fees".into());
    }
    let v: i128 = match (asset, rate) {
        (
            Asset::Erg,
            Rate::Oracle {
                nanoerg_per_usd, ..
            },
        ) => {
            if *nanoerg_per_usd <= 0 {
                return Err(format!("oracle rate {nanoerg_per_usd} is not positive"));
            }
            net_cents as i128 * *nanoerg_per_usd as i128 / 100
        }
        (Asset::SigUsd, Rate::Peg) => net_cents as i128,
        (Asset::Gpuc, Rate::Protocol { gpuc_price_cents }) => {
            if *gpuc_price_cents <= 0 {
                return Err(format!("GPUC price {gpuc_price_cents} is not positive"));
            }
            net_cents as i128 * 1000 / *gpuc_price_cents as i128
        }
        (a, r) => return Err(format!("{a} cannot be priced with {r:?}")),
    };
    i64::try_from(v).map_err(|_| "amount overflows".to_string())
}

/// `amount` base units with `decimals` as a decimal string (`1234`, 3 → `"1.234"`).
pub fn format_units(amount: i64, decimals: u32) -> String {
    let neg = amount < 0;
    let a = amount.unsigned_abs();
    let scale = 10u64.pow(decimals);
    let s = if decimals == 0 {
        a.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            a / scale,
            a % scale,
            width = decimals as usize
        )
    };
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fiat_amounts() {
        assert_eq!(parse_fiat_amount(&json!("25")), Ok(2500));
        assert_eq!(parse_fiat_amount(&json!("25.5")), Ok(2550));
        assert_eq!(parse_fiat_amount(&json!(" 25.05 ")), Ok(2505));
        assert_eq!(parse_fiat_amount(&json!(25)), Ok(2500));
        assert_eq!(parse_fiat_amount(&json!(25.5)), Ok(2550));
        for bad in [
            json!("-5"),
            json!("0"),
            json!("0.00"),
            json!("1.234"),
            json!("abc"),
            json!("1e3"),
            json!("1."),
            json!(".5"),
            json!(""),
            json!(true),
            json!(null),
            json!(-3),
            json!("99999999999999"),
        ] {
            assert!(parse_fiat_amount(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fees_round_up() {
        assert_eq!(fee_cents(10_000, 250, 30), 280);
        assert_eq!(fee_cents(1, 250, 0), 1);
        assert_eq!(fee_cents(1000, 0, 0), 0);
    }

    #[test]
    fn amounts_per_asset() {
        let oracle = Rate::Oracle {
            nanoerg_per_usd: 500_000_000,
            box_id: String::new(),
            height: 0,
        };
        // $10 at 1 ERG = 2 USD: 5 ERG.
        assert_eq!(asset_amount(Asset::Erg, 1000, &oracle), Ok(5_000_000_000));
        assert_eq!(asset_amount(Asset::SigUsd, 1234, &Rate::Peg), Ok(1234));
        // $10.10 at 101 cents per GPUC: exactly 10 GPUC = 10000 mGPUC.
        let p = Rate::Protocol {
            gpuc_price_cents: 101,
        };
        assert_eq!(asset_amount(Asset::Gpuc, 1010, &p), Ok(10_000));
        // rounds down: $1 buys 0.990 GPUC (990.09…)
        assert_eq!(asset_amount(Asset::Gpuc, 100, &p), Ok(990));
        assert!(asset_amount(Asset::Gpuc, 100, &Rate::Peg).is_err());
        assert!(asset_amount(Asset::SigUsd, 0, &Rate::Peg).is_err());
    }

    #[test]
    fn units_format() {
        assert_eq!(format_units(1234, 3), "1.234");
        assert_eq!(format_units(5, 2), "0.05");
        assert_eq!(format_units(5_000_000_000, 9), "5.000000000");
        assert_eq!(format_units(7, 0), "7");
        assert_eq!("sigusd".parse::<Asset>(), Ok(Asset::SigUsd));
        assert!("BTC".parse::<Asset>().is_err());
    }
}
