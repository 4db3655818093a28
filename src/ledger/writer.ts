/**
 * The writer behind a `Ledger` (spec §13): it alone holds the open stores, the head and the
 * Merkle frontier, the writer lock, the crash seam and the poisoned state, and runs the group
 * commit. Its state changes only here, from what heal and the commit steps return.
 *
 * The SQLite transaction may outlive a flush (spec §13.7, ADR 0010): while appends keep coming,
 * back-to-back flushes add their rows to the transaction they already hold, and it commits when
 * the writer goes idle or after `projectionLagMs`. It commits only after the lines of its rows are
 * fsynced (rows staged while threads sign enter it earlier, ADR 0043), so SQLite can lag JSONL but
 * never lead it.
 */
import { InvalidInputError, LedgerStateError, SealedLedgerError } from '../errors.js';
import { privateKeyObjectOf } from '../crypto/signing-key.js';
import type { EventInput, EventLimits, SealedEvent } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { prepareEvent, type SealedRecord } from '../format/seal.js';
import type { EventSigner } from '../format/signature.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { PolicyDecision } from '../policy/decision.js';
import { parityRule } from '../policy/parity-rule.js';
import type { Policy } from '../policy/rules.js';
import { type FileIdentity, fileIdentity, sameIdentity } from '../store/file-identity.js';
import type { Watermark } from '../store/projection.js';
import { CommitQueue } from './commit-queue.js';
import { type CrashHook, type CrashPoint, SimulatedCrash } from './crash-points.js';
import { type AppendRequest, type Outcome, sealGroup, type SealRules, writeDurably } from './group-commit.js';
import { healInLock, type WriterFiles } from './heal.js';
import { type LedgerMetadata, writeMetadata } from './metadata.js';
import type { QuarantineFile } from './quarantine.js';
import { readPolicyOf, type ReadPolicy } from './read-policy.js';
import { SignPool } from './sign-pool.js';
import { StagedRows, StagingFailed } from './staged-rows.js';
import type { WriterLockFile } from './lock-file.js';
import { DEFAULT_MAX_LAG_EVENTS, DEFAULT_MAX_LAG_MS, type ProjectionThread } from './projection-thread.js';
import { acquireWriterLock, DEFAULT_LOCK_TIMEOUT_MS } from './writer-lock.js';

export type WriterState = 'open' | 'read-only' | 'closed' | 'dead';

/** The stores a writer holds, with the quarantine file its policy writes to. */
export interface OpenFiles extends WriterFiles {
  readonly quarantine: QuarantineFile;
  /** lock.db (spec §13.9); undefined in inspect mode. */
  readonly lock?: WriterLockFile | undefined;
}

/** How the writer behaves, fixed at open (a subset of LedgerOptions). */
export interface WriterSettings {
  signer?: EventSigner | undefined;
  policy?: Policy | undefined;
  requireSignatures?: boolean | undefined;
  limits?: EventLimits | undefined;
  lockTimeoutMs?: number | undefined;
  projectionLagMs: number;
  /** Threads signing large requests (spec §13.8); default SignPool.defaultSize(). */
  signingThreads?: number | undefined;
  /** The compiled sign-worker.js (tests running from the TypeScript sources). */
  signWorkerUrl?: URL | undefined;
  /** The projection worker's lag bound (spec §13.9), when it runs. */
  maxLagEvents?: number | undefined;
  maxLagMs?: number | undefined;
  now?: (() => Date) | undefined;
  crashHook?: CrashHook | undefined;
}

/** Where the writer starts: what open reconciled (or inspected) and the folder's metadata. */
export interface WriterStart {
  state: 'open' | 'read-only';
  head: Watermark;
  frontier: CompactRange;
  metadata: LedgerMetadata;
  /** ledger.db's identity when it was opened; undefined in inspect mode. */
  sqliteId: FileIdentity | undefined;
  /** The projection worker (spec §13.9); undefined: rows are mirrored on this thread. */
  thread?: ProjectionThread | undefined;
}

/** What the writer tells its Ledger. */
export interface WriterEvents {
  /** Once per flush that moved the durable, acknowledged head (spec §21.3). */
  committed(): void;
  /** No commit will follow (closed, or died). */
  ended(): void;
}

export interface AppendCall {
  expectedSeq?: number | undefined;
  signer?: EventSigner | undefined;
  decision?: PolicyDecision | undefined;
}

export class Writer {
  #head: Watermark;
  #frontier: CompactRange;
  #state: WriterState;
  #metadata: LedgerMetadata;
  /** What reconcile enforces on lines it did not write (spec §3.1.1, §7.1). */
  #readPolicy: ReadPolicy;
  #poisonedBy: unknown;
  /** performance.now() when the writer transaction still held was begun; undefined: none held. */
  #heldSince: number | undefined;
  readonly #sqliteId: FileIdentity | undefined;
  readonly #signPool: SignPool;
  /**
   * In worker mode #heldSince means lock.db is held (ledger.db's lock only during a heal); it is
   * released once the worker committed every line written under it (spec §13.9).
   */
  readonly #thread: ProjectionThread | undefined;
  private readonly commits = new CommitQueue<AppendRequest>(
    (requests) => this.flush(requests),
    () => {
      // Not now: the callers just resolved may append again as soon as they run, and those
      // appends should join the transaction still held instead of paying for a commit each.
      if (this.#heldSince !== undefined) setImmediate(() => (this.#thread ? this.releaseIfIdle() : this.commitIfIdle()));
    },
  );

  constructor(
    readonly files: OpenFiles,
    start: WriterStart,
    private readonly settings: WriterSettings,
    private readonly events: WriterEvents,
  ) {
    this.#head = start.head;
    this.#frontier = start.frontier;
    this.#state = start.state;
    this.#metadata = start.metadata;
    this.#sqliteId = start.sqliteId;
    this.#readPolicy = readPolicyOf(start.metadata, settings.requireSignatures);
    this.#signPool = new SignPool(settings.signingThreads ?? SignPool.defaultSize(), settings.signWorkerUrl);
    this.#thread = start.thread;
    if (this.#thread) {
      this.#thread.onFailure = (e) => this.poison(e);
      this.#thread.onCrash = (point) => {
        // The crash suites' hook records the death of the whole process at this point.
        try {
          this.crash(point);
        } catch (e) {
          if (!(e instanceof SimulatedCrash)) throw e;
        }
        this.die();
      };
    }
  }

  /** @internal The signing threads (tests: whether a request used them, and that close ends them). */
  get signPool(): SignPool {
    return this.#signPool;
  }

  /** The projection worker (spec §13.9), when it runs; for `sealed-ledger/testing`. */
  get projectionThread(): ProjectionThread | undefined {
    return this.#thread;
  }

  /**
   * Before a synchronous read of ledger.db: block until the worker committed every acknowledged
   * event (at most the lag bound; spec §13.9). A no-op inline, and after close.
   */
  projectedSync(): void {
    const t = this.#thread;
    if (t === undefined || this.#state !== 'open' || t.acked >= this.#head.seq) return;
    t.waitSync(this.#head.seq, this.settings.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  }

  /** The last event both stores agree on, as this process last verified it. */
  get head(): Watermark {
    return this.#head;
  }

  get frontier(): CompactRange {
    return this.#frontier;
  }

  get state(): WriterState {
    return this.#state;
  }

  get metadata(): LedgerMetadata {
    return this.#metadata;
  }

  get requireSignatures(): boolean {
    return (this.settings.requireSignatures ?? false) || this.#metadata.signaturesRequiredFrom !== undefined;
  }

  get signer(): EventSigner | undefined {
    return this.settings.signer;
  }

  now(): Date {
    return this.settings.now?.() ?? new Date();
  }

  /** Validate and queue; resolves with the events once their lines are fsynced (spec §13.1). */
  append(inputs: readonly EventInput[], batch: boolean, call: AppendCall): Promise<SealedEvent[]> {
    this.assertWritable();
    if (call.expectedSeq !== undefined && (!Number.isSafeInteger(call.expectedSeq) || call.expectedSeq < -1)) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'expectedSeq must be an integer >= -1');
    }
    const limits = this.settings.limits ?? this.#readPolicy.limits;
    const prepared = inputs.map((input, i) => {
      try {
        return prepareEvent(input, { limits, now: this.settings.now });
      } catch (e) {
        if (batch && e instanceof SealedLedgerError) Object.assign(e.details, { index: i });
        throw e;
      }
    });
    return new Promise<SealedEvent[]>((resolve, reject) => {
      this.commits.enqueue({ prepared, batch, expectedSeq: call.expectedSeq, signer: call.signer, decision: call.decision, resolve, reject });
    });
  }

  /** Wait for queued appends, then commit the transaction still held, so other connections see every row. */
  async settle(): Promise<void> {
    await this.commits.idle();
    if (this.#thread) await this.releaseWhenProjected(true);
    else this.commitHeldOrDie();
  }

  /**
   * Run `fn` inside the writer lock on a healed projection and commit what it wrote (with what
   * heal caught up on). For checkpoints and changes to the folder's side files. It takes its turn
   * in the commit queue: appends queued before it are flushed and committed first, and appends
   * that arrive while it waits for the lock queue behind it instead of starting a flush on the
   * same connection (spec §13.2).
   */
  async withLock<T>(fn: () => T): Promise<T> {
    this.assertWritable();
    return this.commits.exclusive(async () => {
      this.assertWritable();
      // settle() without waiting for the queue: this item is the queue's turn.
      if (this.#thread) await this.releaseWhenProjected(true);
      else this.commitHeldOrDie();
      try {
        await acquireWriterLock(this.files.projection, this.settings.lockTimeoutMs, this.files.lock);
        this.heal();
        const result = fn();
        this.files.projection.commit();
        return result;
      } finally {
        this.files.projection.rollback();
        // Worker mode: releaseWhenProjected left lock.db held (this item keeps the queue busy),
        // with nothing in flight (heal() checks). Released here (or by a timed-out acquire), it
        // is no longer this writer's: the next flush must take it again, not write as its holder.
        this.#heldSince = undefined;
        this.files.lock?.release();
      }
    });
  }

  /** Record the signing policy in ledger.json from the next seq on (spec §7.1); returns that seq. */
  requireSignaturesFromNow(): Promise<number> {
    return this.withLock(() => {
      const current = this.#metadata.signaturesRequiredFrom;
      if (current !== undefined) return current;
      const from = this.#head.seq + 1;
      const meta: LedgerMetadata = { ...this.#metadata, signaturesRequiredFrom: from };
      writeMetadata(this.files.paths.metadata, meta, this.files.io);
      this.#metadata = meta;
      this.#readPolicy = readPolicyOf(meta, this.settings.requireSignatures);
      return from;
    });
  }

  assertWritable(): void {
    if (this.#state === 'read-only') throw new LedgerStateError('LEDGER_READ_ONLY', 'the ledger was opened read-only');
    if (this.#state !== 'open') throw new LedgerStateError('LEDGER_CLOSED', 'the ledger is closed');
    if (this.#poisonedBy !== undefined) {
      throw new LedgerStateError('IO_ERROR', 'an earlier write failed; reopen the ledger to reconcile', { cause: this.#poisonedBy });
    }
  }

  /** Wait for queued appends, commit, run `beforeRelease` (close hooks), then release files and locks. */
  async close(beforeRelease: () => Promise<void>): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'dead') {
      this.#state = 'closed';
      return;
    }
    try {
      if (this.#state === 'open') await this.settle();
      await beforeRelease();
    } finally {
      await this.#signPool.close();
      // settle() may have died (a simulated crash): then the files are already released.
      this.events.ended();
      if ((this.#state as WriterState) !== 'dead') {
        this.#state = 'closed';
        // Settled: nothing is left uncommitted, unless the worker failed (then it is stopped).
        await this.#thread?.close().catch(() => this.#thread?.kill());
        this.files.quarantine.close();
        this.files.jsonl.close();
        await this.files.projection.close();
        this.files.lock?.close();
      }
      this.#state = 'closed';
    }
  }

  /** A simulated crash: drop everything as a killed process would. */
  die(): void {
    // A closed writer has released its files: closing their descriptors again would close
    // whatever this process opened since under the same numbers.
    if (this.#state === 'dead' || this.#state === 'closed') return;
    this.#state = 'dead';
    this.events.ended();
    void this.#signPool.close();
    void this.#thread?.kill();
    try {
      this.files.lock?.close();
      this.files.quarantine.close();
      this.files.jsonl.close();
      this.files.projection.closeNow(); // an open transaction is rolled back, as on process death
    } catch {
      // a dead process reports nothing; the crash suite inspects the files
    }
  }

  /** One group commit, in the order of spec §13.1. Settles every request; never rejects. */
  private async flush(requests: AppendRequest[]): Promise<void> {
    const outcomes: Outcome[] = requests.map((request) => ({ request }));
    const thread = this.#thread;
    let fresh = false;
    try {
      this.assertWritable();
      if (this.#heldSince === undefined) {
        await acquireWriterLock(this.files.projection, this.settings.lockTimeoutMs, this.files.lock); // step 1
        fresh = true;
      }
    } catch (e) {
      for (const o of outcomes) o.request.reject(e);
      return;
    }
    const { jsonl, projection } = this.files;
    const crash = (point: CrashPoint) => this.crash(point);
    const headAtStart = this.#head;
    let wroteAt: number | undefined;
    let healed: { head: Watermark; frontier: CompactRange } | undefined;
    let committed = false;
    try {
      this.crash('append.locked');
      if (thread && !fresh && jsonl.size() !== this.#head.offset) {
        // events.jsonl changed while this writer held lock.db: not a writer of this version
        // (damage, or an older version). Heal as a new holder of the lock would, once the worker
        // has committed everything it was handed (spec §13.9).
        await thread.projected(this.#head.seq);
        await acquireWriterLock(projection, this.settings.lockTimeoutMs, this.files.lock);
        fresh = true;
      }
      // Worker mode, lock.db held since an earlier flush: nobody else wrote, and ledger.db lags by
      // what the worker has not committed yet, so there is nothing to heal (spec §13.9).
      const parity = parityRule(thread && !fresh ? this.evidenceInLock() : this.heal()); // steps 2–3
      if (thread && fresh) projection.commit(); // what heal caught up on; the worker writes ledger.db from here on
      const head = this.#head;
      healed = { head, frontier: this.#frontier };
      // Inline, rows of requests signed on threads are staged while they sign (spec §13.8): from
      // here to the commit decision nothing awaits unless sealGroup had to (then it staged nothing).
      const staged = thread ? undefined : new StagedRows(projection, head.offset, this.#frontier, crash);
      const sealing = sealGroup(outcomes, head, parity, this.sealRules(), staged); // step 4
      const pending = Array.isArray(sealing) ? sealing : await sealing;
      if (pending.length === 0) staged?.drop();
      this.crash('append.sealed');
      if (pending.length > 0) {
        wroteAt = head.offset;
        const written = writeDurably(jsonl, pending, head.offset, crash); // step 5
        try {
          this.assertStillAtPaths();
        } catch (e) {
          // Another writer may own these bytes' offset in the file now: never truncate them.
          wroteAt = undefined;
          throw e;
        }
        const grown = staged ? staged.finish(pending) : handOver(thread!, pending, head.offset, written, this.#frontier); // step 6
        this.#head = grown.head;
        this.#frontier = grown.frontier;
      }
      const now = performance.now();
      this.#heldSince ??= now;
      if (thread) {
        // The lines may be in ledger.db already: never truncate them from here on (I1).
        wroteAt = undefined;
        this.crash('worker.waiting');
        const zero = this.settings.projectionLagMs === 0;
        await thread.withinBound(zero ? 0 : (this.settings.maxLagEvents ?? DEFAULT_MAX_LAG_EVENTS), zero ? 0 : (this.settings.maxLagMs ?? DEFAULT_MAX_LAG_MS));
      } else if (this.settings.projectionLagMs === 0 || now - this.#heldSince >= this.settings.projectionLagMs) this.commitHeld();
      wroteAt = undefined;
      committed = this.#head !== headAtStart; // ours, or another process's healed in
    } catch (caught) {
      const e = caught instanceof StagingFailed ? caught.failure : caught;
      // Worker mode keeps lock.db until the worker committed what it was handed (or close).
      if (!thread) this.#heldSince = undefined;
      else if (this.#heldSince === undefined) this.files.lock?.release(); // nothing was handed over under it
      if (e instanceof SimulatedCrash) {
        this.die();
      } else if (caught instanceof StagingFailed) {
        // ledger.db failed under the open transaction before anything was written: roll it back
        // and refuse further writes until reopened (the next open heals from events.jsonl).
        this.unwind(undefined, e);
        this.poison(e);
      } else {
        if (thread) this.poison(e);
        this.unwind(wroteAt, e);
        // Back to the healed head and its tree: this flush's lines were truncated. Rows of earlier
        // flushes may have been rolled back with this one; the next flush sees the watermark
        // behind the head and replays them from events.jsonl (spec §14.2).
        if (healed) {
          this.#head = healed.head;
          this.#frontier = healed.frontier;
        }
      }
      for (const o of outcomes) if (o.error === undefined) o.error = e;
      for (const o of outcomes) o.events = undefined;
    }
    for (const o of outcomes) {
      // step 7
      if (o.events) o.request.resolve(o.events);
      else o.request.reject(o.error);
    }
    if (committed) this.events.committed();
  }

  /** Inside the lock: adopt what heal finds; returns the parity evidence it read. */
  private heal() {
    this.assertStillAtPaths();
    const healed = healInLock(this.files, { head: this.#head, frontier: this.#frontier }, this.#readPolicy, this.settings.crashHook);
    this.#head = healed.head;
    this.#frontier = healed.frontier;
    // Worker mode heals only with nothing in flight (a fresh lock.db, or after settle()).
    this.#thread?.rebase(this.#head.seq);
    return healed.evidence;
  }

  /** Worker mode between flushes in one lock: the parity evidence is this writer's own head. */
  private evidenceInLock() {
    this.assertStillAtPaths();
    const h = this.#head;
    return {
      jsonl: { size: this.files.jsonl.size(), lastSeq: h.seq, lastHash: h.hash },
      sqlite: { offset: h.offset, seq: h.seq, hash: h.hash },
    };
  }

  /**
   * Worker mode: release lock.db once the worker committed every line written under it, unless
   * appends came meanwhile. `rethrow`: a failed worker's error reaches the caller (settle, close).
   */
  private async releaseWhenProjected(rethrow = false): Promise<void> {
    const thread = this.#thread!;
    for (;;) {
      const seq = this.#head.seq;
      try {
        await thread.projected(seq);
      } catch (e) {
        if (e instanceof SimulatedCrash) this.die();
        else this.poison(e);
        if (rethrow) throw e;
        return;
      }
      if (this.commits.busy || this.#heldSince === undefined) return;
      // A flush may have run to its end while this waited (its lines handed over after `seq`):
      // lock.db is released only with nothing in flight, or another writer's heal would insert
      // those lines' rows under the worker (spec §13.9).
      if (this.#head.seq === seq) break;
    }
    this.#heldSince = undefined;
    this.files.lock?.release();
  }

  /**
   * Worker mode, the queue ran dry: release lock.db once the worker committed, unless appends came
   * meanwhile (their lines join the worker's open transaction; their drain releases it).
   */
  private releaseIfIdle(): void {
    if (!this.commits.busy) void this.releaseWhenProjected();
  }

  private sealRules(): SealRules {
    return {
      policy: this.settings.policy ?? [],
      signer: this.settings.signer,
      requireSignatures: this.requireSignatures,
      keyring: this.files.keyring,
      quarantine: this.files.quarantine,
      now: () => this.now(),
      eventById: (id) => {
        const pending = this.#thread?.pendingById(id);
        if (pending) return pending;
        const row = this.files.projection.byId(id);
        return row ? parseEventLine(row.line).event : undefined;
      },
      signJob: (signer, count) => this.#signPool.job(privateKeyObjectOf(signer), count),
    };
  }

  private crash(point: CrashPoint): void {
    this.settings.crashHook?.(point);
  }

  private poison(cause: unknown): void {
    this.#poisonedBy ??= cause;
  }

  /**
   * Refuse to write when events.jsonl or ledger.db at their paths are no longer the files this
   * writer holds (removed, renamed, replaced by a rebuild): its lock and its end offset then
   * belong to files nobody else sees, and a second writer on the new files would take the same
   * seqs (spec §13.2). One fstat and two stats per flush; the ledger is poisoned, so nothing
   * written after this is acknowledged.
   */
  private assertStillAtPaths(): void {
    const { paths, jsonl } = this.files;
    const moved = !jsonl.stillAtPath() ? paths.jsonl : !sameIdentity(this.#sqliteId, fileIdentity(paths.sqlite)) ? paths.sqlite : undefined;
    if (moved === undefined) return;
    const e = new LedgerStateError('IO_ERROR', `${moved} is no longer the file this writer opened (removed or replaced); refusing to write: reopen the ledger`, {
      details: { path: moved },
    });
    this.poison(e);
    throw e;
  }

  private commitIfIdle(): void {
    if (this.commits.busy) return; // that drain commits
    try {
      this.commitHeldOrDie();
    } catch {
      // Reported, not lost: the ledger is poisoned with it, and the next append or flush() fails
      // with IO_ERROR carrying it as the cause.
    }
  }

  /** Commit the held transaction; a failure rolls back, poisons the ledger and is rethrown. */
  private commitHeldOrDie(): void {
    try {
      this.commitHeld();
    } catch (e) {
      if (e instanceof SimulatedCrash) {
        this.die();
      } else {
        // The rows are durable in events.jsonl; reopening replays them (spec §14.2).
        try {
          this.files.projection.rollback();
          this.files.lock?.release();
        } finally {
          this.poison(e);
        }
      }
      throw e;
    }
  }

  private commitHeld(): void {
    if (this.#heldSince === undefined) return;
    this.#heldSince = undefined;
    this.files.projection.commit();
    this.files.lock?.release();
    this.crash('sqlite.committed');
  }

  /** After a real (not simulated) failure: nothing of this flush may stay (spec §13.5). */
  private unwind(wroteAt: number | undefined, cause: unknown): void {
    try {
      this.files.projection.rollback();
      if (!this.#thread) this.files.lock?.release();
    } catch (e) {
      this.poison(e);
    }
    if (wroteAt !== undefined) {
      // The lines were never acknowledged. After a failed fsync the page cache cannot be trusted
      // (the kernel may have dropped the dirty pages), so the ledger stops writing until reopened.
      try {
        this.files.jsonl.truncate(wroteAt);
        this.files.jsonl.sync();
      } catch (e) {
        this.poison(e);
      }
      if (!(cause instanceof SealedLedgerError)) this.poison(cause);
    }
  }
}

/**
 * Step 6 in worker mode: hand the fsynced lines (`written`, the bytes at `start`) over; returns
 * the new head and grown tree. Offsets come from the bytes: measuring each line string would
 * flatten it here, on the thread that bounds the rate (ADR 0038).
 */
function handOver(thread: ProjectionThread, pending: readonly SealedRecord[], start: number, written: Buffer, frontier: CompactRange): { head: Watermark; frontier: CompactRange } {
  const grown = frontier.clone();
  for (const rec of pending) grown.append(rec.hash);
  const last = pending.at(-1)!.event;
  const lineStart = start + written.lastIndexOf(0x0a, written.length - 2) + 1;
  thread.send(pending, start, written);
  return { head: { seq: last.seq, hash: last.hash, offset: start + written.length, lineStart }, frontier: grown };
}
