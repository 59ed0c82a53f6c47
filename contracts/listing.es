// DGCM protocol v2 — LISTING (a provider's GPU offer and collateral stake)
//
// Box layout:
//   tokens(0) = (listing NFT, 1)            minted when the listing is created; follows it across updates
//   tokens(1) = (GPUC, stake)               optional: collateral stake the matches draw from
//   R4: SigmaProp          provider
//   R5: Coll[Long]         t = [0 pricePerHour (mGPUC), 1 collateralPerHour (mGPUC), 2 minHours, 3 maxHours,
//                               4 vramMiB, 5 gpuCount, 6 benchmarkScore,
//                               7 maxMemoryMiB, 8 maxCpuMillis, 9 maxPids, 10 maxDiskMiB]
//                          (7..10: the limits the provider's worker enforces on a job; a job spec
//                          within them must be run, one beyond them is refused as a no-show)
//   R6: Coll[Coll[Byte]]   [0 GPU model (UTF-8), 1 region (UTF-8), 2 worker endpoint (UTF-8)]
//   R7: Long (optional)    busyUntil: the deadline of the lease the last match created; absent = free
// Selector: context var 0 (Byte).
//
// Paths
//   0 provider (provider signs): anything (update terms, add or withdraw stake, close and burn the NFT).
//   1 match (anyone, together with an order; the order script guards the consumer's side):
//     SELF is INPUTS(1) (so one listing per match transaction); hours = OUTPUTS(0).R6(1);
//     HEIGHT > busyUntil (SELF.R7, absent = free: v2, issue 23: a listing matched again while its
//       lease ran put two paying renters on one GPU); R5 has the 11 terms above;
//     OUTPUTS(1) is the listing successor: same script, value >= SELF.value, tokens(0) = SELF.tokens(0),
//       the same tokens (but a GPUC stake used up by this match goes), GPUC stake = SELF stake -
//       collateralPerHour*hours, R4 R5 R6 unchanged, R7 = busyUntil = the new lease's deadline,
//       no R8 (the provider's path may clear R7 early: its worker does when the lease completes);
//     OUTPUTS(0) is the lease, fully constrained (v2: every register present with its type, so that
//       no later lease path can fail on it): blake2b256(script) == LEASE_SCRIPT_HASH,
//       R4 = a key (P2PK proposition, the consumer), R5 = provider (also a key),
//       R6 = [price, hours, price*hours, collateralPerHour*hours, start, deadline, execFeeCap >= 0, -1, -1]
//       with price = t(0) > 0, minHours <= hours <= maxHours, hours > 0,
//       HEIGHT - 10 <= start <= HEIGHT (v2: a backdated start would let a completion one block
//       later claim blocks that never passed), deadline = start + hours*30 + DEADLINE_GRACE,
//       collateralPerHour >= 0 (v2: a negative one took the renter's payment into the stake),
//       R7 = a 32-byte job-spec hash, R8 = this listing's NFT id, R9 = empty (no usage commitment yet),
//       exactly one token (GPUC_ID, price*hours + collateral).
//     Why the lease's consumer and job hash are checked here too: a lease may be matched directly,
//     without an order (a renter's own match); in v1 such a lease with a wrong-typed R7 could never be
//     completed and the slash handed the provider's collateral to the matcher.
//
// @const GPUC_ID Coll[Byte] tag
// @const LEASE_SCRIPT_HASH Coll[Byte] hash:lease
// @const DEADLINE_GRACE Long 45
{
  val sel = getVar[Byte](0).get
  val provider = SELF.R4[SigmaProp].get
  if (sel == 0.toByte) {
    provider
  } else if (sel == 1.toByte) {
    val t = SELF.R5[Coll[Long]].get
    val lease = OUTPUTS(0)
    val succ = OUTPUTS(1)
    val q = lease.R6[Coll[Long]].get
    val hours = q(1)
    val coll = t(1) * hours
    val h = HEIGHT.toLong
    val stakeOf = {(b: Box) => if (b.tokens.size > 1 && b.tokens(1)._1 == GPUC_ID) b.tokens(1)._2 else 0L}
    // a P2PK proposition: ErgoTree header 00, 08 cd (proveDlog of a constant point), 33 bytes
    val isKey = {(p: SigmaProp) => p.propBytes.size == 36 && p.propBytes.slice(0, 3) == fromBase16("0008cd")}
    sigmaProp(
      INPUTS(1).id == SELF.id &&
      // the listing continues with the same script, registers and NFT, minus the collateral slice
      succ.propositionBytes == SELF.propositionBytes &&
      succ.value >= SELF.value &&
      // one lease at a time (issue 23): free now, busy until the new lease's deadline
      h > SELF.R7[Long].getOrElse(-1L) &&
      succ.R7[Long].get == q(5) &&
      !(succ.R8[Int].isDefined) &&
      t.size == 11 &&
      // the same tokens (v2: a third token, or a non-GPUC one, was the matcher's to strip), but
      // for a GPUC stake used up by this match
      succ.tokens.slice(2, succ.tokens.size) == SELF.tokens.slice(2, SELF.tokens.size) &&
      (SELF.tokens.size == 1 ||
       // a GPUC stake moves by the collateral (checked below) or is used up; any other token
       // at index 1 stays exactly (third red team: it went to the matcher)
       (SELF.tokens(1)._1 == GPUC_ID &&
         ((succ.tokens.size == SELF.tokens.size && succ.tokens(1)._1 == GPUC_ID) ||
          (SELF.tokens.size == 2 && succ.tokens.size == 1 && stakeOf(SELF) == coll))) ||
       (succ.tokens.size == SELF.tokens.size && succ.tokens(1) == SELF.tokens(1))) &&
      succ.tokens(0) == SELF.tokens(0) &&
      stakeOf(succ) == stakeOf(SELF) - coll &&
      succ.R4[SigmaProp].get.propBytes == provider.propBytes &&
      succ.R5[Coll[Long]].get == t &&
      succ.R6[Coll[Coll[Byte]]].get == SELF.R6[Coll[Coll[Byte]]].get &&
      // the lease honours the listing's terms
      blake2b256(lease.propositionBytes) == LEASE_SCRIPT_HASH &&
      isKey(lease.R4[SigmaProp].get) &&
      lease.R5[SigmaProp].get.propBytes == provider.propBytes && isKey(provider) &&
      lease.R7[Coll[Byte]].get.size == 32 &&
      lease.R9[Coll[Byte]].get.size == 0 &&
      q.size == 9 &&
      t(0) > 0L && q(0) == t(0) && t(1) >= 0L &&
      hours > 0L && hours >= t(2) && hours <= t(3) &&
      q(2) == t(0) * hours &&
      q(3) == coll &&
      q(4) <= h && q(4) >= h - 10L &&
      q(5) == q(4) + hours * 30L + DEADLINE_GRACE &&
      q(6) >= 0L && q(7) == -1L && q(8) == -1L &&
      lease.R8[Coll[Byte]].get == SELF.tokens(0)._1 &&
      lease.tokens.size == 1 &&
      lease.tokens(0)._1 == GPUC_ID &&
      lease.tokens(0)._2 == q(2) + coll
    )
  } else sigmaProp(false)
}
