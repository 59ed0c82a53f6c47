// DGCM protocol v2 — LETS MEMBER (collateral-backed mutual-credit account)
//
// Box layout:
//   tokens(0) = (MEMBERSHIP_ID, 1)          issued by the vault's join path; proves the box started at 0
//   tokens(1) = (SIGUSD_ID, cents)          optional SigUSD collateral (SigUSD has 2 decimals: 1 unit = 1 cent)
//   value     = ERG collateral (nanoERG), valued at the oracle price
//   R4: Long       balance in mGPUC (GPUC has 3 decimals); may be negative
//   R5: SigmaProp  owner
// Oracle: the ERG/USD oracle-pool box as CONTEXT.dataInputs(0), recognised by tokens(0)._1 ==
//   ORACLE_POOL_NFT and created at most ORACLE_MAX_AGE blocks ago (v2: a stale pool box prices
//   nothing); its R4 (Long) is nanoERG per 1 USD. rate = that value, or 0 if absent/fake/stale/<= 0.
// Collateral value in (USD cents x rate) units: C(b) = b.value*100 + sigusd(b)*rate.
// healthy(b): balance >= 0, or rate > 0 and
//   C(b) * 1000 * 100 >= (-balance) * GPUC_PRICE_CENTS * COLLATERAL_RATIO_PCT * rate
//   i.e. collateral in cents >= debt (GPUC at GPUC_PRICE_CENTS each) x ratio%.  (BigInt arithmetic.)
// A successor of SELF at OUTPUTS(i): same script, R5 owner unchanged, R4 a Long, tokens(0) ==
//   SELF.tokens(0), and at most one more token, which must be SigUSD.
// A counterpart member: a box with the same script whose tokens(0) is a MEMBERSHIP_ID token.
// GPUC_PRICE_CENTS, COLLATERAL_RATIO_PCT and LIQ_PAYOUT_PCT are BigInt constants (a Long constant
//   converted with .toBigInt is folded by the compiler into a new constant and could not be re-set).
// Selector: context var 0 (Byte); var 1 (Int) = SELF's input index where a path says "index i".
//
// Paths
//   0 owner (owner signs), index i: SELF is INPUTS(i), OUTPUTS(i) is a successor that is healthy,
//     and its balance change d = R4' - R4 is one of:
//       d == 0                      collateral change only (add/remove ERG or SigUSD);
//       i == 1, INPUTS(0) holds VAULT_NFT, d == (GPUC in OUTPUTS(0)) - (GPUC in INPUTS(0))
//                                   withdraw GPUC from the vault (d < 0) or deposit GPUC (d > 0);
//       i == 0, d < 0, INPUTS(1) is a counterpart member, OUTPUTS(1).R4 - INPUTS(1).R4 == -d
//                                   pay -d to that member (sum of balances conserved).
//   1 close (owner signs): balance == 0 and no output holds a MEMBERSHIP_ID token (membership burned).
//   2 receive (anyone): SELF is INPUTS(1); INPUTS(0) is a counterpart member; amt = OUTPUTS(1).R4 - R4 > 0;
//     OUTPUTS(1) is a successor with value >= SELF.value and tokens == SELF.tokens;
//     OUTPUTS(0).R4 == INPUTS(0).R4 - amt (the payer's side, which its own path 0 authorises).
//   3 top up (anyone), index i: SELF is INPUTS(i); OUTPUTS(i) is a successor with the same balance,
//     value >= SELF.value and SigUSD >= SELF's, and at least 0.01 ERG or 1 SigUSD more (v2: a
//     no-op or dust re-spend by anyone would grief the owner's pending transactions for nothing)
//     (used by rosen_deposit.es).
//   4 liquidate (anyone): rate > 0 and SELF is not healthy; SELF is INPUTS(1), INPUTS(0) holds VAULT_NFT;
//     r = (GPUC in OUTPUTS(0)) - (GPUC in INPUTS(0)) > 0 is repaid into the vault;
//     OUTPUTS(1) is a successor with balance R4 + r <= 0; the collateral taken
//     (ergOut = SELF.value - value', sigOut = sigusd - sigusd') satisfies
//     (ergOut*100 + sigOut*rate) * 100000 <= r * GPUC_PRICE_CENTS * LIQ_PAYOUT_PCT * rate,
//     with ergOut >= 0 and sigOut >= 0 (v2: a liquidator takes collateral, it does not swap the
//     member's ERG for SigUSD at the oracle price),
//     i.e. the liquidator gets at most LIQ_PAYOUT_PCT percent of the repaid debt's value
//     (LIQ_PAYOUT_PCT = 100 + the bounded discount; 107 = 7 % discount).
//
// @const VAULT_NFT Coll[Byte] tag
// @const MEMBERSHIP_ID Coll[Byte] tag
// @const SIGUSD_ID Coll[Byte] tag
// @const ORACLE_POOL_NFT Coll[Byte] tag
// @const GPUC_PRICE_CENTS BigInt 101
// @const COLLATERAL_RATIO_PCT BigInt 150
// @const LIQ_PAYOUT_PCT BigInt 107
// @const ORACLE_MAX_AGE Int 720
{
  val sel = getVar[Byte](0).get
  val owner = SELF.R5[SigmaProp].get
  val bal = SELF.R4[Long].get
  val mine = SELF.tokens(0)

  val sigOf = {(b: Box) => if (b.tokens.size > 1 && b.tokens(1)._1 == SIGUSD_ID) b.tokens(1)._2 else 0L}
  val isMember = {(b: Box) =>
    b.propositionBytes == SELF.propositionBytes && b.tokens.size > 0 && b.tokens(0)._1 == MEMBERSHIP_ID
  }
  val succOk = {(o: Box) =>
    o.propositionBytes == SELF.propositionBytes &&
    o.R5[SigmaProp].get.propBytes == owner.propBytes &&
    o.R4[Long].isDefined &&
    !(o.R6[Int].isDefined) &&
    o.tokens.size > 0 && o.tokens(0) == mine &&
    (o.tokens.size == 1 || (o.tokens.size == 2 && o.tokens(1)._1 == SIGUSD_ID))
  }
  // oracle rate (nanoERG per USD); total: 0 when there is no genuine pool box at data input 0
  val oracle = CONTEXT.dataInputs.getOrElse(0, SELF)
  val fresh = oracle.creationInfo._1 >= HEIGHT - ORACLE_MAX_AGE
  val rate0 = if (fresh && oracle.tokens.size > 0 && oracle.tokens(0)._1 == ORACLE_POOL_NFT) oracle.R4[Long].get else 0L
  val rate = if (rate0 > 0L) rate0 else 0L
  val rateB = rate.toBigInt
  val healthy = {(o: Box) =>
    val ob = o.R4[Long].get
    ob >= 0L || (rate > 0L &&
      (o.value.toBigInt * 100.toBigInt + sigOf(o).toBigInt * rateB) * 100000.toBigInt >=
        (-ob).toBigInt * GPUC_PRICE_CENTS * COLLATERAL_RATIO_PCT * rateB)
  }
  // GPUC moved into the vault (INPUTS(0) -> OUTPUTS(0)); the vault script guarantees OUTPUTS(0) is its successor
  val vaultIn = INPUTS(0)
  val isVault = vaultIn.tokens.size > 1 && vaultIn.tokens(0)._1 == VAULT_NFT
  val vaultDelta = {(v: Box) => OUTPUTS(0).tokens(1)._2 - v.tokens(1)._2}

  if (sel == 0.toByte) {
    val i = getVar[Int](1).get
    val o = OUTPUTS(i)
    val d = o.R4[Long].get - bal
    owner && sigmaProp(
      INPUTS(i).id == SELF.id && succOk(o) && healthy(o) &&
      (d == 0L ||
        (i == 1 && isVault && d == vaultDelta(vaultIn)) ||
        (i == 0 && d < 0L && isMember(INPUTS(1)) && OUTPUTS(1).R4[Long].get - INPUTS(1).R4[Long].get == -d))
    )
  } else if (sel == 1.toByte) {
    owner && sigmaProp(
      bal == 0L &&
      OUTPUTS.forall({(o: Box) => o.tokens.forall({(t: (Coll[Byte], Long)) => t._1 != MEMBERSHIP_ID})})
    )
  } else if (sel == 2.toByte) {
    val o = OUTPUTS(1)
    val amt = o.R4[Long].get - bal
    sigmaProp(
      INPUTS(1).id == SELF.id && amt > 0L &&
      succOk(o) && o.value >= SELF.value && o.tokens == SELF.tokens &&
      isMember(vaultIn) && OUTPUTS(0).R4[Long].get == vaultIn.R4[Long].get - amt
    )
  } else if (sel == 3.toByte) {
    val i = getVar[Int](1).get
    val o = OUTPUTS(i)
    sigmaProp(
      INPUTS(i).id == SELF.id && succOk(o) &&
      o.R4[Long].get == bal && o.value >= SELF.value && sigOf(o) >= sigOf(SELF) &&
      (o.value >= SELF.value + 10000000L || sigOf(o) >= sigOf(SELF) + 100L)
    )
  } else if (sel == 4.toByte) {
    val o = OUTPUTS(1)
    val r = o.R4[Long].get - bal
    val ergOut = SELF.value - o.value
    val sigOut = sigOf(SELF) - sigOf(o)
    sigmaProp(
      rate > 0L && !(healthy(SELF)) &&
      INPUTS(1).id == SELF.id && isVault &&
      r > 0L && r == vaultDelta(vaultIn) && bal + r <= 0L && ergOut >= 0L && sigOut >= 0L &&
      succOk(o) &&
      (ergOut.toBigInt * 100.toBigInt + sigOut.toBigInt * rateB) * 100000.toBigInt <=
        r.toBigInt * GPUC_PRICE_CENTS * LIQ_PAYOUT_PCT * rateB
    )
  } else sigmaProp(false)
}
