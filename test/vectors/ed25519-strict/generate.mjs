// Regenerates edge-cases.json deterministically: `node test/vectors/ed25519-strict/generate.mjs`.
// Every case is built from the group law with @noble/ed25519 points and fixed labels, so the
// output is identical on every run. The test suite checks the file, it does not run this script.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;
const { Point } = ed;
const L = Point.CURVE().n;
const P = Point.CURVE().p;

const hex = (b) => Buffer.from(b).toString('hex');
const le = (b) => { let n = 0n; for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]); return n; };
const le32 = (n) => { const b = new Uint8Array(32); for (let i = 0; i < 32; i++) { b[i] = Number(n & 0xffn); n >>= 8n; } return b; };
const label = (s) => createHash('sha512').update(`sealed-ledger/test/ed25519-strict/${s}`).digest();
const scalar = (s) => le(label(s)) % L;
const hram = (R, A, M) => le(createHash('sha512').update(R).update(A).update(M).digest()) % L;
const cat = (...a) => Buffer.concat(a.map((x) => Buffer.from(x)));
const msg = (s) => Buffer.from(s, 'utf8');

const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
function rawNodeAccepts(pk, m, sig) {
  try {
    return verify(null, m, createPublicKey({ key: cat(SPKI, pk), format: 'der', type: 'spki' }), sig);
  } catch {
    return false;
  }
}
function nobleAccepts(pk, m, sig, zip215) {
  try {
    return ed.verify(sig, m, pk, { zip215 });
  } catch {
    return false;
  }
}

// The torsion subgroup, from a point of order 8 found by clearing the prime-order part.
let T8;
for (let i = 0; T8 === undefined; i++) {
  let Q;
  try { Q = Point.fromBytes(label(`torsion-${i}`).subarray(0, 32)); } catch { continue; }
  const t = Q.multiply(L - 1n, false).add(Q); // [L]Q: only the torsion component survives
  if (!t.multiply(4n, false).is0()) T8 = t;
}
const torsion = [Point.ZERO];
for (let i = 1; i < 8; i++) torsion.push(torsion[i - 1].add(T8));
const orderOf = (T) => [1n, 2n, 4n, 8n].find((n) => T.multiply(n, false).is0());

// An honest key from a fixed seed.
const seed = label('honest-seed').subarray(0, 32);
const priv = createPrivateKey({ key: cat(PKCS8, seed), format: 'der', type: 'pkcs8' });
const pk = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12);
const a = ed.utils.getExtendedPublicKey(seed).scalar;
const A = Point.fromBytes(pk);

const cases = [];
function add(id, spec, description, publicKey, message, signature, expected) {
  cases.push({
    id, spec, description, expected,
    rawNodeCryptoAccepts: rawNodeAccepts(publicKey, message, signature),
    nobleZip215Accepts: nobleAccepts(publicKey, message, signature, true),
    nobleStrictAccepts: nobleAccepts(publicKey, message, signature, false),
    publicKey: hex(publicKey), message: hex(message), signature: hex(signature),
  });
}

const m0 = msg('sealed-ledger strict Ed25519 edge case');
const honest = sign(null, m0, priv);
add('honest', '§6.7', 'A signature made by node:crypto with a fixed seed.', pk, m0, honest, true);

// Forgeries under small-order keys: R = identity, S = 0 verifies whenever [k]A is the identity,
// which happens for 1 message in ord(A); search the message counter until it does.
const identityBytes = Point.ZERO.toBytes();
function smallOrderForgery(encoding, T, name, spec, why) {
  for (let c = 0; ; c++) {
    const m = msg(`forgery under ${name}, attempt ${c}`);
    const k = hram(identityBytes, encoding, m);
    if (T.multiply(k, false).is0() || k === 0n) {
      add(name, spec, why, encoding, m, cat(identityBytes, new Uint8Array(32)), false);
      return;
    }
  }
}
add('identity-key-forgery', '§6.3', 'pk = 0x01||0^31 (the identity), sig = identity R || S = 0: verifies for ANY message under the bare equation.',
  identityBytes, msg('any message at all'), cat(identityBytes, new Uint8Array(32)), false);
torsion.forEach((T, i) => {
  smallOrderForgery(T.toBytes(), T, `small-order-key-${i}`, '§6.3', `A = canonical encoding of a point of order ${orderOf(T)}; R = identity, S = 0, message chosen so that [k]A = identity.`);
});

// Non-canonical encodings of small-order points: y + p where that fits in 255 bits, and x = 0
// with the sign bit set ("negative zero").
const nonCanonical = [
  ['y-eq-p', le32(P), torsion.find((T) => T.y === 0n && (T.x & 1n) === 0n)],
  ['y-eq-p-sign', (() => { const b = le32(P); b[31] |= 0x80; return b; })(), torsion.find((T) => T.y === 0n && (T.x & 1n) === 1n)],
  ['y-eq-p-plus-1', le32(P + 1n), Point.ZERO],
  ['y-eq-p-plus-1-sign', (() => { const b = le32(P + 1n); b[31] |= 0x80; return b; })(), Point.ZERO],
  ['identity-negative-zero', (() => { const b = le32(1n); b[31] |= 0x80; return b; })(), Point.ZERO],
  ['order-2-negative-zero', (() => { const b = le32(P - 1n); b[31] |= 0x80; return b; })(), torsion.find((T) => orderOf(T) === 2n)],
];
for (const [name, bytes, T] of nonCanonical) {
  smallOrderForgery(bytes, T, `noncanonical-key-${name}`, '§6.2', `A = a non-canonical encoding (${name}) of a point of order ${orderOf(T)}; R = identity, S = 0.`);
}

// Non-canonical y for a non-small-order point: y = p + d for the smallest d whose y decodes.
for (let d = 2n; d < 19n; d++) {
  let Q;
  try { Q = Point.fromBytes(le32(d)); } catch { continue; }
  if (Q.isSmallOrder()) continue;
  const enc = le32(P + d);
  add('noncanonical-key-y-ge-p', '§6.2', `A = encoding of y = p + ${d} (a curve point of large order, non-canonical); signature by the honest key.`, enc, m0, honest, false);
  const sigR = cat(enc, honest.subarray(32));
  add('noncanonical-r-y-ge-p', '§6.4', `R = encoding of y = p + ${d}, with the honest key and S.`, pk, m0, sigR, false);
  break;
}

// R as every small-order point, honest key. S = k·a makes [S]B - [k]A the identity.
torsion.forEach((T, i) => {
  const R = T.toBytes();
  const m = msg(`small-order R ${i}`);
  const S = (hram(R, pk, m) * a) % L;
  add(`small-order-r-${i}`, '§6.7',
    i === 0
      ? 'R = identity, S = k·a: a nonce-0 signature only the key holder can make. The equation holds, so it is accepted (see §6.8).'
      : `R = a point of order ${orderOf(T)}, S = k·a: [S]B - [k]A is the identity, which does not encode to R.`,
    pk, m, cat(R, le32(S)), i === 0);
});
for (const [name, bytes] of nonCanonical.slice(2, 5)) {
  const m = msg(`noncanonical R ${name}`);
  const S = (hram(bytes, pk, m) * a) % L;
  add(`noncanonical-r-${name}`, '§6.4', `R = ${name} (a non-canonical encoding of the identity), S = k·a: the points match, the bytes do not.`, pk, m, cat(bytes, le32(S)), false);
}

// S out of range.
const honestS = le(honest.subarray(32));
for (const [name, S] of [['s-eq-l', L], ['s-eq-l-plus-1', L + 1n], ['s-eq-2-253', 2n ** 253n], ['s-plus-l-malleated', honestS + L]]) {
  add(name, '§6.5', `S = ${name}; R and key from the honest signature.`, pk, m0, cat(honest.subarray(0, 32), le32(S)), false);
}

// Cofactored-only: R' = R + T with S recomputed for R'. [8](S B - k A - R') = -[8]T = 0.
{
  const r = scalar('cofactored-nonce');
  const m = msg('valid only under the cofactored equation');
  const R2 = Point.BASE.multiply(r).add(T8).toBytes();
  const S = (r + hram(R2, pk, m) * a) % L;
  add('cofactored-only-r-plus-torsion', '§6.7', "R' = rB + T (T of order 8), S = r + k'·a: cofactored verifiers accept, cofactorless (ours, OpenSSL) reject.", pk, m, cat(R2, le32(S)), false);
}

// Mixed-order public key A' = a'B + T8 ("Taming the many EdDSAs"): S B - k A' = R - [k]T8,
// so the cofactorless equation holds exactly when 8 divides k.
{
  const a2 = scalar('mixed-order-key');
  const A2 = Point.BASE.multiply(a2).add(T8).toBytes();
  const found = { holds: false, fails: false };
  for (let c = 0; !(found.holds && found.fails); c++) {
    const r = scalar(`mixed-order-nonce-${c}`);
    const R = Point.BASE.multiply(r).toBytes();
    const m = msg(`mixed-order key, attempt ${c}`);
    const k = hram(R, A2, m);
    const S = (r + k * a2) % L;
    const holds = k % 8n === 0n;
    if (holds && !found.holds) {
      found.holds = true;
      add('mixed-order-key-k-multiple-of-8', '§6.3, §6.7', "A = a'B + T (T of order 8), honest-style signature whose k is a multiple of 8: the cofactorless equation holds, accepted.", A2, m, cat(R, le32(S)), true);
    } else if (!holds && !found.fails) {
      found.fails = true;
      add('mixed-order-key-k-not-multiple-of-8', '§6.3, §6.7', "A = a'B + T (T of order 8), k not a multiple of 8: cofactored verifiers accept, cofactorless reject.", A2, m, cat(R, le32(S)), false);
    }
  }
}

const out = {
  description: 'Strict Ed25519 (spec §6) edge cases. expected = what verifyEd25519 and verifyEd25519Portable must return. The *Accepts fields record what raw node:crypto and @noble/ed25519 3.x verify() return, to show why the pre-checks exist.',
  generator: 'test/vectors/ed25519-strict/generate.mjs',
  cases,
};
writeFileSync(new URL('./edge-cases.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
for (const c of cases) console.log(c.id.padEnd(40), 'expected', String(c.expected).padEnd(5), 'node', String(c.rawNodeCryptoAccepts).padEnd(5), 'zip215', String(c.nobleZip215Accepts).padEnd(5), 'strict', c.nobleStrictAccepts);
