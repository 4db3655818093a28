/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: ledger.json is created in place ('wx', write, fsync). A create that dies between the
 * open and the write leaves an empty (or partial) ledger.json, and every later open fails with
 * LEDGER_CORRUPT "ledger.json is not valid JSON": a crash during init bricks the folder. Fix:
 * write it to a temp file and rename it into place (writeFileDurably), or treat a ledger.json
 * that is empty while events.jsonl is empty as not yet created.
 * Found by the simulated crash suite (reopen-succeeds).
 */
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { SimulatedCrash } from '../../src/testing.js';
import { loggedIO } from './io-log.js';
import { cleanupFolders, freshFolder } from './bug-fixture.js';

afterEach(cleanupFolders);

it.each([0, 17])('a create that dies writing ledger.json (%i bytes written) can be opened again', async (kept) => {
  const dir = freshFolder();
  const dying = loggedIO(dir, (e) => (e.startsWith('write ledger.json') ? kept : undefined));
  await expect(Ledger.open({ dir, create: true, io: dying.io })).rejects.toBeInstanceOf(SimulatedCrash);

  const ledger = await Ledger.open({ dir, create: true });
  await ledger.append({ kind: 'k', payload: 1 });
  await ledger.close();
});
