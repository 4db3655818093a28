/**
 * Reconcile-on-open (spec §14.2): heal the projection in time proportional to the drift. Runs
 * inside the writer lock. Heals: JSONL lines past the watermark (replayed), rows deleted from
 * ledger.db by hand (restored from JSONL), a torn tail (moved aside). Refuses, with a typed error
 * naming the seqs: rows JSONL lacks, rows edited by hand, JSONL changed under the watermark.
 */
import { InvalidInputError, LedgerStateError, SealedLedgerError, VerificationError } from '../errors.js';
import type { Keyring } from '../crypto/keyring.js';
import { parseEventLine } from '../format/event-line.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { FileIO } from '../store/file-io.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import { eventRow, type Projection } from '../store/projection.js';
import type { Watermark } from '../store/watermark.js';
import type { TreeStore } from '../store/tree-store.js';
import type { CrashHook } from './crash-points.js';
import { rowDifferences } from '../store/row-check.js';
import { assertNothingValidAfter, checkTailSignature, mirrorConflict, replayTail, type TailDefect } from './tail-replay.js';
import { moveTailAside, type MovedTail } from './torn-tail.js';
import { OPEN_POLICY, type ReadPolicy } from './read-policy.js';

export interface ReconcileReport {
  before: Watermark;
  after: Watermark;
  /** JSONL lines past the watermark mirrored into ledger.db. */
  replayed: number;
  alreadyPresent: number;
  /** seqs whose rows had been deleted from ledger.db and were restored from JSONL. */
  restored: number[];
  tornTail?: MovedTail;
}

/** @internal: names a SQLite type; not part of the published declarations. */
export interface ReconcileTarget {
  jsonl: JsonlFile;
  projection: Projection;
  /** Unused: the projection's own tree is read (kept so that older callers still compile). */
  tree?: TreeStore | undefined;
  keyring?: Keyring | undefined;
  io: FileIO;
  tornDir: string;
  crash?: CrashHook | undefined;
  policy?: ReadPolicy | undefined;
  /**
   * Events covered by the last checkpoint signed for this ledger (0: none). A torn tail is never
   * cut below it: that would drop signed history and let the next append fork it (spec §7.3).
   */
  checkpointFloor?: (() => number) | undefined;
}

/** Requires an open BEGIN IMMEDIATE transaction; the caller commits. */
/** @internal: names a SQLite type; not part of the published declarations. */
export function reconcile(t: ReconcileTarget): { report: ReconcileReport; frontier: CompactRange } {
  const before = t.projection.watermark();
  checkAnchor(t.jsonl, before);
  const restored = healTamper(t, before);
  const frontier = t.projection.tree.frontier(before.seq + 1);
  // Lines past the watermark may still be only in the page cache (a writer died between its
  // write and its fsync): make them durable before ledger.db records them, or a power cut could
  // leave SQLite ahead of JSONL (I1).
  if (t.jsonl.size() > before.offset) t.jsonl.sync();
  const tail = replayTail({ ...t, frontier, completeTornEvent: true }, before);
  t.crash?.('reconcile.replayed');
  const maxSeq = t.projection.maxSeq();
  if (maxSeq > tail.watermark.seq) {
    throw new LedgerStateError('SQLITE_AHEAD', `ledger.db holds events up to seq ${maxSeq} that events.jsonl lacks (JSONL ends at seq ${tail.watermark.seq})`, {
      details: { sqliteMaxSeq: maxSeq, jsonlLastSeq: tail.watermark.seq },
    });
  }
  const report: ReconcileReport = {
    before,
    after: tail.watermark,
    replayed: tail.inserted,
    alreadyPresent: tail.alreadyPresent,
    restored,
  };
  if (tail.defect) {
    const floor = t.checkpointFloor?.() ?? 0;
    if (tail.watermark.seq + 1 < floor) {
      throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl is damaged at byte ${tail.defect.offset} (${tail.defect.reason}) and its valid events end at seq ${tail.watermark.seq}, but a signed checkpoint covers ${floor} events: cutting the tail would drop signed history, so nothing is truncated; restore events.jsonl from a backup`, {
        details: { offset: tail.defect.offset, lastValidSeq: tail.watermark.seq, checkpointSize: floor, reason: tail.defect.reason },
      });
    }
    report.tornTail = moveTailAside(t.jsonl, tail.defect, t.tornDir, t.io, t.crash);
  }
  return { report, frontier };
}

/** The line that ends at the watermark must be the event the watermark names (spec §8.2). */
export function checkAnchor(jsonl: JsonlFile, wm: Watermark): void {
  const size = jsonl.size();
  if (size < wm.offset) {
    throw new LedgerStateError('SQLITE_AHEAD', `events.jsonl is ${size} bytes but ledger.db mirrors it up to byte ${wm.offset} (seq ${wm.seq})`, {
      details: { jsonlSize: size, watermarkOffset: wm.offset, seq: wm.seq },
    });
  }
  if (wm.seq < 0) return;
  const bytes = jsonl.readRange(wm.lineStart, wm.offset - wm.lineStart);
  let ok = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;
  if (ok) {
    try {
      const rec = parseEventLine(bytes.toString('utf8', 0, bytes.length - 1), { offset: wm.lineStart });
      ok = rec.event.seq === wm.seq && rec.event.hash === wm.hash;
    } catch {
      ok = false; // reported just below, with the watermark it failed against
    }
  }
  if (!ok) {
    throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl no longer holds event seq ${wm.seq} at bytes ${wm.lineStart}..${wm.offset}: the canonical file was changed`, {
      details: { seq: wm.seq, offset: wm.lineStart, expectedHash: wm.hash },
    });
  }
}

/**
 * Rows deleted by hand are restored from JSONL; rows updated by hand are refused unless they
 * still equal their JSONL line (spec §8.3).
 */
function healTamper(t: ReconcileTarget, wm: Watermark): number[] {
  if (t.projection.tamperCount() === 0) return [];
  const entries = t.projection.tampered();
  const edited: number[] = [];
  const restored: number[] = [];
  for (const { seq } of entries) {
    const row = t.projection.bySeq(seq);
    const line = locateLine(t, seq);
    if (row) {
      if (line === undefined || rowDifferences(row, line.text, line.offset).length > 0) edited.push(seq);
      else t.projection.clearTamper(seq);
      continue;
    }
    if (line === undefined) {
      if (seq <= wm.seq) {
        throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl holds no event seq ${seq} where ledger.db places it, under the watermark (seq ${wm.seq}): events.jsonl or ledger.db was changed by hand`, {
          details: { seq, watermarkSeq: wm.seq },
        });
      }
      // A row past the watermark was deleted: the tail replay restores it if JSONL holds its line,
      // and a row JSONL lacks is no loss. Cleared now, or the entry would outlive this open.
      t.projection.clearTamper(seq);
      continue;
    }
    const rec = parseEventLine(line.text, { offset: line.offset });
    const ev = rec.event;
    // Its id at another seq: the row was renumbered by hand, not deleted (id is UNIQUE).
    if (t.projection.byId(ev.id)) {
      edited.push(seq);
      continue;
    }
    t.projection.insert(eventRow(rec, line.offset));
    t.projection.clearTamper(seq);
    restored.push(seq);
  }
  if (edited.length > 0) {
    throw new LedgerStateError('MIRROR_CONFLICT', `ledger.db rows were edited by hand and differ from events.jsonl at seq ${edited.join(', ')}; run replay --rebuild`, {
      details: { seqs: edited },
    });
  }
  return restored;
}

/** Find the JSONL line of `seq` starting from the nearest intact row below it (O(gap)). */
function locateLine(t: ReconcileTarget, seq: number): { text: string; offset: number } | undefined {
  const below = t.projection.lineBefore(seq);
  const start = below ? below.offset + Buffer.byteLength(below.line) + 1 : 0;
  const wm = t.projection.watermark();
  for (const line of t.jsonl.lines(start, undefined, wm.offset, (t.policy ?? OPEN_POLICY).maxLineBytes)) {
    const rec = parseEventLine(line.text, { offset: line.offset });
    if (rec.event.seq === seq) return { text: line.text, offset: line.offset };
    if (rec.event.seq > seq) return undefined;
  }
  return undefined;
}

/** What reconcile would do, found without writing (read-only inspect mode, spec §14.2). */
export interface Inspection {
  /** Valid lines past the watermark that a writable open would replay. */
  pendingLines: number;
  tornTail?: TailDefect;
  tampered: { seq: number; op: 'delete' | 'update' }[];
  /** Conditions that would make a writable open fail, as "CODE: message". */
  problems: string[];
}

/** @internal: names a SQLite type; not part of the published declarations. */
export function inspect(jsonl: JsonlFile, projection: Projection, policy: ReadPolicy = OPEN_POLICY, keyring?: Keyring): { report: ReconcileReport; inspection: Inspection } {
  const wm = projection.watermark();
  const problems: string[] = [];
  const note = (e: unknown) => {
    if (!(e instanceof SealedLedgerError)) throw e;
    problems.push(`${e.code}: ${e.message}`);
  };
  try {
    checkAnchor(jsonl, wm);
  } catch (e) {
    note(e);
  }
  const tampered = projection.tampered();
  let pendingLines = 0;
  let tornTail: TailDefect | undefined;
  let seq = wm.seq;
  let prev = wm.hash;
  const total = jsonl.size();
  if (total >= wm.offset) {
    for (const line of jsonl.lines(wm.offset, (t) => (tornTail = { offset: t.offset, length: total - t.offset, code: 'TORN_LINE', reason: 'incomplete last line' }), total, policy.maxLineBytes)) {
      try {
        if (line.badUtf8) throw new InvalidInputError('MALFORMED_LINE', 'line is not valid UTF-8');
        const rec = parseEventLine(line.text, { offset: line.offset });
        const ev = rec.event;
        if (ev.seq !== seq + 1) throw new VerificationError('SEQ_GAP', `seq ${ev.seq} does not continue the chain (expected seq ${seq + 1})`);
        if (ev.prev !== prev) throw new VerificationError('CHAIN_BROKEN', `seq ${ev.seq} does not continue the chain (prev)`);
        try {
          checkTailSignature(ev, keyring, line.offset);
        } catch (e) {
          note(e); // a forgery: open refuses it, and nothing after it is pending
          break;
        }
        const conflict = mirrorConflict(projection, rec);
        if (conflict) {
          note(conflict); // open refuses it too
          break;
        }
        seq = ev.seq;
        prev = ev.hash;
        pendingLines++;
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        // The code tail replay would give the line (spec §7.3).
        const code = e.code === 'SEAL_MISMATCH' || e.code === 'SEQ_GAP' || e.code === 'CHAIN_BROKEN' ? e.code : 'MALFORMED_LINE';
        tornTail = { offset: line.offset, length: total - line.offset, code, reason: e.message };
        try {
          assertNothingValidAfter(jsonl, tornTail, total, policy.maxLineBytes);
        } catch (damage) {
          note(damage);
        }
        break;
      }
    }
  }
  const maxSeq = projection.maxSeq();
  if (maxSeq > Math.max(seq, wm.seq)) note(new LedgerStateError('SQLITE_AHEAD', `ledger.db holds events up to seq ${maxSeq} that events.jsonl lacks`));
  const inspection: Inspection = { pendingLines, tampered, problems, ...(tornTail ? { tornTail } : {}) };
  return { report: { before: wm, after: wm, replayed: 0, alreadyPresent: 0, restored: [] }, inspection };
}
