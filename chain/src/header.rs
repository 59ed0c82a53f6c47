//! Headers made here rather than mined: the devnet's blocks and test or benchmark chains.

use ergo_lib::ergo_chain_types::{
    ec_point, ADDigest, AutolykosSolution, BlockId, Digest32, Header, Votes,
};
use sigma_ser::ScorexSerializable;

/// nBits of every synthetic header (difficulty 1: no proof of work is done).
pub const SYNTHETIC_N_BITS: u64 = 16_842_752;

/// A version-3 header on top of `parent`, without proof of work, whose id is computed as the node
/// computes it (blake2b256 of the header bytes), so it links and round-trips like a real one.
pub fn synthetic_header(
    height: u32,
    parent: BlockId,
    timestamp: u64,
    transactions_root: Digest32,
    nonce: [u8; 8],
) -> Header {
    let mut h = Header {
        version: 3,
        id: BlockId(Digest32::zero()),
        parent_id: parent,
        ad_proofs_root: Digest32::zero(),
        state_root: ADDigest::zero(),
        transaction_root: transactions_root,
        timestamp,
        n_bits: SYNTHETIC_N_BITS,
        height,
        extension_root: Digest32::zero(),
        autolykos_solution: AutolykosSolution {
            miner_pk: Box::new(ec_point::generator()),
            pow_onetime_pk: None,
            nonce: nonce.to_vec(),
            pow_distance: None,
        },
        votes: Votes([0, 0, 0]),
    };
    h.id = header_id(&h);
    h
}

/// A header's id: blake2b256 of its serialisation, as the node computes it.
pub fn header_id(h: &Header) -> BlockId {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    let bytes = h.scorex_serialize_bytes().unwrap_or_default();
    let digest: [u8; 32] = Blake2b::<U32>::digest(&bytes).into();
    BlockId(Digest32::from(digest))
}
