/**
 * Mirror the part of events.jsonl past the watermark into the projection (spec §14.1). Shared by
 * reconcile-on-open, the in-lock heal before each append, and replay. Each line is parsed,
 * seal-checked, chain-checked and (with a keyring) signature-checked before it is inserted.
 */
import { type SealedLedgerError, LedgerStateError, InvalidInputError, VerificationError, KeyError } from '../errors.js';
import type { Keyring } from '../crypto/keyring.js';
import { parseEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { Projection } from '../store/projection.js';
import type { Watermark } from '../store/watermark.js';
import type { TreeStore } from '../store/tree-store.js';

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
  tree: TreeStore;
  frontier: CompactRange;
  keyring?: Keyring | undefined;
}

export interface TailReplayOptions {
  /** Commit and reopen the transaction every N inserted rows (replay of large ledgers). */
  commitEvery?: number;
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
  /** Leave the damaged-history check (LEDGER_CORRUPT) to the caller (replay reports it instead). */
  reportDamage?: boolean;
}

const TAMPER_CODES = new Set(['INVALID_SIGNATURE', 'UNKNOWN_KEY', 'KEY_NOT_VALID']);

/**
 * Requires an open write transaction on `projection` (BEGIN IMMEDIATE) and `frontier` at size
 * `from.seq + 1`. Stops at the first line that is torn or invalid and reports it as the defect;
 * throws for what is not a torn write: a bad signature (forgery) or a conflicting SQLite row.
 */
/** @internal: names a SQLite type; not part of the published declarations. */
export function replayTail(target: TailReplayTarget, from: Watermark, options: TailReplayOptions = {}): TailReplayResult {
  const { jsonl, projection, tree, frontier } = target;
  let wm = { ...from };
  let scanned = 0;
  let inserted = 0;
  let alreadyPresent = 0;
  let defect: TailDefect | undefined;
  const total = jsonl.size();
  const setDefect = (offset: number, code: TailDefect['code'], reason: string) => {
    defect = { offset, length: total - offset, code, reason };
  };
  for (const line of jsonl.lines(wm.offset, (torn) => setDefect(torn.offset, 'TORN_LINE', `incomplete last line (${torn.bytes.length} bytes, no newline)`), total)) {
    scanned++;
    if (line.badUtf8) {
      setDefect(line.offset, 'MALFORMED_LINE', 'line is not valid UTF-8');
      break;
    }
    let rec;
    try {
      rec = parseEventLine(line.text, { offset: line.offset });
    } catch (e) {
      if (!(e instanceof InvalidInputError || e instanceof VerificationError)) throw e;
      setDefect(line.offset, e.code === 'SEAL_MISMATCH' ? 'SEAL_MISMATCH' : 'MALFORMED_LINE', e.message);
      break;
    }
    const ev = rec.event;
    if (ev.seq !== wm.seq + 1) {
      setDefect(line.offset, 'SEQ_GAP', `expected seq ${wm.seq + 1}, found ${ev.seq}`);
      break;
    }
    if (ev.prev !== wm.hash) {
      setDefect(line.offset, 'CHAIN_BROKEN', `seq ${ev.seq}: prev ${ev.prev.slice(0, 12)}… does not match the hash of seq ${wm.seq}`);
      break;
    }
    if (target.keyring && ev.sig) {
      try {
        verifyEventSignature(ev, target.keyring);
      } catch (e) {
        if (e instanceof VerificationError || e instanceof KeyError) {
          if (TAMPER_CODES.has(e.code)) throw withSeq(e, ev.seq, line.offset);
        }
        throw e;
      }
    }
    const existing = projection.bySeq(ev.seq);
    if (existing) {
      if (existing.line !== rec.line) {
        throw new LedgerStateError('MIRROR_CONFLICT', `seq ${ev.seq}: ledger.db holds a different event than events.jsonl`, {
          details: { seq: ev.seq, jsonlHash: ev.hash, sqliteHash: existing.hash },
        });
      }
      alreadyPresent++;
    } else {
      const byId = projection.byId(ev.id);
      if (byId) {
        throw new LedgerStateError('MIRROR_CONFLICT', `seq ${ev.seq}: id ${ev.id} is already used by seq ${byId.seq}`, {
          details: { seq: ev.seq, id: ev.id, otherSeq: byId.seq },
        });
      }
      projection.insert({
        seq: ev.seq, id: ev.id, at: ev.at, kind: ev.kind, actor: ev.actor ?? null,
        hash: ev.hash, kid: ev.sig?.kid ?? null, line: rec.line, offset: line.offset,
      });
      inserted++;
    }
    tree.put(frontier.append(rec.hash));
    wm = { seq: ev.seq, hash: ev.hash, offset: line.offset + line.length, lineStart: line.offset };
    if (options.commitEvery && inserted % options.commitEvery === 0) {
      projection.setWatermark(wm);
      projection.commit();
      // Re-taken at once: a chunk boundary is not a point to wait behind other writers at.
      projection.db.exec('BEGIN IMMEDIATE');
      options.onProgress?.(wm.offset, total);
    }
  }
  projection.setWatermark(wm);
  if (defect && defect.code !== 'TORN_LINE' && !options.reportDamage) assertNothingValidAfter(jsonl, defect, total);
  options.onProgress?.(defect ? defect.offset : wm.offset, total);
  return { scanned, inserted, alreadyPresent, watermark: wm, ...(defect ? { defect } : {}) };
}

/**
 * A crash or power loss damages only the unsynced end of the file, after every acknowledged
 * line. A damaged line with a sealed event after it is therefore not a torn write but damage to
 * history (tampering, media corruption, or a lost ledger.db exposing an old defect): moving it
 * aside would drop acknowledged events and reuse their seqs, so it is refused (spec §7.3).
 */
export function assertNothingValidAfter(jsonl: JsonlFile, defect: TailDefect, total: number): void {
  let first = true;
  for (const line of jsonl.lines(defect.offset, undefined, total)) {
    if (first) {
      first = false;
      continue;
    }
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

function withSeq(e: SealedLedgerError, seq: number, offset: number): SealedLedgerError {
  Object.assign(e.details, { seq, offset });
  return e;
}
