// DGCM protocol v2 — LEASE (escrow of one job: consumer payment + provider collateral slice)
//
// Created by a match (see order.es / listing.es). Box layout:
//   tokens(0) = (GPUC, payment + collateral)      the only token
//   R4: SigmaProp   consumer
//   R5: SigmaProp   provider
//   R6: Coll[Long]  p = [0 pricePerHour (mGPUC), 1 hours, 2 payment (= price*hours), 3 collateral,
//                        4 startHeight, 5 deadline (= start + hours*30 + DEADLINE_GRACE),
//                        6 execFeeCap (nanoERG an executor may take from this box's ERG),
//                        7 usedBlocks (-1 until completed), 8 completedAt (-1 until completed)]
//   R7: Coll[Byte]  job-spec hash
//   R8: Coll[Byte]  listing NFT id (provenance)
//   R9: Coll[Byte]  usage commitment (empty until completed; 32 bytes after)
// Selector: context var 0 (Byte). A "payout to X of n" below is a box whose propositionBytes
// equal X.propBytes, whose R4 is Coll[Byte] == SELF.id (double-satisfaction guard), and, when
// n > 0, whose only token is (GPUC, n).
//
// Paths
//   0 complete (provider signs): not completed, HEIGHT <= deadline, SELF is INPUTS(0);
//     OUTPUTS(0) is the successor: same script, value >= SELF.value, same tokens, same R4 R5 R7 R8,
//     R6 equal on 0..6, used in [0, min(hours*30, HEIGHT - start)] (v2: no more blocks than have
//     passed since the start), completedAt in [HEIGHT, HEIGHT+30], R9 32 bytes.
//   1 finalise (anyone): completed and HEIGHT > completedAt + CHALLENGE_WINDOW;
//     pay = min(payment, price*used/30)   (v2: pro rata by the blocks the provider claims, no
//     minimum in the contract: a job that never ran is completed with used = 0 and costs nothing;
//     the worker's no-show claim for an idle lease is its own, bounded by the blocks that passed);
//     OUTPUTS(0) = payout to provider of pay + collateral, OUTPUTS(1) = payout to consumer of
//     total - pay - collateral; OUTPUTS(0).value <= 1000000 (dust) and OUTPUTS(1).value >=
//     SELF.value - execFeeCap - OUTPUTS(0).value (v2: the lease's ERG came from the consumer's
//     order, so it goes back to the consumer; the provider's box carries at most the dust it needs).
//   2 accept (consumer signs): completed; same outputs as finalise, at any height.
//   3 dispute (consumer signs): completed, HEIGHT <= completedAt + CHALLENGE_WINDOW, SELF is
//     INPUTS(0); OUTPUTS(0) is an arbitration box: blake2b256(script) == ARBITRATION_SCRIPT_HASH,
//     same tokens, value >= SELF.value, R4 = consumer, R5 = provider,
//     R6 = [payment, collateral, pay (the provider's claim), execFeeCap, timeout] with timeout in
//     [HEIGHT + ARB_TIMEOUT, HEIGHT + ARB_TIMEOUT + 30], R7 = SELF.id.
//   4 slash (anyone): not completed and HEIGHT > deadline; OUTPUTS(0) = payout to consumer of all
//     of SELF's GPUC; OUTPUTS(0).value >= SELF.value - execFeeCap.
//   5 cancel (consumer and provider both sign): anything.
// Every lease is resolvable: before completion by 0/4/5, after completion by 1/2/3/5.
//
// @const ARBITRATION_SCRIPT_HASH Coll[Byte] hash:arbitration
// @const CHALLENGE_WINDOW Long 60
// @const ARB_TIMEOUT Long 2160
{
  val sel = getVar[Byte](0).get
  val consumer = SELF.R4[SigmaProp].get
  val provider = SELF.R5[SigmaProp].get
  val p = SELF.R6[Coll[Long]].get
  val gpuc = SELF.tokens(0)
  val h = HEIGHT.toLong
  val completed = p(8) >= 0L
  val challengeEnd = p(8) + CHALLENGE_WINDOW   // one use site => one constant index
  val out0 = OUTPUTS(0)
  val out1 = OUTPUTS.getOrElse(1, SELF)   // total: SELF never passes as a payout

  // (box, (recipient script, amount)): payout tagged with SELF.id
  def payout(a: (Box, (Coll[Byte], Long))): Boolean = {
    val o = a._1
    val amt = a._2._2
    o.propositionBytes == a._2._1 &&
    o.R4[Coll[Byte]].getOrElse(SELF.propositionBytes) == SELF.id &&
    (amt == 0L || (o.tokens.size == 1 && o.tokens(0)._1 == gpuc._1 && o.tokens(0)._2 == amt))
  }

  // provider's pay after completion: pro rata by the used blocks, at most the payment
  val proRata = p(0) * p(7) / 30L
  val pay = if (proRata < p(2)) proRata else p(2)
  // settlement outputs (finalise / accept); a function so that it is evaluated only on those paths
  def settled(feeCap: Long): Boolean = {
    completed &&
    payout((out0, (provider.propBytes, pay + p(3)))) &&
    payout((out1, (consumer.propBytes, gpuc._2 - pay - p(3)))) &&
    out0.value <= 1000000L &&
    out1.value >= SELF.value - feeCap - out0.value
  }

  if (sel == 0.toByte) {
    val q = out0.R6[Coll[Long]].get
    provider && sigmaProp(
      !completed && h <= p(5) &&
      INPUTS(0).id == SELF.id &&
      out0.propositionBytes == SELF.propositionBytes &&
      out0.value >= SELF.value &&
      out0.tokens == SELF.tokens &&
      out0.R4[SigmaProp].get.propBytes == consumer.propBytes &&
      out0.R5[SigmaProp].get.propBytes == provider.propBytes &&
      out0.R7[Coll[Byte]].get == SELF.R7[Coll[Byte]].get &&
      out0.R8[Coll[Byte]].get == SELF.R8[Coll[Byte]].get &&
      out0.R9[Coll[Byte]].get.size == 32 &&
      q.size == 9 &&
      q.slice(0, 7) == p.slice(0, 7) &&
      q(7) >= 0L && q(7) <= p(1) * 30L && q(7) <= h - p(4) &&
      q(8) >= h && q(8) <= h + 30L
    )
  } else if (sel == 1.toByte) {
    sigmaProp(completed && h > challengeEnd && settled(p(6)))
  } else if (sel == 2.toByte) {
    consumer && sigmaProp(settled(p(6)))
  } else if (sel == 3.toByte) {
    val a = out0.R6[Coll[Long]].get
    val timeoutMin = h + ARB_TIMEOUT
    consumer && sigmaProp(
      completed && h <= challengeEnd &&
      INPUTS(0).id == SELF.id &&
      blake2b256(out0.propositionBytes) == ARBITRATION_SCRIPT_HASH &&
      out0.tokens == SELF.tokens &&
      out0.value >= SELF.value &&
      out0.R4[SigmaProp].get.propBytes == consumer.propBytes &&
      out0.R5[SigmaProp].get.propBytes == provider.propBytes &&
      out0.R7[Coll[Byte]].get == SELF.id &&
      !(out0.R8[Int].isDefined) &&
      a.size == 5 && a(0) == p(2) && a(1) == p(3) && a(2) == pay && a(3) == p(6) &&
      a(4) >= timeoutMin && a(4) <= timeoutMin + 30L
    )
  } else if (sel == 4.toByte) {
    sigmaProp(
      !completed && h > p(5) &&
      payout((out0, (consumer.propBytes, gpuc._2))) &&
      out0.value >= SELF.value - p(6)
    )
  } else if (sel == 5.toByte) {
    consumer && provider
  } else sigmaProp(false)
}
