/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: replayJsonlIntoSqlite mirrors JSONL lines that were never fsynced and commits them (the
 * same gap as reconcile-fsync.bug.test.ts, in the replay path: replay --rebuild after a crash).
 * A power cut can then leave ledger.db ahead of events.jsonl. The fix: fsync events.jsonl (a
 * read-only fd can be fsynced) before the first commit.
 * Found by the simulated crash suite (sqlite-within-durable-jsonl).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { cleanupFolders, freshFolder, writerDiedBeforeFsync } from './bug-fixture.js';

afterEach(() => {
  vi.restoreAllMocks();
  cleanupFolders();
});

it('replay fsyncs events.jsonl before it commits lines it read', async () => {
  const dir = freshFolder();
  await writerDiedBeforeFsync(dir);

  const synced: string[] = [];
  const record = (fd: number) => {
    try {
      synced.push(path.basename(fs.readlinkSync(`/proc/self/fd/${fd}`)));
    } catch {
      synced.push(`fd ${fd}`);
    }
  };
  const fdatasync = fs.fdatasyncSync;
  const fsync = fs.fsyncSync;
  vi.spyOn(fs, 'fdatasyncSync').mockImplementation((fd) => (record(fd), fdatasync(fd)));
  vi.spyOn(fs, 'fsyncSync').mockImplementation((fd) => (record(fd), fsync(fd)));
  const report = await replayJsonlIntoSqlite({ dir });
  expect(report.inserted).toBe(1);
  expect(synced).toContain('events.jsonl');
});
