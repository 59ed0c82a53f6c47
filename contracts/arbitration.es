// DGCM protocol v2 — ARBITRATION (a disputed lease's funds, decided by a k-of-n committee)
//
// Created only by the lease's dispute path (lease.es path 3). Box layout:
//   tokens(0) = (GPUC, payment + collateral)  the disputed lease's tokens
//   R4: SigmaProp   consumer
//   R5: SigmaProp   provider
//   R6: Coll[Long]  a = [0 payment, 1 collateral, 2 provider's claimed pay, 3 execFeeCap (nanoERG),
//                        4 timeout height]
//   R7: Coll[Byte]  id of the disputed lease box
// A "payout to X of n" is a box whose propositionBytes equal X.propBytes, whose R4 is
// Coll[Byte] == SELF.id, and, when n > 0, whose only token is (GPUC, n).
// Selector: context var 0 (Byte).
//
// Paths
//   0 decide (at least ARB_K of the ARB_COMMITTEE keys sign): the provider's share x is the GPUC in
//     OUTPUTS(0) (0 if none); 0 <= x <= total; OUTPUTS(0) = payout to provider of x,
//     OUTPUTS(1) = payout to consumer of total - x; OUTPUTS(0).value <= PAYOUT_DUST (1000000) and
//     OUTPUTS(1).value >= SELF.value - execFeeCap - OUTPUTS(0).value (v2: the ERG is the consumer's). The committee decides the split of payment and collateral; it can
//     never take tokens, and at most execFeeCap of the ERG.
//   1 timeout (anyone): HEIGHT > timeout; neutral outcome: provider gets the collateral back,
//     consumer the payment (x = collateral), outputs as in path 0.
//   2 settle (consumer and provider both sign): anything.
//
// @const ARB_COMMITTEE Coll[GroupElement] G1,G2,G3
// @const ARB_K Int 2
{
  val sel = getVar[Byte](0).get
  val consumer = SELF.R4[SigmaProp].get
  val provider = SELF.R5[SigmaProp].get
  val a = SELF.R6[Coll[Long]].get
  val tok = SELF.tokens(0)
  val out0 = OUTPUTS(0)
  val out1 = OUTPUTS.getOrElse(1, SELF)   // total: SELF never passes as a payout

  def payout(v: (Box, (Coll[Byte], Long))): Boolean = {
    val o = v._1
    val amt = v._2._2
    o.propositionBytes == v._2._1 &&
    o.R4[Coll[Byte]].getOrElse(SELF.propositionBytes) == SELF.id &&
    (amt == 0L || (o.tokens.size == 1 && o.tokens(0)._1 == tok._1 && o.tokens(0)._2 == amt))
  }
  // provider gets x, consumer the rest; executor fee capped
  def split(x: Long): Boolean = {
    x >= 0L && x <= tok._2 &&
    payout((out0, (provider.propBytes, x))) &&
    payout((out1, (consumer.propBytes, tok._2 - x))) &&
    out0.value <= 1000000L &&
    out1.value >= SELF.value - a(3) - out0.value
  }

  if (sel == 0.toByte) {
    val x = if (out0.tokens.size > 0 && out0.tokens(0)._1 == tok._1) out0.tokens(0)._2 else 0L
    atLeast(ARB_K, ARB_COMMITTEE.map({(g: GroupElement) => proveDlog(g)})) && sigmaProp(split(x))
  } else if (sel == 1.toByte) {
    sigmaProp(HEIGHT.toLong > a(4) && split(a(1)))
  } else if (sel == 2.toByte) {
    consumer && provider
  } else sigmaProp(false)
}
