import { describe, expect, it } from 'vitest';
import { MAX_NOTE_SIGNATURES, parseNote, signNote, verifyNote } from '../../src/merkle/signed-note.js';
import { parseVerifierKey, verifierKeyString } from '../../src/merkle/verifier-key.js';
import { randomSigner, signerFromGoKey } from './note-keys.js';
import { signedNotes } from './vectors.js';

const go = signedNotes.goSumdbNote;
const peter = go.peterSignatureLine;
const enoch = go.enochSignatureLine;
const text = go.text;

/** Inserts `insert` at UTF-8 byte offset `at`, as the Go tests slice strings. */
function insertAtByte(s: string, at: number, insert: string): string {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([b.subarray(0, at), Buffer.from(insert), b.subarray(at)]).toString('utf8');
}

const code = (c: string) => expect.objectContaining({ code: c });

describe('signNote (note_test.go TestSign)', () => {
  it('reproduces the published signed note byte for byte', () => {
    expect(signNote(text, [signerFromGoKey(go.peterSignerKey)])).toBe(go.signedNote);
  });

  it('rejects malformed text and signers', () => {
    const signer = signerFromGoKey(go.peterSignerKey);
    expect(() => signNote('abc', [signer])).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => signNote('a\rb\n', [signer])).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => signNote('a\ud800\n', [signer])).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => signNote(text, [])).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => signNote(text, [{ ...signer, name: 'a+b' }])).toThrow(code('INVALID_KEY'));
    expect(() => signNote(text, [{ ...signer, name: 'bad name' }])).toThrow(code('INVALID_KEY'));
    expect(() => signNote(text, [signer, signer])).toThrow(code('INVALID_KEY'));
    expect(() => signNote(text, [{ ...signer, sign: () => new Uint8Array(64) }])).toThrow(code('INVALID_KEY'));
    const other = randomSigner('PeterNeumann');
    expect(() => signNote(text, [{ ...signer, publicKey: other.publicKey }])).toThrow(code('INVALID_KEY'));
  });

  it('signs with several keys in order and round-trips through parseNote', () => {
    const a = randomSigner('example.com/a');
    const b = randomSigner('example.com/b');
    const note = signNote('line one\n\nline three\n', [a, b]);
    const parsed = parseNote(note);
    expect(parsed.text).toBe('line one\n\nline three\n');
    expect(parsed.signatures.map((s) => s.name)).toEqual(['example.com/a', 'example.com/b']);
    const v = verifyNote(note, [verifierKeyString(b.name, b.publicKey), verifierKeyString(a.name, a.publicKey)]);
    expect(v.verified.map((s) => s.name)).toEqual(['example.com/a', 'example.com/b']);
  });
});

describe('verifyNote (note_test.go TestOpen)', () => {
  it('verifies known signatures and sets unknown ones aside', () => {
    const v = verifyNote(`${text}\n${peter}${enoch}`, [go.peterVerifierKey]);
    expect(v.text).toBe(text);
    expect(v.verified).toEqual([{ name: 'PeterNeumann', keyId: 'c74f20a3' }]);
    expect(v.unknown).toEqual([{ name: 'EnochRoot', keyId: 'af0cfe78' }]);

    const both = verifyNote(`${text}\n${peter}${enoch}`, [go.peterVerifierKey, go.enochVerifierKey]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(both.unknown).toEqual([]);
  });

  it('needs at least one signature from a trusted key', () => {
    expect(() => verifyNote(`${text}\n${peter}${enoch}`, [])).toThrow(code('UNKNOWN_KEY'));
  });

  it('treats a duplicated identical verifier as one, and refuses one whose key id does not match its key', () => {
    verifyNote(`${text}\n${enoch}`, [go.enochVerifierKey, go.peterVerifierKey, go.enochVerifierKey]);
    const impostor = { ...parseVerifierKey(go.enochVerifierKey), publicKey: parseVerifierKey(go.peterVerifierKey).publicKey };
    // A parsed verifier whose id does not match its key is refused outright.
    expect(() => verifyNote(`${text}\n${enoch}`, [impostor])).toThrow(code('INVALID_KEY'));
  });

  it('rejects more than the signature limit', () => {
    expect(MAX_NOTE_SIGNATURES).toBeGreaterThanOrEqual(16);
    const many = `${text}\n${peter.repeat(MAX_NOTE_SIGNATURES + 1)}`;
    expect(() => verifyNote(many, [go.peterVerifierKey])).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => verifyNote(many, [])).toThrow(code('INVALID_CHECKPOINT'));
    expect(verifyNote(`${text}\n${peter.repeat(16)}`, [go.peterVerifierKey]).verified).toHaveLength(1);
  });

  it('fails on a corrupted signature from a known key', () => {
    const corrupted = insertAtByte(peter, 60, 'ABCD');
    expect(() => verifyNote(`${text}\n${corrupted}`, [go.peterVerifierKey])).toThrow(code('INVALID_SIGNATURE'));
  });

  it('ignores duplicated and corrupted signatures from unknown keys', () => {
    const enochABCD = insertAtByte(enoch, 60, 'ABCD');
    const v = verifyNote(`${text}\n${peter}${peter}${enoch}${enoch}${enochABCD}`, [go.peterVerifierKey]);
    expect(v.verified).toEqual([{ name: 'PeterNeumann', keyId: 'c74f20a3' }]);
    expect(v.unknown).toEqual([{ name: 'EnochRoot', keyId: 'af0cfe78' }]);
  });

  it('rejects malformed notes', () => {
    const bad: (string | Uint8Array)[] = [
      text,
      `${text}\n`,
      `${text}\n${peter.slice(0, -1)}`,
      `\u0001${text}\n${peter}`,
      Buffer.concat([Buffer.of(0xff), Buffer.from(`${text}\n${peter}`)]),
      `${text}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${text}\n${peter}Unexpected line.\n`,
      `${text}\n${peter.replace('\u2014', '-')}`,
      `${text}\n${peter.replace('\u2014 ', '\u2014')}`,
      `${text}\n${peter.replace('=\n', '\n')}`,
      `${text}\n\u2014 PeterNeumann AAAA\n`,
      `${text}\n${peter}`.replace(/\n/g, '\r\n'),
    ];
    for (const note of bad) expect(() => verifyNote(note, [go.peterVerifierKey])).toThrow(code('INVALID_CHECKPOINT'));
  });

  it('accepts the same note as bytes, keeping a leading BOM in the signed text', () => {
    expect(verifyNote(Buffer.from(go.signedNote), [go.peterVerifierKey]).text).toBe(text);
    const signer = signerFromGoKey(go.peterSignerKey);
    const bom = signNote(`\ufeff${text}`, [signer]);
    expect(verifyNote(Buffer.from(bom, 'utf8'), [go.peterVerifierKey]).text).toBe(`\ufeff${text}`);
  });

  it('ignores a signature that shares the name but not the key id of a trusted key', () => {
    const other = randomSigner('PeterNeumann');
    const note = signNote(text, [other]);
    expect(() => verifyNote(note, [go.peterVerifierKey])).toThrow(code('UNKNOWN_KEY'));
    const both = `${go.signedNote}${note.slice(note.lastIndexOf('\u2014'))}`;
    expect(verifyNote(both, [go.peterVerifierKey]).unknown).toEqual([
      { name: 'PeterNeumann', keyId: parseVerifierKey(verifierKeyString(other.name, other.publicKey)).keyHash.toString('hex') },
    ]);
  });

  it('fails when the text or any signature bit changes', () => {
    const keys = [go.peterVerifierKey];
    expect(() => verifyNote(go.signedNote.replace('cryptography', 'Cryptography'), keys)).toThrow(code('INVALID_SIGNATURE'));
    const sigB64 = peter.slice(peter.lastIndexOf(' ') + 1, -1);
    const raw = Buffer.from(sigB64, 'base64');
    for (let bit = 0; bit < raw.length * 8; bit++) {
      const flipped = Buffer.from(raw);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const note = go.signedNote.replace(sigB64, flipped.toString('base64'));
      // Bits 0..31 are the key id: the signature then belongs to an unknown key.
      expect(() => verifyNote(note, keys)).toThrow(code(bit < 32 ? 'UNKNOWN_KEY' : 'INVALID_SIGNATURE'));
    }
  });
});

describe('parseNote on the C2SP signed-note example', () => {
  it('splits at the last blank line', () => {
    const ex = signedNotes.c2spExamples;
    const parsed = parseNote(ex.signedNote);
    expect(parsed.text).toBe(ex.signedNoteText);
    expect(parsed.signatures).toHaveLength(1);
    expect(parsed.signatures[0]!.name).toBe('quasimodo.example/salvatore');
    expect(parsed.signatures[0]!.signature).toHaveLength(64);
    expect(() => verifyNote(ex.signedNote, [go.peterVerifierKey])).toThrow(code('UNKNOWN_KEY'));
  });
});
