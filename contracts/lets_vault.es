// DGCM protocol v2 — LETS VAULT (GPUC reserve singleton)
//
// One box, created once at deployment. Box layout:
//   tokens(0) = (vault NFT, 1)              singleton identity (the id members know as VAULT_NFT)
//   tokens(1) = (GPUC_ID, reserve)          GPUC not in circulation
//   tokens(2) = (MEMBERSHIP_ID, stock)      membership tokens not yet issued
//   no registers are read
// The vault is always INPUTS(0) and its successor always OUTPUTS(0): same script, value >= SELF.value,
// exactly 3 tokens with tokens(0) unchanged, tokens(1) GPUC and tokens(2) membership.
// Selector: context var 0 (Byte).
//
// Paths
//   0 flow (anyone; the member script authorises the member side): GPUC reserve changes by
//     delta = GPUC' - GPUC != 0, membership stock unchanged; INPUTS(1) is a member (blake2b256(script)
//     == MEMBER_SCRIPT_HASH, tokens(0) a MEMBERSHIP_ID token) and OUTPUTS(1) its successor (same
//     script, same tokens(0), same R5 owner) with R4' - R4 == delta. delta < 0 is a withdrawal of
//     -delta GPUC (balance falls by exactly that), delta > 0 a deposit or a liquidation repayment.
//   1 join (anyone): GPUC reserve unchanged, membership stock falls by exactly 1; OUTPUTS(1) is a new
//     member: blake2b256(script) == MEMBER_SCRIPT_HASH, tokens(0) == (MEMBERSHIP_ID, 1), every other
//     token a listed collateral asset (ASSET_IDS, the member's list) and no asset id twice, R4 == 0L,
//     no R6, R5 a SigmaProp (the owner); and NO other input holds a
//     membership token (v2). Why: in v1 a zero-balance member M spent by its own top-up path could
//     put its unchanged successor at OUTPUTS(1), satisfying this check and its own, while the freshly
//     released token went to a forged member with any balance (then a withdrawal drained the
//     reserve). With no other membership token among the inputs, the one released token is the one
//     at OUTPUTS(1), so every membership token in existence started at balance 0.
// There is no other path: the vault cannot be taken or destroyed.
//
// @const GPUC_ID Coll[Byte] tag
// @const MEMBERSHIP_ID Coll[Byte] tag
// @const MEMBER_SCRIPT_HASH Coll[Byte] hash:lets_member
// @const ASSET_IDS Coll[Coll[Byte]] tags:4
{
  val sel = getVar[Byte](0).get
  val succ = OUTPUTS(0)
  val m1 = OUTPUTS(1)
  val kept =
    INPUTS(0).id == SELF.id &&
    succ.propositionBytes == SELF.propositionBytes &&
    succ.value >= SELF.value &&
    // no registers: a register of any type present makes this read fail or hold (v2: nothing
    // beyond a box's layout rides along on a box a path creates)
    !(succ.R4[Int].isDefined) &&
    succ.tokens.size == 3 &&
    succ.tokens(0) == SELF.tokens(0) &&
    succ.tokens(1)._1 == GPUC_ID &&
    succ.tokens(2)._1 == MEMBERSHIP_ID
  if (sel == 0.toByte) {
    val m0 = INPUTS(1)
    val delta = succ.tokens(1)._2 - SELF.tokens(1)._2
    sigmaProp(
      kept && delta != 0L &&
      succ.tokens(2) == SELF.tokens(2) &&
      blake2b256(m0.propositionBytes) == MEMBER_SCRIPT_HASH &&
      m0.tokens(0)._1 == MEMBERSHIP_ID &&
      m1.propositionBytes == m0.propositionBytes &&
      m1.tokens(0) == m0.tokens(0) &&
      !(m1.R6[Int].isDefined) &&
      m1.R5[SigmaProp].get.propBytes == m0.R5[SigmaProp].get.propBytes &&
      m1.R4[Long].get - m0.R4[Long].get == delta
    )
  } else if (sel == 1.toByte) {
    sigmaProp(
      kept &&
      succ.tokens(1) == SELF.tokens(1) &&
      succ.tokens(2)._2 == SELF.tokens(2)._2 - 1L &&
      blake2b256(m1.propositionBytes) == MEMBER_SCRIPT_HASH &&
      m1.tokens(0)._1 == MEMBERSHIP_ID && m1.tokens(0)._2 == 1L &&
      m1.tokens.slice(1, m1.tokens.size).forall({(t: (Coll[Byte], Long)) =>
        ASSET_IDS.exists({(x: Coll[Byte]) => x == t._1})
      }) &&
      ASSET_IDS.forall({(id: Coll[Byte]) => m1.tokens.filter({(t: (Coll[Byte], Long)) => t._1 == id}).size <= 1}) &&
      m1.R4[Long].get == 0L &&
      !(m1.R6[Int].isDefined) &&
      m1.R5[SigmaProp].get.propBytes.size > 0 &&
      INPUTS.forall({(b: Box) =>
        b.id == SELF.id || b.tokens.forall({(t: (Coll[Byte], Long)) => t._1 != MEMBERSHIP_ID})
      })
    )
  } else sigmaProp(false)
}
