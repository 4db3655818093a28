/**
 * The projection worker thread (spec §13.9, ADR 0030): its own better-sqlite3 connection to
 * ledger.db and the same Projection.mirror the inline path calls. Batches arrive after their lines
 * are fsynced, in seq order; every batch already queued when one arrives joins one transaction
 * (rows, Merkle nodes, the watermark), which then commits. After each commit the last seq is
 * published in shared memory (for reads that wait synchronously) and posted (for async waiters).
 *
 * A failure rolls back, is reported once, and the thread stops taking batches: the appending
 * thread poisons the ledger, and the next open heals ledger.db from events.jsonl (spec §14.2).
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CompactRange } from '../merkle/compact-range.js';
import { Projection, type Watermark } from '../store/projection.js';
import { type Batch, FIELDS, type FromWorker, SLOT_ACKED, SLOT_BUSY, SLOT_CLOSED, SLOT_CRASH_AT, SLOT_CRASH_POINT, SLOT_DEAD, SLOT_FAILED, SLOT_HELD, SLOT_HOLD_AT, SLOT_TXNS, WORKER_CRASH_POINTS, type WorkerCrashPoint, type Attach } from './projection-protocol.js';

const port = parentPort!;
let shared: BigInt64Array;
let connection: Database.Database | undefined;
let projection: Projection;
let frontier: CompactRange | undefined;
let nextSeq = -1;
let failed = false;

function post(m: FromWorker): void {
  port.postMessage(m);
}

/** A crash point of the suites (spec §13.4): the thread stops as a killed process would. */
function crashPoint(point: WorkerCrashPoint): void {
  if (Atomics.load(shared, SLOT_CRASH_POINT) !== BigInt(WORKER_CRASH_POINTS.indexOf(point) + 1)) return;
  if (Atomics.load(shared, SLOT_TXNS) !== Atomics.load(shared, SLOT_CRASH_AT)) return;
  post({ type: 'crashed', point });
  throw CRASHED;
}

/** Thrown by a crash point: the thread stops; an open transaction is rolled back, as on death. */
const CRASHED = Symbol('crashed');

function mirrorBatch(b: Batch): Watermark {
  const f = b.flat;
  if (frontier === undefined || f[0] !== nextSeq) frontier = projection.tree.frontier(f[0] as number); // after a heal
  let offset = b.offset;
  let last: Watermark | undefined;
  for (let i = 0; i < f.length; i += FIELDS) {
    const kid = f[i + 6] as string | null;
    const rec = {
      event: { seq: f[i], id: f[i + 1], at: f[i + 2], kind: f[i + 3], actor: f[i + 4] ?? undefined, hash: f[i + 5], ...(kid ? { sig: { kid } } : {}) },
      line: f[i + 7] as string,
      hash: Buffer.from(f[i + 5] as string, 'hex'),
    } as Parameters<Projection['mirror']>[0];
    last = projection.mirror(rec, offset, frontier);
    offset = last.offset;
  }
  nextSeq = last!.seq + 1;
  return last!;
}

/**
 * Tests (ProjectionThread.holdCommitsFrom): wait here, inside the transaction, while it is held;
 * a death releases it (the transaction then rolls back).
 */
function holdPoint(): void {
  const txn = Atomics.load(shared, SLOT_TXNS);
  for (let at; (at = Atomics.load(shared, SLOT_HOLD_AT)) !== 0n && txn >= at && !dead(); ) {
    Atomics.store(shared, SLOT_HELD, txn);
    Atomics.notify(shared, SLOT_HELD);
    Atomics.wait(shared, SLOT_HOLD_AT, at, 50);
  }
  Atomics.store(shared, SLOT_HELD, 0n);
}

/**
 * The appending thread died (a simulated process death): write nothing more. It sets SLOT_DEAD,
 * then waits while SLOT_BUSY is set; this thread sets SLOT_BUSY, then checks SLOT_DEAD. So once
 * the appending thread's die() returns, no statement of this thread reaches ledger.db.
 */
const dead = () => Atomics.load(shared, SLOT_DEAD) !== 0n;

let dieAfterRun = false;

/**
 * A simulated death: close the connection now, while the appending thread waits in kill(), so
 * nothing of this thread touches the folder after its die() returned (closing may checkpoint and
 * remove ledger.db-wal, as the appending thread's own close does).
 */
function closeAfterDeath(): void {
  dieAfterRun = false;
  try {
    connection?.close();
  } catch {
    // a dead process reports nothing
  }
  connection = undefined;
  Atomics.store(shared, SLOT_CLOSED, 1n);
  Atomics.notify(shared, SLOT_CLOSED);
}

function idle(): void {
  Atomics.store(shared, SLOT_BUSY, 0n);
  Atomics.notify(shared, SLOT_BUSY);
}

function run(first: Batch): void {
  if (failed) return;
  Atomics.add(shared, SLOT_TXNS, 1n);
  Atomics.store(shared, SLOT_BUSY, 1n);
  try {
    if (dead()) return;
    projection.beginImmediate();
    let last = mirrorBatch(first);
    // Only batches can be queued here: a Ledger detaches once everything it sent is committed.
    // ... or the appending thread's death notice (kill()), handled once this transaction ends.
    for (let next; (next = receiveMessageOnPort(port)); ) {
      const m = next.message as Batch | { type: 'die' };
      if ('type' in m) {
        dieAfterRun = true;
        break;
      }
      last = mirrorBatch(m);
    }
    projection.setWatermark(last);
    crashPoint('worker.inserted');
    holdPoint();
    if (dead()) {
      projection.rollback();
      return;
    }
    projection.commit();
    crashPoint('worker.committed');
    Atomics.store(shared, SLOT_ACKED, BigInt(last.seq));
    Atomics.notify(shared, SLOT_ACKED);
    post({ type: 'ack', seq: last.seq });
  } catch (e) {
    failed = true;
    frontier = undefined;
    try {
      projection.rollback();
    } catch {
      // the connection's error is the one reported below
    }
    if (e === CRASHED) return;
    Atomics.store(shared, SLOT_FAILED, 1n);
    Atomics.notify(shared, SLOT_ACKED);
    const err = e as { message?: unknown; code?: unknown };
    post({ type: 'failed', message: String(err?.message ?? e), ...(typeof err?.code === 'string' ? { code: err.code } : {}) });
  } finally {
    idle();
    if (dieAfterRun) closeAfterDeath();
  }
}

/** Open ledger.db for the Ledger that attached this thread (a thread is reused after a close). */
function attach(m: Attach): void {
  shared = new BigInt64Array(m.shared);
  failed = false;
  frontier = undefined;
  nextSeq = -1;
  try {
    const db = new Database(m.dbPath, { fileMustExist: true });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // as the inline connection (ADR 0004)
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    connection = db;
    projection = Projection.attach(db);
    post({ type: 'ready' });
  } catch (e) {
    failed = true;
    Atomics.store(shared, SLOT_FAILED, 1n);
    post({ type: 'failed', message: String((e as Error)?.message ?? e) });
  }
}

port.on('message', (m: Batch | Attach | { type: 'detach' } | { type: 'die' }) => {
  if ('type' in m && m.type === 'attach') attach(m);
  else if ('type' in m && m.type === 'die') closeAfterDeath();
  else if ('type' in m && m.type === 'detach') {
    connection?.close();
    connection = undefined;
    post({ type: 'detached' });
  } else run(m as Batch);
});
