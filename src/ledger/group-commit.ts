/**
 * Group commit (spec §13): every append waiting when a flush starts shares one lock, one JSONL
 * write and one fsync. Each caller still gets its own event or its own error: a failed item is
 * unwound before anything is written, so it never costs others a seq.
 *
 * The SQLite transaction may outlive a flush (spec §13.7, ADR 0010): while appends keep coming,
 * back-to-back flushes add their rows to the transaction they already hold, and it commits when
 * the writer goes idle or after `projectionLagMs`. Rows only ever enter it after their lines are
 * fsynced, so SQLite can lag JSONL but never lead it.
 */
import {
  ConflictError,
  InvalidInputError,
  PolicyError,
  SealedLedgerError,
} from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import type { SealedEvent } from '../format/event.js';
import { type PreparedEvent, type SealedRecord, sealPrepared, withSignature } from '../format/seal.js';
import { type EventSigner, signatureFor } from '../format/signature.js';
import { assertMirrorable, combine, PARITY_INVARIANT_RULE_ID, type PolicyDecision, type RuleResult } from '../policy/decision.js';
import { parityRule } from '../policy/parity-rule.js';
import { decide } from '../policy/rules.js';
import type { Watermark } from '../store/projection.js';
import { SimulatedCrash } from './crash-points.js';
import type { LedgerCore } from './ledger-core.js';

export interface AppendRequest {
  prepared: PreparedEvent[];
  /** A batch is all-or-nothing; a single append resolves to one event. */
  batch: boolean;
  expectedSeq?: number | undefined;
  signer?: EventSigner | undefined;
  decision?: PolicyDecision | undefined;
  resolve(events: SealedEvent[]): void;
  reject(error: unknown): void;
}

interface Outcome {
  request: AppendRequest;
  events?: SealedEvent[];
  error?: unknown;
}

export class GroupCommit {
  private queue: AppendRequest[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;
  /** performance.now() when the writer transaction still held was begun; undefined: none held. */
  private heldSince: number | undefined;

  constructor(
    private readonly core: LedgerCore,
    private readonly projectionLagMs: number,
    /** The ledger's injected clock (LedgerOptions.now). */
    private readonly now: () => Date = () => new Date(),
    /** The writer's one commit hook: after each flush that moved the durable, acknowledged head (spec §21.3). */
    private readonly onCommit?: () => void,
  ) {}

  enqueue(request: AppendRequest): void {
    this.queue.push(request);
    if (!this.scheduled && !this.running) {
      this.scheduled = true;
      // setImmediate, not a microtask: callers that start appends in the same tick (or whose
      // previous append just resolved) join this flush.
      setImmediate(() => void this.drain());
    }
  }

  /** Resolves once every queued request has been settled. */
  async idle(): Promise<void> {
    while (this.running || this.queue.length > 0 || this.scheduled) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** idle(), then commit the transaction still held, so other connections see every row. */
  async settle(): Promise<void> {
    await this.idle();
    this.commitHeldOrDie();
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const requests = this.queue;
      this.queue = [];
      this.running = this.flush(requests);
      await this.running;
      this.running = undefined;
    }
    // Not now: the callers just resolved may append again as soon as they run, and those
    // appends should join the transaction still held instead of paying for a commit each.
    if (this.heldSince !== undefined) setImmediate(() => this.commitIfIdle());
  }

  private commitIfIdle(): void {
    if (this.running || this.scheduled || this.queue.length > 0) return; // that drain commits
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
        this.core.die();
      } else {
        // The rows are durable in events.jsonl; reopening replays them (spec §14.2).
        try {
          this.core.projection.rollback();
        } finally {
          this.core.poison(e);
        }
      }
      throw e;
    }
  }

  private commitHeld(): void {
    if (this.heldSince === undefined) return;
    this.heldSince = undefined;
    this.core.projection.commit();
    this.core.crash('sqlite.committed');
  }

  private async flush(requests: AppendRequest[]): Promise<void> {
    const outcomes: Outcome[] = requests.map((request) => ({ request }));
    try {
      this.core.assertWritable();
      if (this.heldSince === undefined) await this.core.acquireWriterLock();
    } catch (e) {
      for (const o of outcomes) o.request.reject(e);
      return;
    }
    const { core } = this;
    const frontierBefore = core.frontier.clone();
    const headAtStart = core.head;
    let wroteAt: number | undefined;
    let headBefore: Watermark | undefined;
    let committed = false;
    try {
      core.crash('append.locked');
      const evidence = core.healInLock();
      const head = core.head;
      headBefore = head;
      const parity = parityRule(evidence);
      const pending: SealedRecord[] = [];
      const pendingIds = new Map<string, SealedEvent>();
      let tip = { seq: head.seq, hash: head.hash };
      for (const o of outcomes) {
        const mark = pending.length;
        const tipBefore = tip;
        try {
          o.events = this.sealRequest(o.request, tip, parity, pending, pendingIds);
          if (pending.length > mark) tip = { seq: pending.at(-1)!.event.seq, hash: pending.at(-1)!.event.hash };
        } catch (e) {
          if (e instanceof SimulatedCrash) throw e;
          for (const r of pending.splice(mark)) pendingIds.delete(r.event.id);
          tip = tipBefore;
          o.error = e;
        }
      }
      core.crash('append.sealed');
      if (pending.length > 0) {
        wroteAt = head.offset;
        this.writeDurably(pending, head);
        try {
          core.assertStillAtPaths();
        } catch (e) {
          // Another writer may own these bytes' offset in the file now: never truncate them.
          wroteAt = undefined;
          throw e;
        }
        core.head = this.mirror(pending, head.offset);
      }
      const now = performance.now();
      this.heldSince ??= now;
      if (this.projectionLagMs === 0 || now - this.heldSince >= this.projectionLagMs) this.commitHeld();
      wroteAt = undefined;
      committed = core.head !== headAtStart; // ours, or another process's healed in
    } catch (e) {
      this.heldSince = undefined;
      if (e instanceof SimulatedCrash) {
        core.die();
      } else {
        this.unwind(wroteAt, frontierBefore, e);
        // Rows of earlier flushes may have been rolled back with this one; the next flush sees
        // the watermark behind the head and replays them from events.jsonl (spec §14.2).
        if (headBefore) core.head = headBefore;
      }
      for (const o of outcomes) if (o.error === undefined) o.error = e;
      for (const o of outcomes) o.events = undefined;
    }
    for (const o of outcomes) {
      if (o.events) o.request.resolve(o.events);
      else o.request.reject(o.error);
    }
    if (committed) this.onCommit?.();
  }

  /** Seal, sign and gate one request at `tip`; push what it adds to `pending`. */
  private sealRequest(
    request: AppendRequest,
    tip: { seq: number; hash: string },
    parity: RuleResult,
    pending: SealedRecord[],
    pendingIds: Map<string, SealedEvent>,
  ): SealedEvent[] {
    const { core } = this;
    if (request.expectedSeq !== undefined && request.expectedSeq !== tip.seq) {
      throw new ConflictError('SEQ_CONFLICT', `expected head seq ${request.expectedSeq}, but the head is ${tip.seq}`, {
        details: { expectedSeq: request.expectedSeq, actualSeq: tip.seq },
      });
    }
    const signer = request.signer ?? core.signer;
    const events: SealedEvent[] = [];
    let { seq, hash: prev } = tip;
    for (const p of request.prepared) {
      const existing = p.idGiven ? (pendingIds.get(p.id) ?? core.eventById(p.id)) : undefined;
      if (existing) {
        assertSameContent(existing, p);
        events.push(existing);
        continue;
      }
      let rec = sealPrepared(p, seq + 1, prev);
      if (signer) {
        core.assertSignerValid(signer, rec.event);
        rec = withSignature(rec, signatureFor(rec.hash, signer));
      }
      if (core.requireSignatures && !rec.event.sig) {
        throw new InvalidInputError('INVALID_EVENT', 'this ledger requires signed events and no signer was given', {
          details: { field: 'sig' },
        });
      }
      const decision = request.decision
        ? callerDecisionWithEvidence(request.decision, parity)
        : decide(core.policy, rec.event, parity);
      try {
        assertMirrorable(decision, { id: rec.event.id });
      } catch (e) {
        if (e instanceof PolicyError && e.code === 'POLICY_QUARANTINED') {
          core.quarantine.add({ quarantinedAt: this.now().toISOString(), decision, event: rec.event });
        }
        throw e;
      }
      pending.push(rec);
      pendingIds.set(rec.event.id, rec.event);
      events.push(rec.event);
      seq = rec.event.seq;
      prev = rec.event.hash;
    }
    return events;
  }

  /** Append the lines at the verified end and fsync (spec §13.1 steps 4–5). */
  private writeDurably(pending: SealedRecord[], head: Watermark): void {
    const { core } = this;
    const data = Buffer.from(pending.length === 1 ? pending[0]!.line + '\n' : pending.map((r) => r.line).join('\n') + '\n', 'utf8');
    core.jsonl.writeAt(head.offset, data);
    core.crash('jsonl.written');
    core.jsonl.sync();
    core.crash('jsonl.synced');
  }

  /**
   * Insert rows, tree nodes and the watermark for the lines written from `start`, in the open
   * transaction (spec §13.1 step 6); returns the new head.
   */
  private mirror(pending: readonly SealedRecord[], start: number): Watermark {
    const { core } = this;
    let last: Watermark | undefined;
    for (const rec of pending) last = core.projection.mirror(rec, last?.offset ?? start, core.frontier);
    core.projection.setWatermark(last!);
    core.crash('sqlite.inserted');
    return last!;
  }

  /** After a real (not simulated) failure: nothing of this flush may stay (spec §13.5). */
  private unwind(wroteAt: number | undefined, frontierBefore: LedgerCore['frontier'], cause: unknown): void {
    const { core } = this;
    core.frontier = frontierBefore;
    try {
      core.projection.rollback();
    } catch (e) {
      core.poison(e);
    }
    if (wroteAt !== undefined) {
      // The lines were never acknowledged. After a failed fsync the page cache cannot be trusted
      // (the kernel may have dropped the dirty pages), so the ledger stops writing until reopened.
      try {
        core.jsonl.truncate(wroteAt);
        core.jsonl.sync();
      } catch (e) {
        core.poison(e);
      }
      if (!(cause instanceof SealedLedgerError)) core.poison(cause);
    }
  }
}

/** Idempotent retry: same id and same content returns the stored event (spec §13.6). */
function assertSameContent(existing: SealedEvent, p: PreparedEvent): void {
  const same =
    existing.kind === p.kind &&
    existing.actor === p.actor &&
    canonicalize(existing.payload) === p.payloadJson &&
    (!p.atGiven || existing.at === p.at);
  if (!same) {
    throw new ConflictError('IDEMPOTENCY_CONFLICT', `id ${p.id} already names a different event (seq ${existing.seq})`, {
      details: { id: p.id, seq: existing.seq },
    });
  }
}

/**
 * A caller's own decision must carry the parity rule; the ledger then substitutes the rule it
 * computed from real evidence, so a caller cannot vouch for parity it did not check (spec §16.3).
 */
function callerDecisionWithEvidence(decision: PolicyDecision, parity: RuleResult): PolicyDecision {
  assertMirrorable(decision);
  return combine([...decision.rules.filter((r) => r.id !== PARITY_INVARIANT_RULE_ID), parity]);
}

