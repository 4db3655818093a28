import { describe, expect, it } from 'vitest';
import { signCheckpoint, verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { signNote } from '../../src/merkle/signed-note.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { randomSigner, signerFromSeed } from './note-keys.js';
import { sha256 } from './naive-rfc6962.js';
import { signedNotes } from './vectors.js';

const sum = signedNotes.sumdbCheckpoint;
const code = (c: string) => expect.objectContaining({ code: c });

describe('a published checkpoint signed by sum.golang.org', () => {
  it('verifies and yields origin, size and root', () => {
    const cp = verifyCheckpoint(sum.note, [sum.logVerifierKey], { origin: sum.origin });
    expect(cp.origin).toBe(sum.origin);
    expect(cp.size).toBe(sum.size);
    expect(cp.rootHash.toString('base64')).toBe(sum.rootHashBase64);
    expect(cp.signers).toEqual([{ name: 'sum.golang.org', keyId: '033de0ae' }]);
    expect(cp.text).toBe(`${sum.origin}\n${sum.size}\n${sum.rootHashBase64}\n`);
  });

  it('verifies the witness cosignatures and ignores signatures from unknown keys', () => {
    const note = sum.note + sum.cosignatureLines.join('') + sum.unknownSignatureLines.join('');
    const all = verifyCheckpoint(note, [sum.logVerifierKey, ...sum.cosignerVerifierKeys]);
    expect(all.signers.map((s) => s.name)).toEqual(['sum.golang.org', 'monkeys', 'bananas', 'witness']);
    const witnessesOnly = verifyCheckpoint(note, sum.cosignerVerifierKeys);
    expect(witnessesOnly.signers.map((s) => s.name)).toEqual(['monkeys', 'bananas', 'witness']);
  });

  it('rejects a wrong origin, unknown keys, and any change to size, root, origin or signature', () => {
    expect(() => verifyCheckpoint(sum.note, [sum.logVerifierKey], { origin: 'other' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CHECKPOINT', details: expect.objectContaining({ expected: 'other' }) }),
    );
    expect(() => verifyCheckpoint(sum.note, sum.cosignerVerifierKeys)).toThrow(code('UNKNOWN_KEY'));
    const edits = [
      sum.note.replace(`\n${sum.size}\n`, `\n${sum.size + 1}\n`),
      sum.note.replace(`\n${sum.size}\n`, `\n${sum.size - 1}\n`),
      sum.note.replace(sum.rootHashBase64, sha256(Buffer.from('x')).toString('base64')),
      sum.note.replace(sum.origin, 'go.sum database tree2'),
      sum.note.replace('Az3grsLX85Gz', 'Az3grsLX85Gy'),
    ];
    for (const note of edits) expect(() => verifyCheckpoint(note, [sum.logVerifierKey])).toThrow(code('INVALID_SIGNATURE'));
  });
});

describe('signCheckpoint', () => {
  it('round-trips through verifyCheckpoint and fails under mutation', () => {
    const log = randomSigner('example.com/ledger');
    const key = verifierKeyString(log.name, log.publicKey);
    const body = { origin: 'example.com/ledger', size: 12345, rootHash: sha256(Buffer.from('root')) };
    const note = signCheckpoint(body, [log]);
    expect(note.startsWith(`example.com/ledger\n12345\n${body.rootHash.toString('base64')}\n\n\u2014 example.com/ledger `)).toBe(true);
    const cp = verifyCheckpoint(note, [key], { origin: body.origin });
    expect({ origin: cp.origin, size: cp.size, rootHash: cp.rootHash }).toEqual(body);

    const other = randomSigner('example.com/ledger');
    expect(() => verifyCheckpoint(note, [verifierKeyString(other.name, other.publicKey)])).toThrow(code('UNKNOWN_KEY'));
    const sig = note.slice(note.lastIndexOf(' ') + 1, -1);
    const raw = Buffer.from(sig, 'base64');
    raw[40]! ^= 0x01;
    expect(() => verifyCheckpoint(note.replace(sig, raw.toString('base64')), [key])).toThrow(code('INVALID_SIGNATURE'));
  });

  it('does not sign a malformed body', () => {
    const log = randomSigner('example.com/ledger');
    expect(() => signCheckpoint({ origin: 'o', size: 0, rootHash: Buffer.alloc(32) }, [log])).toThrow(
      code('INVALID_CHECKPOINT'),
    );
  });

  it('rejects a verified note whose text is not a checkpoint', () => {
    const log = randomSigner('example.com/ledger');
    const key = verifierKeyString(log.name, log.publicKey);
    const note = signNote("if this is a valid checkpoint then I'll eat my hat\n", [log]);
    expect(() => verifyCheckpoint(note, [key])).toThrow(code('INVALID_CHECKPOINT'));
  });
});

describe('the example of spec §12.2 and §12.3', () => {
  it('is a valid checkpoint of the RFC 6962 test tree under the stated key', async () => {
    const { readFileSync } = await import('node:fs');
    const spec = readFileSync(new URL('../../spec/verifiable-log.md', import.meta.url), 'utf8');
    const block = /5\. Example[\s\S]*?```\n([\s\S]*?)\n {3}```/.exec(spec)![1]!;
    const note = `${block.split('\n').map((l) => l.replace(/^ {3}/, '')).join('\n')}\n`;
    const key = /verifies with\n`([^`]+)`/.exec(spec)![1]!;
    const cp = verifyCheckpoint(note, [key], { origin: 'example.com/ledger' });
    expect(cp.size).toBe(8);
    expect(cp.rootHash.toString('hex')).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
    const log = signerFromSeed('example.com/ledger', Uint8Array.from({ length: 32 }, (_, i) => i));
    expect(verifierKeyString(log.name, log.publicKey)).toBe(key);
    expect(signCheckpoint({ origin: cp.origin, size: cp.size, rootHash: cp.rootHash }, [log])).toBe(note);
  });
});
