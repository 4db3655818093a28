/**
 * What the appending thread and the projection worker exchange (spec §13.9): batches of sealed
 * lines as the bytes written to events.jsonl plus a flat array of each event's column values (one
 * structured clone per batch), and back the last seq committed.
 */
import type { SealedRecord } from '../format/seal.js';

/** Fields per event in Batch.flat: seq, id, at, kind, actor, hash, kid. */
export const FIELDS = 7;

/** Lines written (and fsynced) from byte `offset` of events.jsonl on, in seq order. */
export interface Batch {
  offset: number;
  flat: (string | number | null)[];
  /**
   * Exactly the bytes written at `offset`: each line and its "\n". Copying them is one memcpy;
   * the line strings are ropes (built by concatenation), which cloning or measuring would first
   * flatten on the appending thread. The worker cuts the lines out of them.
   */
  data: Uint8Array;
}

/**
 * Slots of the shared BigInt64Array: the last seq committed; 1 once the worker failed; 1 once the
 * appending thread died (the worker must not write again); 1 while the worker runs a transaction.
 */
export const SLOT_ACKED = 0;
export const SLOT_FAILED = 1;
export const SLOT_DEAD = 2;
export const SLOT_BUSY = 3;
/** Crash suites: the point to stop at (index in WORKER_CRASH_POINTS + 1) and at which transaction. */
export const SLOT_CRASH_POINT = 4;
export const SLOT_CRASH_AT = 5;
/** Transactions the worker has begun. */
export const SLOT_TXNS = 6;
/** 1 once the worker closed its connection after the appending thread died. */
export const SLOT_CLOSED = 7;
/**
 * Tests: transactions from this number on (SLOT_TXNS' count; 0: none) wait before their COMMIT,
 * with the number of the one waiting in SLOT_HELD, until SLOT_HOLD_AT changes.
 */
export const SLOT_HOLD_AT = 8;
export const SLOT_HELD = 9;
export const SHARED_BYTES = 80;

export const WORKER_CRASH_POINTS = ['worker.inserted', 'worker.committed'] as const;

export type WorkerCrashPoint = (typeof WORKER_CRASH_POINTS)[number];

/** Sent first by each Ledger that uses the thread (it is kept for the next one after a close). */
export interface Attach {
  type: 'attach';
  dbPath: string;
  shared: SharedArrayBuffer;
  /** How long the worker may keep a transaction open for batches to join (`projectionLagMs`). */
  windowMs: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'detached' }
  | { type: 'ack'; seq: number }
  | { type: 'crashed'; point: WorkerCrashPoint }
  | { type: 'failed'; message: string; code?: string };

export function toBatch(records: readonly Pick<SealedRecord, 'event'>[], offset: number, data: Uint8Array): Batch {
  const flat = new Array<string | number | null>(records.length * FIELDS);
  let k = 0;
  for (const { event: e } of records) {
    flat[k++] = e.seq; flat[k++] = e.id; flat[k++] = e.at; flat[k++] = e.kind; flat[k++] = e.actor ?? null;
    flat[k++] = e.hash; flat[k++] = e.sig?.kid ?? null;
  }
  return { offset, flat, data };
}
