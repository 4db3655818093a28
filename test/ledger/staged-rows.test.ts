// spec §13.8 step 2, ADR 0043: rows staged before the fsync. While the signing threads sign a
// large request, the appending thread inserts the rows of the chunks already signed into its open
// transaction. Nothing staged is committed (or seen by another connection) before its line is
// fsynced, nothing staged is visible through the writing Ledger, and nothing of a request that
// fails, of a flush that fails, or of a flush that has to wait with the event loop running stays.
// The threads run the compiled dist/ledger/sign-worker.js (`npm test` builds first).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, writerOf } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { payloadRule } from '../../src/policy/rules.js';
import type { EventInput } from '../../src/format/event.js';
import type { CrashPoint } from '../../src/ledger/crash-points.js';
import { NODE_FILE_IO, type FileIO } from '../../src/store/file-io.js';
import { cleanupAll, fresh } from './ledger-helpers.js';

const workerUrl = new URL('../../dist/ledger/sign-worker.js', import.meta.url);
const key = signingKeyFromSeed(Buffer.alloc(32, 9), 'staged');
const now = () => new Date('2026-01-01T00:00:00.000Z');
const policy = [payloadRule('no-4', 'flag', (p) => ((p as { v: number }).v === 4 ? 'v is 4' : null), 'reject')];
const idOf = (n: number) => `0190a0b0-0000-7000-8000-${String(n).padStart(12, '0')}`;
const batchOf = (n: number, from: number): EventInput[] =>
  Array.from({ length: n }, (_, i) => ({ id: idOf(from + i), at: '2026-01-01T00:00:00.000Z', kind: 'ok', payload: { v: from + i } }));

beforeAll(() => {
  if (!fs.existsSync(workerUrl)) throw new Error(`${workerUrl.pathname} is missing: run npm run build first`);
});
afterEach(cleanupAll);

/** Crash-hook calls by point (the hook only observes here: it never throws). */
function pointCounter(onPoint: (p: CrashPoint) => void = () => undefined) {
  const counts = new Map<CrashPoint, number>();
  return { counts, hook: (p: CrashPoint) => (counts.set(p, (counts.get(p) ?? 0) + 1), onPoint(p)) };
}

const countRows = (dir: string) => {
  const db = new Database(path.join(dir, 'ledger.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/**
 * A signing thread that claims the first chunk it can of each job and holds it until every other
 * chunk is signed, then `holdMs` longer, before signing it: the appending thread, with nothing
 * else left to do, blocks for it and gives up after its 20 ms, however fast or slow the host
 * (sign-chunks.ts's layout: ctl words SEALED = 0, NEXT = 1, DONE = 2, with 1 << 30 in SEALED once
 * sealed; one flag word per chunk in `signed`).
 */
function slowThread(dir: string, holdMs: number): URL {
  const dist = new URL('../../dist/', import.meta.url).href;
  const file = path.join(dir, '..', `slow-signer-${process.pid}.mjs`);
  fs.writeFileSync(
    file,
    `import { parentPort } from 'node:worker_threads';
    import { JobView } from '${dist}ledger/sign-chunks.js';
    import { eventSignatureMessage } from '${dist}crypto/domain.js';
    import { signWithKeyObject } from '${dist}crypto/ed25519.js';
    const keys = new Map();
    parentPort.on('message', (m) => {
      if (m.type === 'key') return void keys.set(m.keyId, m.key);
      const key = keys.get(m.keyId);
      const view = new JobView(m.shared);
      for (;;) {
        const sealed = Atomics.load(view.ctl, 0);
        const next = Atomics.load(view.ctl, 1);
        if (next < (sealed & ~(1 << 30)) && Atomics.compareExchange(view.ctl, 1, next, next + 1) === next) {
          for (;;) {
            const s = Atomics.load(view.ctl, 0);
            const done = Atomics.load(view.ctl, 2);
            if ((s & (1 << 30)) !== 0 && done >= (s & ~(1 << 30)) - 1) break;
            Atomics.wait(view.ctl, 2, done, 50);
          }
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
          for (let i = next * 16; i < next * 16 + 16; i++) view.sigs.set(signWithKeyObject(key, eventSignatureMessage(view.hashes.subarray(i * 32, i * 32 + 32))), i * 64);
          const flags = new Int32Array(m.shared.signed);
          Atomics.store(flags, next, 1);
          Atomics.notify(flags, next);
          Atomics.add(view.ctl, 2, 1);
          Atomics.notify(view.ctl, 2);
          return parentPort.postMessage({ id: m.id, chunks: 1 + view.claim(key, 0) });
        }
        if ((sealed & (1 << 30)) !== 0) return parentPort.postMessage({ id: m.id, chunks: 0 });
        Atomics.wait(view.ctl, 0, sealed, 50);
      }
    });`,
  );
  return new URL(`file://${file}`);
}

describe('rows staged while the threads sign (spec §13.8, ADR 0043)', () => {
  it('are in the writer transaction before the fsync, invisible to other connections until the commit', async () => {
    const dir = fresh();
    let seen: { own: boolean; others: number } | undefined;
    let ledger: Ledger | undefined;
    const { counts, hook } = pointCounter((p) => {
      // The batch's last seq is 1,000 + 999: at 'jsonl.written' its line is written, not yet fsynced.
      if (p === 'jsonl.written' && ledger && ledger.headInfo().seq === 999) {
        seen = { own: writerOf(ledger).files.projection.bySeq(1999) !== undefined, others: countRows(dir) };
      }
    });
    ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: workerUrl, crashHook: hook, projectionLagMs: 0 });
    await ledger.appendBatch(batchOf(1000, 0)); // starts the thread
    const stagedBefore = counts.get('sqlite.staged') ?? 0;
    await ledger.appendBatch(batchOf(1000, 1000));
    expect(seen).toEqual({ own: true, others: 1000 });
    expect(counts.get('sqlite.staged')! - stagedBefore).toBeGreaterThan(0);
    expect(countRows(dir)).toBe(2000); // projectionLagMs 0: committed before acknowledged
    await ledger.close();
    expect((await verifyLedger({ dir }, { workers: 0 })).ok).toBe(true);
  });

  it('a request rejected by the policy in a later chunk takes its staged rows out; the others of its flush keep theirs', async () => {
    const dir = fresh();
    const { counts, hook } = pointCounter();
    const ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: workerUrl, crashHook: hook, policy, now });
    await ledger.appendBatch(batchOf(100, 0)); // starts the thread
    const bad = batchOf(300, 1000);
    bad[250] = { ...bad[250]!, kind: 'flag', payload: { v: 4 } }; // chunk 15 of 19
    const small = batchOf(5, 3000); // signed inline, staged with the request after it
    const results = await Promise.allSettled([ledger.appendBatch(small), ledger.appendBatch(bad), ledger.appendBatch(batchOf(200, 2000))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'POLICY_REJECTED' });
    expect(counts.get('sqlite.staged')).toBeGreaterThan(0);
    expect(ledger.headInfo().seq).toBe(304);
    await ledger.close();
    expect(countRows(dir)).toBe(305);
    const report = await verifyLedger({ dir }, { workers: 0 });
    expect(report.ok, JSON.stringify(report.problems?.slice(0, 3))).toBe(true);
  });

  it('a failed fsync after staging: the flush fails, nothing of it stays in either file, and a reopen goes on from the same head', async () => {
    const dir = fresh();
    let failSync = false;
    const io: FileIO = {
      ...NODE_FILE_IO,
      sync(fd: number) {
        if (failSync) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5 });
        NODE_FILE_IO.sync(fd);
      },
    };
    let armed = false;
    const { counts, hook } = pointCounter((p) => {
      if (p === 'jsonl.written' && armed) failSync = true;
    });
    let ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: workerUrl, crashHook: hook, io });
    await ledger.appendBatch(batchOf(100, 0));
    await ledger.flush();
    const before = fs.readFileSync(path.join(dir, 'events.jsonl'));
    const staged = counts.get('sqlite.staged') ?? 0;
    armed = true;
    await expect(ledger.appendBatch(batchOf(500, 100))).rejects.toThrow(/EIO/);
    expect(counts.get('sqlite.staged')!).toBeGreaterThan(staged);
    armed = false;
    failSync = false;
    await expect(ledger.append({ kind: 'k', payload: 1 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await ledger.close();
    expect(fs.readFileSync(path.join(dir, 'events.jsonl'))).toEqual(before);
    expect(countRows(dir)).toBe(100);
    ledger = await Ledger.open({ dir, signer: key, signingThreads: 1, signWorkerUrl: workerUrl });
    expect(ledger.headInfo().seq).toBe(99);
    await ledger.appendBatch(batchOf(500, 100));
    await ledger.close();
    expect((await verifyLedger({ dir }, { workers: 0 })).ok).toBe(true);
  });

  it('a failing SQLite insert while staging fails the flush before anything is written and refuses writes until reopened', async () => {
    const dir = fresh();
    let ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: workerUrl });
    await ledger.appendBatch(batchOf(100, 0));
    await ledger.flush();
    const db = new Database(path.join(dir, 'ledger.db'));
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.seq = 150 BEGIN SELECT RAISE(ABORT, 'injected refusal'); END");
    db.close();
    const before = fs.readFileSync(path.join(dir, 'events.jsonl'));
    await expect(ledger.appendBatch(batchOf(300, 100))).rejects.toThrow(/injected refusal/);
    expect(fs.readFileSync(path.join(dir, 'events.jsonl'))).toEqual(before); // staged, never written
    await expect(ledger.append({ kind: 'k', payload: 1 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await ledger.close();
    const fix = new Database(path.join(dir, 'ledger.db'));
    fix.exec('DROP TRIGGER refuse');
    fix.close();
    ledger = await Ledger.open({ dir, signer: key, signingThreads: 1, signWorkerUrl: workerUrl });
    expect(ledger.headInfo().seq).toBe(99);
    await ledger.appendBatch(batchOf(300, 100));
    await ledger.close();
    expect(countRows(dir)).toBe(400);
    expect((await verifyLedger({ dir }, { workers: 0 })).ok).toBe(true);
  });

  it('a chunk a thread holds past the wait: the staged rows go, the flush waits with its event loop running, and no read sees an unacknowledged event', async () => {
    const dir = fresh();
    const slow = slowThread(dir, 300);
    try {
      const { counts, hook } = pointCounter();
      const ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: slow, crashHook: hook, now });
      await ledger.appendBatch(batchOf(100, 0)); // starts the thread
      const staged = counts.get('sqlite.staged') ?? 0;
      // A read loop that runs whenever the event loop does while the flush is in progress.
      let polls = 0;
      let leaked: number | undefined;
      let running = true;
      const poll = async () => {
        while (running) {
          const next = ledger.headInfo().seq + 1;
          if (ledger.get(next) !== undefined || writerOf(ledger).files.projection.bySeq(next) !== undefined) leaked ??= next;
          polls++;
          await new Promise((r) => setImmediate(r));
        }
      };
      const polling = poll();
      // Two requests in one flush: the small one's rows are staged with the large one's, then taken
      // out. The idle thread claims a chunk while 5,000 events are sealed (or while the appending
      // thread signs) and holds it past the appending thread's wait.
      const [a, b] = await Promise.all([ledger.appendBatch(batchOf(5, 1000)), ledger.appendBatch(batchOf(5000, 2000))]);
      running = false;
      await polling;
      expect(counts.get('sqlite.staged')! - staged).toBeGreaterThan(0); // the small request's rows at least
      expect(polls).toBeGreaterThan(2); // the flush waited with the event loop running
      expect(leaked).toBeUndefined();
      expect([a.at(-1)!.seq, b.at(-1)!.seq]).toEqual([104, 5104]);
      await ledger.close();
      expect(countRows(dir)).toBe(5105);
      const report = await verifyLedger({ dir }, { workers: 0 });
      expect(report.ok, JSON.stringify(report.problems?.slice(0, 3))).toBe(true);
      // Byte for byte what inline signing writes.
      const inlineDir = fresh();
      const inline = await Ledger.open({ dir: inlineDir, create: true, signer: key, signingThreads: 0, now });
      await inline.appendBatch(batchOf(100, 0));
      await Promise.all([inline.appendBatch(batchOf(5, 1000)), inline.appendBatch(batchOf(5000, 2000))]);
      await inline.close();
      expect(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(inlineDir, 'events.jsonl'), 'utf8'));
    } finally {
      fs.rmSync(slow.pathname, { force: true });
    }
  });
});
