/**
 * The projection worker thread (spec §13.9, ADR 0030): its own better-sqlite3 connection to
 * ledger.db and the same Projection.mirror the inline path calls. Batches arrive after their lines
 * are fsynced, in seq order, into one transaction held open for `projectionLagMs` (every batch
 * queued or arriving meanwhile joins it), committed then or as soon as the appending thread asks
 * (it waits for the rows: a read, a release of lock.db, back-pressure, close). After each commit
 * the last seq is published in shared memory (for reads that wait synchronously) and posted (for
 * async waiters).
 *
 * A failure rolls back, is reported once, and the thread stops taking batches: the appending
 * thread poisons the ledger, and the next open heals ledger.db from events.jsonl (spec §14.2).
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CompactRange } from '../merkle/compact-range.js';
import { type InsertRow, Projection, type Watermark } from '../store/projection.js';
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
  const data = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  let at = 0;
  const rows: InsertRow[] = [];
  for (let i = 0; i < f.length; i += FIELDS) {
    const end = data.indexOf(NEWLINE, at);
    rows.push({
      seq: f[i] as number, id: f[i + 1] as string, at: f[i + 2] as string, kind: f[i + 3] as string, actor: f[i + 4] as string | null,
      hash: f[i + 5] as string, kid: f[i + 6] as string | null, line: data.toString('utf8', at, end), offset: b.offset + at,
    });
    at = end + 1;
  }
  const last = projection.mirrorRows(rows, b.offset + at, frontier);
  nextSeq = last.seq + 1;
  return last;
}

const NEWLINE = 0x0a;

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
  clearTimeout(timer);
  open = undefined; // rolled back by the close
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

/**
 * The transaction left open between batches (spec §13.9): batches that arrive within the window
 * join it, as the inline writer's transaction is held for `projectionLagMs` (§13.7).
 */
let open: { since: number; last: Watermark } | undefined;
let timer: NodeJS.Timeout | undefined;
/** Commit the open transaction as soon as this thread is free: the appending thread waits for it. */
let requested = false;
/** `projectionLagMs` of the Ledger attached: how long a transaction may stay open. */
let windowMs = 0;

/** Run `step` as one turn of this thread's writing, under the death hand-shake and failure rule. */
function guarded(step: () => void): void {
  if (failed) return;
  Atomics.store(shared, SLOT_BUSY, 1n);
  try {
    if (dead()) return;
    step();
  } catch (e) {
    failed = true;
    frontier = undefined;
    open = undefined;
    clearTimeout(timer);
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

function run(first: Batch): void {
  guarded(() => {
    if (open === undefined) {
      Atomics.add(shared, SLOT_TXNS, 1n);
      projection.beginImmediate();
    }
    let last = mirrorBatch(first);
    // Only batches and commit requests can be queued here: a Ledger detaches once everything it
    // sent is committed ... or the appending thread's death notice (kill()), handled once this
    // turn ends (the transaction then rolls back).
    for (let next; (next = receiveMessageOnPort(port)); ) {
      const m = next.message as Batch | { type: 'die' } | { type: 'commit' };
      if ('type' in m) {
        if (m.type === 'die') {
          dieAfterRun = true;
          break;
        }
        requested = true;
        continue;
      }
      last = mirrorBatch(m);
    }
    const now = performance.now();
    open = { since: open?.since ?? now, last };
    const left = windowMs - (now - open.since);
    if (requested || dieAfterRun || left <= 0) commitOpen();
    else timer ??= setTimeout(() => guarded(commitOpen), left);
  });
}

/** The watermark, then COMMIT; the last seq committed is published and posted. */
function commitOpen(): void {
  clearTimeout(timer);
  timer = undefined;
  requested = false;
  const txn = open;
  if (txn === undefined) return;
  projection.setWatermark(txn.last);
  crashPoint('worker.inserted');
  holdPoint();
  open = undefined;
  if (dead()) {
    projection.rollback();
    return;
  }
  projection.commit();
  crashPoint('worker.committed');
  Atomics.store(shared, SLOT_ACKED, BigInt(txn.last.seq));
  Atomics.notify(shared, SLOT_ACKED);
  post({ type: 'ack', seq: txn.last.seq });
}

/** Open ledger.db for the Ledger that attached this thread (a thread is reused after a close). */
function attach(m: Attach): void {
  shared = new BigInt64Array(m.shared);
  windowMs = m.windowMs;
  failed = false;
  open = undefined;
  requested = false;
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

port.on('message', (m: Batch | Attach | { type: 'detach' } | { type: 'die' } | { type: 'commit' }) => {
  if ('type' in m && m.type === 'attach') attach(m);
  else if ('type' in m && m.type === 'die') closeAfterDeath();
  else if ('type' in m && m.type === 'commit') {
    if (open !== undefined) guarded(commitOpen);
  }
  else if ('type' in m && m.type === 'detach') {
    // Detached only once everything sent is committed: no transaction is open.
    clearTimeout(timer);
    connection?.close();
    connection = undefined;
    post({ type: 'detached' });
  } else run(m as Batch);
});
