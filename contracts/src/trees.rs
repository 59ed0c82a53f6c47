//! The compiled trees of `compiled/*.json`, checked on load and re-parameterised for a deployment.

use std::sync::Arc;

use ergo_lib::ergo_chain_types::EcPoint;
use ergo_lib::ergotree_interpreter::sigma_protocol::private_input::DlogProverInput;
use ergo_lib::ergotree_ir::bigint256::BigInt256;
use ergo_lib::ergotree_ir::chain::token::TokenId;
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::Literal;
use ergo_lib::ergotree_ir::mir::constant::{Constant, TryExtractFrom, TryExtractInto};
use ergo_lib::ergotree_ir::serialization::SigmaSerializable;
use ergo_lib::ergotree_ir::sigma_protocol::sigma_boolean::{ProveDlog, SigmaProp};
use ergo_lib::ergotree_ir::types::stype::SType;
use serde::Deserialize;

use crate::util::{blake2b256, token_id};

/// Every box kind of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Arbitration,
    Lease,
    Listing,
    Order,
    LetsMember,
    LetsVault,
    RosenDeposit,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Arbitration,
        Kind::Lease,
        Kind::Listing,
        Kind::Order,
        Kind::LetsMember,
        Kind::LetsVault,
        Kind::RosenDeposit,
    ];

    /// The contract name (`compiled/<name>.json`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Arbitration => "arbitration",
            Kind::Lease => "lease",
            Kind::Listing => "listing",
            Kind::Order => "order",
            Kind::LetsMember => "lets_member",
            Kind::LetsVault => "lets_vault",
            Kind::RosenDeposit => "rosen_deposit",
        }
    }

    /// Every spending path of this kind: (selector in context variable 0, name as PROTOCOL.md
    /// calls it, whether anyone may execute it for a fee). The one definition: builders select
    /// paths with these numbers, and the indexer's `protocol_paths` table is checked against
    /// this list (`indexer/tests/protocol.rs`).
    pub fn paths(self) -> &'static [(i8, &'static str, bool)] {
        match self {
            Kind::Listing => &[(0, "provider", false), (1, "match", true)],
            Kind::Order => &[(0, "cancel", false), (1, "match", true)],
            Kind::Lease => &[
                (crate::lease::path::COMPLETE, "complete", false),
                (crate::lease::path::FINALISE, "finalise", true),
                (crate::lease::path::ACCEPT, "accept", false),
                (crate::lease::path::DISPUTE, "dispute", false),
                (crate::lease::path::SLASH, "slash", true),
                (crate::lease::path::CANCEL, "cancel", false),
            ],
            Kind::Arbitration => &[
                (0, "decide", false),
                (1, "timeout", true),
                (2, "settle", false),
            ],
            Kind::LetsVault => &[(0, "flow", false), (1, "join", false), (2, "credit", false)],
            Kind::LetsMember => &[
                (0, "owner", false),
                (1, "close", false),
                (2, "receive", false),
                (3, "top_up", false),
                (4, "liquidate", true),
                (5, "credited", false),
            ],
            Kind::RosenDeposit => &[
                (0, "owner", false),
                (1, "convert", true),
                (2, "credit", true),
            ],
        }
    }

    /// The selector of the path named `name` (see [`Kind::paths`]).
    pub fn path(self, name: &str) -> Option<i8> {
        self.paths().iter().find(|p| p.1 == name).map(|p| p.0)
    }

    fn json(self) -> &'static str {
        match self {
            Kind::Arbitration => include_str!("../compiled/arbitration.json"),
            Kind::Lease => include_str!("../compiled/lease.json"),
            Kind::Listing => include_str!("../compiled/listing.json"),
            Kind::Order => include_str!("../compiled/order.json"),
            Kind::LetsMember => include_str!("../compiled/lets_member.json"),
            Kind::LetsVault => include_str!("../compiled/lets_vault.json"),
            Kind::RosenDeposit => include_str!("../compiled/rosen_deposit.json"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{0}: bad JSON: {1}")]
    Json(&'static str, String),
    #[error("{0}: bad tree: {1}")]
    Tree(&'static str, String),
    #[error("{contract}: constant {name} at index {index}: {reason}")]
    Constant {
        contract: &'static str,
        name: String,
        index: usize,
        reason: String,
    },
    #[error("{0}: no named constant {1}")]
    UnknownConstant(&'static str, String),
    #[error("{0}: named constant {1} not set")]
    Unset(&'static str, String),
    #[error("bad parameter {0}: {1}")]
    Param(&'static str, String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompiledJson {
    ergo_tree: String,
    ergo_tree_hash: String,
    template_hash: String,
    constants_count: usize,
    constants: Vec<NamedConstant>,
}

/// A named constant of a compiled tree (`constants[]` in the JSON).
#[derive(Debug, Clone, Deserialize)]
pub struct NamedConstant {
    pub name: String,
    pub indices: Vec<usize>,
    #[serde(rename = "type")]
    pub tpe: String,
    /// Serialized placeholder constant (hex) in the committed tree.
    pub placeholder: String,
}

/// One committed tree, parsed and checked against its JSON metadata.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub kind: Kind,
    pub tree: ErgoTree,
    pub template_hash: [u8; 32],
    pub constants: Vec<NamedConstant>,
}

fn stype_of(name: &str) -> Option<SType> {
    let coll = |t: SType| SType::SColl(Arc::new(t));
    Some(match name {
        "Int" => SType::SInt,
        "Long" => SType::SLong,
        "BigInt" => SType::SBigInt,
        "SigmaProp" => SType::SSigmaProp,
        "Coll[Byte]" => coll(SType::SByte),
        "Coll[GroupElement]" => coll(SType::SGroupElement),
        "Coll[Coll[Byte]]" => coll(coll(SType::SByte)),
        "Coll[Long]" => coll(SType::SLong),
        "Coll[Int]" => coll(SType::SInt),
        _ => return None,
    })
}

fn hex32(contract: &'static str, what: &str, s: &str) -> Result<[u8; 32], TreeError> {
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| TreeError::Json(contract, format!("{what} is not 32 bytes of hex")))
}

/// Blake2b256 of the tree bytes after the header, the constant count and the constants: the
/// template hash (identifies a box kind independently of constants).
pub fn template_hash(tree: &ErgoTree) -> Result<[u8; 32], String> {
    tree.template_bytes()
        .map(|b| blake2b256(&b))
        .map_err(|e| e.to_string())
}

/// Blake2b256 of the whole tree bytes: what scripts compare `blake2b256(propositionBytes)` with.
pub fn tree_hash(tree: &ErgoTree) -> [u8; 32] {
    blake2b256(&tree_bytes(tree))
}

pub(crate) fn tree_bytes(tree: &ErgoTree) -> Vec<u8> {
    #[allow(clippy::expect_used)] // a parsed tree always serialises
    tree.sigma_serialize_bytes().expect("tree serialises")
}

impl Compiled {
    /// Parses `compiled/<kind>.json` and checks hash, template hash, constant count, and that
    /// every named constant has the declared type and placeholder at each of its indices.
    pub fn load(kind: Kind) -> Result<Compiled, TreeError> {
        let c = kind.name();
        let j: CompiledJson =
            serde_json::from_str(kind.json()).map_err(|e| TreeError::Json(c, e.to_string()))?;
        let bytes = hex::decode(&j.ergo_tree).map_err(|e| TreeError::Json(c, e.to_string()))?;
        let tree =
            ErgoTree::sigma_parse_bytes(&bytes).map_err(|e| TreeError::Tree(c, e.to_string()))?;
        if blake2b256(&bytes) != hex32(c, "ergoTreeHash", &j.ergo_tree_hash)? {
            return Err(TreeError::Tree(c, "ergoTreeHash mismatch".into()));
        }
        let th = hex32(c, "templateHash", &j.template_hash)?;
        if template_hash(&tree).map_err(|e| TreeError::Tree(c, e))? != th {
            return Err(TreeError::Tree(c, "templateHash mismatch".into()));
        }
        let consts = tree
            .get_constants()
            .map_err(|e| TreeError::Tree(c, e.to_string()))?;
        if consts.len() != j.constants_count {
            return Err(TreeError::Tree(
                c,
                format!(
                    "{} constants, JSON says {}",
                    consts.len(),
                    j.constants_count
                ),
            ));
        }
        for nc in &j.constants {
            let want = stype_of(&nc.tpe)
                .ok_or_else(|| TreeError::Json(c, format!("unknown type {}", nc.tpe)))?;
            if nc.indices.is_empty() {
                return Err(TreeError::Json(c, format!("{} has no index", nc.name)));
            }
            for &i in &nc.indices {
                let err = |reason: String| TreeError::Constant {
                    contract: c,
                    name: nc.name.clone(),
                    index: i,
                    reason,
                };
                let k = consts
                    .get(i)
                    .ok_or_else(|| err("index out of range".into()))?;
                if k.tpe != want {
                    return Err(err(format!("type {:?}, declared {}", k.tpe, nc.tpe)));
                }
                let placeholder = k.sigma_serialize_bytes().map_err(|e| err(e.to_string()))?;
                if hex::encode(placeholder) != nc.placeholder {
                    return Err(err("value differs from the declared placeholder".into()));
                }
            }
        }
        Ok(Compiled {
            kind,
            tree,
            template_hash: th,
            constants: j.constants,
        })
    }

    /// Sets every index of each named constant; every named constant not in `skip` must be given.
    fn parameterise(
        &self,
        values: &[(&str, Constant)],
        skip: &[&str],
    ) -> Result<ErgoTree, TreeError> {
        let c = self.kind.name();
        for (name, _) in values {
            if !self.constants.iter().any(|nc| nc.name == *name) {
                return Err(TreeError::UnknownConstant(c, name.to_string()));
            }
        }
        let mut tree = self.tree.clone();
        for nc in &self.constants {
            let Some((_, v)) = values.iter().find(|(n, _)| *n == nc.name) else {
                if skip.contains(&nc.name.as_str()) {
                    continue;
                }
                return Err(TreeError::Unset(c, nc.name.clone()));
            };
            for &i in &nc.indices {
                let err = |reason: String| TreeError::Constant {
                    contract: c,
                    name: nc.name.clone(),
                    index: i,
                    reason,
                };
                let cur = tree
                    .get_constant(i)
                    .map_err(|e| err(e.to_string()))?
                    .ok_or_else(|| err("index out of range".into()))?;
                if cur.tpe != v.tpe {
                    return Err(err(format!(
                        "new value has type {:?}, tree has {:?}",
                        v.tpe, cur.tpe
                    )));
                }
                tree = tree
                    .with_constant(i, v.clone())
                    .map_err(|e| err(e.to_string()))?;
            }
        }
        Ok(tree)
    }

    /// The placeholder value of a named constant (first index).
    pub fn placeholder(&self, name: &str) -> Result<Constant, TreeError> {
        let c = self.kind.name();
        let nc = self
            .constants
            .iter()
            .find(|nc| nc.name == name)
            .ok_or_else(|| TreeError::UnknownConstant(c, name.into()))?;
        self.tree
            .get_constant(nc.indices[0])
            .ok()
            .flatten()
            .ok_or_else(|| TreeError::Unset(c, name.into()))
    }
}

/// Deployment parameters: everything the named constants are set from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolParams {
    pub gpuc_id: TokenId,
    pub membership_id: TokenId,
    pub vault_nft: TokenId,
    pub oracle_pool_nft: TokenId,
    pub sigusd_id: TokenId,
    /// Arbitration committee public keys (n).
    pub arb_committee: Vec<EcPoint>,
    /// Signatures required (k of n).
    pub arb_k: i32,
    /// Blocks after completion during which the consumer may dispute.
    pub challenge_window: i64,
    /// Blocks an arbitration may take before its neutral timeout.
    pub arb_timeout: i64,
    /// Blocks added to hours×30 for a lease deadline (listing and order share it).
    pub deadline_grace: i64,
    /// USD cents per whole GPUC.
    pub gpuc_price_cents: i64,
    /// Required collateral, % of debt.
    pub collateral_ratio_pct: i64,
    /// Max collateral value a liquidator takes, % of the repaid debt value.
    pub liq_payout_pct: i64,
    /// Max nanoERG a Rosen relay may keep when converting a deposit.
    pub max_relay_fee: i64,
    /// Blocks after which an oracle pool box prices nothing (`ORACLE_MAX_AGE`).
    pub oracle_max_age: i32,
    /// The collateral assets a member may hold beside ERG (the `ASSET_*` lists), in list order.
    pub collateral: Vec<CollateralAsset>,
    /// The vault credits a stablecoin only while its pool prices it at this % of $1 or more
    /// (`CREDIT_PEG_FLOOR_PCT`; 1..=100).
    pub credit_peg_floor_pct: i64,
}

/// `CREDIT_PEG_FLOOR_PCT` of the devnet and of files without one: a stablecoin priced 2 % or more
/// below $1 is not bought for credit.
pub const CREDIT_PEG_FLOOR_PCT_DEFAULT: i64 = 98;

/// One listed collateral asset: a token, the oracle pool that prices it and how much of its value
/// counts. Data, not code: a deployment lists any number of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollateralAsset {
    /// Short name for people (`SigUSD`, `rsBTC`); not on chain.
    pub name: String,
    pub token_id: TokenId,
    /// NFT of the pool box whose `R4: Long` is nanoERG per whole token.
    pub pool_nft: TokenId,
    /// Token decimals (`ASSET_UNITS` = 10^decimals base units per whole token).
    pub decimals: u8,
    /// Collateral factor: % of the asset's value that counts for borrowing (1..=100).
    pub factor_pct: i64,
    /// Blocks after which its pool box prices nothing.
    pub max_age: i32,
    /// Least a top-up by anyone adds of it, in base units.
    pub min_top_up: u64,
    /// % of its oracle value the vault credits in GPUC when it takes the asset (its credit path:
    /// a stable asset such as rsUSDT bought at the oracle's price); 0 = the vault does not take it.
    pub credit_pct: i64,
}

impl CollateralAsset {
    /// Base units per whole token.
    pub fn unit(&self) -> i64 {
        10i64.pow(self.decimals as u32)
    }
}

/// The most decimals an asset may have (10^18 base units per token still fits a Long).
pub const MAX_ASSET_DECIMALS: u8 = 18;

/// `ORACLE_MAX_AGE` for real networks: a day of blocks (the ERG/USD pool posts about every 30).
pub const ORACLE_MAX_AGE_DEFAULT: i32 = 720;

/// `ORACLE_MAX_AGE` of the devnet deployment: its stand-in pool box is refreshed only by
/// `POST /devnet/oracle`, so a devnet that runs for days must not find it stale.
pub const ORACLE_MAX_AGE_DEVNET: i32 = 1_000_000;

/// The devnet's listed collateral: SigUSD (priced by the ERG/USD pool) and stand-ins for the Rosen
/// tokens rsBTC, rsETH and rsUSDT, each with its own stand-in pool (ids derived from names).
/// rsBTC's pool goes stale after a day of blocks as on a real network (tests refresh it with
/// `POST /devnet/oracle`); the others, like the ERG/USD pool, after 10^6.
fn devnet_collateral(id: &dyn Fn(&str) -> TokenId) -> Vec<CollateralAsset> {
    let asset = |name: &str, pool: TokenId, decimals, factor_pct, min_top_up| CollateralAsset {
        name: name.into(),
        token_id: if name == "SigUSD" {
            id("SIGUSD_ID")
        } else {
            id(&format!("ASSET/{name}"))
        },
        pool_nft: pool,
        decimals,
        factor_pct,
        max_age: if name == "rsBTC" {
            ORACLE_MAX_AGE_DEFAULT
        } else {
            ORACLE_MAX_AGE_DEVNET
        },
        min_top_up,
        credit_pct: if name == "rsUSDT" { 100 } else { 0 },
    };
    vec![
        asset("SigUSD", id("ORACLE_POOL_NFT"), 2, 100, 100),
        asset("rsBTC", id("POOL/rsBTC"), 8, 70, 1_000),
        asset("rsETH", id("POOL/rsETH"), 8, 70, 10_000),
        asset("rsUSDT", id("POOL/rsUSDT"), 6, 95, 1_000_000),
    ]
}

/// A deterministic devnet secret scalar for `tag` (NOT for real funds: anyone can derive it).
pub fn devnet_secret(tag: &str) -> [u8; 32] {
    let mut h = blake2b256(format!("dgcm/devnet/key/{tag}").as_bytes());
    // clear the top bit so the scalar is always below the group order
    h[0] &= 0x7f;
    h
}

/// Public key of [`devnet_secret`].
pub fn devnet_pk(tag: &str) -> EcPoint {
    #[allow(clippy::expect_used)] // top bit cleared: always a valid scalar
    let sk = DlogProverInput::from_bytes(&devnet_secret(tag)).expect("valid scalar");
    *sk.public_image().h
}

impl ProtocolParams {
    /// Test/devnet deployment: ids derived from `dgcm/devnet/<NAME>`, a 2-of-3 committee of
    /// [`devnet_pk`]`("arb1".."arb3")`, and the protocol's default numbers.
    pub fn devnet_default() -> ProtocolParams {
        let id = |n: &str| token_id(blake2b256(format!("dgcm/devnet/{n}").as_bytes()));
        ProtocolParams {
            gpuc_id: id("GPUC_ID"),
            membership_id: id("MEMBERSHIP_ID"),
            vault_nft: id("VAULT_NFT"),
            oracle_pool_nft: id("ORACLE_POOL_NFT"),
            sigusd_id: id("SIGUSD_ID"),
            arb_committee: ["arb1", "arb2", "arb3"].map(devnet_pk).to_vec(),
            arb_k: 2,
            challenge_window: 60,
            arb_timeout: 2160,
            deadline_grace: 45,
            gpuc_price_cents: 101,
            collateral_ratio_pct: 150,
            liq_payout_pct: 107,
            max_relay_fee: 2_000_001,
            oracle_max_age: ORACLE_MAX_AGE_DEVNET,
            collateral: devnet_collateral(&id),
            credit_peg_floor_pct: CREDIT_PEG_FLOOR_PCT_DEFAULT,
        }
    }

    /// The collateral asset named `name` (case-insensitive), if listed.
    pub fn asset(&self, name: &str) -> Option<&CollateralAsset> {
        self.collateral
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The listed asset whose token is `id`, if the vault takes it for credit (`credit_pct > 0`).
    pub fn credit_asset(&self, id: &TokenId) -> Option<&CollateralAsset> {
        self.asset_by_id(id).filter(|a| a.credit_pct > 0)
    }

    /// The collateral asset whose token is `id`, if listed.
    pub fn asset_by_id(&self, id: &TokenId) -> Option<&CollateralAsset> {
        self.collateral.iter().find(|a| a.token_id == *id)
    }

    /// The placeholder values of the committed trees (re-parameterising with them reproduces the
    /// committed bytes; the committee is k·G for k = 1, 2, 3).
    pub fn placeholders() -> Result<ProtocolParams, TreeError> {
        let member = Compiled::load(Kind::LetsMember)?;
        let vault = Compiled::load(Kind::LetsVault)?;
        let arb = Compiled::load(Kind::Arbitration)?;
        let lease = Compiled::load(Kind::Lease)?;
        let listing = Compiled::load(Kind::Listing)?;
        let rosen = Compiled::load(Kind::RosenDeposit)?;
        let id = |c: &Compiled, n: &'static str| -> Result<TokenId, TreeError> {
            let v: Vec<u8> = c
                .placeholder(n)?
                .v
                .try_extract_into()
                .map_err(|e| TreeError::Param(n, e.to_string()))?;
            let a: [u8; 32] = v
                .try_into()
                .map_err(|_| TreeError::Param(n, "not 32 bytes".into()))?;
            Ok(token_id(a))
        };
        let long = |c: &Compiled, n: &'static str| -> Result<i64, TreeError> {
            c.placeholder(n)?
                .v
                .try_extract_into::<i64>()
                .map_err(|e| TreeError::Param(n, e.to_string()))
        };
        let big = |n: &'static str| -> Result<i64, TreeError> {
            let b: BigInt256 = member
                .placeholder(n)?
                .v
                .try_extract_into()
                .map_err(|e| TreeError::Param(n, e.to_string()))?;
            b.to_string()
                .parse::<i64>()
                .map_err(|e| TreeError::Param(n, e.to_string()))
        };
        let mut collateral = placeholder_assets(&member)?;
        let credit: Vec<i64> = vault
            .placeholder("ASSET_CREDIT_PCTS")?
            .v
            .try_extract_into()
            .map_err(|e| TreeError::Param("ASSET_CREDIT_PCTS", e.to_string()))?;
        if credit.len() != collateral.len() {
            return Err(TreeError::Param(
                "ASSET_CREDIT_PCTS",
                "not as long as ASSET_IDS".into(),
            ));
        }
        for (a, pct) in collateral.iter_mut().zip(credit) {
            a.credit_pct = pct;
        }
        // asset 0 of the placeholder list plays SigUSD (no contract names SigUSD any more)
        let sigusd_id = collateral
            .first()
            .map(|a| a.token_id)
            .ok_or_else(|| TreeError::Param("ASSET_IDS", "empty placeholder list".into()))?;
        Ok(ProtocolParams {
            gpuc_id: id(&vault, "GPUC_ID")?,
            membership_id: id(&member, "MEMBERSHIP_ID")?,
            vault_nft: id(&member, "VAULT_NFT")?,
            oracle_pool_nft: id(&member, "ORACLE_POOL_NFT")?,
            sigusd_id,
            arb_committee: arb
                .placeholder("ARB_COMMITTEE")?
                .v
                .try_extract_into()
                .map_err(|e| TreeError::Param("ARB_COMMITTEE", e.to_string()))?,
            arb_k: arb
                .placeholder("ARB_K")?
                .v
                .try_extract_into()
                .map_err(|e| TreeError::Param("ARB_K", e.to_string()))?,
            challenge_window: long(&lease, "CHALLENGE_WINDOW")?,
            arb_timeout: long(&lease, "ARB_TIMEOUT")?,
            deadline_grace: long(&listing, "DEADLINE_GRACE")?,
            gpuc_price_cents: big("GPUC_PRICE_CENTS")?,
            collateral_ratio_pct: big("COLLATERAL_RATIO_PCT")?,
            liq_payout_pct: big("LIQ_PAYOUT_PCT")?,
            max_relay_fee: long(&rosen, "MAX_RELAY_FEE")?,
            oracle_max_age: member
                .placeholder("ORACLE_MAX_AGE")?
                .v
                .try_extract_into()
                .map_err(|e| TreeError::Param("ORACLE_MAX_AGE", e.to_string()))?,
            collateral,
            credit_peg_floor_pct: vault
                .placeholder("CREDIT_PEG_FLOOR_PCT")?
                .v
                .try_extract_into()
                .map_err(|e| TreeError::Param("CREDIT_PEG_FLOOR_PCT", e.to_string()))?,
        })
    }

    fn check(&self) -> Result<(), TreeError> {
        self.check_collateral()?;
        let n = self.arb_committee.len();
        if n == 0 || self.arb_k < 1 || self.arb_k as usize > n {
            return Err(TreeError::Param("arb_k", format!("{} of {n}", self.arb_k)));
        }
        for (name, v) in [
            ("challenge_window", self.challenge_window),
            ("arb_timeout", self.arb_timeout),
            ("deadline_grace", self.deadline_grace),
            ("max_relay_fee", self.max_relay_fee),
            ("oracle_max_age", self.oracle_max_age as i64),
        ] {
            if v < 0 {
                return Err(TreeError::Param(name, "negative".into()));
            }
        }
        for (name, v) in [
            ("gpuc_price_cents", self.gpuc_price_cents),
            ("collateral_ratio_pct", self.collateral_ratio_pct),
            ("liq_payout_pct", self.liq_payout_pct),
        ] {
            if v <= 0 {
                return Err(TreeError::Param(name, "must be positive".into()));
            }
        }
        if !(1..=100).contains(&self.credit_peg_floor_pct) {
            return Err(TreeError::Param(
                "credit_peg_floor_pct",
                format!("{} not in 1..=100", self.credit_peg_floor_pct),
            ));
        }
        Ok(())
    }
}

impl ProtocolParams {
    /// The collateral list's own rules: what the script's arithmetic and layout assume.
    fn check_collateral(&self) -> Result<(), TreeError> {
        let reserved = [self.gpuc_id, self.membership_id, self.vault_nft];
        for (i, a) in self.collateral.iter().enumerate() {
            let bad =
                |reason: String| TreeError::Param("collateral", format!("{}: {reason}", a.name));
            if a.name.is_empty() {
                return Err(TreeError::Param(
                    "collateral",
                    format!("asset {i} has no name"),
                ));
            }
            if a.decimals > MAX_ASSET_DECIMALS {
                return Err(bad(format!(
                    "decimals {} > {MAX_ASSET_DECIMALS}",
                    a.decimals
                )));
            }
            if !(1..=100).contains(&a.factor_pct) {
                return Err(bad(format!("factor_pct {} not in 1..=100", a.factor_pct)));
            }
            if !(0..=100).contains(&a.credit_pct) {
                return Err(bad(format!("credit_pct {} not in 0..=100", a.credit_pct)));
            }
            if a.max_age < 0 {
                return Err(bad("max_age is negative".into()));
            }
            if a.min_top_up == 0 || a.min_top_up > i64::MAX as u64 {
                return Err(bad("min_top_up must be in 1..=2^63-1 (a zero minimum lets anyone re-spend the account for free)".into()));
            }
            if a.pool_nft == self.oracle_pool_nft && a.max_age < self.oracle_max_age {
                // else, between the two bounds, a held SigUSD would be unpriced while the debt
                // is priced: no liquidation of any account holding it (red team)
                return Err(bad(format!(
                    "max_age {} is below oracle_max_age {}: an asset priced by the ERG/USD pool \
                     must not go stale before it",
                    a.max_age, self.oracle_max_age
                )));
            }
            if reserved.contains(&a.token_id) {
                return Err(bad("token is the GPUC, membership or vault NFT id".into()));
            }
            if self.collateral[..i]
                .iter()
                .any(|b| b.token_id == a.token_id || b.name.eq_ignore_ascii_case(&a.name))
            {
                return Err(bad("listed twice (same token or name)".into()));
            }
        }
        Ok(())
    }

    /// `ASSET_CREDIT_PCTS` (the vault's list, parallel to the member's).
    fn credit_pcts(&self) -> (&'static str, Constant) {
        (
            "ASSET_CREDIT_PCTS",
            Constant::from(
                self.collateral
                    .iter()
                    .map(|a| a.credit_pct)
                    .collect::<Vec<i64>>(),
            ),
        )
    }

    fn asset_consts(&self) -> [(&'static str, Constant); 6] {
        let a = &self.collateral;
        [
            (
                "ASSET_IDS",
                Constant::from(a.iter().map(|a| id_bytes(&a.token_id)).collect::<Vec<_>>()),
            ),
            (
                "ASSET_POOLS",
                Constant::from(a.iter().map(|a| id_bytes(&a.pool_nft)).collect::<Vec<_>>()),
            ),
            (
                "ASSET_UNITS",
                Constant::from(a.iter().map(|a| a.unit()).collect::<Vec<i64>>()),
            ),
            (
                "ASSET_FACTORS",
                Constant::from(a.iter().map(|a| a.factor_pct).collect::<Vec<i64>>()),
            ),
            (
                "ASSET_MAX_AGES",
                Constant::from(a.iter().map(|a| a.max_age).collect::<Vec<i32>>()),
            ),
            (
                "ASSET_MIN_TOP_UPS",
                Constant::from(a.iter().map(|a| a.min_top_up as i64).collect::<Vec<i64>>()),
            ),
        ]
    }
}

/// The collateral list of the committed member tree (names `asset0`, `asset1`, ...).
fn placeholder_assets(member: &Compiled) -> Result<Vec<CollateralAsset>, TreeError> {
    fn list<T>(m: &Compiled, n: &'static str) -> Result<Vec<T>, TreeError>
    where
        Vec<T>: TryExtractFrom<Literal>,
    {
        m.placeholder(n)?
            .v
            .try_extract_into::<Vec<T>>()
            .map_err(|e| TreeError::Param(n, e.to_string()))
    }
    let ids: Vec<Vec<u8>> = list(member, "ASSET_IDS")?;
    let pools: Vec<Vec<u8>> = list(member, "ASSET_POOLS")?;
    let units: Vec<i64> = list(member, "ASSET_UNITS")?;
    let factors: Vec<i64> = list(member, "ASSET_FACTORS")?;
    let ages: Vec<i32> = list(member, "ASSET_MAX_AGES")?;
    let mins: Vec<i64> = list(member, "ASSET_MIN_TOP_UPS")?;
    let tid = |v: &Vec<u8>, n: &'static str| -> Result<TokenId, TreeError> {
        let a: [u8; 32] = v
            .clone()
            .try_into()
            .map_err(|_| TreeError::Param(n, "not 32 bytes".into()))?;
        Ok(token_id(a))
    };
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let get = |v: Option<i64>, n: &'static str| {
            v.ok_or_else(|| TreeError::Param(n, "list shorter than ASSET_IDS".into()))
        };
        let unit = get(units.get(i).copied(), "ASSET_UNITS")?;
        let decimals = (0..=MAX_ASSET_DECIMALS)
            .find(|d| 10i64.pow(*d as u32) == unit)
            .ok_or_else(|| {
                TreeError::Param("ASSET_UNITS", format!("{unit} is not a power of 10"))
            })?;
        out.push(CollateralAsset {
            name: format!("asset{i}"),
            token_id: tid(id, "ASSET_IDS")?,
            pool_nft: tid(
                pools.get(i).ok_or_else(|| {
                    TreeError::Param("ASSET_POOLS", "list shorter than ASSET_IDS".into())
                })?,
                "ASSET_POOLS",
            )?,
            decimals,
            factor_pct: get(factors.get(i).copied(), "ASSET_FACTORS")?,
            max_age: get(ages.get(i).map(|a| *a as i64), "ASSET_MAX_AGES")? as i32,
            min_top_up: get(mins.get(i).copied(), "ASSET_MIN_TOP_UPS")? as u64,
            credit_pct: 0,
        });
    }
    Ok(out)
}

fn id_bytes(id: &TokenId) -> Vec<u8> {
    AsRef::<[u8]>::as_ref(id).to_vec()
}

fn id_const(id: &TokenId) -> Constant {
    Constant::from(*id)
}

fn hash_const(h: [u8; 32]) -> Constant {
    Constant::from(h.to_vec())
}

/// A deployment: the parameters and every final (re-parameterised) tree with its hash.
#[derive(Debug, Clone)]
pub struct Contracts {
    pub params: ProtocolParams,
    pub arbitration: ErgoTree,
    pub lease: ErgoTree,
    pub listing: ErgoTree,
    pub order: ErgoTree,
    pub lets_member: ErgoTree,
    pub lets_vault: ErgoTree,
    /// rosen_deposit with every constant set except `OWNER` (see [`Contracts::rosen_deposit`]).
    pub rosen_template: ErgoTree,
    rosen: Compiled,
    template_hashes: Vec<(Kind, [u8; 32])>,
}

impl Contracts {
    /// Loads and checks every compiled tree and re-parameterises it in dependency order:
    /// arbitration → lease → listing → order; lets_member → lets_vault, rosen_deposit.
    pub fn new(params: ProtocolParams) -> Result<Contracts, TreeError> {
        params.check()?;
        let p = &params;
        let load = |k| Compiled::load(k);
        let arbitration = load(Kind::Arbitration)?.parameterise(
            &[
                ("ARB_K", Constant::from(p.arb_k)),
                ("ARB_COMMITTEE", Constant::from(p.arb_committee.clone())),
            ],
            &[],
        )?;
        let lease = load(Kind::Lease)?.parameterise(
            &[
                ("CHALLENGE_WINDOW", Constant::from(p.challenge_window)),
                ("ARB_TIMEOUT", Constant::from(p.arb_timeout)),
                (
                    "ARBITRATION_SCRIPT_HASH",
                    hash_const(tree_hash(&arbitration)),
                ),
            ],
            &[],
        )?;
        let listing = load(Kind::Listing)?.parameterise(
            &[
                ("GPUC_ID", id_const(&p.gpuc_id)),
                ("LEASE_SCRIPT_HASH", hash_const(tree_hash(&lease))),
                ("DEADLINE_GRACE", Constant::from(p.deadline_grace)),
            ],
            &[],
        )?;
        let order = load(Kind::Order)?.parameterise(
            &[
                ("LISTING_SCRIPT_HASH", hash_const(tree_hash(&listing))),
                ("LEASE_SCRIPT_HASH", hash_const(tree_hash(&lease))),
                ("DEADLINE_GRACE", Constant::from(p.deadline_grace)),
                ("GPUC_ID", id_const(&p.gpuc_id)),
            ],
            &[],
        )?;
        let big = |v: i64| Constant::from(BigInt256::from(v));
        let [ids, pools, units, factors, ages, mins] = p.asset_consts();
        let lets_member = load(Kind::LetsMember)?.parameterise(
            &[
                ids.clone(),
                pools.clone(),
                units.clone(),
                factors,
                ages.clone(),
                mins,
                ("ORACLE_POOL_NFT", id_const(&p.oracle_pool_nft)),
                ("GPUC_PRICE_CENTS", big(p.gpuc_price_cents)),
                ("COLLATERAL_RATIO_PCT", big(p.collateral_ratio_pct)),
                ("VAULT_NFT", id_const(&p.vault_nft)),
                ("MEMBERSHIP_ID", id_const(&p.membership_id)),
                ("LIQ_PAYOUT_PCT", big(p.liq_payout_pct)),
                ("ORACLE_MAX_AGE", Constant::from(p.oracle_max_age)),
            ],
            &[],
        )?;
        let member_hash = hash_const(tree_hash(&lets_member));
        let lets_vault = load(Kind::LetsVault)?.parameterise(
            &[
                ("MEMBERSHIP_ID", id_const(&p.membership_id)),
                ("GPUC_ID", id_const(&p.gpuc_id)),
                ("MEMBER_SCRIPT_HASH", member_hash.clone()),
                ids.clone(),
                pools,
                units,
                ages,
                p.credit_pcts(),
                ("ORACLE_POOL_NFT", id_const(&p.oracle_pool_nft)),
                ("ORACLE_MAX_AGE", Constant::from(p.oracle_max_age)),
                ("GPUC_PRICE_CENTS", big(p.gpuc_price_cents)),
                (
                    "CREDIT_PEG_FLOOR_PCT",
                    Constant::from(p.credit_peg_floor_pct),
                ),
            ],
            &[],
        )?;
        let rosen = load(Kind::RosenDeposit)?;
        let rosen_template = rosen.parameterise(
            &[
                ids,
                ("MEMBER_SCRIPT_HASH", member_hash),
                ("MEMBERSHIP_ID", id_const(&p.membership_id)),
                ("MAX_RELAY_FEE", Constant::from(p.max_relay_fee)),
                ("VAULT_NFT", id_const(&p.vault_nft)),
            ],
            &["OWNER"],
        )?;
        let mut template_hashes = Vec::new();
        for k in Kind::ALL {
            template_hashes.push((k, load(k)?.template_hash));
        }
        Ok(Contracts {
            params,
            arbitration,
            lease,
            listing,
            order,
            lets_member,
            lets_vault,
            rosen_template,
            rosen,
            template_hashes,
        })
    }

    /// The per-user Rosen deposit tree (`OWNER` = proveDlog(owner)).
    pub fn rosen_deposit(&self, owner: &ProveDlog) -> Result<ErgoTree, TreeError> {
        let idx = self
            .rosen
            .constants
            .iter()
            .find(|nc| nc.name == "OWNER")
            .map(|nc| nc.indices.clone())
            .ok_or_else(|| TreeError::UnknownConstant("rosen_deposit", "OWNER".into()))?;
        let mut tree = self.rosen_template.clone();
        for i in idx {
            tree = tree
                .with_constant(i, SigmaProp::from(owner.clone()).into())
                .map_err(|e| TreeError::Constant {
                    contract: "rosen_deposit",
                    name: "OWNER".into(),
                    index: i,
                    reason: e.to_string(),
                })?;
        }
        Ok(tree)
    }

    /// The owner of a Rosen deposit tree, if the tree is this deployment's template for some owner.
    pub fn rosen_owner(&self, tree: &ErgoTree) -> Option<ProveDlog> {
        let nc = self.rosen.constants.iter().find(|nc| nc.name == "OWNER")?;
        let c = tree.get_constant(nc.indices[0]).ok()??;
        let sp: SigmaProp = c.v.try_extract_into().ok()?;
        let owner = crate::util::prove_dlog(&sp)?;
        (self.rosen_deposit(&owner).ok()? == *tree).then_some(owner)
    }

    /// The final tree of a kind (`RosenDeposit`: the template without an owner).
    pub fn tree(&self, kind: Kind) -> &ErgoTree {
        match kind {
            Kind::Arbitration => &self.arbitration,
            Kind::Lease => &self.lease,
            Kind::Listing => &self.listing,
            Kind::Order => &self.order,
            Kind::LetsMember => &self.lets_member,
            Kind::LetsVault => &self.lets_vault,
            Kind::RosenDeposit => &self.rosen_template,
        }
    }

    /// Template hash of a kind (the same for every deployment).
    pub fn template_hash(&self, kind: Kind) -> [u8; 32] {
        self.template_hashes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, h)| *h)
            .unwrap_or_default()
    }

    /// Which kind a tree is, by template hash.
    pub fn kind_of(&self, tree: &ErgoTree) -> Option<Kind> {
        let th = template_hash(tree).ok()?;
        self.template_hashes
            .iter()
            .find(|(_, h)| *h == th)
            .map(|(k, _)| *k)
    }
}

impl Contracts {
    /// The bytes of every Rosen deposit tree of this deployment that follow its `OWNER`
    /// constant: the remaining constants (member script hash, membership id, relay fee cap, ...)
    /// and the whole script body. The constants before `OWNER` are fixed by the template too, so
    /// a deposit tree is `header ‖ constant count ‖ fixed constants ‖ OWNER ‖ this`, whoever the
    /// owner is.
    pub fn rosen_template_suffix(&self) -> Result<Vec<u8>, TreeError> {
        let c = "rosen_deposit";
        let nc = self
            .rosen
            .constants
            .iter()
            .find(|nc| nc.name == "OWNER")
            .ok_or_else(|| TreeError::UnknownConstant(c, "OWNER".into()))?;
        let [idx] = nc.indices[..] else {
            return Err(TreeError::Tree(
                c,
                format!("OWNER at {:?}, the suffix rule needs one index", nc.indices),
            ));
        };
        let constant = |i: usize| -> Result<Vec<u8>, TreeError> {
            self.rosen_template
                .get_constant(i)
                .ok()
                .flatten()
                .ok_or_else(|| TreeError::Unset(c, format!("constant {i}")))?
                .sigma_serialize_bytes()
                .map_err(|e| TreeError::Tree(c, e.to_string()))
        };
        let bytes = tree_bytes(&self.rosen_template);
        // header byte, [size VLQ if the size flag is set], constant count VLQ, then the constants
        let mut at = 1;
        let skip_vlq = |at: &mut usize| {
            while bytes.get(*at).is_some_and(|b| b & 0x80 != 0) {
                *at += 1;
            }
            *at += 1;
        };
        if bytes[0] & 0x08 != 0 {
            skip_vlq(&mut at);
        }
        skip_vlq(&mut at);
        for i in 0..=idx {
            let k = constant(i)?;
            if bytes.get(at..at + k.len()) != Some(k.as_slice()) {
                return Err(TreeError::Tree(
                    c,
                    format!("constant {i} is not where the serialized constants put it"),
                ));
            }
            at += k.len();
        }
        Ok(bytes[at..].to_vec())
    }
}
