/**
 * A ledger folder opened for appends and reads (spec §7, §13, §14): the public face of the
 * writer. Everything it holds is the writer (writer.ts), in a private field; this class only
 * validates calls, delegates, and turns commits into the feed and the onCommit listeners.
 */
import { InvalidInputError, KeyError, LedgerStateError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import type { EventInput, EventLimits, SealedEvent } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import type { EventSigner } from '../format/signature.js';
import type { PolicyDecision } from '../policy/decision.js';
import type { Policy } from '../policy/rules.js';
import { type FileIO, NODE_FILE_IO } from '../store/file-io.js';
import { withIoErrors } from '../store/os-error.js';
import type { LedgerSchema } from '../store/schema.js';
import type { Kysely } from 'kysely';
import type { CrashHook } from './crash-points.js';
import { CommitSignal } from '../feed/commit-signal.js';
import { eventsOf, folderPlan, type FollowOptions, run } from '../feed/follow.js';
import { LocalSource } from '../feed/local-source.js';
import { fixedKeys } from '../feed/line-reader.js';
import { ledgerPaths } from '../store/layout.js';
import { assertNoLinks, folderWarnings } from './folder-safety.js';
import type { Inspection, ReconcileReport } from './reconcile.js';
import { appendCheckpointRecord, checkpointRecordsNewestFirst } from './checkpoint-log.js';
import type { NoteSigner } from '../merkle/signed-note.js';
import { openWriter } from './open-writer.js';
import type { ProjectionWorkerOptions } from './projection-thread.js';
import type { Writer } from './writer.js';
import {
  type ConsistencyProofJson,
  type InclusionProofJson,
  issueCheckpoint,
  proveConsistency,
  proveInclusion,
  rootAt,
  type StoredCheckpoint,
} from './verifiable-log.js';

/** Long enough to share a commit among dozens of back-to-back appends, short enough to be unseen. */
export const DEFAULT_PROJECTION_LAG_MS = 5;

export interface LedgerOptions {
  dir: string;
  /** Create the folder and its files when missing (spec §7.1). */
  create?: boolean;
  /**
   * Inspect mode: open without reconciling or writing anything, even a ledger that a writable
   * open would refuse; `inspection` says what reconcile would do. Appends fail (LEDGER_READ_ONLY).
   */
  readOnly?: boolean;
  /** Default signer for appends; its key must be in the keyring (added if the ledger has none). */
  signer?: (EventSigner & { readonly publicKey?: Uint8Array; readonly name?: string }) | undefined;
  /** Public keys; default: keyring.json in the folder. */
  keyring?: Keyring | undefined;
  policy?: Policy;
  /**
   * Refuse unsigned events: appends without a signer, and unsigned lines found by reconcile. With
   * `create` on a new ledger it is recorded in ledger.json, so every later open, reconcile,
   * replay, doctor and verify enforces it without being told (spec §7.1).
   */
  requireSignatures?: boolean;
  /** Size limits (spec §3.1.1). Recorded in ledger.json at creation; later opens may only lower them. */
  limits?: EventLimits;
  /** How long an append waits for another process's writer lock (default 10 s). */
  lockTimeoutMs?: number;
  /**
   * How long ledger.db may lag acknowledged appends for other connections while appends keep
   * coming (default 5 ms; spec §13.7). Back-to-back flushes share one SQLite transaction that
   * commits when the writer goes idle or after this long. 0: commit before every acknowledgement.
   * This Ledger sees its own rows at once either way; durability is the JSONL fsync in both.
   */
  projectionLagMs?: number;
  /**
   * Worker threads that sign the events of large requests (64 events or more, such as
   * `appendBatch`) while the appending thread seals them (spec §13.8). Default: one per core
   * beyond the first, up to 4; 0 signs on the appending thread. Only keys made by this library
   * (`generateSigningKey`, `signingKeyFromSeed`, `readSigningKeyFile`) move to a thread; any
   * other `EventSigner` signs on the appending thread.
   */
  signingThreads?: number;
  /** @internal The compiled sign-worker.js, for tests that run from the TypeScript sources. */
  signWorkerUrl?: URL;
  /**
   * Insert the SQLite rows on a worker thread (spec §13.9, ADR 0030): appends are acknowledged
   * once their lines are fsynced, and ledger.db follows within the bound (default 10,000 events,
   * 100 ms; appends wait when it is exceeded). Reads through this Ledger wait for the rows they
   * need. Marks the folder as format v2 (ledger.json): older writers refuse it. Default: off.
   */
  projectionWorker?: boolean | ProjectionWorkerOptions;
  /** Checkpoint origin line for a new ledger (spec §12.1). */
  origin?: string;
  /** Clock for default timestamps. */
  now?: () => Date;
  /** Crash suites only (types in `sealed-ledger/testing`): the file-system seam (spec §13.4). */
  io?: FileIO;
  /** Crash suites only: called at each named crash point; SimulatedCrash kills the writer. */
  crashHook?: CrashHook;
}

export interface AppendOptions {
  /** Fail with SEQ_CONFLICT unless the head (last seq, -1 when empty) is this (spec §13.6). */
  expectedSeq?: number;
  signer?: EventSigner;
  /** A caller-made decision; must carry PARITY_INVARIANT_RULE_ID (spec §16.3). */
  decision?: PolicyDecision;
}

export interface EventQuery {
  fromSeq?: number;
  toSeq?: number;
  kind?: string;
  actor?: string;
  fromAt?: string;
  toAt?: string;
  limit?: number;
}

export interface LedgerHead {
  /** seq of the last event, -1 when empty. */
  seq: number;
  hash: string;
  /** Number of events (= Merkle tree size). */
  size: number;
}

/** Set once by Ledger's static block: the only way from a Ledger to its writer. */
let writerOfLedger: (ledger: Ledger) => Writer;

/**
 * The writer behind `ledger`, for the library's own modules (the CLI, the shipper) and
 * `sealed-ledger/testing`; not part of the published API.
 * @internal
 */
export function writerOf(ledger: Ledger): Writer {
  return writerOfLedger(ledger);
}

export class Ledger {
  readonly #writer: Writer;
  readonly #report: ReconcileReport;
  readonly #inspection: Inspection | undefined;
  readonly #warnings: string[];
  readonly #feed: CommitSignal;
  readonly #commitListeners = new Set<(head: LedgerHead) => void>();
  readonly #closeHooks = new Set<() => Promise<void>>();

  static {
    writerOfLedger = (ledger) => ledger.#writer;
  }

  private constructor(writer: Writer, report: ReconcileReport, inspection: Inspection | undefined, feed: CommitSignal) {
    this.#writer = writer;
    this.#report = report;
    this.#inspection = inspection;
    this.#feed = feed;
    this.#warnings = folderWarnings(writer.files.paths);
  }

  /** Open (or with `create`, initialize) a ledger folder and reconcile it (spec §14.2). */
  static async open(options: LedgerOptions): Promise<Ledger> {
    const io = options.io ?? NODE_FILE_IO;
    const lag = options.projectionLagMs;
    if (lag !== undefined && !(typeof lag === 'number' && Number.isFinite(lag) && lag >= 0)) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'projectionLagMs must be a finite number >= 0');
    }
    const threads = options.signingThreads;
    if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 0)) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'signingThreads must be an integer >= 0');
    }
    const pw = options.projectionWorker;
    const worker = pw === true ? {} : pw === false || pw === undefined ? undefined : pw;
    for (const k of ['maxLagEvents', 'maxLagMs'] as const) {
      const v = worker?.[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) {
        throw new InvalidInputError('INVALID_ARGUMENT', `projectionWorker.${k} must be an integer >= 0`);
      }
    }
    const paths = ledgerPaths(options.dir);
    const feed = new CommitSignal();
    let ledger: Ledger | undefined;
    const opened = await withIoErrors(paths.sqlite, () => {
      assertNoLinks(paths);
      return openWriter(paths, { ...options, projectionWorker: options.readOnly ? undefined : worker, projectionLagMs: lag ?? DEFAULT_PROJECTION_LAG_MS }, io, {
        committed: () => {
          if (ledger) ledger.#committed();
        },
        ended: () => feed.end(),
      });
    });
    ledger = new Ledger(opened.writer, opened.report, opened.inspection, feed);
    return ledger;
  }

  /** What open healed (spec §14.2); in inspect mode, what a writable open would have found. */
  get lastReconcile(): ReconcileReport {
    return this.#report;
  }

  /** Group- or world-writable ledger files or folder, found at open (spec §7.1). */
  get warnings(): string[] {
    return this.#warnings;
  }

  /**
   * Append one event; resolves once its line is fsynced in events.jsonl and its row is in this
   * ledger's SQLite transaction (committed for other connections within `projectionLagMs`).
   */
  async append(input: EventInput, options: AppendOptions = {}): Promise<SealedEvent> {
    const events = await this.#writer.append([input], false, options);
    return events[0]!;
  }

  /** Append several events atomically: all are acknowledged, or none is written (spec §13.1). */
  async appendBatch(inputs: readonly EventInput[], options: AppendOptions = {}): Promise<SealedEvent[]> {
    if (!Array.isArray(inputs)) throw new InvalidInputError('INVALID_ARGUMENT', 'appendBatch takes an array of events');
    if (inputs.length === 0) return [];
    return this.#writer.append(inputs, true, options);
  }

  /**
   * The writer's one commit hook: called once per flush that moved the durable head (spec
   * §21.3), after the lines are fsynced and the callers resolved. It wakes this ledger's
   * followers and the onCommit listeners (an in-process shipper).
   */
  #committed(): void {
    this.#feed.notify();
    if (this.#commitListeners.size === 0) return;
    const head = this.headInfo();
    for (const listener of [...this.#commitListeners]) listener(head);
  }

  /** Called after each commit that acknowledged appends (the shipper wakes on it); returns an unsubscribe. */
  onCommit(listener: (head: LedgerHead) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Awaited by close() after the last appends settle (a shipper's bounded drain); returns an unsubscribe. */
  onClose(hook: () => Promise<void>): () => void {
    this.#closeHooks.add(hook);
    return () => this.#closeHooks.delete(hook);
  }

  /**
   * Wait for queued appends, then commit the projection's transaction, so that other connections
   * to ledger.db see every acknowledged event now rather than within `projectionLagMs`.
   */
  async flush(): Promise<void> {
    this.#writer.assertWritable();
    await this.#writer.settle();
  }

  /** In read-only inspect mode: what a writable open would heal or refuse. */
  get inspection(): Inspection | undefined {
    return this.#inspection;
  }

  /** The last acknowledged event as this process knows it. */
  headInfo(): LedgerHead {
    const { seq, hash } = this.#writer.head;
    return { seq, hash, size: seq + 1 };
  }

  /** Typed read access to the projection (spec §8). Do not write through it. */
  get query(): Kysely<LedgerSchema> {
    this.#writer.projectedSync();
    return this.#writer.files.projection.kysely;
  }

  get(seq: number): SealedEvent | undefined {
    this.#writer.projectedSync();
    const row = this.#writer.files.projection.bySeq(seq);
    return row ? parseEventLine(row.line).event : undefined;
  }

  eventById(id: string): SealedEvent | undefined {
    this.#writer.projectedSync();
    const row = this.#writer.files.projection.byId(id);
    return row ? parseEventLine(row.line).event : undefined;
  }

  /** Events in seq order matching `q`, streamed from SQLite. */
  *events(q: EventQuery = {}): Generator<SealedEvent> {
    this.#writer.projectedSync();
    for (const line of this.#writer.files.projection.eventLines(q)) yield parseEventLine(line).event;
  }

  /** Inclusion proof of event `seq` in the tree of `treeSize` leaves (default: now). Spec §11.3. */
  proveInclusion(seq: number, treeSize?: number): InclusionProofJson {
    this.#writer.projectedSync();
    return proveInclusion(this.#writer.files.projection.tree, this.#writer.head.seq + 1, seq, treeSize);
  }

  /** Consistency proof from `fromSize` to `toSize` (default: now). Spec §11.3. */
  proveConsistency(fromSize: number, toSize?: number): ConsistencyProofJson {
    this.#writer.projectedSync();
    return proveConsistency(this.#writer.files.projection.tree, this.#writer.head.seq + 1, fromSize, toSize);
  }

  /** RFC 6962 root of the first `size` events (default: all). */
  rootHash(size = this.#writer.head.seq + 1): string {
    const end = this.#writer.head.seq + 1;
    if (!Number.isSafeInteger(size) || size < 0 || size > end) {
      throw new InvalidInputError('INVALID_ARGUMENT', `size must be in 0..${end}`);
    }
    this.#writer.projectedSync();
    return rootAt(this.#writer.files.projection.tree, size).toString('hex');
  }

  /**
   * Sign and store a C2SP checkpoint of the current tree (spec §12); returns the signed note.
   * Signs with `signer` or the ledger's signer, which must be in the keyring.
   */
  async checkpoint(signer?: NoteSigner & { kid?: string }): Promise<string> {
    const w = this.#writer;
    const { paths, projection, jsonl, keyring, io } = w.files;
    return withIoErrors(paths.sqlite, async () => {
      const key = signer ?? (w.signer as (NoteSigner & { kid?: string }) | undefined);
      if (!key || !('name' in key) || !('publicKey' in key)) {
        throw new InvalidInputError('INVALID_ARGUMENT', 'checkpoint() needs a signing key with a name and public key');
      }
      return w.withLock(() => {
        if (key.kid !== undefined) {
          if (!keyring) throw new KeyError('UNKNOWN_KEY', `key ${key.kid} is not in the ledger's keyring`);
          keyring.keyFor(key.kid, { seq: Math.max(0, w.head.seq), at: w.now().toISOString() });
        }
        return issueCheckpoint({
          projection,
          jsonl,
          frontier: w.frontier,
          end: w.head.offset,
          origin: w.metadata.origin,
          signer: key,
          recordsNewestFirst: { [Symbol.iterator]: () => checkpointRecordsNewestFirst(paths.checkpoints) },
          persist: (r) => appendCheckpointRecord(paths.checkpoints, r, io),
        });
      });
    });
  }

  /**
   * Events as this Ledger acknowledges them, verified from events.jsonl's bytes, in seq order
   * (spec §21.1). Woken by each commit, never by a timer; ends when `signal` aborts or the ledger
   * closes. Use the standalone follow({ dir }) in processes that do not write.
   */
  follow(options: FollowOptions = {}): AsyncGenerator<SealedEvent, void, undefined> {
    const w = this.#writer;
    if (w.state === 'closed' || w.state === 'dead') throw new LedgerStateError('LEDGER_CLOSED', 'the ledger is closed');
    const { paths, projection, keyring } = w.files;
    // A read-only Ledger acknowledges nothing: it follows the folder as any other process does.
    const plan = w.state === 'read-only' ? folderPlan({ dir: paths.dir, keyring: keyring ?? new Keyring() }) : {
      path: paths.jsonl,
      source: () => new LocalSource(this.#feed, () => w.head.offset, (seq: number) => {
        if (w.state === 'open') w.projectedSync();
        const row = w.state === 'open' ? projection.bySeq(seq) : undefined;
        return row ? { offset: row.offset, line: row.line } : undefined;
      }),
      keys: fixedKeys(keyring),
    };
    return eventsOf(run(plan, { requireSignatures: w.requireSignatures, ...options }));
  }

  /** Checkpoints issued so far, oldest first. */
  checkpoints(): StoredCheckpoint[] {
    this.#writer.projectedSync();
    return this.#writer.files.projection.checkpoints();
  }

  /** Wait for queued appends, commit what the projection holds, then release files and locks. */
  async close(): Promise<void> {
    await this.#writer.close(async () => {
      for (const hook of [...this.#closeHooks]) await hook();
    });
  }

  /**
   * Record a signing policy in ledger.json from the next seq on (spec §7.1): history before it
   * stays as it is, every later event must be signed, and reconcile, replay, doctor and verify
   * enforce it without a flag. Returns the first seq it covers. Idempotent.
   */
  async requireSignaturesFromNow(): Promise<number> {
    return this.#writer.requireSignaturesFromNow();
  }
}
