#!/usr/bin/env node
// DGCM contract compile pipeline.
//
//   node compile.mjs            compile every *.es into compiled/<name>.json
//   node compile.mjs --check    compile into a temp dir and compare byte for byte
//                               with the committed compiled/ files (exit 1 on any difference)
//   node compile.mjs --out DIR  compile into DIR instead of compiled/
//
// Named constants are declared in each .es header, one per line:
//   // @const NAME TYPE DEFAULT
// TYPE is one of Coll[Byte] | Long | BigInt | Int | GroupElement | SigmaProp (a proveDlog) | Coll[GroupElement]
//   | Coll[Coll[Byte]] | Coll[Long] | Coll[Int].
// DEFAULT (the placeholder compiled into the committed tree) is
//   - a decimal number (Long, BigInt, Int);
//   - for Coll[Byte]: `tag` = blake2b256("dgcm/placeholder/" + NAME) (32 bytes, unique per name),
//     `hash:<contract>` = blake2b256 of the compiled tree bytes of contracts/<contract>.es
//     (so the committed trees form one consistent placeholder deployment), or `hex:<hex>`;
//   - for GroupElement and SigmaProp (proveDlog of the point): `G1`..`G7` (the secp256k1 points 1·G..7·G) or `hex:<33-byte point>`;
//   - for Coll[GroupElement]: a comma-separated list of the above;
//   - for Coll[Coll[Byte]]: `tags:N` (N tags blake2b256("dgcm/placeholder/NAME/i"));
//   - for Coll[Long] and Coll[Int]: a comma-separated list of numbers.
// Each named constant's index in the segregated-constants list is not guessed: the script is
// recompiled once per named constant with that constant perturbed, and the pipeline requires
// that exactly one constant index changes (same template, same constant count) and that the
// perturbed tree equals the placeholder tree with that one constant replaced. That index is
// what ergo-lib's `ErgoTree::with_constant(index, value)` must be given.
//
// templateHash = blake2b256(template bytes), where the template is the ErgoTree serialization
// with the header byte, the constant count and the serialized constants removed, i.e. the
// serialized root expression with ConstantPlaceholder nodes (ErgoTree.template in sigmastate,
// what the node calls ergoTreeTemplateHash). It does not change when constants are replaced.

import { readFileSync, writeFileSync, readdirSync, mkdirSync, mkdtempSync, existsSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { compile } from "@fleet-sdk/compiler";
import { blake2b256, hex } from "@fleet-sdk/crypto";
import S from "sigmastate-js/main";

const HERE = dirname(fileURLToPath(import.meta.url));
const FLEET_COMPILER_VERSION = "0.12.0";
const SIGMASTATE_JS_VERSION = "0.4.6";

// secp256k1 multiples of the generator: valid, distinct placeholder points.
const POINTS = {
  G1: "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  G2: "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",
  G3: "02f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
  G4: "02e493dbf1c10d80f3581e4904930b1404cc6c13900ee0758474fa94abe8c4cd13",
  G5: "022f8bde4d1a07209355b4a7250a5c5128e88b84bddc619ab7cba8d569b240efe4",
  G6: "03fff97bd5755eeea420453a14355235d382f6472f8568a18b2f057a1460297556",
  G7: "025cbdf0646e5db4eaa398f365f2ea7a0e3d419b7e0330e39ce92bddedcac4f9bc",
};

const sha256hex = (s) => createHash("sha256").update(s).digest("hex");
const b2hex = (bytesOrHex) => hex.encode(blake2b256(typeof bytesOrHex === "string" ? hex.decode(bytesOrHex) : bytesOrHex));
const utf8 = (s) => new TextEncoder().encode(s);

function parseConsts(source, file) {
  const consts = [];
  for (const line of source.split("\n")) {
    const m = line.match(/^\s*\/\/\s*@const\s+([A-Z][A-Z0-9_]*)\s+(\S+)\s+(\S+)\s*$/);
    if (m) consts.push({ name: m[1], type: m[2], def: m[3] });
    else if (/@const\b/.test(line)) throw new Error(`${file}: malformed @const line: ${line}`);
  }
  return consts;
}

function point(tok) {
  if (POINTS[tok]) return POINTS[tok];
  if (tok.startsWith("hex:")) return tok.slice(4);
  throw new Error(`unknown point ${tok}`);
}

// Returns the serialized constant hex for a declared default.
function placeholderHex(c, hashes) {
  switch (c.type) {
    case "Coll[Byte]": {
      let bytesHex;
      if (c.def === "tag") bytesHex = hex.encode(blake2b256(utf8(`dgcm/placeholder/${c.name}`)));
      else if (c.def.startsWith("hash:")) {
        const dep = c.def.slice(5);
        if (!hashes[dep]) throw new Error(`${c.name}: hash:${dep} needs ${dep}.es compiled first`);
        bytesHex = hashes[dep];
      } else if (c.def.startsWith("hex:")) bytesHex = c.def.slice(4);
      else throw new Error(`${c.name}: bad Coll[Byte] default ${c.def}`);
      return collBytesHex(bytesHex);
    }
    case "Long": return S.Value$.ofLong(BigInt(c.def)).toHex();
    case "BigInt": return S.Value$.ofBigInt(BigInt(c.def)).toHex();
    case "Int": return S.Value$.ofInt(Number(c.def)).toHex();
    case "GroupElement": return S.Value$.ofGroupElement(point(c.def)).toHex();
    case "SigmaProp": return S.Value$.ofSigmaProp(point(c.def)).toHex();
    case "Coll[GroupElement]": {
      const pts = c.def.split(",").map((t) => S.Value$.ofGroupElement(point(t)).data);
      return S.Value$.collOf(pts, S.Type$.GroupElement).toHex();
    }
    case "Coll[Coll[Byte]]": return collCollHex(tags(c));
    case "Coll[Long]": return collNumHex(c.def.split(",").map(BigInt), "Long");
    case "Coll[Int]": return collNumHex(c.def.split(",").map(Number), "Int");
    default: throw new Error(`${c.name}: unsupported type ${c.type}`);
  }
}

// `tags:N`: N distinct 32-byte tags blake2b256("dgcm/placeholder/NAME/i").
function tags(c) {
  const m = c.def.match(/^tags:(\d+)$/);
  if (!m) throw new Error(`${c.name}: bad Coll[Coll[Byte]] default ${c.def} (want tags:N)`);
  return Array.from({ length: Number(m[1]) }, (_, i) => hex.encode(blake2b256(utf8(`dgcm/placeholder/${c.name}/${i}`))));
}

const signedBytes = (bytesHex) => Array.from(hex.decode(bytesHex), (b) => (b > 127 ? b - 256 : b));

function collCollHex(list) {
  const inner = list.map((h) => S.Value$.collOf(signedBytes(h), S.Type$.Byte).data);
  return S.Value$.collOf(inner, S.Type$.collType(S.Type$.Byte)).toHex();
}

function collNumHex(list, t) {
  return S.Value$.collOf(list, S.Type$[t]).toHex();
}

function collBytesHex(bytesHex) {
  const bytes = Array.from(hex.decode(bytesHex), (b) => (b > 127 ? b - 256 : b));
  return S.Value$.collOf(bytes, S.Type$.Byte).toHex();
}

// A different value of the same type, used to locate the constant's index.
function perturbedHex(c, placeholder) {
  switch (c.type) {
    case "Coll[Byte]": return collBytesHex(hex.encode(blake2b256(utf8(`dgcm/perturb/${c.name}/${placeholder}`))));
    case "Long": return S.Value$.ofLong(BigInt(c.def) + 987654321987n).toHex();
    case "BigInt": return S.Value$.ofBigInt(BigInt(c.def) + 987654321987n).toHex();
    case "Int": return S.Value$.ofInt(Number(c.def) + 987654).toHex();
    case "GroupElement": return S.Value$.ofGroupElement(point(c.def) === POINTS.G7 ? POINTS.G6 : POINTS.G7).toHex();
    case "SigmaProp": return S.Value$.ofSigmaProp(point(c.def) === POINTS.G7 ? POINTS.G6 : POINTS.G7).toHex();
    case "Coll[GroupElement]": {
      const pts = [...c.def.split(","), "G7"].map((t) => S.Value$.ofGroupElement(point(t)).data);
      return S.Value$.collOf(pts, S.Type$.GroupElement).toHex();
    }
    // lists grow by one element: a compiler that folded the list's size into another constant
    // would change a second constant and fail the check below
    case "Coll[Coll[Byte]]": return collCollHex([...tags(c), hex.encode(blake2b256(utf8(`dgcm/perturb/${c.name}`)))]);
    case "Coll[Long]": return collNumHex([...c.def.split(",").map(BigInt), 987654321987n], "Long");
    case "Coll[Int]": return collNumHex([...c.def.split(",").map(Number), 987654], "Int");
    default: throw new Error(`unsupported type ${c.type}`);
  }
}

function compileTree(source, map) {
  // ErgoTree version 0, constant segregation on, no size flag: header byte 0x10.
  const t = compile(source, { map, version: 0, segregateConstants: true, network: "mainnet" });
  return S.ErgoTree$.fromHex(t.toHex());
}

function treeInfo(tree) {
  const treeHex = tree.toHex();
  const templateHex = tree.templateHex();
  if (!treeHex.endsWith(templateHex)) throw new Error("template is not a suffix of the tree bytes");
  return { treeHex, templateHex, constants: tree.constants().map((v) => v.toHex()) };
}

// Contracts whose placeholders depend on other contracts' tree hashes are compiled after them.
function order(files, sources) {
  const deps = {};
  for (const f of files) {
    const name = f.replace(/\.es$/, "");
    deps[name] = parseConsts(sources[f], f).filter((c) => c.def.startsWith("hash:")).map((c) => c.def.slice(5));
  }
  const out = [];
  const seen = new Set();
  const visit = (n, stack) => {
    if (seen.has(n)) return;
    if (stack.includes(n)) throw new Error(`hash dependency cycle: ${[...stack, n].join(" -> ")}`);
    if (!deps[n]) throw new Error(`unknown contract ${n} in hash: dependency`);
    for (const d of deps[n]) visit(d, [...stack, n]);
    seen.add(n);
    out.push(n);
  };
  for (const n of Object.keys(deps).sort()) visit(n, []);
  return out;
}

function compileAll(outDir) {
  const files = readdirSync(HERE).filter((f) => f.endsWith(".es")).sort();
  const sources = Object.fromEntries(files.map((f) => [f, readFileSync(join(HERE, f), "utf8")]));
  const hashes = {};
  const written = [];
  for (const name of order(files, sources)) {
    const file = `${name}.es`;
    const source = sources[file];
    const consts = parseConsts(source, file);
    const map = {};
    for (const c of consts) {
      c.placeholder = placeholderHex(c, hashes);
      map[c.name] = c.placeholder;
    }
    let base;
    try {
      base = treeInfo(compileTree(source, map));
    } catch (e) {
      throw new Error(`${file}: ${e.message ?? e}`);
    }
    // Locate each named constant by perturbation (never guessed).
    const used = new Set();
    for (const c of consts) {
      const pHex = perturbedHex(c, c.placeholder);
      const pert = treeInfo(compileTree(source, { ...map, [c.name]: pHex }));
      if (pert.templateHex !== base.templateHex) throw new Error(`${file}: ${c.name}: perturbing it changed the template`);
      if (pert.constants.length !== base.constants.length)
        throw new Error(`${file}: ${c.name}: perturbing it changed the constant count (placeholder merged with another constant? choose another default)`);
      const diff = base.constants.map((h, i) => (h !== pert.constants[i] ? i : -1)).filter((i) => i >= 0);
      if (diff.length < 1) throw new Error(`${file}: ${c.name}: perturbing it changed no constant (unused?)`);
      for (const idx of diff) {
        if (base.constants[idx] !== c.placeholder || pert.constants[idx] !== pHex)
          throw new Error(`${file}: ${c.name}: constant ${idx} does not hold the named value`);
        if (used.has(idx)) throw new Error(`${file}: ${c.name}: index ${idx} already taken`);
        used.add(idx);
      }
      // with_constant semantics: the perturbed tree is the base tree with exactly those constants replaced.
      const prefixLen = base.treeHex.length - base.templateHex.length - base.constants.join("").length;
      const expect = base.treeHex.slice(0, prefixLen) + base.constants.map((h, i) => (diff.includes(i) ? pHex : h)).join("") + base.templateHex;
      const prefixLenP = pert.treeHex.length - pert.templateHex.length - pert.constants.join("").length;
      if (prefixLen !== prefixLenP || expect !== pert.treeHex)
        throw new Error(`${file}: ${c.name}: perturbed tree is not the base tree with constants ${diff} replaced`);
      c.indices = diff;
    }
    const treeBytes = hex.decode(base.treeHex);
    hashes[name] = b2hex(treeBytes);
    const doc = {
      name,
      source: file,
      sourceSha256: sha256hex(source),
      compiler: { fleetSdkCompiler: FLEET_COMPILER_VERSION, sigmastateJs: SIGMASTATE_JS_VERSION },
      ergoTreeVersion: 0,
      ergoTree: base.treeHex,
      ergoTreeBytes: treeBytes.length,
      ergoTreeHash: hashes[name],
      templateHash: b2hex(base.templateHex),
      templateHashInput: "blake2b256 of the tree bytes after the header byte, the VLQ constant count and the serialized constants (the root expression with constant placeholders)",
      constantsCount: base.constants.length,
      constants: consts
        .slice()
        .sort((a, b) => a.indices[0] - b.indices[0])
        .map((c) => ({ name: c.name, indices: c.indices, type: c.type, placeholder: c.placeholder })),
      p2sAddressMainnet: S.Address$.fromErgoTree(S.ErgoTree$.fromHex(base.treeHex), 0).toString(),
    };
    const path = join(outDir, `${name}.json`);
    writeFileSync(path, JSON.stringify(doc, null, 2) + "\n");
    written.push(`${name}.json`);
  }
  return written.sort();
}

const args = process.argv.slice(2);
if (args[0] === "--check") {
  const tmp = mkdtempSync(join(tmpdir(), "dgcm-contracts-"));
  let bad = [];
  try {
    const written = compileAll(tmp);
    const committedDir = join(HERE, "compiled");
    const committed = existsSync(committedDir) ? readdirSync(committedDir).filter((f) => f.endsWith(".json")).sort() : [];
    for (const f of new Set([...written, ...committed])) {
      const a = existsSync(join(tmp, f)) ? readFileSync(join(tmp, f)) : null;
      const b = existsSync(join(committedDir, f)) ? readFileSync(join(committedDir, f)) : null;
      if (a === null) bad.push(`compiled/${f}: committed but no longer produced`);
      else if (b === null) bad.push(`compiled/${f}: produced but not committed`);
      else if (!a.equals(b)) bad.push(`compiled/${f}: differs from a fresh compile`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (bad.length) {
    for (const l of bad) console.error(l);
    console.error("run `npm run compile` and commit the result");
    process.exit(1);
  }
  console.log("compiled/ is up to date");
} else {
  const outDir = args[0] === "--out" ? args[1] : join(HERE, "compiled");
  mkdirSync(outDir, { recursive: true });
  for (const f of compileAll(outDir)) console.log(`wrote ${join(outDir, f)}`);
}
