// ADR 0040: a side file's pages are written back during its bulk load. The write-backs run one
// at a time, at most one per interval, and the first failure is thrown by finish() as IO_ERROR
// naming the file and the errno, before the file can be published.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WriteBack } from '../../src/store/write-back.js';
import { LedgerStateError } from '../../src/errors.js';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  cleanups.splice(0).forEach((c) => c());
});

function file(): string {
  const t = tempDir('sl-write-back-');
  cleanups.push(t.cleanup);
  const f = path.join(t.dir, 'side.db');
  fs.writeFileSync(f, 'x');
  return f;
}

type Done = (err: NodeJS.ErrnoException | null) => void;

describe('WriteBack', () => {
  it('runs one write-back at a time and at most one per interval', async () => {
    const calls: Done[] = [];
    const wb = WriteBack.open(file(), { fdatasync: (_fd, done) => calls.push(done), minIntervalMs: 50 });
    wb.nudge();
    wb.nudge();
    expect(calls).toHaveLength(1); // one is running
    calls[0]!(null);
    await Promise.resolve();
    wb.nudge();
    expect(calls).toHaveLength(1); // the interval has not passed
    await new Promise((r) => setTimeout(r, 60));
    wb.nudge();
    expect(calls).toHaveLength(2);
    const finished = wb.finish();
    calls[1]!(null);
    await expect(finished).resolves.toBeUndefined();
    wb.nudge();
    expect(calls).toHaveLength(2); // finished: nothing more starts
  });

  it('start() ignores the interval but not a running write-back', async () => {
    const calls: Done[] = [];
    const wb = WriteBack.open(file(), { fdatasync: (_fd, done) => calls.push(done), minIntervalMs: 60_000 });
    wb.nudge();
    wb.start();
    expect(calls).toHaveLength(1);
    calls[0]!(null);
    await Promise.resolve();
    wb.nudge();
    expect(calls).toHaveLength(1);
    wb.start();
    expect(calls).toHaveLength(2);
    calls[1]!(null);
    await wb.finish();
  });

  it('a failed write-back: finish() throws IO_ERROR with the path and the errno, and no write-back starts after it', async () => {
    const f = file();
    const calls: Done[] = [];
    const wb = WriteBack.open(f, { fdatasync: (_fd, done) => calls.push(done), minIntervalMs: 0 });
    wb.nudge();
    calls[0]!(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync', errno: -5 }));
    await Promise.resolve();
    wb.nudge();
    expect(calls).toHaveLength(1);
    const e = await wb.finish().then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(LedgerStateError);
    expect(e).toMatchObject({ code: 'IO_ERROR', details: { path: f, errno: 'EIO', syscall: 'fdatasync' } });
  });

  it('abandon() waits for the running write-back and reports nothing', async () => {
    const calls: Done[] = [];
    const wb = WriteBack.open(file(), { fdatasync: (_fd, done) => calls.push(done), minIntervalMs: 0 });
    wb.nudge();
    let settled = false;
    const abandoned = wb.abandon().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    calls[0]!(Object.assign(new Error('EIO'), { code: 'EIO', syscall: 'fdatasync' }));
    await abandoned;
    expect(settled).toBe(true);
  });

  it('a missing file: IO_ERROR naming it', () => {
    const f = path.join(path.dirname(file()), 'absent.db');
    expect(() => WriteBack.open(f)).toThrow(expect.objectContaining({ code: 'IO_ERROR', details: expect.objectContaining({ path: f, errno: 'ENOENT' }) }));
  });

  it('a bulk replay into a missing ledger.db writes its side file back during the load, not only at COMMIT', async () => {
    const t = tempDir('sl-write-back-');
    cleanups.push(t.cleanup);
    const dir = path.join(t.dir, 'ledger');
    const ledger = await Ledger.open({ dir, create: true });
    for (let i = 0; i < 45_000; i += 5_000) await ledger.appendBatch(Array.from({ length: 5_000 }, (_, j) => ({ kind: 'k', payload: { i: i + j } })));
    await ledger.close();
    for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `ledger.db${s}`), { force: true });
    const synced: string[] = [];
    const real = fs.fdatasync;
    vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, done: Done) => {
      synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
      real(fd, done);
    }) as typeof fs.fdatasync);
    // Inline checks: progress comes every 20,000 rows (two nudges); the first starts a write-back.
    const report = await replayJsonlIntoSqlite({ dir }, { workers: 0 });
    expect(report.inserted).toBe(45_000);
    expect(synced.length).toBeGreaterThanOrEqual(1);
    expect(synced.every((p) => path.basename(p).startsWith('ledger.db.replay-'))).toBe(true);
  });
});
