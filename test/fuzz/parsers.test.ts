/**
 * Parser fuzzing (fuzz/lib/parsers.mjs): every reader of untrusted bytes returns a value or
 * throws a SealedLedgerError, never another error, never hangs, never writes; accepted input is
 * checked against an independent oracle (RFC 8785 via the canonicalize package, round trips).
 * The long run is `npm run fuzz -- --suite parsers`.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import {
  canonicalizeProperty, cliAppendProperty, jsonlReaderProperty, keyringProperty, noteProperty, parseEventLineProperty,
  signingKeyFileProperty, stdinEventsProperty, verifierKeyProperty,
} from '../../fuzz/lib/parsers.mjs';
import { assertDistBuilt } from '../crash/dist-check.js';
import { buildPristine, tamperRoot } from '../../fuzz/lib/tamper.mjs';
import { srcLibrary } from '../crash/src-library.js';

describe('parser fuzzing', () => {
  const root = tamperRoot();
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('parseEventLine', () => fc.assert(parseEventLineProperty(srcLibrary), { numRuns: 3000 }));
  it('canonicalize', () => fc.assert(canonicalizeProperty(srcLibrary), { numRuns: 2000 }));
  it('Keyring.fromJSON', () => fc.assert(keyringProperty(srcLibrary), { numRuns: 2000 }));
  it('readSigningKeyFile (never shows the seed)', () => fc.assert(signingKeyFileProperty(srcLibrary, root), { numRuns: 1000 }));
  it('parseNote, parseCheckpoint, verifyNote', () => fc.assert(noteProperty(srcLibrary), { numRuns: 2000 }));
  it('parseVerifierKey', () => fc.assert(verifierKeyProperty(srcLibrary), { numRuns: 2000 }));
  it('the CLI stdin parser (readInputLines)', () => fc.assert(stdinEventsProperty(srcLibrary), { numRuns: 1000 }));
  it('sealed-ledger append with arbitrary stdin, as a process (dist/)', async () => {
    assertDistBuilt();
    await fc.assert(cliAppendProperty(srcLibrary, root), { numRuns: 15 });
  }, 120_000);
  it('the JSONL reader, verify, parity, replay and open on arbitrary events.jsonl bytes', async () => {
    const p = await buildPristine(srcLibrary, root, 4);
    await fc.assert(jsonlReaderProperty(srcLibrary, p, root), { numRuns: 200 });
  }, 120_000);
});
