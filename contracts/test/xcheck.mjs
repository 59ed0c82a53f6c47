// Second opinion from the reference interpreter (sigmastate-js, the node's own Scala interpreter
// compiled to JS) on every transaction the Rust suite validated with ergo-lib.
//
//   DGCM_XCHECK_DIR=/tmp/xc cargo test -p dgcm-contracts    # writes one JSON file per case
//   npm run xcheck -- /tmp/xc                               # this script
//
// For each case, every input is reduced by sigmastate-js in the same context (boxes, context
// extensions, data inputs, height). The reference verdict of an input is: reduced to `true` →
// accepted; `false` or an evaluation error → rejected; a sigma proposition → its proof (from the
// transaction ergo-lib signed) is checked with sigmastate's SigmaPropVerifier against the bytes
// to sign. Agreement with ergo-lib's full validation (`TransactionContext::validate`):
//   - ergo-lib accepted  → every input accepted by the reference;
//   - ergo-lib refused input i by script → inputs 0..i−1 accepted and input i rejected;
//   - ergo-lib refused the transaction before any script ran (ERG/token preservation, dust, ...):
//     not a script verdict — the interpreter is not asked; counted and excluded.
// In addition each input's reduced proposition must be the one ergo-lib reduced it to (`false`
// and errors count as the same: "rejected"), for every input, also those validation did not reach.
// Prints a summary and the JIT cost (reference interpreter) per honest transaction kind; exits 1
// on any disagreement.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import S from "sigmastate-js/main";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: npm run xcheck -- DIR   (DIR written by DGCM_XCHECK_DIR=DIR cargo test -p dgcm-contracts)");
  process.exit(2);
}

// mainnet-like parameters; block version 3 as in the Rust suite's state context
const params = new S.BlockchainParameters(1250000, 360, 1271009, 100, 2000, 100, 100, 8001091, undefined, undefined, 3);
const prover = S.ProverBuilder$.create(params, 0).build();
const verifier = S.SigmaPropVerifier$.create();
const G = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const zero32 = "00".repeat(32);
const ctxCache = new Map();
function stateCtx(height) {
  if (ctxCache.has(height)) return ctxCache.get(height);
  const ge = S.GroupElement$.fromPointHex(G);
  const avl = S.AvlTree$.fromDigest("00".repeat(33));
  const ts = (h) => 1_700_000_000_000n + BigInt(h);
  const headers = [];
  for (let i = 0; i < 10; i++) {
    const h = height - 1 - i;
    headers.push(new S.Header(zero32, 3, zero32, zero32, avl, zero32, ts(h), 100734821n, h, zero32, ge, ge, "0000000000000000", 0n, "000000"));
  }
  const sc = new S.BlockchainStateContext(headers, "00".repeat(33), new S.PreHeader(3, zero32, ts(height), 100734821n, height, ge, "000000"));
  ctxCache.set(height, sc);
  return sc;
}

// Same notation as describe() in contracts/tests/common/xcheck.rs.
function field(o, suffix) {
  const e = Object.entries(o).find(([k]) => k.endsWith(suffix));
  return e?.[1];
}
// children of a conjecture: a Scala collection (List, ArraySeq, ...), walked with its iterator
function scalaSeq(xs) {
  const out = [];
  const it = xs.iterator__sc_Iterator();
  while (it.hasNext__Z()) out.push(it.next__O());
  return out;
}
function describe(sb) {
  const op = field(sb, "__f_opCode");
  if (op === -45) return "true";
  if (op === -46) return "false";
  if (op === -51) return "dlog:" + new S.GroupElement(field(sb, "__f_value")).toPointHex();
  if (op === -50) return "dht";
  const cls = sb.constructor?.name ?? "";
  const kids = () => scalaSeq(field(sb, "__f_children")).map(describe).join(",");
  if (cls.includes("CAND")) return `and(${kids()})`;
  if (cls.includes("COR")) return `or(${kids()})`;
  if (cls.includes("CTHRESHOLD")) return `atLeast(${field(sb, "__f_k")};${kids()})`;
  return `unknown:${cls}`;
}
const rejectedDesc = (d) => d === "false" || d.startsWith("error");
const norm = (d) => (rejectedDesc(d) ? "rejected" : d);

const toI8 = (h) => Int8Array.from(Buffer.from(h, "hex"));

function reduceCase(c) {
  const utx = c.unsignedTx;
  const boxes = c.inputs.map((b, i) => ({ ...b, extension: utx.inputs[i].extension ?? {} }));
  const tx = {
    inputs: utx.inputs.map((i) => ({ boxId: i.boxId, extension: i.extension ?? {} })),
    dataInputs: (utx.dataInputs ?? []).map((d) => ({ boxId: d.boxId })),
    outputs: utx.outputs,
  };
  // Tokens that the outputs do not carry are declared burnt (burning is legal on chain; ergo-lib
  // allows it): the interpreter's own token-balance pre-check is not a script verdict.
  const bal = new Map();
  for (const b of boxes) for (const a of b.assets) bal.set(a.tokenId, (bal.get(a.tokenId) ?? 0n) + BigInt(a.amount));
  for (const o of tx.outputs) for (const a of o.assets ?? []) bal.set(a.tokenId, (bal.get(a.tokenId) ?? 0n) - BigInt(a.amount));
  const burn = [...bal].filter(([, v]) => v > 0n).map(([tokenId, v]) => ({ tokenId, amount: String(v) }));
  const sc = stateCtx(c.height);
  return boxes.map((_, i) => {
    let r;
    try {
      r = prover.reduceTransactionInput(sc, tx, boxes, c.dataInputs, burn, i);
    } catch (e) {
      return { desc: "error: " + String(e?.message ?? e).split("\n")[0], cost: null, accepted: false };
    }
    const desc = describe(r.reductionResult.value.sigmaBoolean);
    const cost = r.reductionResult.cost;
    if (desc === "true") return { desc, cost, accepted: true };
    if (desc === "false") return { desc, cost, accepted: false };
    const proof = c.proofs[i];
    if (proof == null || c.bytesToSign == null) return { desc, cost, accepted: null };
    let ok;
    try {
      ok = verifier.verifySignature(r.reductionResult.value, toI8(c.bytesToSign), toI8(proof));
    } catch (e) {
      ok = false;
    }
    return { desc, cost, accepted: ok, signed: true };
  });
}

// ---------------------------------------------------------------- transaction kind labels
const PATHS = {
  lets_vault: ["flow", "join", "credit"],
  lets_member: ["owner", "close", "receive", "top-up", "liquidate", "credited"],
  listing: ["provider", "match"],
  order: ["cancel", "match"],
  lease: ["complete", "finalise", "accept", "dispute", "slash", "cancel"],
  arbitration: ["decide", "timeout", "settle"],
  rosen_deposit: ["owner", "convert", "credit"],
};
function selector(ext) {
  const h = ext?.["0"];
  if (!h || !h.startsWith("02")) return null; // SByte constant
  const b = parseInt(h.slice(2, 4), 16);
  return b > 127 ? b - 256 : b;
}
function gpucDelta(c) {
  // GPUC of OUTPUTS(0) minus INPUTS(0) for the vault (token 1 of both)
  const a = c.inputs[0]?.assets?.[1], b = c.unsignedTx.outputs[0]?.assets?.[1];
  return a && b ? BigInt(b.amount) - BigInt(a.amount) : 0n;
}
function label(c) {
  const parts = [];
  c.inputKinds.forEach((k, i) => {
    if (!k) return;
    const s = selector(c.unsignedTx.inputs[i].extension);
    const path = s == null ? (k === "rosen_deposit" ? "owner" : "?") : PATHS[k]?.[s] ?? `sel${s}`;
    parts.push(`${k}.${path}`);
  });
  if (parts.length) {
    const l = parts.join(" + ");
    if (l === "lets_vault.flow + lets_member.owner") return `${l} (${gpucDelta(c) < 0n ? "withdraw" : "deposit"} GPUC)`;
    return l;
  }
  const made = [...new Set(c.outputKinds.filter(Boolean))];
  return made.length ? `create ${made.join(" + ")}` : "no protocol box";
}

// ---------------------------------------------------------------- run
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
if (!files.length) {
  console.error(`no cases in ${dir}`);
  process.exit(2);
}
let agreed = { ok: 0, script: 0 };
const excluded = new Map();
const disagreements = [];
const reductionMismatches = [];
const costs = new Map(); // label -> { cases, inputs, min, max, tests:Set, sigs }
let inputsReduced = 0;
const byTest = { attack: 0, other: 0 };
for (const f of files) {
  const c = JSON.parse(readFileSync(join(dir, f), "utf8"));
  const v = c.verdict;
  if (v.result === "other") {
    const why = v.message.replace(/\(.*$/s, "").replace(/ for TokenId.*/, "").trim().slice(0, 60);
    excluded.set(why, [...(excluded.get(why) ?? []), c.name]);
    continue;
  }
  const ref = reduceCase(c);
  inputsReduced += ref.length;
  // per-input propositions: both interpreters must reduce every input to the same thing
  ref.forEach((r, i) => {
    const mine = c.ergoLibReductions[i];
    if (mine !== undefined && norm(mine) !== norm(r.desc))
      reductionMismatches.push(`${c.name} input ${i}: ergo-lib ${mine} / reference ${r.desc}`);
  });
  let agree, why = "";
  if (v.result === "ok") {
    const bad = ref.findIndex((r) => r.accepted !== true);
    agree = bad < 0;
    if (!agree) why = `ergo-lib accepted; reference ${ref[bad].accepted === null ? "could not check" : "rejects"} input ${bad} (${ref[bad].desc})`;
  } else {
    const i = v.input;
    const before = ref.slice(0, i).findIndex((r) => r.accepted !== true);
    agree = before < 0 && ref[i]?.accepted === false;
    if (!agree)
      why = before >= 0
        ? `ergo-lib refused input ${i}; reference already rejects input ${before} (${ref[before].desc})`
        : `ergo-lib refused input ${i} (${v.message}); reference ${ref[i]?.accepted === null ? "could not check" : "accepts"} it (${ref[i]?.desc})`;
  }
  if (!agree) {
    disagreements.push(`${c.name}: ${why}`);
    continue;
  }
  agreed[v.result]++;
  byTest[c.test.startsWith("attack") ? "attack" : "other"]++;
  if (v.result === "ok" && !c.test.startsWith("attack")) {
    const l = label(c);
    const total = ref.reduce((s, r) => s + (r.cost ?? 0), 0);
    const e = costs.get(l) ?? { cases: 0, inputs: ref.length, min: Infinity, max: 0, tests: new Set(), sigs: 0 };
    e.cases++;
    e.min = Math.min(e.min, total);
    e.max = Math.max(e.max, total);
    e.tests.add(`${c.crate}::${c.test}`);
    e.sigs = Math.max(e.sigs, ref.filter((r) => r.signed).length);
    costs.set(l, e);
  }
}

const nExcluded = [...excluded.values()].reduce((a, b) => a + b.length, 0);
console.log(`reference-interpreter cross-check of ${files.length} cases from ${dir}`);
console.log(`  agreed: ${agreed.ok + agreed.script} (${agreed.ok} accepted by both, ${agreed.script} refused by the same input's script in both; ${byTest.attack} recorded in attack_* tests, ${byTest.other} in honest tests and properties; ${inputsReduced} input reductions)`);
console.log(`  excluded, not a script verdict (ergo-lib refused the transaction before any script ran; the interpreter only reduces scripts): ${nExcluded}`);
for (const [why, names] of excluded) console.log(`    ${names.length} × ${why} (a transaction rule, checked before scripts): ${names.join(", ")}`);
console.log(`  verdict disagreements: ${disagreements.length}`);
for (const d of disagreements) console.log(`    DISAGREE ${d}`);
console.log(`  per-input proposition mismatches (ergo-lib vs reference reduction, false ≡ error): ${reductionMismatches.length}`);
for (const d of reductionMismatches) console.log(`    MISMATCH ${d}`);

console.log("\nJIT cost per honest transaction kind (reference interpreter, sum over the transaction's inputs of the script reduction cost; signature verification and the node's fixed per-transaction/input/output costs are not included):");
console.log("| transaction (protocol inputs, path) | inputs | signed inputs | script JIT cost | cases |");
console.log("|---|---|---|---|---|");
for (const [l, e] of [...costs].sort(([a], [b]) => a.localeCompare(b)))
  console.log(`| ${l} | ${e.inputs} | ${e.sigs} | ${e.min === e.max ? e.min : `${e.min}–${e.max}`} | ${e.cases} |`);

const fail = disagreements.length + reductionMismatches.length;
console.log(fail ? `\nFAILED: ${fail} disagreement(s)` : "\nall cases agree");
process.exit(fail ? 1 : 0);
