/**
 * Differential properties: the fast path (OpenSSL behind pre-checks) and the portable path
 * (noble points) must give the same answer on every input (spec §6.9). numRuns are sized so
 * the file runs in a few seconds: the portable path does ~0.5k verifications per second.
 */
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  publicKeyFromSeed,
  signEd25519,
  signEd25519Portable,
  verifyEd25519,
  verifyEd25519Portable,
} from '../../src/crypto/ed25519.js';

const { Point } = ed;
const L = Point.CURVE().n;

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const message = fc.uint8Array({ minLength: 0, maxLength: 300 });

function le(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
function le32(n: bigint): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) b[i] = Number(n & 0xffn);
  return b;
}
function both(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): [boolean, boolean] {
  return [verifyEd25519(pk, msg, sig), verifyEd25519Portable(pk, msg, sig)];
}
const hram = (R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint =>
  le(createHash('sha512').update(R).update(A).update(M).digest()) % L;

// A point of order 8, found by clearing the prime-order part of a decoded point.
const T8 = (() => {
  for (let i = 0; ; i++) {
    try {
      const q = Point.fromBytes(createHash('sha256').update(`t8 ${i}`).digest());
      const t = q.multiply(L - 1n, false).add(q);
      if (!t.multiply(4n, false).is0()) return t;
    } catch {
      // not a point; try the next probe
    }
  }
})();
const torsion = Array.from({ length: 8 }, (_, i) => (i === 0 ? Point.ZERO : T8.multiply(BigInt(i), false)));

describe('Ed25519 properties (both paths)', () => {
  it('sign then verify: both sign paths agree and both verify paths accept', () => {
    fc.assert(
      fc.property(bytes(32), message, (seed, msg) => {
        const sig = signEd25519(seed, msg);
        expect(Buffer.from(signEd25519Portable(seed, msg)).equals(sig)).toBe(true);
        const pk = publicKeyFromSeed(seed);
        expect(both(pk, msg, sig)).toEqual([true, true]);
      }),
      { numRuns: 300 },
    );
  });

  it('any single bit flip in message, signature or public key: both paths reject', () => {
    fc.assert(
      fc.property(bytes(32), message, fc.constantFrom('message', 'signature', 'publicKey'), fc.nat(), (seed, msg, where, at) => {
        const pk = Uint8Array.from(publicKeyFromSeed(seed));
        const sig = Uint8Array.from(signEd25519(seed, msg));
        const m = Uint8Array.from(msg);
        const target = where === 'message' ? m : where === 'signature' ? sig : pk;
        fc.pre(target.length > 0);
        const bit = at % (target.length * 8);
        target[bit >> 3]! ^= 1 << (bit & 7);
        const [fast, portable] = both(pk, m, sig);
        expect(fast).toBe(portable);
        expect(fast).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('random keys and signatures: both paths agree', () => {
    // S is masked below 2^252 half the time so that most inputs reach point decoding and the
    // equation rather than stopping at the S < L check.
    fc.assert(
      fc.property(bytes(32), bytes(64), message, fc.boolean(), (pk, sig, msg, reduceS) => {
        if (reduceS) sig[63]! &= 0x0f;
        const [fast, portable] = both(pk, msg, sig);
        expect(fast).toBe(portable);
      }),
      { numRuns: 3000 },
    );
  });

  it('mixed-order keys A = aB + T: accepted by both exactly when [k]T is the identity', () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), fc.integer({ min: 1, max: 7 }), message, (aSeed, rSeed, t, msg) => {
        const a = (le(aSeed) % (L - 1n)) + 1n;
        const r = (le(rSeed) % (L - 1n)) + 1n;
        const T = torsion[t]!;
        const A = Point.BASE.multiply(a).add(T).toBytes();
        const R = Point.BASE.multiply(r).toBytes();
        const k = hram(R, A, msg);
        const sig = new Uint8Array([...R, ...le32((r + k * a) % L)]);
        const holds = T.multiply(k, false).is0();
        expect(both(A, msg, sig)).toEqual([holds, holds]);
      }),
      { numRuns: 400 },
    );
  });

  it("R' = R + T for a non-identity small-order T: both reject, though cofactored verifiers accept", () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), fc.integer({ min: 1, max: 7 }), message, (seed, rSeed, t, msg) => {
        const a = ed.utils.getExtendedPublicKey(seed).scalar;
        const A = publicKeyFromSeed(seed);
        const r = (le(rSeed) % (L - 1n)) + 1n;
        const R2 = Point.BASE.multiply(r).add(torsion[t]!).toBytes();
        const sig = new Uint8Array([...R2, ...le32((r + hram(R2, A, msg) * a) % L)]);
        expect(both(A, msg, sig)).toEqual([false, false]);
        expect(ed.verify(sig, msg, A, { zip215: true })).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
