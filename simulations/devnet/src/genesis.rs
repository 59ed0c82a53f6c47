//! The devnet's genesis: funded test wallets, stand-in tokens and a stand-in ERG/USD oracle pool.
//!
//! Everything here is derived from fixed seeds, so every devnet starts from the same boxes and
//! tests can name wallets by index. The secrets are public test secrets: never use them on a
//! real network.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use dgcm_contracts::lets_vault::Vault;
use dgcm_contracts::trees::{Contracts, ProtocolParams};
use ergo_lib::chain::transaction::TxId;
use ergo_lib::ergotree_ir::chain::address::{Address, AddressEncoder, NetworkPrefix};
use ergo_lib::ergotree_ir::chain::ergo_box::box_value::BoxValue;
use ergo_lib::ergotree_ir::chain::ergo_box::{
    ErgoBox, NonMandatoryRegisterId, NonMandatoryRegisters,
};
use ergo_lib::ergotree_ir::chain::token::{Token, TokenAmount, TokenId};
use ergo_lib::ergotree_ir::ergo_tree::ErgoTree;
use ergo_lib::ergotree_ir::mir::constant::Constant;
use ergo_lib::wallet::secret_key::SecretKey;

/// Nanoergs per ERG.
pub const ERG: u64 = 1_000_000_000;

/// Stand-in tokens minted at genesis: (name, decimals, amount per wallet in base units).
pub const TOKENS: &[(&str, u32, u64)] = &[
    ("SigUSD", 2, 10_000_000), // 100,000.00 SigUSD
    ("GPUC", 3, 100_000_000),  // 100,000.000 GPUC: a devnet allocation, so tests can trade at once
    ("rsUSDT", 6, 100_000_000_000),
    ("rsADA", 6, 100_000_000_000),
    ("rsBTC", 8, 1_000_000_000),  // 10 BTC
    ("rsETH", 8, 10_000_000_000), // 100 ETH
];

/// The stand-in pools of the listed collateral assets other than SigUSD (which the ERG/USD pool
/// prices): (asset, USD per whole token); each pool's R4 is nanoERG per whole token at
/// [`DEFAULT_ORACLE_RATE`].
pub const ASSET_POOLS: &[(&str, i64)] = &[("rsBTC", 90_000), ("rsETH", 3_000), ("rsUSDT", 1)];

/// Stand-in ERG/USD rate in the pool box's R4: nanoergs per 1 USD (mainnet pool v2 convention).
/// 500_000_000 means 1 ERG = 2 USD.
pub const DEFAULT_ORACLE_RATE: i64 = 500_000_000;

pub fn blake2b256(data: &[u8]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    h.update(data);
    h.finalize().into()
}

/// The protocol deployment the devnet carries in genesis (the LETS vault, GPUC, SigUSD and the
/// oracle pool use its token ids).
pub fn protocol() -> ProtocolParams {
    ProtocolParams::devnet_default()
}

/// Id of a stand-in token, derived from its name; SigUSD, GPUC and the listed collateral assets
/// (rsBTC, rsETH, rsUSDT) are the protocol's ids.
pub fn token_id(name: &str) -> TokenId {
    let p = protocol();
    match name {
        "SigUSD" => return p.sigusd_id,
        "GPUC" => return p.gpuc_id,
        _ => {}
    }
    if let Some(a) = p.asset(name) {
        return a.token_id;
    }
    let d = blake2b256(format!("dgcm-devnet/token/{name}").as_bytes());
    TokenId::from(ergo_lib::ergo_chain_types::Digest32::from(d))
}

/// Id of the stand-in oracle pool NFT.
pub fn oracle_pool_nft() -> TokenId {
    protocol().oracle_pool_nft
}

/// GPUC the genesis LETS vault holds in reserve (mGPUC) and its membership tokens.
pub const VAULT_RESERVE: u64 = 1_000_000_000_000;
pub const VAULT_STOCK: u64 = 1_000_000;

/// A test wallet: public test secret and its P2PK address.
#[derive(Clone)]
pub struct TestWallet {
    pub secret: SecretKey,
    pub secret_hex: String,
    pub address: Address,
    pub tree: ErgoTree,
}

impl TestWallet {
    /// Wallet `index` (the oracle operator uses its own seed, see [`oracle_operator`]).
    pub fn derive(seed: &str) -> TestWallet {
        // A hash is below the group order with overwhelming probability; re-hash otherwise.
        let mut bytes = blake2b256(seed.as_bytes());
        let secret = loop {
            match SecretKey::dlog_from_bytes(&bytes) {
                Some(s) => break s,
                None => bytes = blake2b256(&bytes),
            }
        };
        let address = secret.get_address_from_public_image();
        let tree = address.script().expect("P2PK address always has a tree");
        TestWallet {
            secret_hex: hex::encode(bytes),
            secret,
            address,
            tree,
        }
    }

    pub fn encoded_address(&self, network: NetworkPrefix) -> String {
        AddressEncoder::encode_address_as_string(network, &self.address)
    }
}

/// Names and roles of the first test wallets, as `/devnet/info` and `dgcm devnet keys` give
/// them (the guides' `alice.key`, `bob.key`, `operator.key`); the rest are `wallet<i>`. Every
/// one holds the same genesis funds (ERG, SigUSD, GPUC, the bridged stand-ins).
pub const WALLET_ROLES: &[(&str, &str)] = &[
    ("alice", "renter"),
    ("bob", "provider"),
    ("carol", "renter"),
    ("dave", "provider"),
    ("erin", "spare"),
    ("operator", "bot operator"),
    ("frank", "spare"),
    ("deployer", "deploys a vault (dgcm tx deploy-vault)"),
];

/// Name and role of wallet `index` ([`WALLET_ROLES`], else `wallet<i>`, "spare").
pub fn wallet_role(index: usize) -> (String, &'static str) {
    match WALLET_ROLES.get(index) {
        Some((n, r)) => (n.to_string(), r),
        None => (format!("wallet{index}"), "spare"),
    }
}

pub fn test_wallet(index: usize) -> TestWallet {
    TestWallet::derive(&format!("dgcm-devnet/wallet/{index}"))
}

pub fn oracle_operator() -> TestWallet {
    TestWallet::derive("dgcm-devnet/oracle-operator")
}

/// Boxes that exist before block 1, as `/utxo/genesis` serves them.
pub fn genesis_boxes(wallets: &[TestWallet], boxes_per_wallet: usize) -> Vec<ErgoBox> {
    let genesis_tx = TxId::zero();
    let mut out = Vec::new();
    let mut index: u16 = 0;
    let mut push = |value: u64,
                    tree: &ErgoTree,
                    tokens: Vec<Token>,
                    regs: NonMandatoryRegisters,
                    out: &mut Vec<ErgoBox>| {
        let tokens = if tokens.is_empty() {
            None
        } else {
            Some(tokens.try_into().expect("1..=255 tokens"))
        };
        let b = ErgoBox::new(
            BoxValue::new(value).expect("valid genesis value"),
            tree.clone(),
            tokens,
            regs,
            0,
            genesis_tx,
            index,
        )
        .expect("genesis box serialises");
        index += 1;
        out.push(b);
    };
    for w in wallets {
        for i in 0..boxes_per_wallet.max(1) {
            let tokens = if i == 0 {
                TOKENS
                    .iter()
                    .map(|(name, _, amount)| Token {
                        token_id: token_id(name),
                        amount: TokenAmount::try_from(*amount).expect("token amount"),
                    })
                    .collect()
            } else {
                vec![]
            };
            push(
                100_000 * ERG,
                &w.tree,
                tokens,
                NonMandatoryRegisters::empty(),
                &mut out,
            );
        }
    }
    let oracle = oracle_operator();
    push(
        10 * ERG, // pays the fees of its refreshes (POST /devnet/oracle)
        &oracle.tree,
        vec![Token {
            token_id: oracle_pool_nft(),
            amount: TokenAmount::try_from(1u64).expect("1"),
        }],
        oracle_registers(DEFAULT_ORACLE_RATE, 1),
        &mut out,
    );
    for (name, usd) in ASSET_POOLS {
        #[allow(clippy::expect_used)] // the devnet deployment lists every stand-in pool's asset
        let nft = protocol().asset(name).expect("listed asset").pool_nft;
        push(
            10 * ERG,
            &oracle.tree,
            vec![Token {
                token_id: nft,
                amount: TokenAmount::try_from(1u64).expect("1"),
            }],
            oracle_registers(usd * DEFAULT_ORACLE_RATE, 1),
            &mut out,
        );
    }
    // The LETS vault of the devnet deployment.
    #[allow(clippy::expect_used)] // fixed, valid parameters
    let contracts = Contracts::new(protocol()).expect("devnet contracts");
    #[allow(clippy::expect_used)]
    let vault = Vault {
        value: ERG,
        reserve: VAULT_RESERVE,
        stock: VAULT_STOCK,
        stable: vec![],
    }
    .to_candidate(&contracts, 0)
    .expect("vault box");
    push(
        ERG,
        &vault.ergo_tree,
        vault.tokens.iter().flatten().cloned().collect(),
        vault.additional_registers.clone(),
        &mut out,
    );
    out
}

/// Pool box registers as on mainnet (oracle pool v2): R4 Long rate, R5 Int epoch counter.
pub fn oracle_registers(rate: i64, epoch: i32) -> NonMandatoryRegisters {
    NonMandatoryRegisters::new(
        [
            (NonMandatoryRegisterId::R4, Constant::from(rate)),
            (NonMandatoryRegisterId::R5, Constant::from(epoch)),
        ]
        .into_iter()
        .collect(),
    )
    .expect("two registers")
}

/// The Rosen stand-in's guards: a float of every bridged stand-in token (see [`crate::rosen`]),
/// in boxes numbered from `first_index` of the genesis "transaction".
pub fn guard_boxes(guards: &TestWallet, first_index: u16) -> Vec<ErgoBox> {
    (0..4u16)
        .map(|i| {
            let tokens: Vec<Token> = TOKENS
                .iter()
                .filter(|(name, _, _)| name.starts_with("rs"))
                .map(|(name, _, amount)| Token {
                    token_id: token_id(name),
                    amount: TokenAmount::try_from(amount * 100).expect("token amount"),
                })
                .collect();
            ErgoBox::new(
                BoxValue::new(100_000 * ERG).expect("value"),
                guards.tree.clone(),
                Some(tokens.try_into().expect("tokens")),
                NonMandatoryRegisters::empty(),
                0,
                TxId::zero(),
                first_index + i,
            )
            .expect("guard box")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_have_the_guides_names() {
        assert_eq!(wallet_role(0), ("alice".to_string(), "renter"));
        assert_eq!(wallet_role(1), ("bob".to_string(), "provider"));
        assert_eq!(wallet_role(5), ("operator".to_string(), "bot operator"));
        assert_eq!(wallet_role(11), ("wallet11".to_string(), "spare"));
        let names: std::collections::HashSet<String> = (0..20).map(|i| wallet_role(i).0).collect();
        assert_eq!(names.len(), 20, "every name is unique");
    }
}
