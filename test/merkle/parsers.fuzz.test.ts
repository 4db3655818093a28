/**
 * Parsers face text from outside: whatever they are given, they either succeed or throw a
 * SealedLedgerError with a stable code, never a TypeError, RangeError or the like.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealedLedgerError } from '../../src/errors.js';
import { parseCheckpoint } from '../../src/merkle/checkpoint.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { parseNote, verifyNote } from '../../src/merkle/signed-note.js';
import { parseVerifierKey } from '../../src/merkle/verifier-key.js';
import { signedNotes } from './vectors.js';

const sum = signedNotes.sumdbCheckpoint;
const keys = [sum.logVerifierKey, ...sum.cosignerVerifierKeys];

function onlyLedgerErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!isSealedLedgerError(e)) throw e;
    expect(typeof e.code).toBe('string');
  }
}

function everyParser(input: string): void {
  onlyLedgerErrors(() => parseNote(input));
  onlyLedgerErrors(() => parseCheckpoint(input));
  onlyLedgerErrors(() => parseVerifierKey(input));
  onlyLedgerErrors(() => verifyNote(input, keys));
  onlyLedgerErrors(() => verifyCheckpoint(input, keys, { origin: sum.origin }));
}

// Any UTF-16 code unit, lone surrogates included, plus the characters notes are made of.
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\n', '\u2014', ' ', '+', '=', '/', '0', 'A', 'a'),
);
const anyString = fc.string({ unit: codeUnit, maxLength: 200 });

/** A valid note with a few random edits: deletions, insertions, duplications. */
const mutatedNote = fc
  .tuple(
    fc.constantFrom(
      sum.note,
      sum.note + sum.cosignatureLines.join(''),
      signedNotes.goSumdbNote.signedNote,
      signedNotes.c2spExamples.checkpoint,
      sum.logVerifierKey,
    ),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), anyString.map((s) => s.slice(0, 6))), { minLength: 1, maxLength: 4 }),
  )
  .map(([base, edits]) => {
    let s = base;
    for (const [at, del, ins] of edits) {
      const i = at % (s.length + 1);
      s = s.slice(0, i) + ins + s.slice(i + del);
    }
    return s;
  });

describe('parsers on arbitrary input', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(anyString, everyParser), { numRuns: 3000 });
  });

  it('mutated valid notes, checkpoints and keys', () => {
    fc.assert(fc.property(mutatedNote, everyParser), { numRuns: 3000 });
  });

  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        onlyLedgerErrors(() => parseNote(bytes));
        onlyLedgerErrors(() => verifyCheckpoint(bytes, keys));
      }),
      { numRuns: 2000 },
    );
  });

  it('inputs of the wrong type', () => {
    for (const bad of [undefined, null, 42, {}, [], Symbol.iterator] as unknown[]) {
      onlyLedgerErrors(() => parseNote(bad as string));
      onlyLedgerErrors(() => parseCheckpoint(bad as string));
      onlyLedgerErrors(() => parseVerifierKey(bad as string));
    }
  });
});
