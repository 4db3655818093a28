/**
 * Setup shared by the *.bug.test.ts regression tests: a fresh ledger folder path removed after
 * the test, a ledger with events in it, ledger.db lost, a writer that died between its JSONL
 * write and its fsync. Each test file calls `afterEach(cleanupFolders)`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { SimulatedCrash } from '../../src/testing.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];

export function onCleanup(f: () => void): void {
  cleanups.push(f);
}

export function cleanupFolders(): void {
  cleanups.splice(0).forEach((c) => c());
}

/** A ledger folder path (not yet created) inside a temporary folder removed after the test. */
export function freshFolder(): string {
  const t = tempDir();
  onCleanup(t.cleanup);
  return path.join(t.dir, 'l');
}

/** Create a ledger at `dir` holding `count` events (payload 0, 1, …), closed. */
export async function ledgerWithEvents(dir: string, count: number): Promise<void> {
  const ledger = await Ledger.open({ dir, create: true });
  for (let i = 0; i < count; i++) await ledger.append({ kind: 'k', payload: i });
  await ledger.close();
}

/** ledger.db lost or removed for a rebuild: events.jsonl is all that is left. */
export function removeLedgerDb(dir: string): void {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `ledger.db${s}`), { force: true });
}

/**
 * One committed event, then a writer that dies after writing its second line and before its
 * fsync: the line is in the page cache only, and ledger.db lacks it.
 */
export async function writerDiedBeforeFsync(dir: string): Promise<void> {
  let armed = false;
  const writer = await Ledger.open({ dir, create: true, crashHook: (p) => {
    if (armed && p === 'jsonl.written') throw new SimulatedCrash(p);
  } });
  await writer.append({ kind: 'k', payload: 0 });
  await writer.flush(); // committed: only the line of the dying append is left to replay
  armed = true;
  await expect(writer.append({ kind: 'k', payload: 1 })).rejects.toBeInstanceOf(SimulatedCrash);
}
