/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: reconcile mirrors JSONL lines that were never fsynced and commits them. A writer that died
 * between its write and its fsync leaves its line in the page cache only; the next open replays
 * it into ledger.db and commits. A power cut before the kernel writes the line back loses it from
 * events.jsonl while ledger.db (once its WAL reaches the disk) keeps the row: SQLite ahead of
 * JSONL, and open refuses with SQLITE_AHEAD from then on. The fix: fsync events.jsonl before
 * committing replayed lines (one fsync per open that found drift; healInLock shares the path).
 * Found by the simulated crash suite (sqlite-within-durable-jsonl).
 */
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { loggedIO } from './io-log.js';
import { cleanupFolders, freshFolder, writerDiedBeforeFsync } from './bug-fixture.js';

afterEach(cleanupFolders);

it('open fsyncs events.jsonl before it commits lines it replayed', async () => {
  const dir = freshFolder();
  await writerDiedBeforeFsync(dir);

  const { io, log, hook } = loggedIO(dir);
  const reopened = await Ledger.open({ dir, io, crashHook: hook });
  expect(reopened.lastReconcile.replayed).toBe(1);
  await reopened.close();
  const committed = log.indexOf('@reconcile.committed');
  expect(committed).toBeGreaterThan(0);
  expect(log.slice(0, committed), log.join(' | ')).toContain('sync events.jsonl');
});
