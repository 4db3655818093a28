/**
 * Mirror the part of events.jsonl past the watermark into the projection (spec §14.1). Shared by
 * reconcile-on-open, the in-lock heal before each append, and replay. Each line is parsed,
 * seal-checked, chain-checked and (with a keyring) signature-checked before it is inserted.
 */
import { type SealedLedgerError, LedgerStateError, InvalidInputError, VerificationError, KeyError } from '../errors.js';
import type { Keyring } from '../crypto/keyring.js';
import type { EventHeader, SealedEvent } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { JsonlFile, TornTail } from '../store/jsonl-file.js';
import type { SealedRecord } from '../format/seal.js';
import { limitViolation, OPEN_POLICY, type ReadPolicy, signaturePolicyViolation } from './read-policy.js';
import type { Projection } from '../store/projection.js';
import type { Watermark } from '../store/watermark.js';
import type { TreeStore } from '../store/tree-store.js';
import { isKeyConflict } from '../store/key-conflict.js';

/** Where the valid JSONL ends and why (spec §7.3). Bytes from `offset` on were never acknowledged. */
export interface TailDefect {
  offset: number;
  /** Bytes from `offset` to the end of the file. */
  length: number;
  reason: string;
  code: 'TORN_LINE' | 'MALFORMED_LINE' | 'SEAL_MISMATCH' | 'CHAIN_BROKEN' | 'SEQ_GAP';
}

export interface TailReplayResult {
  scanned: number;
  inserted: number;
  alreadyPresent: number;
  watermark: Watermark;
  defect?: TailDefect;
}

/** @internal: names a SQLite type; not part of the published declarations. */
export interface TailReplayTarget {
  jsonl: JsonlFile;
  projection: Projection;
  /** Unused: the projection's own tree is written (kept so that older callers still compile). */
  tree?: TreeStore | undefined;
  frontier: CompactRange;
  keyring?: Keyring | undefined;
  /** Signing policy and limits (spec §3.1.1, §7.1); default: signatures optional, default limits. */
  policy?: ReadPolicy | undefined;
  /**
   * Writable reconcile only: a last line that lacks nothing but its "\n" and passes every check
   * a complete line does is completed (newline written and fsynced) and kept (spec §7.3).
   */
  completeTornEvent?: boolean;
}

export interface TailReplayOptions {
  /** Commit and reopen the transaction every N inserted rows (replay of large ledgers). */
  commitEvery?: number;
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
  /** Report progress every N inserted rows without committing (a one-transaction bulk load). */
  progressEvery?: number;
  /** Leave the damaged-history check (LEDGER_CORRUPT) to the caller (replay reports it instead). */
  reportDamage?: boolean;
}

const TAMPER_CODES = new Set(['INVALID_SIGNATURE', 'UNKNOWN_KEY', 'KEY_NOT_VALID']);

type Outcome = { defect: [TailDefect['code'], string] } | { rec: SealedRecord };

/**
 * Requires an open write transaction on `projection` (BEGIN IMMEDIATE) and `frontier` at size
 * `from.seq + 1`. Stops at the first line that is torn or invalid and reports it as the defect;
 * throws for what is not a torn write: a bad or missing required signature (forgery) or a
 * conflicting SQLite row.
 */
/** @internal: names a SQLite type; not part of the published declarations. */
export function replayTail(target: TailReplayTarget, from: Watermark, options: TailReplayOptions = {}): TailReplayResult {
  const { jsonl, projection, frontier } = target;
  const policy = target.policy ?? OPEN_POLICY;
  let wm = { ...from };
  let scanned = 0;
  let inserted = 0;
  let alreadyPresent = 0;
  let defect: TailDefect | undefined;
  let total = jsonl.size();
  const setDefect = (offset: number, code: TailDefect['code'], reason: string) => {
    defect = { offset, length: total - offset, code, reason };
  };

  /** Every check of spec §14.1 on one line; throws for forgery and conflicts. */
  const check = (text: string, offset: number, length: number): Outcome => {
    if (length - 1 > policy.maxLineBytes) return { defect: ['MALFORMED_LINE', `line is longer than ${policy.maxLineBytes} bytes (spec §3.1.1)`] };
    let rec: SealedRecord;
    try {
      rec = parseEventLine(text, { offset });
    } catch (e) {
      if (!(e instanceof InvalidInputError || e instanceof VerificationError)) throw e;
      return { defect: [e.code === 'SEAL_MISMATCH' ? 'SEAL_MISMATCH' : 'MALFORMED_LINE', e.message] };
    }
    const ev = rec.event;
    if (ev.seq !== wm.seq + 1) return { defect: ['SEQ_GAP', `expected seq ${wm.seq + 1}, found ${ev.seq}`] };
    if (ev.prev !== wm.hash) return { defect: ['CHAIN_BROKEN', `seq ${ev.seq}: prev ${ev.prev.slice(0, 12)}… does not match the hash of seq ${wm.seq}`] };
    const tooBig = limitViolation(length - 1, rec.payloadJson, policy);
    if (tooBig) return { defect: ['MALFORMED_LINE', `seq ${ev.seq}: ${tooBig}`] };
    checkTailSignature(ev, target.keyring, offset);
    const unsigned = signaturePolicyViolation(ev, policy, { offset });
    if (unsigned) throw unsigned;
    return { rec };
  };

  // With no row past the watermark (replay into an empty ledger.db, any drift that a crash left),
  // every line's seq is new: the two lookups per line are skipped and the insert itself is the
  // check, its PRIMARY KEY and UNIQUE(id) refusing what the lookups would have found (ADR 0033).
  const noRowsAhead = projection.maxSeq() <= from.seq;
  const mirrorChecked = (rec: SealedRecord, offset: number): Watermark => {
    const existing = projection.bySeq(rec.event.seq);
    const conflict = mirrorConflict(projection, rec, existing);
    if (conflict) throw conflict;
    if (existing) alreadyPresent++;
    else inserted++;
    return projection.mirror(rec, offset, frontier, existing !== undefined);
  };
  const mirrorNew = (rec: SealedRecord, offset: number): Watermark => {
    let next: Watermark;
    try {
      next = projection.mirror(rec, offset, frontier);
    } catch (e) {
      // A failed statement leaves the transaction and the frontier as they were.
      if (!isKeyConflict(e)) throw e;
      return mirrorChecked(rec, offset);
    }
    inserted++;
    return next;
  };

  const accept = (rec: SealedRecord, offset: number, length: number) => {
    // The line's length is the one scanned: `length` includes its newline.
    wm = { ...(noRowsAhead ? mirrorNew(rec, offset) : mirrorChecked(rec, offset)), offset: offset + length };
    if (options.commitEvery && inserted % options.commitEvery === 0) {
      projection.setWatermark(wm);
      projection.commit();
      // Re-taken at once: a chunk boundary is not a point to wait behind other writers at.
      projection.beginImmediate();
      options.onProgress?.(wm.offset, total);
    } else if (options.progressEvery && inserted % options.progressEvery === 0) {
      options.onProgress?.(wm.offset, total);
    }
  };

  let torn: TornTail | undefined;
  for (const line of jsonl.lines(wm.offset, (t) => (torn = t), total, policy.maxLineBytes)) {
    scanned++;
    if (line.tooLong) {
      setDefect(line.offset, 'MALFORMED_LINE', `line is longer than ${policy.maxLineBytes} bytes (spec §3.1.1)`);
      break;
    }
    if (line.badUtf8) {
      setDefect(line.offset, 'MALFORMED_LINE', 'line is not valid UTF-8');
      break;
    }
    const out = check(line.text, line.offset, line.length);
    if ('defect' in out) {
      setDefect(line.offset, ...out.defect);
      break;
    }
    accept(out.rec, line.offset, line.length);
  }
  if (!defect && torn) {
    const t: TornTail = torn;
    const completed = target.completeTornEvent && !t.tooLong ? completeTornEvent(target, t, check) : undefined;
    if (completed) {
      total = jsonl.size();
      scanned++;
      accept(completed, t.offset, t.length + 1);
    } else {
      setDefect(t.offset, 'TORN_LINE', `incomplete last line (${t.length} bytes, no newline)`);
    }
  }
  projection.setWatermark(wm);
  if (defect && defect.code !== 'TORN_LINE' && !options.reportDamage) assertNothingValidAfter(jsonl, defect, total, policy.maxLineBytes);
  options.onProgress?.(defect ? defect.offset : wm.offset, total);
  return { scanned, inserted, alreadyPresent, watermark: wm, ...(defect ? { defect } : {}) };
}

/**
 * A crash that kept every byte of the last line but its "\n" left a whole event: moving it aside
 * would drop it and let the next append reuse its seq. When it passes every check a complete
 * line does, write the newline, fsync, and keep it (spec §7.3). A fragment that fails a check
 * stays a torn tail; a forged signature on it still throws, as on a complete line.
 */
function completeTornEvent(target: TailReplayTarget, t: TornTail, check: (text: string, offset: number, length: number) => Outcome): SealedRecord | undefined {
  const text = t.bytes.toString('utf8');
  if (!Buffer.from(text).equals(t.bytes)) return undefined;
  let out: Outcome;
  try {
    out = check(text, t.offset, t.length + 1);
  } catch (e) {
    // An unsigned fragment under a signing policy is what no honest writer leaves behind; it is
    // moved aside like any torn write, not kept, so the policy error does not apply to it.
    if (e instanceof VerificationError && e.code === 'SIGNATURE_REQUIRED') return undefined;
    throw e;
  }
  if ('defect' in out) return undefined;
  target.jsonl.writeAt(t.offset + t.length, NEWLINE_BYTE);
  target.jsonl.sync();
  return out.rec;
}

const NEWLINE_BYTE = Buffer.from('\n');

/**
 * A row already in ledger.db that a valid tail line cannot be mirrored over: a different event at
 * its seq, or its id at another seq. Shared with inspect mode, which reports what open refuses.
 * @internal: names a SQLite type; not part of the published declarations.
 */
export function mirrorConflict(projection: Projection, rec: SealedRecord, existing = projection.bySeq(rec.event.seq)): LedgerStateError | undefined {
  const ev = rec.event;
  if (existing) {
    if (existing.line === rec.line) return undefined;
    return new LedgerStateError('MIRROR_CONFLICT', `seq ${ev.seq}: ledger.db holds a different event than events.jsonl`, {
      details: { seq: ev.seq, jsonlHash: ev.hash, sqliteHash: existing.hash },
    });
  }
  const byId = projection.byId(ev.id);
  if (!byId) return undefined;
  return new LedgerStateError('MIRROR_CONFLICT', `seq ${ev.seq}: id ${ev.id} is already used by seq ${byId.seq}`, {
    details: { seq: ev.seq, id: ev.id, otherSeq: byId.seq },
  });
}

/**
 * A crash or power loss damages only the unsynced end of the file, after every acknowledged
 * line. A damaged line with a sealed event after it is therefore not a torn write but damage to
 * history (tampering, media corruption, or a lost ledger.db exposing an old defect): moving it
 * aside would drop acknowledged events and reuse their seqs, so it is refused (spec §7.3).
 */
export function assertNothingValidAfter(jsonl: JsonlFile, defect: TailDefect, total: number, maxLineBytes = OPEN_POLICY.maxLineBytes): void {
  let first = true;
  for (const line of jsonl.lines(defect.offset, undefined, total, maxLineBytes)) {
    if (first) {
      first = false;
      continue;
    }
    if (line.tooLong) continue;
    let seq: number;
    try {
      seq = parseEventLine(line.text, { offset: line.offset }).event.seq;
    } catch {
      continue; // more damage: still consistent with a torn end
    }
    throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl is damaged at byte ${defect.offset} (${defect.reason}) but a valid event (seq ${seq}, byte ${line.offset}) follows it; this is not a torn write, so nothing is truncated`, {
      details: { offset: defect.offset, followingSeq: seq, followingOffset: line.offset, reason: defect.reason },
    });
  }
}

/**
 * With a keyring, a signed line past the watermark must verify: a bad signature is a forgery,
 * not a torn write, and is thrown with the seq and offset (spec §7.3).
 */
export function checkTailSignature(ev: EventHeader, keyring: Keyring | undefined, offset: number): void {
  if (!keyring || !ev.sig) return;
  try {
    verifyEventSignature(ev, keyring);
  } catch (e) {
    if (e instanceof VerificationError || e instanceof KeyError) {
      if (TAMPER_CODES.has(e.code)) throw withSeq(e, ev.seq, offset);
    }
    throw e;
  }
}

function withSeq(e: SealedLedgerError, seq: number, offset: number): SealedLedgerError {
  Object.assign(e.details, { seq, offset });
  return e;
}
