/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: two writers opening a ledger folder that has no ledger.db at the same moment (after
 * ledger.db was lost or removed for a rebuild) both create it and run the schema migration; one
 * fails with LEDGER_CORRUPT "schema migration ... failed" (cause: table "events" already exists).
 * The migration runs before the writer lock is taken. The fix: take the lock (BEGIN IMMEDIATE) around
 * the migration, or treat "already exists" as done and re-check.
 * Found by the kill suite (writers started together after damage 'no-db').
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

it('two concurrent opens of a folder without ledger.db both succeed', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const dir = path.join(t.dir, 'l');
  const ledger = await Ledger.open({ dir, create: true });
  await ledger.append({ kind: 'k', payload: 1 });
  await ledger.close();
  for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `ledger.db${s}`), { force: true });

  const opened = await Promise.allSettled([Ledger.open({ dir }), Ledger.open({ dir })]);
  for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
  expect(opened.map((o) => (o.status === 'fulfilled' ? 'ok' : `${(o.reason as { code?: string }).code}: ${(o.reason as Error).cause}`))).toEqual(['ok', 'ok']);
});
