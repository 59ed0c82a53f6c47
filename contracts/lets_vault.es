// DGCM protocol v2 — LETS VAULT (GPUC reserve singleton)
//
// One box, created once at deployment. Box layout:
//   tokens(0) = (vault NFT, 1)              singleton identity (the id members know as VAULT_NFT)
//   tokens(1) = (GPUC_ID, reserve)          GPUC not in circulation
//   tokens(2) = (MEMBERSHIP_ID, stock)      membership tokens not yet issued
//   tokens(3..) = the stable reserve        listed assets the vault has taken for credit (path 2):
//                                           each with ASSET_CREDIT_PCTS > 0, each id at most once
//   no registers are read
// The vault is always INPUTS(0) and its successor always OUTPUTS(0): same script, value >= SELF.value,
// tokens(0) unchanged, tokens(1) GPUC, tokens(2) membership, the rest a stable reserve as above;
// paths 0 and 1 keep the stable reserve exactly (nothing takes it out: it backs the credit it bought).
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
//   2 credit (anyone; a USD stablecoin bought at the oracle's price): GPUC reserve and membership
//     stock unchanged; every listed asset's amount g_k = amount'_k - amount_k >= 0 (the vault only
//     takes), each asset gained has ASSET_CREDIT_PCTS(k) > 0 and a fresh pool (the member's pricing:
//     pool NFT ASSET_POOLS(k) among the data inputs, created at most ASSET_MAX_AGES(k) ago, R4
//     nanoERG per whole token) at CREDIT_PEG_FLOOR_PCT % of the peg or more (price_k * 100 >=
//     rate * CREDIT_PEG_FLOOR_PCT), rate = the fresh ERG/USD datapoint > 0; INPUTS(1) a member and
//     OUTPUTS(1) its successor as in path 0, credited c = R4' - R4 >= 1000 mGPUC (1 GPUC) where c is
//     exactly floor(W / (GPUC_PRICE_CENTS * rate)),
//       W = sum_k floor(g_k * min(price_k, rate) * ASSET_CREDIT_PCTS(k) * 1000 / ASSET_UNITS(k))
//     (the value gained, never above $1 a token, in GPUC at GPUC_PRICE_CENTS; rounded down, against
//     the buyer; exact, so whoever builds the transaction cannot credit less). The member's side is
//     its credited path (anyone): the balance only rises.
// There is no other path: the vault cannot be taken or destroyed.
//
// @const GPUC_ID Coll[Byte] tag
// @const MEMBERSHIP_ID Coll[Byte] tag
// @const MEMBER_SCRIPT_HASH Coll[Byte] hash:lets_member
// @const ASSET_IDS Coll[Coll[Byte]] tags:4
// @const ASSET_POOLS Coll[Coll[Byte]] tags:4
// @const ASSET_UNITS Coll[Long] 100,100000000,100000000,1000000
// @const ASSET_MAX_AGES Coll[Int] 721,722,723,724
// @const ASSET_CREDIT_PCTS Coll[Long] 0,0,0,100
// @const ORACLE_POOL_NFT Coll[Byte] tag
// @const ORACLE_MAX_AGE Int 720
// @const GPUC_PRICE_CENTS BigInt 101
// @const CREDIT_PEG_FLOOR_PCT Long 97
{
  val sel = getVar[Byte](0).get
  val succ = OUTPUTS(0)
  val m1 = OUTPUTS(1)
  val ks = ASSET_IDS.indices
  val amt = {(bi: (Box, Coll[Byte])) =>
    bi._1.tokens.fold(0L, {(a: Long, t: (Coll[Byte], Long)) => if (t._1 == bi._2) a + t._2 else a})
  }
  val stableReserve = {(b: Box) => b.tokens.slice(3, b.tokens.size)}
  // the member side of paths 0 and 2: INPUTS(1) a member, OUTPUTS(1) its successor
  val memberMoves = {(m0: Box) =>
    blake2b256(m0.propositionBytes) == MEMBER_SCRIPT_HASH &&
    m0.tokens(0)._1 == MEMBERSHIP_ID &&
    m1.propositionBytes == m0.propositionBytes &&
    m1.tokens(0) == m0.tokens(0) &&
    !(m1.R6[Int].isDefined) &&
    m1.R5[SigmaProp].get.propBytes == m0.R5[SigmaProp].get.propBytes
  }
  val kept =
    INPUTS(0).id == SELF.id &&
    succ.propositionBytes == SELF.propositionBytes &&
    succ.value >= SELF.value &&
    // no registers: a register of any type present makes this read fail or hold (v2: nothing
    // beyond a box's layout rides along on a box a path creates)
    !(succ.R4[Int].isDefined) &&
    succ.tokens.size >= 3 &&
    succ.tokens(0) == SELF.tokens(0) &&
    succ.tokens(1)._1 == GPUC_ID &&
    succ.tokens(2)._1 == MEMBERSHIP_ID &&
    stableReserve(succ).forall({(t: (Coll[Byte], Long)) =>
      ks.exists({(k: Int) => ASSET_IDS(k) == t._1 && ASSET_CREDIT_PCTS(k) > 0L})
    }) &&
    ASSET_IDS.forall({(id: Coll[Byte]) => stableReserve(succ).filter({(t: (Coll[Byte], Long)) => t._1 == id}).size <= 1})
  val reserveKept = stableReserve(succ) == stableReserve(SELF)
  if (sel == 0.toByte) {
    val delta = succ.tokens(1)._2 - SELF.tokens(1)._2
    sigmaProp(
      kept && reserveKept && delta != 0L &&
      succ.tokens(2) == SELF.tokens(2) &&
      memberMoves(INPUTS(1)) &&
      m1.R4[Long].get - INPUTS(1).R4[Long].get == delta
    )
  } else if (sel == 1.toByte) {
    sigmaProp(
      kept && reserveKept &&
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
  } else if (sel == 2.toByte) {
    // the datapoint of the fresh pool box with NFT `pool` among the data inputs; 0 when absent,
    // stale or <= 0 (the member's rule)
    val price = {(pm: (Coll[Byte], Int)) =>
      val p = CONTEXT.dataInputs.fold(0L, {(a: Long, d: Box) =>
        if (d.tokens.size > 0 && d.tokens(0)._1 == pm._1 && d.creationInfo._1 >= HEIGHT - pm._2) d.R4[Long].get else a
      })
      if (p > 0L) p else 0L
    }
    val rate = price((ORACLE_POOL_NFT, ORACLE_MAX_AGE))
    val gained = ks.map({(k: Int) => amt((succ, ASSET_IDS(k))) - amt((SELF, ASSET_IDS(k)))})
    val prices = ks.map({(k: Int) => if (gained(k) > 0L) price((ASSET_POOLS(k), ASSET_MAX_AGES(k))) else 0L})
    // a credit asset is a USD stablecoin: valued at its pool price but never above $1 (the rate),
    // and credited only while its pool prices it at CREDIT_PEG_FLOOR_PCT of $1 or more (red team
    // R2: two pools of different ages skewed the credit either way)
    val onPeg = {(k: Int) => prices(k) * 100L >= rate * CREDIT_PEG_FLOOR_PCT}
    val w = ks.fold(0.toBigInt, {(acc: BigInt, k: Int) =>
      val unitPrice = if (prices(k) < rate) prices(k) else rate
      acc + (gained(k).toBigInt * unitPrice.toBigInt * ASSET_CREDIT_PCTS(k).toBigInt * 1000.toBigInt) /
        ASSET_UNITS(k).toBigInt
    })
    val c = m1.R4[Long].get - INPUTS(1).R4[Long].get
    val perGpuc = GPUC_PRICE_CENTS * rate.toBigInt
    sigmaProp(
      kept && rate > 0L &&
      succ.tokens(1) == SELF.tokens(1) &&
      succ.tokens(2) == SELF.tokens(2) &&
      ks.forall({(k: Int) => gained(k) >= 0L && (gained(k) == 0L || (ASSET_CREDIT_PCTS(k) > 0L && prices(k) > 0L && onPeg(k)))}) &&
      // at least 1 GPUC (red team R3: a dust credit re-spent any account and the vault)
      memberMoves(INPUTS(1)) && c >= 1000L &&
      c.toBigInt * perGpuc <= w && w < (c.toBigInt + 1.toBigInt) * perGpuc
    )
  } else sigmaProp(false)
}
