//! LETS vault box: the GPUC reserve singleton.

use ergo_lib::ergotree_ir::chain::ergo_box::{ErgoBox, ErgoBoxCandidate};

use crate::codec::{candidate, expect_tree, tok_err, toks, BoxKind, CodecError};
use crate::trees::{Contracts, Kind};
use crate::util::tokens;

const K: &str = "lets_vault";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    pub value: u64,
    /// tokens(1): GPUC not in circulation.
    pub reserve: u64,
    /// tokens(2): membership tokens not yet issued.
    pub stock: u64,
}

impl BoxKind for Vault {
    const KIND: Kind = Kind::LetsVault;

    fn parse(c: &Contracts, b: &ErgoBox) -> Result<Vault, CodecError> {
        expect_tree(K, b, &c.lets_vault)?;
        let p = &c.params;
        match toks(b).as_slice() {
            [(n, 1), (g, reserve), (m, stock)]
                if *n == p.vault_nft && *g == p.gpuc_id && *m == p.membership_id =>
            {
                Ok(Vault {
                    value: *b.value.as_u64(),
                    reserve: *reserve,
                    stock: *stock,
                })
            }
            _ => Err(tok_err(
                K,
                "expected exactly (vault NFT, 1), (GPUC, reserve), (MEMBERSHIP_ID, stock)",
            )),
        }
    }
}

impl Vault {
    pub fn to_candidate(&self, c: &Contracts, height: u32) -> Result<ErgoBoxCandidate, CodecError> {
        let p = &c.params;
        // the vault always carries all three tokens: a zero reserve or stock cannot be encoded
        if self.reserve == 0 || self.stock == 0 {
            return Err(tok_err(K, "reserve and stock must stay > 0"));
        }
        candidate(
            K,
            c.lets_vault.clone(),
            self.value,
            tokens(&[
                (p.vault_nft, 1),
                (p.gpuc_id, self.reserve),
                (p.membership_id, self.stock),
            ]),
            vec![],
            height,
        )
    }
}
