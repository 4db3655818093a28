/**
 * A ledger folder opened for appends and reads (spec §7, §13, §14). Open reconciles the
 * projection with events.jsonl in O(drift); appends go through the group committer.
 */
import fs from 'node:fs';
import { InvalidInputError, KeyError, LedgerStateError, SealedLedgerError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { DEFAULT_LIMITS, type EventInput, type EventLimits, type SealedEvent } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { prepareEvent } from '../format/seal.js';
import type { EventSigner } from '../format/signature.js';
import { CompactRange } from '../merkle/compact-range.js';
import type { PolicyDecision } from '../policy/decision.js';
import type { ParityEvidence } from '../policy/parity-rule.js';
import type { Policy } from '../policy/rules.js';
import { type FileIO, NODE_FILE_IO } from '../store/file-io.js';
import { JsonlFile } from '../store/jsonl-file.js';
import { existsOrThrow, withIoErrors } from '../store/os-error.js';
import { Projection, type Watermark } from '../store/projection.js';
import type { LedgerSchema } from '../store/schema.js';
import type { TreeStore } from '../store/tree-store.js';
import type { Kysely } from 'kysely';
import { type CrashHook, type CrashPoint } from './crash-points.js';
import { GroupCommit } from './group-commit.js';
import { CommitSignal } from '../feed/commit-signal.js';
import { eventsOf, folderPlan, type FollowOptions, run } from '../feed/follow.js';
import { LocalSource } from '../feed/local-source.js';
import { fixedKeys } from '../feed/line-reader.js';
import { acquireWriterLock } from './writer-lock.js';
import { loadFolderKeyring } from './folder-keyring.js';
import { type LedgerPaths, ledgerPaths } from '../store/layout.js';
import { readOrCreateMetadata, writeMetadata, type LedgerMetadata } from './metadata.js';
import { assertNoLinks, folderWarnings } from './folder-safety.js';
import { OPEN_POLICY, readPolicyOf, type ReadPolicy } from './read-policy.js';
import { QuarantineFile } from './quarantine.js';
import { inspect, type Inspection, reconcile, type ReconcileReport } from './reconcile.js';
import { appendCheckpointRecord, checkpointRecordsNewestFirst, readCheckpointRecords } from './checkpoint-log.js';
import type { NoteSigner } from '../merkle/signed-note.js';
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

export class Ledger {
  /** @internal */ head: Watermark;
  /** @internal */ frontier: CompactRange;
  /** @internal */ readonly quarantine: QuarantineFile;
  /** @internal */ readonly policy: Policy;
  /** @internal */ readonly requireSignatures: boolean;
  /** Group- or world-writable ledger files or folder, found at open (spec §7.1). */
  readonly warnings: string[];
  private readonly commits: GroupCommit;
  private readonly feed = new CommitSignal();
  private state: 'open' | 'read-only' | 'closed' | 'dead' = 'open';
  private inspected: Inspection | undefined;
  private poisonedBy: unknown;

  private constructor(
    /** @internal */ readonly paths: LedgerPaths,
    /** @internal */ readonly metadata: LedgerMetadata,
    /** @internal */ readonly jsonl: JsonlFile,
    /** @internal */ readonly projection: Projection,
    /** @internal */ readonly tree: TreeStore,
    /** @internal */ readonly keyring: Keyring | undefined,
    /** @internal */ readonly signer: EventSigner | undefined,
    readonly lastReconcile: ReconcileReport,
    private readonly options: LedgerOptions,
    private readonly io: FileIO,
    frontier: CompactRange,
  ) {
    this.head = lastReconcile.after;
    this.frontier = frontier;
    this.policy = options.policy ?? [];
    this.requireSignatures = (options.requireSignatures ?? false) || metadata.signaturesRequiredFrom !== undefined;
    this.warnings = folderWarnings(paths);
    this.quarantine = new QuarantineFile(paths.quarantine, io);
    this.commits = new GroupCommit(this, options.projectionLagMs ?? DEFAULT_PROJECTION_LAG_MS, options.now, () => this.committed());
  }

  /** Open (or with `create`, initialize) a ledger folder and reconcile it (spec §14.2). */
  static async open(options: LedgerOptions): Promise<Ledger> {
    const io = options.io ?? NODE_FILE_IO;
    const lag = options.projectionLagMs;
    if (lag !== undefined && !(typeof lag === 'number' && Number.isFinite(lag) && lag >= 0)) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'projectionLagMs must be a finite number >= 0');
    }
    const paths = ledgerPaths(options.dir);
    return withIoErrors(paths.sqlite, () => Ledger.openAt(paths, options, io));
  }

  private static async openAt(paths: LedgerPaths, options: LedgerOptions, io: FileIO): Promise<Ledger> {
    assertNoLinks(paths);
    if (options.readOnly) return Ledger.openReadOnly(paths, options, io);
    const created = prepareFolder(paths, options, io);
    const metadata = readOrCreateMetadata(paths.metadata, {
      origin: options.origin,
      // Only a ledger this call creates starts with the policy: one that already holds events
      // opts in from its next seq (requireSignaturesFromNow), so its history stays readable.
      signaturesRequiredFrom: created && options.requireSignatures ? 0 : undefined,
      maxPayloadBytes: created && options.limits && options.limits.maxPayloadBytes !== DEFAULT_LIMITS.maxPayloadBytes ? options.limits.maxPayloadBytes : undefined,
    }, io);
    const policy = readPolicyOf(metadata, options.requireSignatures);
    if (options.limits && options.limits.maxPayloadBytes > policy.limits.maxPayloadBytes) {
      throw new InvalidInputError('INVALID_ARGUMENT', `this ledger's payload limit is ${policy.limits.maxPayloadBytes} bytes (ledger.json); limits may lower it, not raise it`, {
        details: { limit: policy.limits.maxPayloadBytes },
      });
    }
    let keyring = options.keyring ?? loadFolderKeyring(paths.keyring);
    const signer = options.signer;
    if (signer && !keyring?.has(signer.kid)) {
      if (keyring && keyring.size > 0) {
        throw new KeyError('UNKNOWN_KEY', `signing key ${signer.kid} is not in the ledger's keyring; add it first (sealed-ledger keys add)`, {
          details: { kid: signer.kid },
        });
      }
      if (!signer.publicKey || !signer.name) {
        throw new InvalidInputError('INVALID_ARGUMENT', 'a signer without publicKey and name needs a keyring that holds its key');
      }
      keyring = keyring ?? new Keyring();
      keyring.add({ kid: signer.kid, name: signer.name, publicKey: signer.publicKey });
      keyring.save(paths.keyring);
    }
    // A create that died before its folder fsync is completed by the next open (spec §7.1).
    io.syncDir(paths.dir);
    const jsonl = JsonlFile.open(paths.jsonl, io);
    let projection: Projection | undefined;
    try {
      projection = await Projection.open(paths.sqlite, { create: true, lockTimeoutMs: options.lockTimeoutMs });
      const sqliteId = fileIdentity(paths.sqlite);
      const tree = projection.tree;
      await acquireWriterLock(projection, options.lockTimeoutMs);
      let result;
      try {
        options.crashHook?.('reconcile.locked');
        const p = projection;
        result = reconcile({
          jsonl, projection, tree, keyring, io, tornDir: paths.torn, crash: options.crashHook, policy,
          checkpointFloor: () => checkpointFloor(p, paths),
        });
        if (projection.checkpoints().length === 0) {
          projection.importCheckpoints(readCheckpointRecords(paths.checkpoints), result.report.after.seq + 1);
        }
        options.crashHook?.('reconcile.committed');
        projection.commit();
      } catch (e) {
        projection.rollback();
        throw e;
      }
      const ledger = new Ledger(paths, metadata, jsonl, projection, tree, keyring, signer, result.report, options, io, result.frontier);
      ledger.readPolicy = policy;
      ledger.sqliteId = sqliteId;
      return ledger;
    } catch (e) {
      if (projection) await projection.close().catch(() => undefined);
      jsonl.close();
      throw e;
    }
  }

  private static async openReadOnly(paths: LedgerPaths, options: LedgerOptions, io: FileIO): Promise<Ledger> {
    if (options.create) throw new InvalidInputError('INVALID_ARGUMENT', 'readOnly and create exclude each other');
    prepareFolder(paths, options, io);
    const metadata = readOrCreateMetadata(paths.metadata, undefined, io, true);
    const keyring = options.keyring ?? loadFolderKeyring(paths.keyring);
    const jsonl = JsonlFile.open(paths.jsonl, io, { readOnly: true });
    try {
      const projection = await Projection.open(paths.sqlite, { readOnly: true });
      const tree = projection.tree;
      projection.beginRead();
      try {
        const { report, inspection } = inspect(jsonl, projection, readPolicyOf(metadata, options.requireSignatures), keyring);
        let frontier = CompactRange.empty();
        try {
          frontier = tree.frontier(report.after.seq + 1);
        } catch (e) {
          if (!(e instanceof SealedLedgerError)) throw e;
          inspection.problems.push(`${e.code}: ${e.message}`);
        }
        const ledger = new Ledger(paths, metadata, jsonl, projection, tree, keyring, options.signer, report, options, io, frontier);
        ledger.inspected = inspection;
        ledger.state = 'read-only';
        return ledger;
      } finally {
        projection.commit();
      }
    } catch (e) {
      jsonl.close();
      throw e;
    }
  }

  /**
   * Append one event; resolves once its line is fsynced in events.jsonl and its row is in this
   * ledger's SQLite transaction (committed for other connections within `projectionLagMs`).
   */
  async append(input: EventInput, options: AppendOptions = {}): Promise<SealedEvent> {
    const events = await this.submit([input], false, options);
    return events[0]!;
  }

  /** Append several events atomically: all are acknowledged, or none is written (spec §13.1). */
  async appendBatch(inputs: readonly EventInput[], options: AppendOptions = {}): Promise<SealedEvent[]> {
    if (!Array.isArray(inputs)) throw new InvalidInputError('INVALID_ARGUMENT', 'appendBatch takes an array of events');
    if (inputs.length === 0) return [];
    return this.submit(inputs, true, options);
  }

  private submit(inputs: readonly EventInput[], batch: boolean, options: AppendOptions): Promise<SealedEvent[]> {
    this.assertWritable();
    if (options.expectedSeq !== undefined && (!Number.isSafeInteger(options.expectedSeq) || options.expectedSeq < -1)) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'expectedSeq must be an integer >= -1');
    }
    const prepared = inputs.map((input, i) => {
      try {
        return prepareEvent(input, { limits: this.options.limits ?? this.readPolicy.limits, now: this.options.now });
      } catch (e) {
        if (batch && e instanceof SealedLedgerError) Object.assign(e.details, { index: i });
        throw e;
      }
    });
    return new Promise<SealedEvent[]>((resolve, reject) => {
      this.commits.enqueue({ prepared, batch, expectedSeq: options.expectedSeq, signer: options.signer, decision: options.decision, resolve, reject });
    });
  }

  /**
   * The writer's one commit hook: the group committer calls it once per flush that moved the
   * durable head (spec §21.3), after the lines are fsynced and the callers resolved. It wakes this
   * ledger's followers and the onCommit listeners (an in-process shipper).
   */
  private committed(): void {
    this.feed.notify();
    if (this.commitListeners.size === 0) return;
    const head = this.headInfo();
    for (const listener of [...this.commitListeners]) listener(head);
  }

  private readonly commitListeners = new Set<(head: LedgerHead) => void>();
  private readonly closeHooks = new Set<() => Promise<void>>();

  /** Called after each commit that acknowledged appends (the shipper wakes on it); returns an unsubscribe. */
  onCommit(listener: (head: LedgerHead) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** Awaited by close() after the last appends settle (a shipper's bounded drain); returns an unsubscribe. */
  onClose(hook: () => Promise<void>): () => void {
    this.closeHooks.add(hook);
    return () => this.closeHooks.delete(hook);
  }

  /**
   * Wait for queued appends, then commit the projection's transaction, so that other connections
   * to ledger.db see every acknowledged event now rather than within `projectionLagMs`.
   */
  async flush(): Promise<void> {
    this.assertWritable();
    await this.commits.settle();
  }

  /** In read-only inspect mode: what a writable open would heal or refuse. */
  get inspection(): Inspection | undefined {
    return this.inspected;
  }

  /** The last acknowledged event as this process knows it. */
  headInfo(): LedgerHead {
    return { seq: this.head.seq, hash: this.head.hash, size: this.head.seq + 1 };
  }

  /** Typed read access to the projection (spec §8). Do not write through it. */
  get query(): Kysely<LedgerSchema> {
    return this.projection.kysely;
  }

  get(seq: number): SealedEvent | undefined {
    const row = this.projection.bySeq(seq);
    return row ? parseEventLine(row.line).event : undefined;
  }

  eventById(id: string): SealedEvent | undefined {
    const row = this.projection.byId(id);
    return row ? parseEventLine(row.line).event : undefined;
  }

  /** Events in seq order matching `q`, streamed from SQLite. */
  *events(q: EventQuery = {}): Generator<SealedEvent> {
    for (const line of this.projection.eventLines(q)) yield parseEventLine(line).event;
  }

  /** Inclusion proof of event `seq` in the tree of `treeSize` leaves (default: now). Spec §11.3. */
  proveInclusion(seq: number, treeSize?: number): InclusionProofJson {
    return proveInclusion(this.tree, this.head.seq + 1, seq, treeSize);
  }

  /** Consistency proof from `fromSize` to `toSize` (default: now). Spec §11.3. */
  proveConsistency(fromSize: number, toSize?: number): ConsistencyProofJson {
    return proveConsistency(this.tree, this.head.seq + 1, fromSize, toSize);
  }

  /** RFC 6962 root of the first `size` events (default: all). */
  rootHash(size = this.head.seq + 1): string {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.head.seq + 1) {
      throw new InvalidInputError('INVALID_ARGUMENT', `size must be in 0..${this.head.seq + 1}`);
    }
    return rootAt(this.tree, size).toString('hex');
  }

  /**
   * Sign and store a C2SP checkpoint of the current tree (spec §12); returns the signed note.
   * Signs with `signer` or the ledger's signer, which must be in the keyring.
   */
  async checkpoint(signer?: NoteSigner & { kid?: string }): Promise<string> {
    return withIoErrors(this.paths.sqlite, () => this.checkpointNow(signer));
  }

  private async checkpointNow(signer?: NoteSigner & { kid?: string }): Promise<string> {
    const key = signer ?? (this.signer as (NoteSigner & { kid?: string }) | undefined);
    if (!key || !('name' in key) || !('publicKey' in key)) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'checkpoint() needs a signing key with a name and public key');
    }
    this.assertWritable();
    await this.commits.settle();
    await this.acquireWriterLock();
    try {
      this.healInLock();
      if (key.kid !== undefined) {
        if (!this.keyring) throw new KeyError('UNKNOWN_KEY', `key ${key.kid} is not in the ledger's keyring`);
        this.keyring.keyFor(key.kid, { seq: Math.max(0, this.head.seq), at: (this.options.now?.() ?? new Date()).toISOString() });
      }
      const note = issueCheckpoint({
        projection: this.projection,
        jsonl: this.jsonl,
        frontier: this.frontier,
        end: this.head.offset,
        origin: this.metadata.origin,
        signer: key,
        recordsNewestFirst: { [Symbol.iterator]: () => checkpointRecordsNewestFirst(this.paths.checkpoints) },
        persist: (r) => appendCheckpointRecord(this.paths.checkpoints, r, this.io),
      });
      this.projection.commit();
      return note;
    } finally {
      this.projection.rollback();
    }
  }

  /**
   * Events as this Ledger acknowledges them, verified from events.jsonl's bytes, in seq order
   * (spec §21.1). Woken by each commit, never by a timer; ends when `signal` aborts or the ledger
   * closes. Use the standalone follow({ dir }) in processes that do not write.
   */
  follow(options: FollowOptions = {}): AsyncGenerator<SealedEvent, void, undefined> {
    if (this.state === 'closed' || this.state === 'dead') throw new LedgerStateError('LEDGER_CLOSED', 'the ledger is closed');
    // A read-only Ledger acknowledges nothing: it follows the folder as any other process does.
    const plan = this.state === 'read-only' ? folderPlan({ dir: this.paths.dir, keyring: this.keyring ?? new Keyring() }) : {
      path: this.paths.jsonl,
      source: () => new LocalSource(this.feed, () => this.head.offset, (seq: number) => {
        const row = this.state === 'open' ? this.projection.bySeq(seq) : undefined;
        return row ? { offset: row.offset, line: row.line } : undefined;
      }),
      keys: fixedKeys(this.keyring),
    };
    return eventsOf(run(plan, { requireSignatures: this.requireSignatures, ...options }));
  }

  /** Checkpoints issued so far, oldest first. */
  checkpoints(): StoredCheckpoint[] {
    return this.projection.checkpoints();
  }

  /** Wait for queued appends, commit what the projection holds, then release files and locks. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'dead') {
      this.state = 'closed';
      return;
    }
    try {
      if (this.state === 'open') await this.commits.settle();
      for (const hook of [...this.closeHooks]) await hook();
    } finally {
      // settle() may have died (a simulated crash): then the files are already released.
      this.feed.end();
      if ((this.state as Ledger['state']) !== 'dead') {
        this.state = 'closed';
        this.quarantine.close();
        this.jsonl.close();
        await this.projection.close();
      }
      this.state = 'closed';
    }
  }

  // ---- LedgerCore: used by the group committer ----

  /** @internal */
  crash(point: CrashPoint): void {
    this.options.crashHook?.(point);
  }

  /** @internal */
  assertWritable(): void {
    if (this.state === 'read-only') throw new LedgerStateError('LEDGER_READ_ONLY', 'the ledger was opened read-only');
    if (this.state !== 'open') throw new LedgerStateError('LEDGER_CLOSED', 'the ledger is closed');
    if (this.poisonedBy !== undefined) {
      throw new LedgerStateError('IO_ERROR', 'an earlier write failed; reopen the ledger to reconcile', { cause: this.poisonedBy });
    }
  }

  /** @internal */
  acquireWriterLock(): Promise<void> {
    return acquireWriterLock(this.projection, this.options.lockTimeoutMs);
  }

  /**
   * Inside the lock: make the projection match the end of events.jsonl (O(drift)). Returns the
   * parity evidence read on the way (one fstat and one watermark read per flush, spec §16.3).
   * @internal
   */
  healInLock(): ParityEvidence {
    this.assertStillAtPaths();
    const wm = this.projection.watermark();
    const size = this.jsonl.size();
    if (sameMark(wm, this.head) && size === wm.offset) return parityEvidence(size, wm, this.head);
    // Another process appended (or crashed mid-append): catch up in O(drift).
    const { report, frontier } = reconcile({
      jsonl: this.jsonl, projection: this.projection, tree: this.tree, keyring: this.keyring,
      io: this.io, tornDir: this.paths.torn, crash: this.options.crashHook, policy: this.readPolicy,
      checkpointFloor: () => checkpointFloor(this.projection, this.paths),
    });
    this.head = report.after;
    this.frontier = frontier;
    return parityEvidence(this.jsonl.size(), this.projection.watermark(), this.head);
  }

  /** What reconcile enforces on lines it did not write (spec §3.1.1, §7.1). */
  private readPolicy: ReadPolicy = OPEN_POLICY;
  private sqliteId: FileIdentity | undefined;

  /**
   * Refuse to write when events.jsonl or ledger.db at their paths are no longer the files this
   * writer holds (removed, renamed, replaced by a rebuild): its lock and its end offset then
   * belong to files nobody else sees, and a second writer on the new files would take the same
   * seqs (spec §13.2). One fstat and two stats per flush; the ledger is poisoned, so nothing
   * written after this is acknowledged.
   * @internal
   */
  assertStillAtPaths(): void {
    const moved = !this.jsonl.stillAtPath() ? this.paths.jsonl : !sameIdentity(this.sqliteId, fileIdentity(this.paths.sqlite)) ? this.paths.sqlite : undefined;
    if (moved === undefined) return;
    const e = new LedgerStateError('IO_ERROR', `${moved} is no longer the file this writer opened (removed or replaced); refusing to write: reopen the ledger`, {
      details: { path: moved },
    });
    this.poison(e);
    throw e;
  }

  /**
   * Record a signing policy in ledger.json from the next seq on (spec §7.1): history before it
   * stays as it is, every later event must be signed, and reconcile, replay, doctor and verify
   * enforce it without a flag. Returns the first seq it covers. Idempotent.
   */
  async requireSignaturesFromNow(): Promise<number> {
    this.assertWritable();
    await this.commits.settle();
    await this.acquireWriterLock();
    try {
      this.healInLock();
      const current = this.metadata.signaturesRequiredFrom;
      if (current !== undefined) return current;
      const from = this.head.seq + 1;
      const meta: LedgerMetadata = { ...this.metadata, signaturesRequiredFrom: from };
      writeMetadata(this.paths.metadata, meta, this.io);
      (this as { metadata: LedgerMetadata }).metadata = meta;
      (this as { requireSignatures: boolean }).requireSignatures = true;
      this.readPolicy = readPolicyOf(meta, this.options.requireSignatures);
      return from;
    } finally {
      this.projection.rollback();
    }
  }

  /** @internal */
  assertSignerValid(signer: EventSigner, event: SealedEvent): void {
    if (!this.keyring) {
      throw new KeyError('UNKNOWN_KEY', `signing key ${signer.kid} is not in a keyring; open the ledger with it as signer or add it`, {
        details: { kid: signer.kid },
      });
    }
    this.keyring.publicKeyFor(signer.kid, { seq: event.seq, at: event.at }); // throws outside its window
  }

  /** @internal */
  die(): void {
    this.state = 'dead';
    this.feed.end();
    try {
      this.quarantine.close();
      this.jsonl.close();
      this.projection.closeNow(); // an open transaction is rolled back, as on process death
    } catch {
      // a dead process reports nothing; the crash suite inspects the files
    }
  }

  /** @internal */
  poison(cause: unknown): void {
    this.poisonedBy ??= cause;
  }
}

interface FileIdentity {
  dev: number;
  ino: number;
}

function fileIdentity(path: string): FileIdentity | undefined {
  try {
    const st = fs.statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** Events covered by the largest checkpoint ledger.db or checkpoints.jsonl records. */
function checkpointFloor(projection: Projection, paths: LedgerPaths): number {
  let floor = projection.maxCheckpointSize();
  for (const r of readCheckpointRecords(paths.checkpoints)) floor = Math.max(floor, r.size);
  return floor;
}

/** What each store says its end is, for the parity rule (spec §16.3). */
function parityEvidence(size: number, wm: Watermark, head: Watermark): ParityEvidence {
  return {
    jsonl: { size, lastSeq: head.seq, lastHash: head.hash },
    sqlite: { offset: wm.offset, seq: wm.seq, hash: wm.hash },
  };
}

function sameMark(a: Watermark, b: Watermark): boolean {
  return a.seq === b.seq && a.hash === b.hash && a.offset === b.offset && a.lineStart === b.lineStart;
}

/** Check or create the folder; returns true when this call created events.jsonl. */
function prepareFolder(paths: LedgerPaths, options: LedgerOptions, io: FileIO): boolean {
  if (existsOrThrow(paths.jsonl)) return false;
  if (!options.create) {
    const why = existsOrThrow(paths.dir) ? `${paths.dir} is not a ledger folder (no events.jsonl)` : `${paths.dir} does not exist`;
    throw new LedgerStateError('LEDGER_NOT_FOUND', why, { details: { dir: paths.dir } });
  }
  if (fs.existsSync(paths.sqlite)) {
    throw new LedgerStateError('SQLITE_AHEAD', `${paths.sqlite} exists but events.jsonl does not; refusing to create a new ledger over it`, {
      details: { dir: paths.dir },
    });
  }
  fs.mkdirSync(paths.dir, { recursive: true });
  io.close(io.open(paths.jsonl, 'a', 0o644));
  io.syncDir(paths.dir);
  return true;
}
