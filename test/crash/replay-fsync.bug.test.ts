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
import { Ledger } from '../../src/ledger/ledger.js';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { SimulatedCrash } from '../../src/testing.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  cleanups.splice(0).forEach((c) => c());
});

it('replay fsyncs events.jsonl before it commits lines it read', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const dir = path.join(t.dir, 'l');
  let armed = false;
  const writer = await Ledger.open({ dir, create: true, crashHook: (p) => {
    if (armed && p === 'jsonl.written') throw new SimulatedCrash(p);
  } });
  await writer.append({ kind: 'k', payload: 0 });
  await writer.flush(); // committed: only the line of the dying append is left to replay
  armed = true;
  await expect(writer.append({ kind: 'k', payload: 1 })).rejects.toBeInstanceOf(SimulatedCrash);

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
