// DGCM protocol v2 — ROSEN DEPOSIT (per-user landing address for Rosen bridge payments)
//
// A template with the owner's key: the Rust side sets OWNER (a SigmaProp constant, proveDlog(pk);
// declared as SigmaProp because the compiler folds proveDlog(<GroupElement constant>) into one) (and may set the caps) with
// ErgoTree::with_constant and gives the resulting P2S address to Rosen as `toAddress`. Rosen
// guards pay with no registers, so this box's parameters live in its own script constants:
// the relay fee cap is MAX_RELAY_FEE (nanoERG).
// Box layout: value = ERG; tokens: listed collateral assets (ASSET_IDS, the member's list: SigUSD,
//   rsBTC, ...) for conversion; a box holding any other token is only spendable by the owner.
// Selector: context var 0 (Byte); absent = 0, so any wallet can spend with the owner's key alone.
//
// Paths
//   0 owner (OWNER signs): anything, always.
//   1 convert (anyone, e.g. the Rosen relay bot): SELF is INPUTS(1) (one deposit per transaction);
//     INPUTS(0) is the owner's LETS member box (blake2b256(script) == MEMBER_SCRIPT_HASH,
//     tokens(0)._1 == MEMBERSHIP_ID, R5 == OWNER) with a balance >= 0, spent by its top-up path
//     with index 0 (red team: anyone could route a deposit into the owner's abandoned indebted
//     account, then liquidate it at the discount; an owner in debt converts with their own key);
//     OUTPUTS(0) is that member's successor (same script, tokens(0), R4 balance, R5 owner) with
//       value' - value >= SELF.value - MAX_RELAY_FEE       (ERG collateral credited, fee capped), and
//       every token SELF holds is a listed asset, and for every listed asset
//       amount' - amount >= SELF's amount (summed over SELF's tokens of that id).
//   2 credit (anyone, e.g. the relay; for stable assets, such as rsUSDT): SELF is INPUTS(2);
//     INPUTS(0) holds VAULT_NFT (the vault, whose script then takes its credit path: the only one
//     under which its stable reserve grows), INPUTS(1) the owner's member (as in path 1, any
//     balance: credit only raises it) spent by its credited path, OUTPUTS(1) that member's
//     successor (same script, tokens(0), R5 owner) with value' - value >= SELF.value - MAX_RELAY_FEE
//     and value' >= value; the vault's GPUC unchanged (red team R1: so the vault can only be on
//     its credit path, not a flow beside a liquidation of the owner's account repaid with this
//     deposit); SELF holds at least one token, each listed, and the vault's successor OUTPUTS(0) holds, of every token
//     SELF holds, at least SELF's amount more than the vault did. The vault's script credits the
//     member for all of it at the oracle's price, exactly; a token the vault does not take for
//     credit makes the vault's successor invalid, so such a deposit goes by path 1 or its owner.
//
// @const OWNER SigmaProp G4
// @const MEMBER_SCRIPT_HASH Coll[Byte] hash:lets_member
// @const MEMBERSHIP_ID Coll[Byte] tag
// @const ASSET_IDS Coll[Coll[Byte]] tags:4
// @const MAX_RELAY_FEE Long 2000001
// @const VAULT_NFT Coll[Byte] tag
{
  val owner = OWNER
  val sel = getVar[Byte](0).getOrElse(0.toByte)
  val amt = {(bi: (Box, Coll[Byte])) =>
    bi._1.tokens.fold(0L, {(a: Long, t: (Coll[Byte], Long)) => if (t._1 == bi._2) a + t._2 else a})
  }
  // the owner's member m continues as o (same script, membership token, owner) with SELF's ERG
  // less at most MAX_RELAY_FEE added (paths 1 and 2)
  val intoOwners = {(mo: (Box, Box)) =>
    val m = mo._1
    val o = mo._2
    blake2b256(m.propositionBytes) == MEMBER_SCRIPT_HASH &&
    m.tokens(0)._1 == MEMBERSHIP_ID &&
    m.R5[SigmaProp].get.propBytes == owner.propBytes &&
    o.propositionBytes == m.propositionBytes &&
    o.tokens(0) == m.tokens(0) &&
    o.R5[SigmaProp].get.propBytes == owner.propBytes &&
    o.value - m.value >= SELF.value - MAX_RELAY_FEE
  }
  if (sel == 1.toByte) {
    val m = INPUTS(0)
    val o = OUTPUTS(0)
    sigmaProp(
      INPUTS(1).id == SELF.id &&
      intoOwners((m, o)) &&
      m.R4[Long].get >= 0L &&
      o.R4[Long].get == m.R4[Long].get &&
      SELF.tokens.forall({(t: (Coll[Byte], Long)) => ASSET_IDS.exists({(x: Coll[Byte]) => x == t._1})}) &&
      ASSET_IDS.forall({(id: Coll[Byte]) => amt((o, id)) - amt((m, id)) >= amt((SELF, id))})
    )
  } else if (sel == 2.toByte) {
    val v = INPUTS(0)
    sigmaProp(
      INPUTS(2).id == SELF.id &&
      v.tokens.size > 1 && v.tokens(0)._1 == VAULT_NFT &&
      // red team R1: no GPUC moves, so the vault is on its credit path and the member on its
      // credited path (a flow would let a liquidation repay the owner's debt with this deposit)
      OUTPUTS(0).tokens(1) == v.tokens(1) &&
      intoOwners((INPUTS(1), OUTPUTS(1))) &&
      OUTPUTS(1).value >= INPUTS(1).value &&
      SELF.tokens.size > 0 &&
      SELF.tokens.forall({(t: (Coll[Byte], Long)) => ASSET_IDS.exists({(x: Coll[Byte]) => x == t._1})}) &&
      SELF.tokens.forall({(t: (Coll[Byte], Long)) => amt((OUTPUTS(0), t._1)) - amt((v, t._1)) >= amt((SELF, t._1))})
    )
  } else owner
}
