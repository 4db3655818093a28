/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: verifyEventSetParity compares only the `line` column, and open's tamper check only `line`
 * and `offset`. A hand edit of any other column of an events row (id, kind, actor, at, hash, kid)
 * is reported by nobody, and open even clears its projection_tamper record: queries by kind or
 * actor answer from the edit, and an edited `hash` is the Merkle leaf proofs and checkpoints are
 * built from. An edited `offset` is refused by open but not reported by parity. The fix: parity and
 * healTamper compare every column with its value derived from the JSONL line.
 * Found by the tamper probes (fuzz/lib/tamper.mjs, sqliteProbes over EVENT_COLUMNS).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { buildPristine, sqliteProbes, tamperRoot, type Pristine } from '../../fuzz/lib/tamper.mjs';
import { srcLibrary } from './src-library.js';

describe('a hand edit of any events column is detected', () => {
  const root = tamperRoot();
  let pristine: Pristine;
  beforeAll(async () => {
    pristine = await buildPristine(srcLibrary, root, 5);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each(['id', 'kind', 'actor', 'at', 'hash', 'kid', 'offset'])('events.%s', async (column) => {
    await sqliteProbes(srcLibrary, pristine, 2, [column]);
  });
});
