// Minimal driver of the reference (Scala.js) interpreter in sigmastate-js: builds boxes in Fleet's
// JSON shape with real box ids, reduces one input of an unsigned transaction, and classifies the
// result as "true", "false", a remaining sigma proposition ("dlog:<point>", "and(...)", ...) or an error.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import S from "sigmastate-js/main";
import { serializeBox, SLong, SInt, SByte, SColl, SSigmaProp, SGroupElement, SBool } from "@fleet-sdk/serializer";
import { blake2b256, hex } from "@fleet-sdk/crypto";

const HERE = dirname(fileURLToPath(import.meta.url));
export const HEIGHT = 1_000_000;

export function loadContract(name) {
  const j = JSON.parse(readFileSync(join(HERE, "..", "compiled", `${name}.json`), "utf8"));
  const c = {};
  for (const k of j.constants) c[k.name] = k.placeholder;
  return { tree: j.ergoTree, hash: j.ergoTreeHash, consts: c, json: j };
}
// Coll[Byte] placeholder "0e20<32 bytes>" -> bytes hex
export const collBytes = (constHex) => constHex.slice(4);
// Coll[Coll[Byte]] placeholder "1a<n><len><bytes>..." of 32-byte items -> [bytes hex]
export const collColl = (constHex) => {
  const n = parseInt(constHex.slice(2, 4), 16);
  return Array.from({ length: n }, (_, i) => constHex.slice(4 + i * 66 + 2, 4 + (i + 1) * 66));
};

export const PK = {
  G1: "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  G2: "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
  G3: "02f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
  G4: "02e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13",
  G5: "022f8bde4d1a07209355b4a7250a5c5128e88b84bddc619ab7cba8d569b240efe4",
};
export const p2pk = (pk) => "0008cd" + pk;            // ErgoTree of proveDlog(pk) == SigmaProp.propBytes
export const R = {
  long: (n) => SLong(BigInt(n)).toHex(),
  int: (n) => SInt(n).toHex(),
  longs: (xs) => SColl(SLong, xs.map(BigInt)).toHex(),
  bytes: (h) => SColl(SByte, hex.decode(h)).toHex(),
  bytess: (hs) => SColl(SColl(SByte), hs.map((h) => hex.decode(h))).toHex(),
  sigma: (pk) => SSigmaProp(SGroupElement(hex.decode(pk))).toHex(),
  byte: (b) => SByte(b).toHex(),
  bool: (b) => SBool(b).toHex(),
};
export const utf8hex = (s) => hex.encode(new TextEncoder().encode(s));

let seq = 0;
export function box({ tree, value = 10_000_000n, assets = [], regs = {}, height = HEIGHT - 100 }) {
  seq += 1;
  const b = {
    transactionId: hex.encode(blake2b256(new TextEncoder().encode(`tx${seq}`))),
    index: 0,
    value: String(value),
    ergoTree: tree,
    creationHeight: height,
    assets: assets.map(([tokenId, amount]) => ({ tokenId, amount: String(amount) })),
    additionalRegisters: regs,
  };
  b.boxId = hex.encode(blake2b256(serializeBox(b).toBytes()));
  return b;
}
export function out({ tree, value = 10_000_000n, assets = [], regs = {} }) {
  return {
    value: String(value), ergoTree: tree, creationHeight: HEIGHT,
    assets: assets.map(([tokenId, amount]) => ({ tokenId, amount: String(amount) })),
    additionalRegisters: regs,
  };
}

const params = new S.BlockchainParameters(1250000, 360, 1271009, 100, 2000, 100, 100, 8001091, undefined, undefined, 3);
const prover = S.ProverBuilder$.create(params, 0).build();
const zero32 = "00".repeat(32);
function stateCtx(height) {
  const ge = S.GroupElement$.fromPointHex(PK.G1);
  const avl = S.AvlTree$.fromDigest("00".repeat(33));
  const headers = [];
  for (let i = 0; i < 10; i++)
    headers.push(new S.Header(zero32, 3, zero32, zero32, avl, zero32, 1700000000000n, 100734821n, height - 1 - i, zero32, ge, ge, "0000000000000000", 0n, "000000"));
  return new S.BlockchainStateContext(headers, "00".repeat(33), new S.PreHeader(3, zero32, 1700000000000n, 100734821n, height, ge, "000000"));
}

function describe(sb) {
  const op = Object.entries(sb).find(([k]) => k.endsWith("__f_opCode"))?.[1];
  if (op === -45) return "true";
  if (op === -46) return "false";
  if (op === -51) {
    const ecp = Object.entries(sb).find(([k]) => k.endsWith("__f_value"))[1];
    return "dlog:" + ecpHex(ecp);
  }
  const cls = sb.constructor?.name ?? "";
  const kind = cls.includes("CAND") ? "and" : cls.includes("COR") ? "or" : cls.includes("CTHRESHOLD") ? "threshold" : cls;
  return kind;
}
function ecpHex(ecp) {
  // sigma.crypto.Platform$Ecp: use the JS GroupElement wrapper to print it
  try {
    const ge = new S.GroupElement(ecp);
    return ge.toPointHex();
  } catch {
    return "?";
  }
}

// inputs: [{ box, ext: { "0": hex, ... } }]; returns "true" | "false" | "dlog:.." | "and" | "error: ..."
export function reduce({ inputs, outputs, dataInputs = [], index, height = HEIGHT }) {
  const boxes = inputs.map(({ box, ext = {} }) => ({ ...box, extension: ext }));
  const tx = {
    inputs: inputs.map(({ box, ext = {} }) => ({ boxId: box.boxId, extension: ext })),
    dataInputs: dataInputs.map((b) => ({ boxId: b.boxId })),
    outputs,
  };
  // Tokens that the outputs do not carry are declared as burnt, so that a case is decided by the
  // scripts and not by the interpreter's token-balance pre-check (burning is legal on chain).
  const bal = new Map();
  for (const b of boxes) for (const a of b.assets) bal.set(a.tokenId, (bal.get(a.tokenId) ?? 0n) + BigInt(a.amount));
  for (const o of outputs) for (const a of o.assets) bal.set(a.tokenId, (bal.get(a.tokenId) ?? 0n) - BigInt(a.amount));
  const burn = [...bal].filter(([, v]) => v > 0n).map(([tokenId, v]) => ({ tokenId, amount: String(v) }));
  try {
    const r = prover.reduceTransactionInput(stateCtx(height), tx, boxes, dataInputs, burn, index);
    return { result: describe(r.reductionResult.value.sigmaBoolean), cost: r.reductionResult.cost };
  } catch (e) {
    return { result: "error: " + String(e?.message ?? e).split("\n")[0], cost: null };
  }
}
