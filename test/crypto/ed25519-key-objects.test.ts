/**
 * What the fast path does with node:crypto key objects, seen through a pass-through wrapper of
 * node:crypto: the seed's DER copy is wiped, a public key's KeyObject is built once while cached,
 * the cache is bounded (an attacker who sends many keys cannot grow it), and what the
 * byte-level pre-checks refuse never reaches OpenSSL (spec §6.9). Answers are unchanged: the wrapper only records.
 */
import { readFileSync } from 'node:fs';
import type * as NodeCrypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const seen = vi.hoisted(() => ({ spkiImports: [] as string[], pkcs8Ders: [] as Uint8Array[], verifyCalls: 0 }));

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof NodeCrypto>();
  const createPublicKey = ((key: Parameters<typeof real.createPublicKey>[0]) => {
    const k = key as { key?: unknown; type?: string };
    if (k.type === 'spki' && Buffer.isBuffer(k.key)) seen.spkiImports.push(k.key.subarray(-32).toString('hex'));
    return real.createPublicKey(key);
  }) as typeof real.createPublicKey;
  const createPrivateKey = ((key: Parameters<typeof real.createPrivateKey>[0]) => {
    const k = key as { key?: unknown; type?: string };
    if (k.type === 'pkcs8' && Buffer.isBuffer(k.key)) seen.pkcs8Ders.push(k.key);
    return real.createPrivateKey(key);
  }) as typeof real.createPrivateKey;
  const verify = ((...args: Parameters<typeof real.verify>) => {
    seen.verifyCalls++;
    return real.verify(...args);
  }) as typeof real.verify;
  return { ...real, default: { ...real, createPublicKey, createPrivateKey, verify }, createPublicKey, createPrivateKey, verify };
});

type Ed25519 = typeof import('../../src/crypto/ed25519.js');

interface Rfc8032Vector {
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
const rfc = (JSON.parse(readFileSync(new URL('../vectors/rfc8032/ed25519.json', import.meta.url), 'utf8')) as { vectors: Rfc8032Vector[] }).vectors;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function le32(n: bigint): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) b[i] = Number(n & 0xffn);
  return b;
}
/** Distinct keys that pass the byte-level pre-checks (small canonical y, not small order). */
const acceptableKey = (i: number): Uint8Array => le32(BigInt(i) + 1000n);

let ed: Ed25519;
beforeEach(async () => {
  // A fresh module per test: an empty key cache.
  vi.resetModules();
  ed = await import('../../src/crypto/ed25519.js');
  seen.spkiImports.length = 0;
  seen.pkcs8Ders.length = 0;
  seen.verifyCalls = 0;
});

describe('Ed25519 fast path and its node:crypto key objects', () => {
  it('the DER copy of the seed handed to OpenSSL is zeroed once the key object exists', () => {
    for (const v of rfc) {
      seen.pkcs8Ders.length = 0;
      expect(Buffer.from(ed.signEd25519(hex(v.secretKey), hex(v.message))).toString('hex')).toBe(v.signature);
      expect(Buffer.from(ed.publicKeyFromSeed(hex(v.secretKey))).toString('hex')).toBe(v.publicKey);
      expect(seen.pkcs8Ders).toHaveLength(2);
      for (const der of seen.pkcs8Ders) {
        expect(der.length).toBe(48);
        expect(der.every((b) => b === 0)).toBe(true);
      }
    }
  });

  it('a public key is imported once while it is cached, and every answer stays the same', () => {
    const v = rfc[0]!;
    for (let i = 0; i < 5; i++) expect(ed.verifyEd25519(hex(v.publicKey), hex(v.message), hex(v.signature))).toBe(true);
    expect(ed.verifyEd25519(hex(v.publicKey), Buffer.from('other'), hex(v.signature))).toBe(false);
    expect(seen.spkiImports).toEqual([v.publicKey]);
  });

  it('keys the pre-checks refuse (small order, non-canonical) never reach OpenSSL', () => {
    const forgery = new Uint8Array(64);
    forgery[0] = 1;
    const negZero = le32(1n);
    negZero[31]! |= 0x80;
    for (const pk of [le32(1n), le32(0n), le32(2n ** 255n - 19n), negZero]) {
      expect(ed.verifyEd25519(pk, Buffer.from('m'), forgery)).toBe(false);
    }
    expect(seen.spkiImports).toEqual([]);
  });

  it('the cache holds 256 keys and drops the oldest first', () => {
    const msg = Buffer.from('m');
    const sig = new Uint8Array(64); // S = 0 < L, R canonical: reaches the key cache
    const first = acceptableKey(0);
    for (let i = 0; i < 256; i++) expect(ed.verifyEd25519(acceptableKey(i), msg, sig)).toBe(false);
    expect(seen.spkiImports).toHaveLength(256);
    // Full, not over: the first key is still cached.
    ed.verifyEd25519(first, msg, sig);
    expect(seen.spkiImports).toHaveLength(256);
    // One more key evicts the oldest (the first), and only it.
    ed.verifyEd25519(acceptableKey(256), msg, sig);
    ed.verifyEd25519(acceptableKey(1), msg, sig);
    expect(seen.spkiImports).toHaveLength(257);
    ed.verifyEd25519(first, msg, sig);
    expect(seen.spkiImports).toHaveLength(258);
    expect(seen.spkiImports.at(-1)).toBe(Buffer.from(first).toString('hex'));
  });

  it('spec §6.9: a wrong signature length, S >= L and a non-canonical R are refused before node:crypto verify', () => {
    // The fast path must not depend on the linked OpenSSL's own checks of these rules.
    const v = rfc[1]!;
    const [pk, msg, sig] = [hex(v.publicKey), hex(v.message), hex(v.signature)];
    expect(ed.verifyEd25519(pk, msg, sig)).toBe(true);
    expect(seen.verifyCalls).toBe(1);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const malleated = Buffer.concat([sig.subarray(0, 32), le32(s + L)]);
    const nonCanonicalR = Buffer.concat([le32(2n ** 255n - 19n + 1n), sig.subarray(32)]);
    for (const bad of [Buffer.concat([sig, Buffer.of(0)]), malleated, nonCanonicalR]) {
      expect(ed.verifyEd25519(pk, msg, bad)).toBe(false);
    }
    expect(seen.verifyCalls).toBe(1);
  });
});
