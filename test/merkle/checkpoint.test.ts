import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint, type CheckpointBody } from '../../src/merkle/checkpoint.js';
import { parseNote } from '../../src/merkle/signed-note.js';
import { sha256 } from './naive-rfc6962.js';
import { signedNotes } from './vectors.js';

const ROOT = sha256(Buffer.from('some tree'));
const ROOT_B64 = ROOT.toString('base64');
const EMPTY_B64 = sha256().toString('base64');
const code = (c: string) => expect.objectContaining({ code: c });

describe('checkpoint body (C2SP tlog-checkpoint)', () => {
  it('formats exactly: origin, decimal size, base64 root, extensions, each ending in \\n', () => {
    expect(formatCheckpoint({ origin: 'example.com/log', size: 42, rootHash: ROOT })).toBe(
      `example.com/log\n42\n${ROOT_B64}\n`,
    );
    expect(formatCheckpoint({ origin: 'o', size: 1, rootHash: ROOT, extensions: ['x y', 'z'] })).toBe(
      `o\n1\n${ROOT_B64}\nx y\nz\n`,
    );
    expect(formatCheckpoint({ origin: 'o', size: 0, rootHash: sha256() })).toBe(`o\n0\n${EMPTY_B64}\n`);
  });

  it('parses the C2SP example and the sum.golang.org tree head', () => {
    const ex = signedNotes.c2spExamples;
    const body = parseCheckpoint(parseNote(ex.checkpoint).text);
    expect(body.origin).toBe(ex.checkpointOrigin);
    expect(body.size).toBe(ex.checkpointSize);
    expect(body.rootHash.toString('base64')).toBe(ex.checkpointRootHashBase64);
    expect(body.extensions).toBeUndefined();
    const sum = signedNotes.sumdbCheckpoint;
    expect(parseCheckpoint(parseNote(sum.note).text)).toEqual({
      origin: sum.origin,
      size: sum.size,
      rootHash: Buffer.from(sum.rootHashBase64, 'base64'),
    });
  });

  it('keeps extension lines', () => {
    expect(parseCheckpoint(`o\n5\n${ROOT_B64}\nfirst\nsecond line\n`).extensions).toEqual(['first', 'second line']);
  });

  it('rejects the bodies transparency-dev/formats rejects', () => {
    for (const bad of signedNotes.transparencyDevCheckpointBodies.invalid) {
      expect(() => parseCheckpoint(bad)).toThrow(code('INVALID_CHECKPOINT'));
    }
  });

  it('rejects every deviation from the canonical form', () => {
    const nonCanonicalRoot = `${ROOT_B64.slice(0, 42)}${String.fromCharCode(ROOT_B64.charCodeAt(42) ^ 1)}=`;
    const bad = [
      `o\n5\n${ROOT_B64}`, // no final newline
      `o\n05\n${ROOT_B64}\n`, // leading zero
      `o\n00\n${EMPTY_B64}\n`,
      `o\n+5\n${ROOT_B64}\n`,
      `o\n 5\n${ROOT_B64}\n`,
      `o\n5 \n${ROOT_B64}\n`,
      `o\n5.0\n${ROOT_B64}\n`,
      `o\n1e3\n${ROOT_B64}\n`,
      `o\n0x5\n${ROOT_B64}\n`,
      `o\n\u0665\n${ROOT_B64}\n`, // Arabic-Indic digit five
      `o\n9007199254740992\n${ROOT_B64}\n`, // 2^53: beyond exact numbers
      `o\n18446744073709551615\n${ROOT_B64}\n`,
      `o\n5\n${ROOT_B64.slice(0, -1)}\n`, // missing padding
      `o\n5\n${nonCanonicalRoot}\n`,
      `o\n5\n${ROOT_B64} \n`,
      `o\n5\n${Buffer.alloc(31).toString('base64')}\n`,
      `o\n5\n${Buffer.alloc(33).toString('base64')}\n`,
      `o\n5\n${ROOT.toString('base64url')}\n`,
      `o\n5\n${ROOT_B64}\n\n`, // empty extension line
      `o\n5\n${ROOT_B64}\next\n\n`,
      `\n5\n${ROOT_B64}\n`, // empty origin
      `o\r\n5\n${ROOT_B64}\n`,
      `o\u0000\n5\n${ROOT_B64}\n`,
      `o\ud800\n5\n${ROOT_B64}\n`,
      `o\n0\n${ROOT_B64}\n`, // size 0 with a root other than the empty-tree root
      `o\n5\n`,
      '',
      '\n',
    ];
    for (const text of bad) expect(() => parseCheckpoint(text)).toThrow(code('INVALID_CHECKPOINT'));
  });

  it('refuses to format what it would refuse to parse', () => {
    const bad: CheckpointBody[] = [
      { origin: '', size: 1, rootHash: ROOT },
      { origin: 'a\nb', size: 1, rootHash: ROOT },
      { origin: 'o', size: -1, rootHash: ROOT },
      { origin: 'o', size: 1.5, rootHash: ROOT },
      { origin: 'o', size: 2 ** 53, rootHash: ROOT },
      { origin: 'o', size: 1, rootHash: Buffer.alloc(16) },
      { origin: 'o', size: 0, rootHash: ROOT },
      { origin: 'o', size: 1, rootHash: ROOT, extensions: [''] },
      { origin: 'o', size: 1, rootHash: ROOT, extensions: ['a\nb'] },
    ];
    for (const body of bad) expect(() => formatCheckpoint(body)).toThrow(code('INVALID_CHECKPOINT'));
  });

  it('round-trips every valid body', () => {
    const line = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
      .filter((s) => !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(
        line,
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, root, extensions) => {
          const body: CheckpointBody =
            extensions.length > 0
              ? { origin, size, rootHash: Buffer.from(root), extensions }
              : { origin, size, rootHash: Buffer.from(root) };
          const text = formatCheckpoint(body);
          expect(parseCheckpoint(text)).toEqual(body);
          expect(formatCheckpoint(parseCheckpoint(text))).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });
});
