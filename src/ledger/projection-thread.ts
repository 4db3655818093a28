/**
 * The appending thread's side of the projection worker (spec §13.9, ADR 0030): it hands fsynced
 * lines to the worker, keeps the ids of events acknowledged but not yet committed (idempotent
 * retries must find them), applies back-pressure when the worker lags by more than the bound,
 * and lets reads wait until the worker has committed the seq they need.
 *
 * A worker that fails, exits or is terminated fails every waiter with IO_ERROR; the writer
 * poisons the ledger with it (ADR 0010) and the next open heals from events.jsonl.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { LedgerStateError } from '../errors.js';
import type { SealedEvent } from '../format/event.js';
import type { SealedRecord } from '../format/seal.js';
import { SimulatedCrash } from './crash-points.js';
import { type FromWorker, SHARED_BYTES, SLOT_ACKED, SLOT_BUSY, SLOT_CLOSED, SLOT_CRASH_AT, SLOT_CRASH_POINT, SLOT_DEAD, SLOT_FAILED, SLOT_HELD, SLOT_HOLD_AT, SLOT_TXNS, toBatch, WORKER_CRASH_POINTS, type WorkerCrashPoint, type Attach } from './projection-protocol.js';

export interface ProjectionWorkerOptions {
  /** Appends wait while more than this many acknowledged events are not yet committed (default 10,000). */
  maxLagEvents?: number;
  /** Appends wait while a batch handed over longer ago than this is not yet committed (default 100 ms). */
  maxLagMs?: number;
}

export const DEFAULT_MAX_LAG_EVENTS = 10_000;
export const DEFAULT_MAX_LAG_MS = 100;

/**
 * The compiled worker beside this module; the TypeScript sources under the tests have none, and
 * use the one `npm run build` put in dist/.
 */
function workerUrl(): URL {
  const here = new URL('./projection-worker.js', import.meta.url);
  if (fs.existsSync(here)) return here;
  const built = new URL('../../dist/ledger/projection-worker.js', import.meta.url);
  if (fs.existsSync(built)) return built;
  throw new LedgerStateError('IO_ERROR', `the projection worker is missing (${here.pathname}); build the package first`);
}

/** One detached worker kept for the next start in this process. */
let spare: Worker | undefined;

interface Waiter {
  seq: number;
  resolve(): void;
  reject(e: unknown): void;
}

export class ProjectionThread {
  readonly #worker: Worker;
  readonly #shared: BigInt64Array;
  #acked: number;
  #sent: number;
  /** The highest seq the worker was asked to commit without waiting for its window. */
  #asked: number;
  /** Batches handed over and not yet committed: last seq, when sent, their events. */
  readonly #inFlight: { seq: number; at: number; events: SealedEvent[] }[] = [];
  readonly #ids = new Map<string, SealedEvent>();
  #waiters: Waiter[] = [];
  #error: Error | undefined;
  /**
   * The worker is no longer ours to stop: it exited, or a clean close handed it on (it may now
   * serve another Ledger). kill() must then neither wait for it nor signal it.
   */
  #gone = false;
  #closing = false;
  #detachListeners: () => void = () => undefined;
  /** Called once when the worker fails or dies (not when it is closed). */
  onFailure: (e: Error) => void = () => undefined;
  /** Crash suites: the worker stopped at a crash point. */
  onCrash: (point: WorkerCrashPoint) => void = () => undefined;

  private constructor(worker: Worker, shared: BigInt64Array, head: number, readonly windowMs: number) {
    this.#worker = worker;
    this.#shared = shared;
    this.#acked = head;
    this.#sent = head;
    this.#asked = head;
  }

  /**
   * Start a worker on ledger.db whose committed head is `head`; resolves once its connection is
   * open. It holds each transaction open up to `windowMs` for later batches to join.
   */
  static async start(dbPath: string, head: number, windowMs: number): Promise<ProjectionThread> {
    const sab = new SharedArrayBuffer(SHARED_BYTES);
    const shared = new BigInt64Array(sab);
    shared[SLOT_ACKED] = BigInt(head);
    const worker = spare ?? new Worker(workerUrl());
    spare = undefined;
    worker.ref();
    worker.postMessage({ type: 'attach', dbPath, shared: sab, windowMs } satisfies Attach);
    const thread = new ProjectionThread(worker, shared, head, windowMs);
    await new Promise<void>((resolve, reject) => {
      const early = (e: unknown) => reject(e);
      worker.once('error', early);
      worker.once('message', (m: FromWorker) => {
        worker.off('error', early);
        if (m.type === 'ready') resolve();
        else reject(new LedgerStateError('IO_ERROR', `the projection worker could not open ${dbPath}: ${m.type === 'failed' ? m.message : m.type}`));
      });
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    const listeners = {
      message: (m: FromWorker) => thread.#onMessage(m),
      error: (e: Error) => {
        thread.#gone = true; // an uncaught error ends the thread
        thread.#fail(new LedgerStateError('IO_ERROR', `the projection worker failed: ${e.message}`, { cause: e }));
      },
      exit: (code: number) => {
        thread.#gone = true;
        if (!thread.#closing) thread.#fail(new LedgerStateError('IO_ERROR', `the projection worker exited (code ${code}) before committing seq ${thread.#sent}`));
      },
    };
    worker.on('message', listeners.message).on('error', listeners.error).on('exit', listeners.exit);
    thread.#detachListeners = () => worker.off('message', listeners.message).off('error', listeners.error).off('exit', listeners.exit);
    return thread;
  }

  /** The last seq the worker committed. */
  get acked(): number {
    return this.#acked;
  }

  /** Events acknowledged but not yet committed in ledger.db. */
  get lag(): number {
    return this.#sent - this.#acked;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /** After a heal in the lock, with nothing in flight: ledger.db's committed head is `seq`. */
  rebase(seq: number): void {
    if (this.#inFlight.length > 0) throw new Error(`projection worker rebased with batches in flight (seq ${this.#sent})`);
    this.#acked = seq;
    this.#sent = seq;
    this.#asked = seq;
    Atomics.store(this.#shared, SLOT_ACKED, BigInt(seq));
  }

  /** Hand lines fsynced from byte `offset` on (`data`, the bytes written there) to the worker. */
  send(records: readonly SealedRecord[], offset: number, data: Uint8Array): void {
    if (this.#error) throw this.#error;
    const events = records.map((r) => r.event);
    for (const e of events) this.#ids.set(e.id, e);
    this.#sent = events.at(-1)!.seq;
    this.#inFlight.push({ seq: this.#sent, at: performance.now(), events });
    this.#worker.postMessage(toBatch(records, offset, data));
  }

  /** An event acknowledged but not yet committed, by id. */
  pendingById(id: string): SealedEvent | undefined {
    return this.#ids.get(id);
  }

  /** Resolves once the worker committed `seq` (at once when it has); the worker commits now. */
  projected(seq: number): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#acked >= seq) return Promise.resolve();
    this.#ask(seq);
    return new Promise((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
  }

  /**
   * Someone waits for `seq`: the worker commits its open transaction now instead of at the end of
   * its window. One request covers everything sent so far (it arrives after those batches).
   */
  #ask(seq: number): void {
    if (this.#asked >= seq || this.windowMs === 0) return; // with no window, every batch commits at once
    this.#asked = this.#sent;
    this.#worker.postMessage({ type: 'commit' });
  }

  /** Back-pressure: wait while the lag is over `maxEvents`, or a batch older than `maxMs` is uncommitted. */
  async withinBound(maxEvents: number, maxMs: number): Promise<void> {
    if (this.lag > maxEvents) await this.projected(this.#sent - maxEvents);
    const oldest = this.#inFlight[0];
    if (oldest && performance.now() - oldest.at > maxMs) await this.projected(oldest.seq);
  }

  /**
   * Block this thread until the worker committed `seq`, for the synchronous reads of a Ledger
   * (the worker runs on its own; this thread's event loop is not needed for it to progress).
   */
  waitSync(seq: number, timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    this.#ask(seq);
    for (;;) {
      if (this.#shared[SLOT_FAILED] !== 0n) throw this.#error ?? new LedgerStateError('IO_ERROR', 'the projection worker failed');
      const acked = this.#shared[SLOT_ACKED]!;
      if (acked >= BigInt(seq)) return;
      const left = deadline - Date.now();
      if (left <= 0 || this.#error) {
        throw this.#error ?? new LedgerStateError('IO_ERROR', `the projection worker did not commit seq ${seq} within ${timeoutMs} ms`);
      }
      Atomics.wait(this.#shared, SLOT_ACKED, acked, Math.min(left, 50));
    }
  }

  /**
   * Wait for every batch to be committed, then detach the thread: it closes its connection and is
   * kept (unreferenced) for the next Ledger this process opens, which then skips the thread's
   * start-up (most of an open in worker mode: loading the store modules in a new isolate).
   */
  async close(): Promise<void> {
    let clean = false;
    try {
      await this.projected(this.#sent);
      clean = true;
    } finally {
      this.#closing = true;
      // A failed worker may still hold its connection: stopped as on death, never terminated
      // inside a better-sqlite3 call.
      if (!clean) await this.kill();
    }
    const w = this.#worker;
    this.#gone = true;
    this.#detachListeners();
    await new Promise<void>((resolve) => {
      const done = () => {
        w.off('message', done).off('error', done).off('exit', done);
        resolve();
      };
      w.on('message', done).on('error', done).on('exit', done);
      w.postMessage({ type: 'detach' });
    });
    if (spare === undefined && w.threadId !== -1) {
      w.unref();
      spare = w;
    } else {
      await w.terminate();
    }
  }

  /** Crash suites: the worker stops at `point` of its `nth` transaction from now (1-based). */
  armCrash(point: WorkerCrashPoint, nth: number): void {
    Atomics.store(this.#shared, SLOT_CRASH_AT, Atomics.load(this.#shared, SLOT_TXNS) + BigInt(nth));
    Atomics.store(this.#shared, SLOT_CRASH_POINT, BigInt(WORKER_CRASH_POINTS.indexOf(point) + 1));
  }

  /** Transactions the worker has begun (for holdCommitsFrom). */
  get transactions(): number {
    return Number(Atomics.load(this.#shared, SLOT_TXNS));
  }

  /**
   * Tests: from its `txn`th transaction on (counting as `transactions`), the worker waits before
   * each COMMIT, holding ledger.db's write lock; undefined lets it go on.
   */
  holdCommitsFrom(txn: number | undefined): void {
    Atomics.store(this.#shared, SLOT_HOLD_AT, BigInt(txn ?? 0));
    Atomics.notify(this.#shared, SLOT_HOLD_AT);
  }

  /** Tests: block until the worker's `txn`th transaction waits at the hold. */
  waitHeld(txn: number, timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    for (let held; (held = Atomics.load(this.#shared, SLOT_HELD)) !== BigInt(txn); ) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the projection worker's transaction ${txn} did not reach the hold within ${timeoutMs} ms`);
      Atomics.wait(this.#shared, SLOT_HELD, held, Math.min(left, 50));
    }
  }

  /** A worker death from outside (sealed-ledger/testing): reported as a failure, unlike kill(). */
  async terminateForTest(): Promise<void> {
    await this.#worker.terminate();
    this.#gone = true;
  }

  /**
   * As on process death: from when this returns, the worker writes nothing more (it is waited
   * for while inside a transaction, which it then commits or rolls back); the thread then ends.
   */
  kill(): Promise<void> {
    this.#closing = true;
    // Waiting for a thread that has exited would block this one for the whole deadline (30 s).
    if (this.#gone) return Promise.resolve();
    this.#gone = true;
    Atomics.store(this.#shared, SLOT_DEAD, 1n);
    Atomics.notify(this.#shared, SLOT_HOLD_AT); // a held transaction sees the death at once
    const deadline = Date.now() + 30_000;
    while (Atomics.load(this.#shared, SLOT_BUSY) !== 0n && Date.now() < deadline) Atomics.wait(this.#shared, SLOT_BUSY, 1n, 100);
    // Its connection closes before this returns, and the thread is terminated only once it sits
    // idle with no connection: terminating a thread inside a better-sqlite3 call can abort the process.
    this.#worker.postMessage({ type: 'die' });
    while (Atomics.load(this.#shared, SLOT_CLOSED) === 0n && Date.now() < deadline) Atomics.wait(this.#shared, SLOT_CLOSED, 0n, 100);
    return this.#worker.terminate().then(() => undefined);
  }

  #onMessage(m: FromWorker): void {
    if (m.type === 'ack') {
      this.#acked = m.seq;
      while (this.#inFlight.length > 0 && this.#inFlight[0]!.seq <= m.seq) {
        for (const e of this.#inFlight.shift()!.events) this.#ids.delete(e.id);
      }
      this.#waiters = this.#waiters.filter((w) => (w.seq <= m.seq ? (w.resolve(), false) : true));
    } else if (m.type === 'failed') {
      this.#fail(new LedgerStateError('IO_ERROR', `the projection worker failed: ${m.message}`, { details: m.code ? { code: m.code } : {} }));
    } else if (m.type === 'crashed') {
      this.#closing = true;
      this.#error = new SimulatedCrash(m.point);
      for (const w of this.#waiters) w.reject(this.#error);
      this.#waiters = [];
      this.onCrash(m.point);
    }
  }

  #fail(e: Error): void {
    if (this.#error) return;
    this.#error = e;
    for (const w of this.#waiters) w.reject(e);
    this.#waiters = [];
    this.onFailure(e);
  }
}
