/**
 * Rows staged before the fsync (spec §13.8 step 2, ADR 0043). While a signing thread signs a
 * large request, the appending thread inserts the rows, Merkle nodes and offsets of the events
 * already signed into the writer's open transaction, under a savepoint, instead of waiting idle
 * and projecting them all after the fdatasync. Nothing staged is committed before the fdatasync
 * of its line (I1 holds at every instant: other connections see only commits), and nothing is
 * visible through the writing Ledger either: staging happens only inside one synchronous run of
 * the flush, from sealing through the fsync, so no read can run in between.
 *
 * A request that fails takes its rows out again (its own savepoint); a request that must wait for
 * a thread with the event loop running takes every staged row out first (the flush's savepoint),
 * and the rest of the flush projects after the fsync as before.
 */
import type { SealedRecord } from '../format/seal.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { Projection, Watermark } from '../store/projection.js';
import type { CrashPoint } from './crash-points.js';

/** An SQLite failure while staging: not the request's fault, so the flush fails (spec §13.5). */
export class StagingFailed extends Error {
  constructor(readonly failure: unknown) {
    super('staging rows failed', { cause: failure });
    this.name = 'StagingFailed';
  }
}

/** Where a request's rows begin: what undo() returns to. */
export interface StageMark {
  readonly staged: number;
  readonly last: Watermark | undefined;
  readonly frontier: CompactRange;
}

const FLUSH = 'staged_flush';
const REQUEST = 'staged_request';

export class StagedRows {
  /** Records of the flush's pending list that have rows. */
  #staged = 0;
  #last: Watermark | undefined;
  #frontier: CompactRange;
  #open = false;
  #dropped = false;

  /** Rows of lines that will be written from `start`, extending a copy of `frontier`. */
  constructor(
    private readonly projection: Projection,
    private readonly start: number,
    private readonly from: CompactRange,
    private readonly crash: (point: CrashPoint) => void,
  ) {
    this.#frontier = from.clone();
  }

  /** False once drop() took the rows out: the rest of the flush stages nothing. */
  get enabled(): boolean {
    return !this.#dropped;
  }

  /** Stage `pending`'s records that have no row yet (all admitted, in order). */
  stage(pending: readonly SealedRecord[]): void {
    if (this.#dropped || this.#staged === pending.length) return;
    this.#guard(() => {
      if (!this.#open) this.projection.savepoint(FLUSH);
      this.#open = true;
      this.#add(pending);
    });
    this.crash('sqlite.staged');
  }

  /** Before a request that stages: what is pending so far gets its rows, then the request's savepoint. */
  mark(pending: readonly SealedRecord[]): StageMark {
    this.stage(pending);
    this.#guard(() => {
      if (!this.#open) this.projection.savepoint(FLUSH);
      this.#open = true;
      this.projection.savepoint(REQUEST);
    });
    return { staged: this.#staged, last: this.#last, frontier: this.#frontier.clone() };
  }

  /** The request succeeded: its rows stay. A no-op after drop(). */
  keep(): void {
    if (!this.#dropped) this.#guard(() => this.projection.releaseSavepoint(REQUEST));
  }

  /** The request failed: its rows go. A no-op after drop(). */
  undo(mark: StageMark): void {
    if (this.#dropped) return;
    this.#guard(() => this.projection.rollbackToSavepoint(REQUEST));
    this.#staged = mark.staged;
    this.#last = mark.last;
    this.#frontier = mark.frontier;
  }

  /** Take every staged row out (the flush is about to let the event loop run) and stage no more. */
  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    if (this.#open) this.#guard(() => this.projection.rollbackToSavepoint(FLUSH));
    this.#open = false;
    this.#staged = 0;
    this.#last = undefined;
    this.#frontier = this.from.clone();
  }

  /**
   * Step 6, after the fdatasync: rows for what is not staged yet, then the watermark. Returns the
   * new head and the grown tree. A failure here is the flush's (it unwinds the written lines).
   */
  finish(pending: readonly SealedRecord[]): { head: Watermark; frontier: CompactRange } {
    this.#add(pending);
    if (this.#open) this.projection.releaseSavepoint(FLUSH);
    this.#open = false;
    this.projection.setWatermark(this.#last!);
    this.crash('sqlite.inserted');
    return { head: this.#last!, frontier: this.#frontier };
  }

  #add(pending: readonly SealedRecord[]): void {
    if (this.#staged === pending.length) return;
    this.#last = this.projection.mirrorAll(pending.slice(this.#staged), this.#last?.offset ?? this.start, this.#frontier);
    this.#staged = pending.length;
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      throw new StagingFailed(e);
    }
  }
}
