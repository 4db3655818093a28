/**
 * What ledger.db itself says about events.jsonl (spec §8.2, §8.3, §14.6): a watermark past the
 * end of the file means events.jsonl lost events that ledger.db once mirrored; projection_tamper
 * records and missing tamper triggers mean someone edited the projection by hand. Both are
 * tampering findings (exit 2), except a deleted row that events.jsonl still holds, which
 * reconcile restores (drift). Read-only, one snapshot, O(records) + O(missing ranges).
 */
import fs from 'node:fs';
import { ProjectionReader } from '../store/projection-reader.js';
import type { SeqRange } from './parity.js';
import type { VerifyProblem } from './verify-line.js';

export interface ProjectionFindings {
  /** The watermark as ledger.db holds it, when it names more than events.jsonl has. */
  watermarkPastEnd: { seq: number; offset: number } | null;
  /** Unresolved projection_tamper records (distinct seq and op), at most `max`. */
  tamperRecords: { seq: number; op: string }[];
  tamperRecordCount: number;
  /** Tamper triggers that spec §8.3 requires and ledger.db lacks. */
  missingTriggers: string[];
}

const TRIGGERS = ['events_deleted', 'events_updated'];
const MAX_RECORDS = 1000;

export function checkProjection(
  sqlitePath: string,
  jsonl: { size: number; lastSeq: number },
  missingFromSqlite: readonly SeqRange[],
  /** Rows ledger.db holds that events.jsonl lacks: parity reports those (SQLITE_AHEAD) already. */
  sqliteAhead: boolean,
  /** Rows parity already reports as differing: their update records add nothing. */
  mismatched: ReadonlySet<number>,
  problem: (p: VerifyProblem) => void,
): ProjectionFindings | null {
  if (!fs.existsSync(sqlitePath)) return null;
  let db: ProjectionReader;
  try {
    db = ProjectionReader.open(sqlitePath);
  } catch {
    return null; // parity reports an unreadable ledger.db
  }
  try {
    db.beginSnapshot();
    let wm: { seq: number; offset: number } | undefined;
    let records: { seq: number; op: string }[];
    let count: number;
    try {
      wm = db.watermark();
      records = db.tamperRecords(MAX_RECORDS);
      count = db.tamperRecordCount();
    } catch {
      return null; // a table is missing: parity reports ledger.db as unreadable
    }
    const present = db.triggerNames();
    const out: ProjectionFindings = {
      // By seq: a line rewritten shorter below the watermark moves bytes, and parity reports that row.
      watermarkPastEnd: wm && wm.seq > jsonl.lastSeq ? wm : null,
      tamperRecords: records,
      tamperRecordCount: count,
      missingTriggers: TRIGGERS.filter((t) => !present.has(t)),
    };
    // With the rows still there, parity names the lost seqs; the watermark alone speaks when they are gone too.
    if (out.watermarkPastEnd && !sqliteAhead) {
      problem({
        code: 'WATERMARK_PAST_END',
        message: `ledger.db mirrored events.jsonl up to seq ${wm!.seq} (byte ${wm!.offset}), but events.jsonl ends at seq ${jsonl.lastSeq} (byte ${jsonl.size}): events.jsonl lost its tail, or ledger.db belongs to another copy`,
        seq: jsonl.lastSeq + 1,
      });
    }
    for (const r of records) {
      // A deleted row events.jsonl still holds is restored by reconcile: drift, reported by parity.
      if (r.op === 'delete' && r.seq <= jsonl.lastSeq) continue;
      if (r.op === 'update' && mismatched.has(r.seq)) continue;
      problem({
        code: 'PROJECTION_TAMPER',
        seq: r.seq,
        message: r.op === 'delete'
          ? `seq ${r.seq}: a ledger.db row was deleted by hand, and events.jsonl no longer holds the event`
          : `seq ${r.seq}: a ledger.db row was updated by hand (projection_tamper)`,
      });
    }
    if (count > records.length) problem({ code: 'PROJECTION_TAMPER', message: `and ${count - records.length} more projection_tamper records` });
    for (const t of out.missingTriggers) {
      problem({ code: 'PROJECTION_TAMPER', message: `ledger.db lacks its tamper trigger ${t} (spec §8.3): it was dropped, so hand edits of the events table leave no record` });
    }
    // Rows below the watermark vanish only by hand; without a record, reconcile cannot restore them.
    const recorded = db.deletesRecorded();
    for (const r of missingFromSqlite) {
      if (!wm || r.from > wm.seq) continue;
      const to = Math.min(r.to, wm.seq);
      const unrecorded = to - r.from + 1 - recorded(r.from, to);
      if (unrecorded > 0) {
        problem({
          code: 'PROJECTION_TAMPER',
          seq: r.from,
          message: `seq ${r.from}${to > r.from ? `..${to}` : ''}: ${unrecorded} ledger.db row${unrecorded === 1 ? ' was' : 's were'} deleted below the watermark without a tamper record (triggers dropped?); reconcile cannot restore ${unrecorded === 1 ? 'it' : 'them'}`,
        });
      }
    }
    return out;
  } finally {
    db.close();
  }
}
