// DGCM protocol v2 — ORDER (a consumer's request for GPU time, paid in GPUC)
//
// Box layout:
//   tokens(0) = (GPUC, budget)              budget >= maxPricePerHour * hours
//   value     = ERG: funds the lease box, the matcher's fee (<= matcherFeeCap) and the refund box
//   R4: SigmaProp          consumer
//   R5: Coll[Long]         r = [0 maxPricePerHour (mGPUC), 1 hours, 2 minVramMiB, 3 minGpuCount,
//                               4 minBenchmarkScore, 5 expiryHeight, 6 matcherFeeCap (nanoERG),
//                               7 leaseExecFeeCap (nanoERG, copied into the lease),
//                               8 memoryMiB, 9 cpuMillis, 10 pids, 11 diskMiB (the job's requests;
//                               0 = none)]
//   R6: Coll[Coll[Byte]]   w = [0 listing NFT id (empty = any listing that meets the requirements),
//                               1 GPU model (empty = any), 2 region (empty = any), 3 job-spec hash]
// Selector: context var 0 (Byte).
//
// Paths
//   0 cancel (consumer signs): anything, at any height (also how an expired order is reclaimed).
//   1 match (anyone, the matcher): HEIGHT <= expiry; SELF is INPUTS(0) and holds only GPUC_ID (v2:
//     any other token would be the matcher's to keep); both fee caps >= 0 (v2: a negative
//     leaseExecFeeCap, copied into the lease, made every payout path demand more ERG than exists:
//     the provider's pay and collateral frozen for a ransom); INPUTS(1) is a listing
//     (blake2b256(script) == LISTING_SCRIPT_HASH) that is the named one when w(0) is not empty and
//     meets the requirements (vram, GPU count, benchmark >= minimums; model/region equal when given;
//     v2, issue 24: its limits maxMemoryMiB, maxCpuMillis, maxPids, maxDiskMiB (R5 7..10) >= the
//     order's requests (R5 8..11)) and is free (HEIGHT > its R7 busyUntil, absent = free; issue 23);
//     OUTPUTS(0) is the lease, fully constrained by the order alone (v2: the order's terms hold
//       whoever matches it, the provider included, who could spend the listing by its own path):
//       blake2b256(script) == LEASE_SCRIPT_HASH, R4 = consumer (a key),
//       R5 = the listing's provider (R4), a key (v2: a huge provider proposition makes every
//       payout box too big for its 1000000-nanoERG dust cap and freezes the lease after
//       completion), R7 = w(3) (32 bytes), R8 = the listing's NFT id, R9 = empty,
//       R6 = [price, hours, payment, collateral, start, deadline, execFeeCap, -1, -1] with
//       price = the listing's price, 0 < price <= maxPricePerHour, hours = r(1),
//       payment = price*hours, collateral = the listing's collateralPerHour * hours,
//       HEIGHT - 10 <= start <= HEIGHT, deadline = start + hours*30 + DEADLINE_GRACE, execFeeCap = r(7);
//       exactly one token (this order's GPUC id, payment + collateral);
//     OUTPUTS(2) is the refund to the consumer (propositionBytes = consumer.propBytes, R4 = SELF.id),
//       holding exactly (GPUC, budget - payment) when that is > 0;
//     OUTPUTS(0).value + OUTPUTS(2).value >= SELF.value - matcherFeeCap (the matcher's fee cap).
//
// @const LISTING_SCRIPT_HASH Coll[Byte] hash:listing
// @const LEASE_SCRIPT_HASH Coll[Byte] hash:lease
// @const DEADLINE_GRACE Long 45
// @const GPUC_ID Coll[Byte] tag
{
  val sel = getVar[Byte](0).get
  val consumer = SELF.R4[SigmaProp].get
  if (sel == 0.toByte) {
    consumer
  } else if (sel == 1.toByte) {
    val r = SELF.R5[Coll[Long]].get
    val w = SELF.R6[Coll[Coll[Byte]]].get
    val budget = SELF.tokens(0)
    val listing = INPUTS(1)
    val t = listing.R5[Coll[Long]].get
    val spec = listing.R6[Coll[Coll[Byte]]].get
    val nft = listing.tokens(0)._1
    val lease = OUTPUTS(0)
    val q = lease.R6[Coll[Long]].get
    val refund = OUTPUTS(2)
    val h = HEIGHT.toLong
    val payment = q(2)
    val rest = budget._2 - payment
    sigmaProp(
      INPUTS(0).id == SELF.id && h <= r(5) && SELF.tokens.size == 1 && budget._1 == GPUC_ID &&
      r(6) >= 0L && r(7) >= 0L &&
      // the listing is genuine and meets the requirements
      blake2b256(listing.propositionBytes) == LISTING_SCRIPT_HASH &&
      (w(0).size == 0 || nft == w(0)) &&
      (w(1).size == 0 || spec(0) == w(1)) &&
      (w(2).size == 0 || spec(1) == w(2)) &&
      t(4) >= r(2) && t(5) >= r(3) && t(6) >= r(4) &&
      // the job's requests fit the worker's published limits (issue 24), and the listing is free
      t(7) >= r(8) && t(8) >= r(9) && t(9) >= r(10) && t(10) >= r(11) &&
      h > listing.R7[Long].getOrElse(-1L) &&
      // the lease serves this consumer on this job at no more than the max price
      blake2b256(lease.propositionBytes) == LEASE_SCRIPT_HASH &&
      lease.R4[SigmaProp].get.propBytes == consumer.propBytes &&
      lease.R5[SigmaProp].get.propBytes == listing.R4[SigmaProp].get.propBytes &&
      lease.R4[SigmaProp].get.propBytes.size == 36 &&
      lease.R4[SigmaProp].get.propBytes.slice(0, 3) == fromBase16("0008cd") &&
      listing.R4[SigmaProp].get.propBytes.size == 36 &&
      listing.R4[SigmaProp].get.propBytes.slice(0, 3) == fromBase16("0008cd") &&
      lease.R7[Coll[Byte]].get == w(3) && w(3).size == 32 &&
      lease.R8[Coll[Byte]].get == nft &&
      lease.R9[Coll[Byte]].get.size == 0 &&
      q.size == 9 &&
      q(0) > 0L && q(0) <= r(0) && q(0) == t(0) &&
      q(1) == r(1) && r(1) > 0L &&
      payment == q(0) * r(1) &&
      q(3) == t(1) * r(1) && q(3) >= 0L &&
      q(4) <= h && q(4) >= h - 10L &&
      q(5) == q(4) + r(1) * 30L + DEADLINE_GRACE &&
      q(6) == r(7) && q(7) == -1L && q(8) == -1L &&
      lease.tokens.size == 1 &&
      lease.tokens(0)._1 == budget._1 &&
      lease.tokens(0)._2 == payment + q(3) &&
      // the rest comes back to the consumer; the matcher takes at most matcherFeeCap of the ERG
      rest >= 0L &&
      refund.propositionBytes == consumer.propBytes &&
      refund.R4[Coll[Byte]].get == SELF.id &&
      (rest == 0L || (refund.tokens.size == 1 && refund.tokens(0)._1 == budget._1 && refund.tokens(0)._2 == rest)) &&
      lease.value + refund.value >= SELF.value - r(6)
    )
  } else sigmaProp(false)
}
