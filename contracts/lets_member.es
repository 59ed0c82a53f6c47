// DGCM protocol v2 — LETS MEMBER (collateral-backed mutual-credit account)
//
// Box layout:
//   tokens(0) = (MEMBERSHIP_ID, 1)          issued by the vault's join path; proves the box started at 0
//   tokens(1..) = collateral assets         each a listed asset (ASSET_IDS), each id at most once, any order
//   value     = ERG collateral (nanoERG)
//   R4: Long       balance in mGPUC (GPUC has 3 decimals); may be negative
//   R5: SigmaProp  owner
// Collateral assets are data, not code: the deployment lists them in parallel constant lists
//   ASSET_IDS (token id), ASSET_POOLS (the NFT of the oracle pool that prices it), ASSET_UNITS
//   (10^decimals: base units per whole token), ASSET_FACTORS (collateral factor, % of its value
//   that counts for borrowing), ASSET_MAX_AGES (blocks after which its pool box prices nothing),
//   ASSET_MIN_TOP_UPS (least a top-up by anyone adds, in base units). SigUSD is one of them, priced
//   by the ERG/USD pool.
// Prices, from data inputs (any index, any order): a pool box is recognised by tokens(0)._1 == its
//   pool NFT (an NFT: only the genuine pool box holds it) and must have been created at most its
//   max age ago; its R4 (Long) is nanoERG per whole unit of the asset it prices (the ERG/USD pool's
//   layout: nanoERG per USD). A missing, stale or non-positive pool box prices its asset at 0.
//   rate = the ERG/USD pool's (ORACLE_POOL_NFT, ORACLE_MAX_AGE) datapoint: it prices the debt.
// Borrowing value (nanoERG, BigInt, each asset rounded down):
//   V(b) = b.value + sum_k floor(amount_k(b) * price_k * ASSET_FACTORS(k) / (ASSET_UNITS(k) * 100))
// healthy(b): balance >= 0, or rate > 0 and
//   V(b) * 10^7 >= (-balance) * GPUC_PRICE_CENTS * COLLATERAL_RATIO_PCT * rate
//   i.e. borrowing value >= debt (GPUC at GPUC_PRICE_CENTS each, in nanoERG) x ratio%.
// A successor of SELF at OUTPUTS(i): same script, R5 owner unchanged, R4 a Long, no R6,
//   tokens(0) == SELF.tokens(0), every other token a listed asset and no asset id twice.
// A counterpart member: a box with the same script whose tokens(0) is a MEMBERSHIP_ID token.
// GPUC_PRICE_CENTS, COLLATERAL_RATIO_PCT and LIQ_PAYOUT_PCT are BigInt constants (a Long constant
//   converted with .toBigInt is folded by the compiler into a new constant and could not be re-set).
// Selector: context var 0 (Byte); var 1 (Int) = SELF's input index where a path says "index i".
//
// Paths
//   0 owner (owner signs), index i: SELF is INPUTS(i), OUTPUTS(i) is a successor that is healthy;
//     when it ends in debt, every asset it gains is priced now, and when the debt grows (d < 0)
//     every asset it holds is priced now (red team: an asset whose pool lapses blocks liquidation,
//     so no account in debt takes one on, or borrows beside one, while it is unpriced);
//     and its balance change d = R4' - R4 is one of:
//       d == 0                      collateral change only (add/remove ERG or any asset);
//       i == 1, INPUTS(0) holds VAULT_NFT, d == (GPUC in OUTPUTS(0)) - (GPUC in INPUTS(0))
//                                   withdraw GPUC from the vault (d < 0) or deposit GPUC (d > 0);
//       i == 0, d < 0, INPUTS(1) is a counterpart member, OUTPUTS(1).R4 - INPUTS(1).R4 == -d
//                                   pay -d to that member (sum of balances conserved).
//   1 close (owner signs): balance == 0 and no output holds a MEMBERSHIP_ID token (membership burned).
//   2 receive (anyone): SELF is INPUTS(1); INPUTS(0) is a counterpart member; amt = OUTPUTS(1).R4 - R4 > 0;
//     OUTPUTS(1) is a successor with value >= SELF.value and tokens == SELF.tokens;
//     OUTPUTS(0).R4 == INPUTS(0).R4 - amt (the payer's side, which its own path 0 authorises).
//   3 top up (anyone), index i: SELF is INPUTS(i); OUTPUTS(i) is a successor with the same balance,
//     value >= SELF.value and every asset >= SELF's, and at least 0.01 ERG or one asset's
//     ASSET_MIN_TOP_UPS more (v2: a no-op or dust re-spend by anyone would grief the owner's
//     pending transactions for nothing); an account in debt gains only assets priced now (red
//     team: a dollar of an asset whose pool has lapsed, added by anyone, shielded an underwater
//     account from liquidation) (used by rosen_deposit.es).
//   4 liquidate (anyone): rate > 0, every listed asset SELF holds is priced (a missing or stale
//     pool never makes an account liquidatable), and SELF is not healthy; SELF is INPUTS(1),
//     INPUTS(0) holds VAULT_NFT; r = (GPUC in OUTPUTS(0)) - (GPUC in INPUTS(0)) > 0 is repaid into
//     the vault; OUTPUTS(1) is a successor with balance R4 + r <= 0; the collateral taken,
//     ergOut = SELF.value - value' >= 0 and out_k = amount_k(SELF) - amount_k(OUTPUTS(1)) >= 0 for
//     every asset (a liquidator takes collateral, it does not swap it), valued at full price and
//     rounded up, T = ergOut + sum_k ceil(out_k * price_k / ASSET_UNITS(k)), satisfies
//     T * 10^7 <= r * GPUC_PRICE_CENTS * LIQ_PAYOUT_PCT * rate,
//     i.e. the liquidator gets at most LIQ_PAYOUT_PCT percent of the repaid debt's value
//     (LIQ_PAYOUT_PCT = 100 + the bounded discount; 107 = 7 % discount), in any mix of assets.
//   5 credited (anyone): SELF is INPUTS(1), INPUTS(0) holds VAULT_NFT and its GPUC stays unchanged
//     in OUTPUTS(0) (so the vault is on its credit path: a flow moves GPUC); OUTPUTS(1) is a
//     successor with value >= SELF.value, tokens == SELF.tokens and a higher balance. Only the
//     balance rises, by what the vault's credit path allows for the stable asset it took (at least
//     1 GPUC); used by rosen_deposit.es's credit path.
//
// @const VAULT_NFT Coll[Byte] tag
// @const MEMBERSHIP_ID Coll[Byte] tag
// @const ORACLE_POOL_NFT Coll[Byte] tag
// @const GPUC_PRICE_CENTS BigInt 101
// @const COLLATERAL_RATIO_PCT BigInt 150
// @const LIQ_PAYOUT_PCT BigInt 107
// @const ORACLE_MAX_AGE Int 720
// @const ASSET_IDS Coll[Coll[Byte]] tags:4
// @const ASSET_POOLS Coll[Coll[Byte]] tags:4
// @const ASSET_UNITS Coll[Long] 100,100000000,100000000,1000000
// @const ASSET_FACTORS Coll[Long] 99,70,71,95
// @const ASSET_MAX_AGES Coll[Int] 721,722,723,724
// @const ASSET_MIN_TOP_UPS Coll[Long] 101,10000,100001,1000001
{
  val sel = getVar[Byte](0).get
  val owner = SELF.R5[SigmaProp].get
  val bal = SELF.R4[Long].get
  val mine = SELF.tokens(0)
  val ks = ASSET_IDS.indices

  // amount of token `id` in a box (summed: a box with an id twice cannot hide half of it)
  val amt = {(bi: (Box, Coll[Byte])) =>
    bi._1.tokens.fold(0L, {(a: Long, t: (Coll[Byte], Long)) => if (t._1 == bi._2) a + t._2 else a})
  }
  val listed = {(id: Coll[Byte]) => ASSET_IDS.exists({(x: Coll[Byte]) => x == id})}
  val isMember = {(b: Box) =>
    b.propositionBytes == SELF.propositionBytes && b.tokens.size > 0 && b.tokens(0)._1 == MEMBERSHIP_ID
  }
  val succOk = {(o: Box) =>
    o.propositionBytes == SELF.propositionBytes &&
    o.R5[SigmaProp].get.propBytes == owner.propBytes &&
    o.R4[Long].isDefined &&
    !(o.R6[Int].isDefined) &&
    o.tokens.size > 0 && o.tokens(0) == mine &&
    o.tokens.slice(1, o.tokens.size).forall({(t: (Coll[Byte], Long)) => listed(t._1)}) &&
    ASSET_IDS.forall({(id: Coll[Byte]) => o.tokens.filter({(t: (Coll[Byte], Long)) => t._1 == id}).size <= 1})
  }
  // the datapoint of the pool box with NFT `pool` among the data inputs; 0 when absent, stale or <= 0
  val price = {(pm: (Coll[Byte], Int)) =>
    val p = CONTEXT.dataInputs.fold(0L, {(a: Long, d: Box) =>
      if (d.tokens.size > 0 && d.tokens(0)._1 == pm._1 && d.creationInfo._1 >= HEIGHT - pm._2) d.R4[Long].get else a
    })
    if (p > 0L) p else 0L
  }
  val rate = price((ORACLE_POOL_NFT, ORACLE_MAX_AGE))
  val rateB = rate.toBigInt
  val prices = ks.map({(k: Int) => price((ASSET_POOLS(k), ASSET_MAX_AGES(k)))})
  val borrowValue = {(b: Box) =>
    ks.fold(b.value.toBigInt, {(acc: BigInt, k: Int) =>
      acc + (amt((b, ASSET_IDS(k))).toBigInt * prices(k).toBigInt * ASSET_FACTORS(k).toBigInt) /
        (ASSET_UNITS(k).toBigInt * 100.toBigInt)
    })
  }
  // every asset `o` holds more of than SELF is priced now / every asset `o` holds is priced now
  val gainsPriced = {(o: Box) =>
    ks.forall({(k: Int) => amt((o, ASSET_IDS(k))) <= amt((SELF, ASSET_IDS(k))) || prices(k) > 0L})
  }
  val heldPriced = {(o: Box) => ks.forall({(k: Int) => amt((o, ASSET_IDS(k))) == 0L || prices(k) > 0L})}
  val healthy = {(o: Box) =>
    val ob = o.R4[Long].get
    ob >= 0L || (rate > 0L &&
      borrowValue(o) * 10000000.toBigInt >= (-ob).toBigInt * GPUC_PRICE_CENTS * COLLATERAL_RATIO_PCT * rateB)
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
      (o.R4[Long].get >= 0L || (gainsPriced(o) && (d >= 0L || heldPriced(o)))) &&
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
    val a = o.R4[Long].get - bal
    sigmaProp(
      INPUTS(1).id == SELF.id && a > 0L &&
      succOk(o) && o.value >= SELF.value && o.tokens == SELF.tokens &&
      isMember(vaultIn) && OUTPUTS(0).R4[Long].get == vaultIn.R4[Long].get - a
    )
  } else if (sel == 3.toByte) {
    val i = getVar[Int](1).get
    val o = OUTPUTS(i)
    sigmaProp(
      INPUTS(i).id == SELF.id && succOk(o) &&
      o.R4[Long].get == bal && o.value >= SELF.value &&
      (bal >= 0L || gainsPriced(o)) &&
      ks.forall({(k: Int) => amt((o, ASSET_IDS(k))) >= amt((SELF, ASSET_IDS(k)))}) &&
      (o.value >= SELF.value + 10000000L ||
        ks.exists({(k: Int) => amt((o, ASSET_IDS(k))) >= amt((SELF, ASSET_IDS(k))) + ASSET_MIN_TOP_UPS(k)}))
    )
  } else if (sel == 4.toByte) {
    val o = OUTPUTS(1)
    val r = o.R4[Long].get - bal
    val ergOut = SELF.value - o.value
    val taken = ks.fold(ergOut.toBigInt, {(acc: BigInt, k: Int) =>
      val u = ASSET_UNITS(k).toBigInt
      acc + ((amt((SELF, ASSET_IDS(k))) - amt((o, ASSET_IDS(k)))).toBigInt * prices(k).toBigInt + u - 1.toBigInt) / u
    })
    sigmaProp(
      rate > 0L && heldPriced(SELF) &&
      !(healthy(SELF)) &&
      INPUTS(1).id == SELF.id && isVault &&
      r > 0L && r == vaultDelta(vaultIn) && bal + r <= 0L && ergOut >= 0L &&
      ks.forall({(k: Int) => amt((SELF, ASSET_IDS(k))) >= amt((o, ASSET_IDS(k)))}) &&
      succOk(o) &&
      taken * 10000000.toBigInt <= r.toBigInt * GPUC_PRICE_CENTS * LIQ_PAYOUT_PCT * rateB
    )
  } else if (sel == 5.toByte) {
    val o = OUTPUTS(1)
    sigmaProp(
      INPUTS(1).id == SELF.id && isVault &&
      // the vault's GPUC unchanged: only its credit path (red team R3: with its flow path, anyone
      // re-spent any account and the vault for 1 mGPUC)
      vaultDelta(vaultIn) == 0L &&
      succOk(o) && o.value >= SELF.value && o.tokens == SELF.tokens &&
      o.R4[Long].get > bal
    )
  } else sigmaProp(false)
}
