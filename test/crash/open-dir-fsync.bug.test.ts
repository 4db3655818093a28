/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: a create that dies after creating events.jsonl but before fsyncing the folder is never
 * completed: later opens find events.jsonl and skip the folder fsync, so its directory entry may
 * still not be durable while acknowledged events are appended to it; a power cut can then lose
 * the whole file. The fix: every writable open fsyncs the ledger folder (once, cheap).
 * Found by the simulated crash suite (acked-present after a power cut).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { SimulatedCrash } from '../../src/testing.js';
import { loggedIO } from './io-log.js';
import { cleanupFolders, freshFolder } from './bug-fixture.js';

afterEach(cleanupFolders);

it('the open after a create that died before its folder fsync makes events.jsonl durable', async () => {
  const dir = freshFolder();
  const dying = loggedIO(dir, (e) => (e === 'syncDir .' ? 0 : undefined));
  await expect(Ledger.open({ dir, create: true, io: dying.io })).rejects.toBeInstanceOf(SimulatedCrash);
  expect(fs.existsSync(path.join(dir, 'events.jsonl'))).toBe(true);

  const { io, log } = loggedIO(dir);
  const ledger = await Ledger.open({ dir, create: true, io });
  await ledger.append({ kind: 'k', payload: 'acknowledged' });
  await ledger.close();
  expect(log, log.join(' | ')).toContain('syncDir .');
});
