// spec §13.9: the projection on a worker thread. Acknowledged events are readable through the
// writing Ledger before the worker commits them, worker mode writes exactly what inline mode
// writes, a dead worker poisons the ledger and the reopen heals, and the lag stays bounded.
// The worker runs from dist/ (npm test builds first).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Ledger, type LedgerOptions } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { projectionWorkerOf, simulateProcessDeath } from '../../src/testing.js';
import { appendUntilRowsSeen, cleanupAll, fresh, jsonlLines, sqliteRows } from './ledger-helpers.js';
import type { EventInput } from '../../src/format/event.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { canonicalize } from '../../src/format/canonical.js';

beforeAll(() => {
  if (!fs.existsSync(new URL('../../dist/ledger/projection-worker.js', import.meta.url))) throw new Error('run `npm run build` first (npm test does)');
});
afterEach(cleanupAll);

const open = (dir: string, extra: Partial<LedgerOptions> = {}) => Ledger.open({ dir, create: true, projectionWorker: true, ...extra });

/** Everything ledger.db holds that the projection writes: rows, Merkle nodes, the watermark. */
function projectionState(dir: string) {
  const db = new Database(path.join(dir, 'ledger.db'), { readonly: true });
  try {
    return {
      events: db.prepare('SELECT seq, id, at, kind, actor, hash, kid, line, offset FROM events ORDER BY seq').all(),
      nodes: db.prepare("SELECT level, idx, hex(hash) AS h FROM merkle_nodes ORDER BY level, idx").all(),
      watermark: db.prepare('SELECT seq, hash, offset, line_start FROM watermark').all(),
    };
  } finally {
    db.close();
  }
}

describe('projection worker: reads through the writing Ledger (spec §13.9)', () => {
  it('every read API sees an event right after its append is acknowledged', async () => {
    const dir = fresh();
    // A lag bound far above what the test appends: nothing forces the worker to have committed.
    const ledger = await open(dir, { projectionWorker: { maxLagEvents: 1_000_000, maxLagMs: 60_000 } });
    const w = projectionWorkerOf(ledger)!;
    expect(w).toBeDefined();
    for (let round = 0; round < 3; round++) {
      const batch = await ledger.appendBatch(Array.from({ length: 200 }, (_, i) => ({ kind: 'k', actor: `a${i % 3}`, payload: { round, i } })));
      const e = await ledger.append({ kind: 'last', id: `id-${round}`, payload: { round } });
      const seq = e.seq;
      expect(ledger.get(seq)).toEqual(e);
      expect(ledger.get(batch[7]!.seq)).toEqual(batch[7]);
      expect(ledger.eventById(e.id)).toEqual(e);
      expect([...ledger.events({ kind: 'last' })].map((x) => x.seq).at(-1)).toBe(seq);
      expect([...ledger.events({ fromSeq: seq - 3 })]).toHaveLength(4);
      const viaQuery = await ledger.query.selectFrom('events').select(['seq']).where('seq', '=', seq).executeTakeFirst();
      expect(viaQuery?.seq).toBe(seq);
      const incl = ledger.proveInclusion(seq);
      expect(incl.treeSize).toBe(seq + 1);
      expect(ledger.rootHash()).toBe(incl.rootHash);
      expect(ledger.proveConsistency(1).toSize ?? seq + 1).toBe(seq + 1);
      // Idempotent retry by id, and expectedSeq, against an event the worker may not have committed.
      await ledger.append({ kind: 'x', id: `p-${round}`, payload: {} });
      const again = await ledger.append({ kind: 'x', id: `p-${round}`, payload: {} });
      expect(again.seq).toBe(seq + 1);
      await expect(ledger.append({ kind: 'y', id: `p-${round}`, payload: {} })).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
      await expect(ledger.append({ kind: 'x', payload: {} }, { expectedSeq: seq })).rejects.toMatchObject({ code: 'SEQ_CONFLICT' });
      const next = await ledger.append({ kind: 'x', payload: {} }, { expectedSeq: seq + 1 });
      expect(next.seq).toBe(seq + 2);
    }
    await ledger.close();
    expect(sqliteRows(dir)).toHaveLength(jsonlLines(dir).length);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'ledger.json'), 'utf8')).v).toBe(2);
  });

  it('checkpoint() in worker mode covers every acknowledged event', async () => {
    const dir = fresh();
    const key = generateSigningKey({ name: 'pw-cp' });
    const ledger = await open(dir, { signer: key, projectionWorker: { maxLagEvents: 1_000_000, maxLagMs: 60_000 } });
    await ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ kind: 'k', payload: { i } })));
    const note = await ledger.checkpoint();
    expect(note).toContain('\n300\n');
    expect(ledger.checkpoints().at(-1)?.size).toBe(300);
    await ledger.close();
  });
});

/** A request mix: single appends, batches, retries by id, conflicts on expectedSeq. */
const requestMix = fc.array(
  fc.oneof(
    // Text beyond ASCII: the worker cuts lines out of the written bytes by their UTF-8 offsets.
    fc.record({ t: fc.constant('one' as const), kind: fc.constantFrom('a', 'b', 'é', '漢'), n: fc.nat(1000), s: fc.string({ unit: 'grapheme', maxLength: 12 }) }),
    fc.record({ t: fc.constant('batch' as const), size: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ t: fc.constant('retry' as const), back: fc.nat(20) }),
    fc.record({ t: fc.constant('expect' as const), off: fc.integer({ min: -1, max: 1 }) }),
  ),
  { minLength: 1, maxLength: 30 },
);

type Req = typeof requestMix extends fc.Arbitrary<infer T> ? T : never;

/** Run `reqs` concurrently in groups of 4 (so group commits vary); deterministic ids and clock. */
async function runMix(dir: string, reqs: Req, worker: boolean): Promise<string[]> {
  let tick = 0;
  const now = () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000);
  const ledger = await Ledger.open({ dir, create: true, origin: 'test.example/pw', now, projectionWorker: worker ? { maxLagEvents: 16, maxLagMs: 50 } : false });
  const outcomes: string[] = [];
  let n = 0;
  const ids: string[] = [];
  const input = (kind: string, payload: unknown): EventInput => {
    const id = `e-${n++}`;
    ids.push(id);
    return { kind, id, at: now().toISOString(), payload } as EventInput;
  };
  for (let i = 0; i < reqs.length; i += 4) {
    const group = reqs.slice(i, i + 4).map((r) => {
      const head = ledger.headInfo().seq;
      switch (r.t) {
        case 'one':
          return ledger.append(input(r.kind, { n: r.n, s: r.s }));
        case 'batch':
          return ledger.appendBatch(Array.from({ length: r.size }, (_, j) => input('b', { j, s: '\u00fc\u{1F600}'.repeat(j % 3) })));
        case 'retry': {
          const id = ids[Math.max(0, ids.length - 1 - r.back)];
          const prior = id === undefined ? undefined : ledger.eventById(id);
          return prior ? ledger.append({ kind: prior.kind, id: prior.id, at: prior.at, payload: prior.payload } as EventInput) : ledger.append(input('r', {}));
        }
        case 'expect':
          return ledger.append(input('x', {}), { expectedSeq: head + r.off });
      }
    });
    for (const s of await Promise.allSettled(group)) {
      // Canonical form: a retried event may come back from the in-memory window (worker) or from
      // ledger.db (inline) with its members in another order; the values must be equal.
      outcomes.push(s.status === 'fulfilled' ? canonicalize(s.value) : (s.reason as { code?: string }).code ?? 'error');
    }
  }
  await ledger.close();
  return outcomes;
}

describe('projection worker: same bytes and rows as inline (spec §13.9)', () => {
  it('worker mode and inline mode write byte-identical events.jsonl and identical ledger.db rows and tree', async () => {
    const seed = Date.now();
    // PW_SEED replays a printed seed.
    console.log(`projection-worker parity property seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(requestMix, async (reqs) => {
        const a = fresh();
        const b = fresh();
        const inline = await runMix(a, reqs, false);
        const worker = await runMix(b, reqs, true);
        expect(worker).toEqual(inline);
        expect(fs.readFileSync(path.join(b, 'events.jsonl'))).toEqual(fs.readFileSync(path.join(a, 'events.jsonl')));
        expect(projectionState(b)).toEqual(projectionState(a));
      }),
      { numRuns: 15, seed: Number(process.env.PW_SEED ?? seed) },
    );
  });
});

describe('projection worker: failure and back-pressure (spec §13.9)', () => {
  it('a terminated worker poisons the ledger; the reopen heals ledger.db from events.jsonl', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionWorker: { maxLagEvents: 1_000_000, maxLagMs: 60_000 } });
    const acked = await ledger.appendBatch(Array.from({ length: 500 }, (_, i) => ({ kind: 'k', payload: { i } })));
    await projectionWorkerOf(ledger)!.terminate();
    await new Promise((r) => setTimeout(r, 50)); // the exit event
    await expect(ledger.append({ kind: 'k', payload: {} })).rejects.toMatchObject({ code: 'IO_ERROR' });
    // A read needs the worker to have committed the head: it answers from ledger.db if it has,
    // and fails typed (never stale) if it died first.
    let read: unknown;
    try {
      read = ledger.get(0);
    } catch (e) {
      read = e;
    }
    if (projectionWorkerOf(ledger)!.acked >= 499) expect(read).toEqual(acked[0]);
    else expect(read).toMatchObject({ code: 'IO_ERROR' });
    // It used to wait 30 s, blocking the event loop, for a dead thread to close its connection.
    const started = Date.now();
    await ledger.close().catch((e) => expect(e).toMatchObject({ code: 'IO_ERROR' }));
    expect(Date.now() - started).toBeLessThan(5_000);
    const reopened = await Ledger.open({ dir });
    expect(reopened.headInfo().seq).toBe(acked.at(-1)!.seq);
    expect(sqliteRows(dir).length).toBe(500);
    expect(reopened.get(499)).toEqual(acked[499]);
    await reopened.close();
  });

  it('a failed worker still holding its connection is stopped at close without delay; the reopen heals', async () => {
    const dir = fresh();
    const ledger = await open(dir);
    await ledger.append({ kind: 'k', payload: { i: 0 } });
    await ledger.flush();
    // Another connection takes the worker's table away: its next insert fails, and the thread,
    // still alive with its connection open, reports the failure.
    const db = new Database(path.join(dir, 'ledger.db'));
    db.exec('DROP TABLE merkle_nodes');
    db.close();
    await ledger.append({ kind: 'k', payload: { i: 1 } }).catch(() => undefined);
    await expect(ledger.flush()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const started = Date.now();
    await ledger.close().catch((e) => expect(e).toMatchObject({ code: 'IO_ERROR' }));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the death of a closed Ledger leaves the thread it handed on alone (the next Ledger reuses it)', async () => {
    const a = await open(fresh());
    await a.append({ kind: 'k', payload: 1 });
    await a.close(); // its thread is kept for the next open in this process
    const dirB = fresh();
    const b = await open(dirB);
    await b.append({ kind: 'k', payload: 1 });
    simulateProcessDeath(a); // it used to close b's connection and terminate b's thread
    await b.appendBatch(Array.from({ length: 50 }, (_, i) => ({ kind: 'k', payload: { i } })));
    await b.flush();
    expect(sqliteRows(dirB).length).toBe(51);
    await b.close();
  });

  it('appends wait while the worker lags by more than maxLagEvents', async () => {
    const dir = fresh();
    const bound = 50;
    const ledger = await open(dir, { projectionWorker: { maxLagEvents: bound, maxLagMs: 60_000 } });
    const w = projectionWorkerOf(ledger)!;
    let worst = 0;
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      all.push(ledger.append({ kind: 'k', payload: { i } }).then(() => (worst = Math.max(worst, w.lag))));
      if (i % 40 === 0) all.push(ledger.appendBatch(Array.from({ length: 30 }, (_, j) => ({ kind: 'b', payload: { j } }))).then(() => (worst = Math.max(worst, w.lag))));
    }
    await Promise.all(all);
    expect(worst).toBeLessThanOrEqual(bound);
    await ledger.close();
    expect(sqliteRows(dir)).toHaveLength(400 + 10 * 30);
  });

  it('projectionLagMs: 0 acknowledges only what the worker committed', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionLagMs: 0 });
    const w = projectionWorkerOf(ledger)!;
    for (let i = 0; i < 20; i++) {
      const e = await ledger.append({ kind: 'k', payload: { i } });
      expect(w.acked).toBeGreaterThanOrEqual(e.seq);
    }
    await ledger.close();
  });

  it('rejects a bad bound', async () => {
    await expect(open(fresh(), { projectionWorker: { maxLagEvents: -1 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('projection worker: the writer lock across processes (spec §13.9)', () => {
  const children = path.join(path.dirname(new URL(import.meta.url).pathname), 'children');
  function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(children, 'writer.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => resolve({ code, out, err }));
    });
  }

  it('worker-mode and inline writer processes exclude each other: one contiguous, valid ledger', async () => {
    const dir = fresh();
    await (await Ledger.open({ dir, create: true })).close();
    const results = await Promise.all([
      run([dir, 'w0', '200', '1', 'worker']),
      run([dir, 'w1', '200', '1', 'inline']),
      run([dir, 'w2', '400', '25', 'worker']),
      run([dir, 'w3', '400', '7', 'inline']),
    ]);
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    const acked = results.flatMap((r) => r.out.trim().split('\n')).map((l) => Number(l.split(' ')[1]));
    expect(acked).toHaveLength(1200);
    expect(new Set(acked).size).toBe(1200);
    const lines = jsonlLines(dir);
    expect(lines).toHaveLength(1200);
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(lines);
    const report = await verifyLedger({ dir });
    expect(report.ok, JSON.stringify(report).slice(0, 500)).toBe(true);
  });
});

describe('projection worker: heals in the lock (spec §13.9)', () => {
  it('after another writer appended, checkpoint() heals and reads see the other writer\'s events', async () => {
    const dir = fresh();
    const key = generateSigningKey({ name: 'pw-heal' });
    const a = await open(dir, { signer: key });
    await a.append({ kind: 'k', payload: 1 });
    await a.flush();
    const b = await Ledger.open({ dir, signer: key, projectionWorker: false });
    await b.appendBatch([{ kind: 'other', payload: 1 }, { kind: 'other', payload: 2 }]);
    await b.close();
    await a.checkpoint(); // withLock: heals the two events in
    expect(a.headInfo().seq).toBe(2);
    expect(a.get(2)?.kind).toBe('other');
    const next = await a.append({ kind: 'k', payload: 2 });
    expect(next.seq).toBe(3);
    expect(a.get(3)).toEqual(next);
    await a.close();
    expect(sqliteRows(dir)).toHaveLength(4);
  });
});

describe('projection worker: replay takes the same lock (spec §13.9)', () => {
  it('replay waits for lock.db: it never writes ledger.db between two worker commits of a live writer', async () => {
    const { replayJsonlIntoSqlite } = await import('../../src/ledger/replay.js');
    const dir = fresh();
    const ledger = await open(dir);
    await ledger.appendBatch([{ kind: 'k', actor: 'a', payload: { n: 1 } }]);
    await ledger.close();
    // Another writer's lock.db held, as a worker-mode writer holds it while its worker lags.
    const holder = new Database(path.join(dir, 'lock.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      await expect(replayJsonlIntoSqlite({ dir }, { lockTimeoutMs: 150 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const report = await replayJsonlIntoSqlite({ dir }, { lockTimeoutMs: 2000 });
    expect(report.errors).toEqual([]);
  });
});

/** True when another connection can take lock.db now: no writer holds the folder's lock. */
function lockDbFree(dir: string): boolean {
  const db = new Database(path.join(dir, 'lock.db'));
  try {
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw e;
    }
    db.exec('ROLLBACK');
    return true;
  } finally {
    db.close();
  }
}

const turn = () => new Promise((r) => setImmediate(r));

describe('projection worker: lock.db is held while lines are in flight (spec §13.9)', () => {
  // Found by the simulated-crash suite: a second writer took lock.db after the worker committed
  // seq 0 while seq 1 (handed over meanwhile) was not committed, healed seq 1's row into
  // ledger.db, and the worker's insert of it then failed (UNIQUE constraint failed: events.seq).
  it('a flush that ran to its end while the release waited for the worker keeps lock.db held', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionWorker: { maxLagEvents: 1000, maxLagMs: 60_000 } });
    const w = projectionWorkerOf(ledger)!;
    const first = w.transactions + 1;
    w.holdCommitsFrom(first);
    await ledger.append({ kind: 'k', payload: 0 }); // acknowledged; the worker holds its commit
    w.waitHeld(first, 5000);
    await turn();
    await turn(); // the release that follows the drained queue now waits for seq 0
    expect(lockDbFree(dir)).toBe(false);
    await ledger.append({ kind: 'k', payload: 1 }); // a whole flush under the same lock.db
    await turn();
    await turn();
    w.holdCommitsFrom(first + 1); // seq 0 commits; the transaction of seq 1 is held
    w.waitHeld(first + 1, 5000);
    while (w.acked < 0) await turn(); // the ack of seq 0 reached this thread
    await turn();
    await turn();
    expect(w.lag).toBe(1);
    expect(lockDbFree(dir), 'lock.db was released with seq 1 uncommitted').toBe(false);
    w.holdCommitsFrom(undefined);
    await ledger.flush();
    expect(lockDbFree(dir)).toBe(true);
    await ledger.close();
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
  });

  it('the first flush after checkpoint() takes lock.db again (checkpoint released it)', async () => {
    const dir = fresh();
    const key = generateSigningKey({ name: 'pw-lock' });
    const atSealed: boolean[] = [];
    const ledger = await open(dir, { signer: key, crashHook: (p) => void (p === 'append.sealed' && atSealed.push(lockDbFree(dir))) });
    // Queued behind the append, checkpoint() runs while lock.db is still held for the append.
    const [, note] = await Promise.all([ledger.append({ kind: 'k', payload: 0 }), ledger.checkpoint()]);
    expect(note).toContain('\n1\n');
    expect(lockDbFree(dir)).toBe(true);
    await ledger.append({ kind: 'k', payload: 1 });
    expect(atSealed, 'a flush wrote events.jsonl without holding lock.db').toEqual([false, false]);
    await ledger.close();
  });
});

describe('projection worker: its transaction stays open for projectionLagMs (spec §13.9)', () => {
  it('back-to-back appends share one worker transaction; an idle writer has it committed on the next turn', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionLagMs: 60_000 });
    const w = projectionWorkerOf(ledger)!;
    const before = w.transactions;
    for (let i = 0; i < 20; i++) await ledger.append({ kind: 'k', payload: i });
    // Awaited appends back to back never leave the group committer idle: every flush's lines
    // joined the transaction the first one began (one transaction per flush before).
    expect(w.transactions - before).toBe(1);
    expect(sqliteRows(dir)).toHaveLength(0);
    // Idle now: the appending thread asks the worker to commit, whatever the window.
    for (let turns = 0; sqliteRows(dir).length < 20 && turns < 200; turns++) await new Promise((r) => setTimeout(r, 5));
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    expect(lockDbFree(dir)).toBe(true);
    await ledger.close();
  });

  it('a synchronous read asks the worker to commit now instead of waiting out the window', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionLagMs: 60_000, lockTimeoutMs: 2_000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.append({ kind: 'k', payload: i })));
    // Same turn: nothing has asked for the commit yet. A read that only waited would time out.
    const started = Date.now();
    expect(ledger.get(9)?.payload).toBe(9);
    expect(Date.now() - started).toBeLessThan(1_000);
    await ledger.close();
  });

  it('a writer that never goes idle has its rows committed once the window has passed', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionLagMs: 20 });
    const w = projectionWorkerOf(ledger)!;
    const before = w.transactions;
    const { appended, seen } = await appendUntilRowsSeen(ledger, dir);
    expect(seen).toBeGreaterThan(0);
    expect(w.transactions - before).toBeLessThan(appended);
    await ledger.close();
  });

  it('a process death with the transaction open rolls it back; the reopen heals every acknowledged event', async () => {
    const dir = fresh();
    const ledger = await open(dir, { projectionLagMs: 60_000 });
    const acked = [];
    for (let i = 0; i < 12; i++) acked.push(await ledger.append({ kind: 'k', payload: i }));
    expect(projectionWorkerOf(ledger)!.lag).toBe(12);
    simulateProcessDeath(ledger);
    expect(sqliteRows(dir)).toHaveLength(0);
    expect(lockDbFree(dir)).toBe(true);
    const reopened = await open(dir);
    expect(reopened.lastReconcile?.replayed).toBe(12);
    expect(reopened.get(11)?.id).toBe(acked[11]!.id);
    await reopened.close();
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    expect((await verifyLedger({ dir })).ok).toBe(true);
  });
});
