import { describe, expect, it } from 'vitest';
import { noteKeyHash } from '../../src/crypto/domain.js';
import { isValidKeyName, parseVerifierKey, verifierKeyString } from '../../src/merkle/verifier-key.js';
import { signerFromGoKey } from './note-keys.js';
import { signedNotes } from './vectors.js';

const go = signedNotes.goSumdbNote;

describe('verifier keys (golang.org/x/mod/sumdb/note vectors)', () => {
  it('parses the published keys', () => {
    const peter = parseVerifierKey(go.peterVerifierKey);
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyHash.toString('hex')).toBe('c74f20a3');
    expect(peter.publicKey).toHaveLength(32);
    expect(parseVerifierKey(go.enochVerifierKey).keyHash.toString('hex')).toBe('af0cfe78');
    expect(parseVerifierKey(signedNotes.sumdbCheckpoint.logVerifierKey).keyHash.toString('hex')).toBe('033de0ae');
  });

  it('derives the published key string from the published signer key', () => {
    const signer = signerFromGoKey(go.peterSignerKey);
    expect(verifierKeyString(signer.name, signer.publicKey)).toBe(go.peterVerifierKey);
    expect(noteKeyHash(signer.name, signer.publicKey).toString('hex')).toBe('c74f20a3');
  });

  it('rejects every proper substring of a valid key (TestNewVerifier)', () => {
    const k = go.peterVerifierKey;
    for (let i = 0; i <= k.length; i++) {
      for (let j = i + 1; j <= k.length; j++) {
        if (i === 0 && j === k.length) continue;
        expect(() => parseVerifierKey(k.slice(i, j))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
      }
    }
  });

  it('rejects every single-character increment of a valid key (TestNewVerifier)', () => {
    const k = go.peterVerifierKey;
    for (let i = 0; i < k.length; i++) {
      const mangled = k.slice(0, i) + String.fromCharCode(k.charCodeAt(i) + 1) + k.slice(i + 1);
      expect(() => parseVerifierKey(mangled)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    }
  });

  it('rejects a wrong-length key and an unknown algorithm, even with adjusted key ids', () => {
    for (const bad of go.badVerifierKeys) {
      expect(() => parseVerifierKey(bad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    }
  });

  it('accepts exactly one encoding: an upper-case or mixed-case key id is INVALID_KEY (spec §12.3)', () => {
    // Go's sumdb/note would parse these; a verifier key, like every signed or hashed input, has
    // one accepted encoding, the one verifierKeyString writes.
    expect(parseVerifierKey(go.peterVerifierKey).name).toBe('PeterNeumann');
    for (const id of ['C74F20A3', 'c74F20a3', 'C74f20a3']) {
      expect(() => parseVerifierKey(go.peterVerifierKey.replace('c74f20a3', id))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    }
    // The fuzz finding, replayed: npm run fuzz -- --suite verifierKey --seed -1970672058 --path "1919191"
    const found = 'example.org/fuzz+7559C004+Af0XJDhaoMdbZPt4zWAvodmR/ev3axPFjtcC6sg16fYY';
    expect(() => parseVerifierKey(found)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(parseVerifierKey(found.replace('7559C004', '7559c004')).name).toBe('example.org/fuzz');
  });

  it('accepts only well-formed names', () => {
    for (const bad of ['', 'a+b', 'a b', 'a\u00a0b', 'a\u2028b', 'a\u0085b', 'a\tb', '\ud800x']) {
      expect(isValidKeyName(bad)).toBe(false);
    }
    for (const good of ['example.com/log', 'sum.golang.org', 'über-log', 'a\u200bb']) expect(isValidKeyName(good)).toBe(true);
    expect(() => verifierKeyString('a b', new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(() => verifierKeyString('ok', new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});
