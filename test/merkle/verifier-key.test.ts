import { describe, expect, it } from 'vitest';
import { noteKeyHash } from '../../src/domain.js';
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

  it('accepts an upper-case key id like Go does, and only well-formed names', () => {
    expect(parseVerifierKey(go.peterVerifierKey.replace('c74f20a3', 'C74F20A3')).name).toBe('PeterNeumann');
    for (const bad of ['', 'a+b', 'a b', 'a\u00a0b', 'a\u2028b', 'a\u0085b', 'a\tb', '\ud800x']) {
      expect(isValidKeyName(bad)).toBe(false);
    }
    for (const good of ['example.com/log', 'sum.golang.org', 'über-log', 'a\u200bb']) expect(isValidKeyName(good)).toBe(true);
    expect(() => verifierKeyString('a b', new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(() => verifierKeyString('ok', new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });
});
