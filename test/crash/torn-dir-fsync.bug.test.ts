/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: moving a torn tail aside creates torn/ with mkdir and never fsyncs the ledger folder, then
 * truncates events.jsonl. fsync(torn/) makes the file inside torn/ durable, not torn/'s own entry
 * in the folder (POSIX fsync(2)): a power cut after the truncation can lose torn/ with the only
 * copy of the tail. The fix: fsync the ledger folder after creating torn/, before the truncation.
 * Found by the simulated crash suite (torn-moved-aside).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { loggedIO } from './io-log.js';
import { cleanupFolders, freshFolder, ledgerWithEvents } from './bug-fixture.js';

afterEach(cleanupFolders);

it('the folder entry of torn/ is fsynced before events.jsonl is truncated', async () => {
  const dir = freshFolder();
  await ledgerWithEvents(dir, 1);
  fs.appendFileSync(path.join(dir, 'events.jsonl'), '{"v":1,"seq":1,"id":"half');

  const { io, log } = loggedIO(dir);
  const reopened = await Ledger.open({ dir, io });
  expect(reopened.lastReconcile.tornTail).toBeDefined();
  await reopened.close();
  const created = log.findIndex((e) => e.startsWith('open torn/'));
  const truncated = log.findIndex((e) => e.startsWith('truncate events.jsonl'));
  expect(created).toBeGreaterThan(-1);
  expect(log.slice(created, truncated), log.join(' | ')).toContain('syncDir .');
});
