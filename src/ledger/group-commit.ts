/**
 * The steps of one group commit that touch the events (spec §13.1 steps 4–6): seal every waiting
 * request at the verified end and write all their lines with one write and one fsync; the writer
 * then mirrors them into its transaction (staged-rows.ts, which may have staged some while the
 * signing threads signed). Each caller still gets its own event or its own error: a failed
 * request is unwound before anything is written, so it never costs others a seq.
 *
 * These are functions of what the writer hands in; they return what they made and never change
 * the writer's state (the StagedRows it hands in holds the rows they stage). writer.ts runs them
 * inside the lock.
 */
import { ConflictError, InvalidInputError, KeyError, PolicyError } from '../errors.js';
import type { Keyring } from '../crypto/keyring.js';
import { canonicalize } from '../format/canonical.js';
import type { SealedEvent } from '../format/event.js';
import { type PreparedEvent, type SealedRecord, sealPrepared, withSignature } from '../format/seal.js';
import { type EventSigner, eventSignature, signatureFor } from '../format/signature.js';
import { assertMirrorable, combine, PARITY_INVARIANT_RULE_ID, type PolicyDecision, type RuleResult } from '../policy/decision.js';
import { decide, type Policy } from '../policy/rules.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { Watermark } from '../store/projection.js';
import { type CrashPoint, SimulatedCrash } from './crash-points.js';
import type { QuarantineFile } from './quarantine.js';
import { CHUNK } from './sign-chunks.js';
import type { SignJob } from './sign-pool.js';
import { type StageMark, type StagedRows, StagingFailed } from './staged-rows.js';

/**
 * How long the appending thread blocks for a chunk a signing thread holds while it stages rows: a
 * chunk takes about a millisecond to sign, so a longer wait means a thread descheduled or lost.
 */
const SYNC_WAIT_MS = 20;

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

/** What one request came to in a flush: its events, or the error it fails with. */
export interface Outcome {
  request: AppendRequest;
  events?: SealedEvent[] | undefined;
  error?: unknown;
}

/** What sealing needs from the writer: its rules, its keys, and the event ids it already holds. */
export interface SealRules {
  readonly policy: Policy;
  readonly signer: EventSigner | undefined;
  readonly requireSignatures: boolean;
  readonly keyring: Keyring | undefined;
  readonly quarantine: QuarantineFile;
  readonly now: () => Date;
  eventById(id: string): SealedEvent | undefined;
  /** Signing threads for a request of `count` events signed by `signer`, or undefined: sign inline (spec §13.8). */
  signJob(signer: EventSigner, count: number): SignJob | undefined;
}

/** What sealing a group has made so far. */
interface Group {
  pending: SealedRecord[];
  pendingIds: Map<string, SealedEvent>;
  tip: { seq: number; hash: string };
}

/**
 * Step 4: seal every request in order from `head`; fills each outcome's events or error and
 * returns the records to write. A failing request is unwound and fails alone. With `staged`
 * (inline projection), a request signed on threads stages its rows while they sign (spec §13.8).
 * The result is a promise only when a request had to wait for signing threads with the event
 * loop running; until then everything, staging included, runs in one synchronous stretch.
 */
export function sealGroup(
  outcomes: Outcome[],
  head: Watermark,
  parity: RuleResult,
  rules: SealRules,
  staged?: StagedRows,
): SealedRecord[] | Promise<SealedRecord[]> {
  const group: Group = { pending: [], pendingIds: new Map(), tip: { seq: head.seq, hash: head.hash } };
  for (let i = 0; i < outcomes.length; i++) {
    const waiting = sealOutcome(outcomes[i]!, group, parity, rules, staged);
    if (waiting) return finishAsync(waiting, outcomes.slice(i + 1), group, parity, rules);
  }
  return group.pending;
}

async function finishAsync(waiting: Promise<void>, rest: Outcome[], group: Group, parity: RuleResult, rules: SealRules): Promise<SealedRecord[]> {
  await waiting;
  for (const o of rest) await sealOutcome(o, group, parity, rules, undefined);
  return group.pending;
}

/** Seal one request into `group`; returns a promise only when it waits for signing threads. */
function sealOutcome(o: Outcome, group: Group, parity: RuleResult, rules: SealRules, staged: StagedRows | undefined): Promise<void> | undefined {
  const mark = group.pending.length;
  let rows: StageMark | undefined;
  let job: SignJob | undefined;
  const done = (events: SealedEvent[]) => {
    o.events = events;
    if (rows) staged!.keep();
    if (group.pending.length > mark) group.tip = { seq: group.pending.at(-1)!.event.seq, hash: group.pending.at(-1)!.event.hash };
  };
  const failed = (e: unknown) => {
    if (e instanceof SimulatedCrash || e instanceof StagingFailed) throw e;
    if (rows) staged!.undo(rows);
    for (const r of group.pending.splice(mark)) group.pendingIds.delete(r.event.id);
    o.error = e;
  };
  try {
    const signer = o.request.signer ?? rules.signer;
    job = signer ? rules.signJob(signer, o.request.prepared.length) : undefined;
    if (job === undefined) {
      done(sealRequest(o.request, group.tip, parity, rules, group.pending, group.pendingIds));
      return undefined;
    }
    if (staged?.enabled) rows = staged.mark(group.pending);
    const sealed = sealThreaded(o.request, group, parity, rules, job, rows ? staged : undefined);
    if (!(sealed instanceof Promise)) {
      job.abandon();
      done(sealed);
      return undefined;
    }
    const j = job;
    return sealed.then(done, failed).finally(() => j.abandon()); // threads still waiting on its hashes stop
  } catch (e) {
    job?.abandon();
    failed(e);
    return undefined;
  }
}

/** Seal, sign and gate one request at `tip`; push what it adds to `pending`. */
function sealRequest(
  request: AppendRequest,
  tip: { seq: number; hash: string },
  parity: RuleResult,
  rules: SealRules,
  pending: SealedRecord[],
  pendingIds: Map<string, SealedEvent>,
): SealedEvent[] {
  assertExpectedSeq(request, tip);
  const signer = request.signer ?? rules.signer;
  const events: SealedEvent[] = [];
  let { seq, hash: prev } = tip;
  for (const p of request.prepared) {
    const existing = p.idGiven ? (pendingIds.get(p.id) ?? rules.eventById(p.id)) : undefined;
    if (existing) {
      assertSameContent(existing, p);
      events.push(existing);
      continue;
    }
    let rec = sealPrepared(p, seq + 1, prev);
    if (signer) {
      assertSignerValid(rules.keyring, signer, rec.event);
      rec = withSignature(rec, signatureFor(rec.hash, signer));
    }
    if (rules.requireSignatures && !rec.event.sig) {
      throw new InvalidInputError('INVALID_EVENT', 'this ledger requires signed events and no signer was given', {
        details: { field: 'sig' },
      });
    }
    admit(request, rec, parity, rules, pending, pendingIds);
    events.push(rec.event);
    seq = rec.event.seq;
    prev = rec.event.hash;
  }
  return events;
}

/**
 * sealRequest for a request whose signatures the signing threads make (spec §13.8): seal the
 * chain first, handing each hash over as it is sealed, then attach the signatures and gate the
 * events in order, a chunk at a time as chunks are signed. The outcome, errors and quarantine
 * records included, is sealRequest's: the first event to fail in pass 1 fails the request once
 * the events before it went through the policy.
 *
 * With `staged`, each gated chunk's rows are staged at once, and while the next chunk in order is
 * not signed the appending thread signs one no thread has claimed. If that chunk stays with a
 * thread past SYNC_WAIT_MS, every staged row is taken out and the rest waits with the event loop
 * running, as without staging.
 */
function sealThreaded(
  request: AppendRequest,
  group: Group,
  parity: RuleResult,
  rules: SealRules,
  job: SignJob,
  staged: StagedRows | undefined,
): SealedEvent[] | Promise<SealedEvent[]> {
  assertExpectedSeq(request, group.tip);
  const signer = (request.signer ?? rules.signer)!;
  const recs: SealedRecord[] = [];
  /** Per input: an earlier event (idempotent retry) or the index of its new record. */
  const slots: (SealedEvent | number)[] = [];
  const ids = new Map<string, number>();
  let failure: { error: unknown } | undefined;
  let { seq, hash: prev } = group.tip;
  for (const p of request.prepared) {
    try {
      if (p.idGiven) {
        const mine = ids.get(p.id);
        const existing = mine !== undefined ? recs[mine]!.event : (group.pendingIds.get(p.id) ?? rules.eventById(p.id));
        if (existing) {
          assertSameContent(existing, p);
          slots.push(mine ?? existing);
          continue;
        }
      }
      const rec = sealPrepared(p, seq + 1, prev);
      assertSignerValid(rules.keyring, signer, rec.event);
      ids.set(rec.event.id, recs.length);
      slots.push(recs.length);
      recs.push(rec);
      job.add(rec.hash);
      seq = rec.event.seq;
      prev = rec.event.hash;
    } catch (e) {
      if (e instanceof SimulatedCrash) throw e;
      failure = { error: e };
      break;
    }
  }
  let gated = 0;
  /** Pass 2 up to record `end`: signatures attached, policy run, admitted to the group. */
  const gate = (end: number) => {
    for (; gated < end; gated++) {
      recs[gated] = withSignature(recs[gated]!, eventSignature(signer.kid, job.signature(gated)));
      admit(request, recs[gated]!, parity, rules, group.pending, group.pendingIds);
    }
  };
  const result = () => {
    if (failure) throw failure.error;
    return slots.map((s) => (typeof s === 'number' ? recs[s]!.event : s));
  };
  const chunks = job.finish();
  if (recs.length === 0) return result();
  if (staged) {
    let chunk = 0;
    while (chunk < chunks) {
      if (job.isSigned(chunk)) {
        gate(Math.min((chunk + 1) * CHUNK, recs.length));
        staged.stage(group.pending);
        chunk++;
      } else if (!job.signOne() && !job.waitSigned(chunk, SYNC_WAIT_MS)) {
        staged.drop();
        break;
      }
    }
    if (chunk === chunks) return result();
  }
  return job.allSigned().then(() => {
    gate(recs.length);
    return result();
  });
}

/** The policy gate of one sealed (and signed) event; it joins `pending` when it passes. */
function admit(
  request: AppendRequest,
  rec: SealedRecord,
  parity: RuleResult,
  rules: SealRules,
  pending: SealedRecord[],
  pendingIds: Map<string, SealedEvent>,
): void {
  const decision = request.decision ? callerDecisionWithEvidence(request.decision, parity) : decide(rules.policy, rec.event, parity);
  try {
    assertMirrorable(decision, { id: rec.event.id });
  } catch (e) {
    if (e instanceof PolicyError && e.code === 'POLICY_QUARANTINED') {
      rules.quarantine.add({ quarantinedAt: rules.now().toISOString(), decision, event: rec.event });
    }
    throw e;
  }
  pending.push(rec);
  pendingIds.set(rec.event.id, rec.event);
}

/** Step 5: append the lines at the verified end and fsync; returns the bytes written. */
export function writeDurably(jsonl: JsonlFile, pending: readonly SealedRecord[], at: number, crash: (point: CrashPoint) => void): Buffer {
  const data = Buffer.from(pending.length === 1 ? pending[0]!.line + '\n' : pending.map((r) => r.line).join('\n') + '\n', 'utf8');
  jsonl.writeAt(at, data);
  crash('jsonl.written');
  jsonl.sync();
  crash('jsonl.synced');
  return data;
}

function assertSignerValid(keyring: Keyring | undefined, signer: EventSigner, event: SealedEvent): void {
  if (!keyring) {
    throw new KeyError('UNKNOWN_KEY', `signing key ${signer.kid} is not in a keyring; open the ledger with it as signer or add it`, {
      details: { kid: signer.kid },
    });
  }
  keyring.publicKeyFor(signer.kid, { seq: event.seq, at: event.at }); // throws outside its window
}

function assertExpectedSeq(request: AppendRequest, tip: { seq: number }): void {
  if (request.expectedSeq !== undefined && request.expectedSeq !== tip.seq) {
    throw new ConflictError('SEQ_CONFLICT', `expected head seq ${request.expectedSeq}, but the head is ${tip.seq}`, {
      details: { expectedSeq: request.expectedSeq, actualSeq: tip.seq },
    });
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
