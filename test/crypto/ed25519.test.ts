import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { decodePointStrict } from '../../src/crypto/ed25519-portable.js';
import {
  assertValidPublicKey,
  isReducedScalar,
  pointEncodingProblem,
  publicKeyFromSeed,
  signEd25519,
  signEd25519Portable,
  verifyEd25519,
  verifyEd25519Portable,
} from '../../src/crypto/ed25519.js';
import { InvalidInputError, KeyError, SealedLedgerError } from '../../src/errors.js';

interface Rfc8032Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface EdgeCase {
  id: string;
  spec: string;
  description: string;
  expected: boolean;
  rawNodeCryptoAccepts: boolean;
  nobleZip215Accepts: boolean;
  nobleStrictAccepts: boolean;
  publicKey: string;
  message: string;
  signature: string;
}

const fixture = (path: string): unknown => JSON.parse(readFileSync(new URL(`../vectors/${path}`, import.meta.url), 'utf8'));
const rfc = (fixture('rfc8032/ed25519.json') as { vectors: Rfc8032Vector[] }).vectors;
const edge = (fixture('ed25519-strict/edge-cases.json') as { cases: EdgeCase[] }).cases;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const { Point } = ed;
const L = Point.CURVE().n;
const P = Point.CURVE().p;

function le32(n: bigint): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) b[i] = Number(n & 0xffn);
  return b;
}

function rawNodeVerify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.concat([hex('302a300506032b6570032100'), pk]), format: 'der', type: 'spki' });
  return nodeVerify(null, msg, key, sig);
}

describe('RFC 8032 §7.1 test vectors', () => {
  it('has all five vectors, TEST 1024 with a 1023-byte message and SHA(abc) with SHA-512("abc")', () => {
    expect(rfc.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
    expect(hex(rfc[3]!.message).length).toBe(1023);
    expect(rfc[4]!.message).toBe(createHash('sha512').update('abc').digest('hex'));
  });

  for (const v of rfc) {
    it(`${v.name}: both sign paths reproduce the signature, both verify paths accept it`, () => {
      const seed = hex(v.secretKey);
      const msg = hex(v.message);
      expect(Buffer.from(publicKeyFromSeed(seed)).toString('hex')).toBe(v.publicKey);
      expect(Buffer.from(signEd25519(seed, msg)).toString('hex')).toBe(v.signature);
      expect(Buffer.from(signEd25519Portable(seed, msg)).toString('hex')).toBe(v.signature);
      expect(verifyEd25519(hex(v.publicKey), msg, hex(v.signature))).toBe(true);
      expect(verifyEd25519Portable(hex(v.publicKey), msg, hex(v.signature))).toBe(true);
      expect(() => assertValidPublicKey(hex(v.publicKey))).not.toThrow();
    });
  }
});

describe('strict edge cases (spec §6, test/vectors/ed25519-strict)', () => {
  it('covers every group the fixture README lists', () => {
    const ids = edge.map((c) => c.id);
    for (const prefix of ['identity-key-forgery', 'small-order-key-', 'noncanonical-key-', 'small-order-r-', 'noncanonical-r-', 's-eq-l', 'cofactored-only', 'mixed-order-key-k-multiple', 'mixed-order-key-k-not']) {
      expect(ids.some((id) => id.startsWith(prefix)), prefix).toBe(true);
    }
    expect(ids.filter((id) => id.startsWith('small-order-key-'))).toHaveLength(8);
    expect(ids.filter((id) => id.startsWith('small-order-r-'))).toHaveLength(8);
  });

  for (const c of edge) {
    it(`${c.id} (${c.spec}): both paths return ${c.expected}`, () => {
      const [pk, msg, sig] = [hex(c.publicKey), hex(c.message), hex(c.signature)];
      expect(verifyEd25519(pk, msg, sig)).toBe(c.expected);
      expect(verifyEd25519Portable(pk, msg, sig)).toBe(c.expected);
      // What the fixture records about other verifiers still holds: these are the reasons the
      // pre-checks and the hand-written cofactorless equation exist.
      expect(rawNodeVerify(pk, msg, sig)).toBe(c.rawNodeCryptoAccepts);
      expect(ed.verify(sig, msg, pk, { zip215: true })).toBe(c.nobleZip215Accepts);
      let strict = false;
      try {
        strict = ed.verify(sig, msg, pk, { zip215: false });
      } catch {
        strict = false;
      }
      expect(strict).toBe(c.nobleStrictAccepts);
    });
  }

  it('raw node:crypto accepts the identity-key forgery for any message; both our paths reject it', () => {
    const pk = le32(1n);
    const sig = new Uint8Array(64);
    sig[0] = 1;
    for (const m of ['', 'transfer everything', 'x'.repeat(1000)]) {
      const msg = Buffer.from(m);
      expect(rawNodeVerify(pk, msg, sig)).toBe(true);
      expect(verifyEd25519(pk, msg, sig)).toBe(false);
      expect(verifyEd25519Portable(pk, msg, sig)).toBe(false);
    }
  });

  it('noble accepts the cofactored-only signature, both our paths reject it', () => {
    const c = edge.find((e) => e.id === 'cofactored-only-r-plus-torsion')!;
    expect(ed.verify(hex(c.signature), hex(c.message), hex(c.publicKey), { zip215: true })).toBe(true);
    expect(verifyEd25519(hex(c.publicKey), hex(c.message), hex(c.signature))).toBe(false);
    expect(verifyEd25519Portable(hex(c.publicKey), hex(c.message), hex(c.signature))).toBe(false);
  });
});

/** Every 32-byte string that a lenient (ZIP-215) decoder maps to a point of order dividing 8. */
function allSmallOrderEncodings(): { bytes: Uint8Array; canonical: boolean }[] {
  let t8: InstanceType<typeof Point> | undefined;
  for (let i = 0; t8 === undefined; i++) {
    let q;
    try {
      q = Point.fromBytes(createHash('sha256').update(`torsion probe ${i}`).digest());
    } catch {
      continue;
    }
    const t = q.multiply(L - 1n, false).add(q);
    if (!t.multiply(4n, false).is0()) t8 = t;
  }
  const out: { bytes: Uint8Array; canonical: boolean }[] = [];
  let t = Point.ZERO;
  for (let i = 0; i < 8; i++, t = t.add(t8)) {
    const { x, y } = t.toAffine();
    for (const yy of [y, y + P]) {
      if (yy >= 2n ** 255n) continue;
      for (const sign of [0, 1]) {
        const b = le32(yy);
        b[31]! |= sign << 7;
        let decoded;
        try {
          decoded = Point.fromBytes(b, true);
        } catch {
          continue;
        }
        if (!decoded.equals(t)) continue;
        out.push({ bytes: b, canonical: yy === y && (x & 1n) === BigInt(sign) });
      }
    }
  }
  return out;
}

describe('small-order and non-canonical public keys (spec §6.2, §6.3)', () => {
  const encodings = allSmallOrderEncodings();

  it('there are 8 canonical and 6 non-canonical encodings of small-order points', () => {
    expect(encodings.filter((e) => e.canonical)).toHaveLength(8);
    expect(encodings.filter((e) => !e.canonical)).toHaveLength(6);
  });

  it('assertValidPublicKey rejects every one with INVALID_KEY and a reason', () => {
    for (const { bytes, canonical } of encodings) {
      let err: unknown;
      try {
        assertValidPublicKey(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KeyError);
      expect((err as KeyError).code).toBe('INVALID_KEY');
      expect((err as KeyError).message).toMatch(canonical ? /small-order/ : /non-canonical/);
    }
  });

  it('neither path accepts the S = 0, R = identity forgery under any of them, for many messages', () => {
    const sig = new Uint8Array(64);
    sig[0] = 1;
    for (const { bytes } of encodings) {
      for (let i = 0; i < 16; i++) {
        const msg = Buffer.from(`message ${i}`);
        expect(verifyEd25519(bytes, msg, sig)).toBe(false);
        expect(verifyEd25519Portable(bytes, msg, sig)).toBe(false);
      }
    }
  });

  it('assertValidPublicKey: wrong length, off-curve, y >= p each say why', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(31), /32 bytes, got 31/],
      [new Uint8Array(33), /32 bytes, got 33/],
      [le32(2n), /not the encoding of a curve point/], // y = 2: x^2 is not a square
      [le32(P + 3n), /y >= p/],
      [le32(2n ** 255n - 1n), /y >= p/],
    ];
    for (const [bytes, reason] of cases) expect(() => assertValidPublicKey(bytes)).toThrow(reason);
  });

  it('wrong lengths return false on both paths, never throw', () => {
    const seed = new Uint8Array(32).fill(7);
    const pk = publicKeyFromSeed(seed);
    const msg = Buffer.from('m');
    const sig = signEd25519(seed, msg);
    for (const [k, s] of [
      [pk.subarray(0, 31), sig],
      [Buffer.concat([pk, Buffer.of(0)]), sig],
      [pk, sig.subarray(0, 63)],
      [pk, Buffer.concat([sig, Buffer.of(0)])],
      [new Uint8Array(0), new Uint8Array(0)],
    ] as const) {
      expect(verifyEd25519(k, msg, s)).toBe(false);
      expect(verifyEd25519Portable(k, msg, s)).toBe(false);
    }
    expect(verifyEd25519(pk, msg, sig)).toBe(true);
  });

  it('non-Uint8Array arguments are a caller bug: INVALID_ARGUMENT', () => {
    const bad = 'not bytes' as unknown as Uint8Array;
    for (const f of [verifyEd25519, verifyEd25519Portable]) {
      expect(() => f(bad, new Uint8Array(1), new Uint8Array(64))).toThrow(SealedLedgerError);
      expect(() => f(new Uint8Array(32), bad, new Uint8Array(64))).toThrow(/message must be a Uint8Array/);
    }
  });

  it('signing rejects a seed that is not 32 bytes', () => {
    expect(() => signEd25519(new Uint8Array(31), new Uint8Array(0))).toThrow(/32 bytes, got 31/);
    expect(() => signEd25519Portable(new Uint8Array(64), new Uint8Array(0))).toThrow(/32 bytes, got 64/);
  });

  it('the key cache does not change answers: a key seen as invalid stays invalid, a valid one valid', () => {
    const seed = new Uint8Array(32).fill(9);
    const pk = publicKeyFromSeed(seed);
    const msg = Buffer.from('cache');
    const sig = signEd25519(seed, msg);
    const forgery = new Uint8Array(64);
    forgery[0] = 1;
    for (let i = 0; i < 600; i++) {
      // Fill the cache well past its bound with distinct keys.
      const other = le32(BigInt(i) + 1000n);
      verifyEd25519(other, msg, sig);
      if (i % 100 === 0) {
        expect(verifyEd25519(pk, msg, sig)).toBe(true);
        expect(verifyEd25519(le32(1n), msg, forgery)).toBe(false);
      }
    }
  });
});

describe('encoding rules used by the pre-checks (spec §6.2, §6.5)', () => {
  // These rules cannot all be seen from outside: OpenSSL re-checks S < L, and a non-canonical
  // large-order A cannot be given a valid signature without its discrete log.
  it('isReducedScalar is S < L', () => {
    for (const [s, ok] of [[0n, true], [L - 1n, true], [L, false], [L + 1n, false], [2n ** 252n, true], [2n ** 253n, false], [2n ** 256n - 1n, false]] as const) {
      expect(isReducedScalar(le32(s)), String(s)).toBe(ok);
    }
  });

  it('pointEncodingProblem and decodePointStrict reject y >= p and negative zero, accept the rest', () => {
    const negZero = le32(1n);
    negZero[31]! |= 0x80;
    const negZeroOrder2 = le32(P - 1n);
    negZeroOrder2[31]! |= 0x80;
    for (const b of [le32(P), le32(P + 1n), le32(P + 2n), le32(2n ** 255n - 1n), negZero, negZeroOrder2]) {
      expect(pointEncodingProblem(b)).toMatch(/non-canonical/);
      expect(decodePointStrict(b)).toBeUndefined();
    }
    for (const b of [le32(1n), le32(P - 1n), le32(0n), hex(rfc[0]!.publicKey)]) {
      expect(pointEncodingProblem(b)).toBeUndefined();
      expect(decodePointStrict(b)).toBeDefined();
    }
    // A large-order point with a small y, encoded as y + p: lenient decoders accept it.
    let d = 2n;
    while (decodePointStrict(le32(d)) === undefined || decodePointStrict(le32(d))!.isSmallOrder()) d++;
    expect(Point.fromBytes(le32(P + d), true).equals(decodePointStrict(le32(d))!)).toBe(true);
    expect(decodePointStrict(le32(P + d))).toBeUndefined();
    expect(pointEncodingProblem(le32(P + d))).toMatch(/y >= p/);
  });
});

describe('what a mutation run showed untested: error contract and byte-level boundaries', () => {
  const caught = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return 'returned';
  };
  const NOT_BYTES = 'not bytes' as unknown as Uint8Array;

  it('a non-Uint8Array argument is INVALID_ARGUMENT naming the field, on every entry point of both paths', () => {
    const pk = new Uint8Array(32);
    const msg = new Uint8Array(1);
    const sig = new Uint8Array(64);
    const seed = new Uint8Array(32);
    const cases: [string, () => unknown][] = [
      ['publicKey', () => verifyEd25519(NOT_BYTES, msg, sig)],
      ['message', () => verifyEd25519(pk, NOT_BYTES, sig)],
      ['signature', () => verifyEd25519(pk, msg, NOT_BYTES)],
      ['publicKey', () => verifyEd25519Portable(NOT_BYTES, msg, sig)],
      ['message', () => verifyEd25519Portable(pk, NOT_BYTES, sig)],
      ['signature', () => verifyEd25519Portable(pk, msg, NOT_BYTES)],
      ['seed', () => signEd25519(NOT_BYTES, msg)],
      ['message', () => signEd25519(seed, NOT_BYTES)],
      ['seed', () => signEd25519Portable(NOT_BYTES, msg)],
      ['message', () => signEd25519Portable(seed, NOT_BYTES)],
      ['seed', () => publicKeyFromSeed(NOT_BYTES)],
      ['publicKey', () => assertValidPublicKey(NOT_BYTES)],
    ];
    for (const [field, f] of cases) {
      const e = caught(f);
      expect(e, field).toBeInstanceOf(InvalidInputError);
      expect(e, field).toMatchObject({ code: 'INVALID_ARGUMENT', message: `${field} must be a Uint8Array`, details: { field } });
    }
  });

  it('a seed of the wrong length is KeyError INVALID_KEY on both sign paths and for the public key', () => {
    for (const f of [() => signEd25519(new Uint8Array(33), new Uint8Array(0)), () => signEd25519Portable(new Uint8Array(33), new Uint8Array(0)), () => publicKeyFromSeed(new Uint8Array(0))]) {
      const e = caught(f);
      expect(e).toBeInstanceOf(KeyError);
      expect(e).toMatchObject({ code: 'INVALID_KEY', message: expect.stringMatching(/^an Ed25519 seed is 32 bytes, got (33|0)$/) });
    }
  });

  it('assertValidPublicKey puts the reason in the message and in details.reason', () => {
    const offCurve = caught(() => assertValidPublicKey(le32(2n)));
    expect(offCurve).toMatchObject({
      code: 'INVALID_KEY',
      message: 'invalid Ed25519 public key: not the encoding of a curve point',
      details: { reason: 'not the encoding of a curve point' },
    });
    expect(caught(() => assertValidPublicKey(le32(1n)))).toMatchObject({
      message: 'invalid Ed25519 public key: small-order point (8·A is the identity)',
      details: { reason: 'small-order point (8·A is the identity)' },
    });
    expect(caught(() => assertValidPublicKey(le32(P)))).toMatchObject({ details: { reason: 'non-canonical encoding (y >= p)' } });
    const negZero = le32(1n);
    negZero[31]! |= 0x80;
    expect(caught(() => assertValidPublicKey(negZero))).toMatchObject({
      details: { reason: 'non-canonical encoding (x = 0 with the sign bit set)' },
    });
    expect(caught(() => assertValidPublicKey(new Uint8Array(31)))).toMatchObject({ details: { reason: 'must be 32 bytes, got 31' } });
  });

  it('near misses of y >= p are canonical: one byte off anywhere in 2^255 - 19 .. 2^255 - 1', () => {
    // Byte-level only (spec §6.2): whether these decode to a point is a separate question.
    const below = [
      P - 3n, // low byte 0xea, then 0xff.., then 0x7f
      P - 2n ** 8n, // one middle byte 0xfe
      P - 2n ** 240n, // byte 30 is 0xfe
      2n ** 255n - 1n - 2n ** 248n, // top byte 0x7e, the rest 0xff
      (0x7fn << 248n) + 0xffn, // low byte 0xff, top byte 0x7f, zeros between
    ];
    for (const y of below) {
      for (const sign of [0, 0x80]) {
        const b = le32(y);
        b[31]! |= sign;
        expect(pointEncodingProblem(b), `${y.toString(16)} sign ${sign}`).toBeUndefined();
      }
    }
  });

  it('with the sign bit set, only y = 1 and y = p - 1 are negative zero; their near misses are not', () => {
    const withSign = (y: bigint): Uint8Array => {
      const b = le32(y);
      b[31]! |= 0x80;
      return b;
    };
    for (const y of [1n, P - 1n]) expect(pointEncodingProblem(withSign(y))).toBe('non-canonical encoding (x = 0 with the sign bit set)');
    const nearMisses = [
      3n, // low byte differs
      1n + 2n ** 8n, // a middle byte differs
      1n + 2n ** 240n, // byte 30 differs
      1n + 2n ** 248n, // the top byte's low 7 bits differ
      P - 2n, // low byte differs
      P - 1n - 2n ** 8n,
      P - 1n - 2n ** 240n,
      P - 1n - 2n ** 248n,
    ];
    for (const y of nearMisses) expect(pointEncodingProblem(withSign(y)), y.toString(16)).toBeUndefined();
  });

  it('isReducedScalar decides on the most significant differing byte', () => {
    const cases: [bigint, boolean][] = [
      [L - 2n ** 248n + 0xfen, true], // top byte below L's, byte 1 above L's
      [L + 2n ** 8n - 0xedn, false], // low byte 0 (below L's), byte 1 above L's
      [2n ** 252n - 1n, true],
      [L - 2n ** 8n + 0xffn - 0xedn, true], // same top bytes as L, byte 1 below, low byte above
    ];
    for (const [s, ok] of cases) expect(isReducedScalar(le32(s)), s.toString(16)).toBe(ok);
  });
});
