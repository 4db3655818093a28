/**
 * verifyEventSetParity (spec §14.4): which events each store lacks and which differ, found by
 * streaming both sides in seq order (bounded memory at any ledger size). Read-only.
 */
import fs from 'node:fs';
import { LedgerStateError } from '../errors.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { JsonlFile, type JsonlLine, type TornTail } from '../store/jsonl-file.js';
import { ProjectionReader } from '../store/projection-reader.js';
import { ledgerPaths, resolveStorePaths, type StorePaths } from '../store/layout.js';
import { readOrCreateMetadata } from '../ledger/metadata.js';
import { readPolicyOf } from '../ledger/read-policy.js';
import { rowDifferences, type EventsRow } from '../store/row-check.js';

export interface SeqRange {
  from: number;
  to: number;
}

/** An event present on both sides whose bytes differ. */
export interface EventMismatch {
  seq: number;
  id: string;
  /**
   * Top-level event fields whose values differ between the JSONL line and the stored line (or
   * "line" when one side does not parse), and `column:<name>` for a derived column of the row
   * (id, at, kind, actor, hash, kid, offset) that disagrees with the line.
   */
  fields: string[];
  jsonlHash: string;
  sqliteHash: string;
}

export interface JsonlDefect {
  offset: number;
  lineNo?: number;
  reason: string;
}

export interface EventSetParity {
  jsonlCount: number;
  sqliteCount: number;
  /** In JSONL, not in SQLite: healable drift. */
  missingFromSqlite: SeqRange[];
  /** In SQLite, not in JSONL: must never happen; tampering or a lost JSONL. */
  missingFromJsonl: SeqRange[];
  mismatches: EventMismatch[];
  /** Total mismatches; `mismatches` keeps the first `maxMismatches`. */
  mismatchCount: number;
  /** JSONL lines that are not events at all (torn, not JSON, unordered seq, over the line limit). */
  jsonlDefects: JsonlDefect[];
  /** Total defects; `jsonlDefects` keeps the first `maxMismatches` (spec §14.4: bounded memory). */
  jsonlDefectCount: number;
  /** Ranges left out of `missingFromSqlite` and `missingFromJsonl` past the same cap. */
  omittedRanges: number;
  watermark: { seq: number; offset: number } | null;
  inParity: boolean;
}

export interface ParityOptions {
  /** Cap of each list in the report (mismatches, defects, ranges); default 1000. */
  maxMismatches?: number;
  /** Lines longer than this are defects, never buffered (default: the ledger's limit, spec §3.1.1). */
  maxLineBytes?: number;
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
}

interface Side {
  seq: number;
  id: string;
  hash: string;
  line: string;
  offset: number;
  parsed: Record<string, unknown>;
}

function pushSeq(ranges: SeqRange[], seq: number, report: EventSetParity, cap: number): void {
  const last = ranges.at(-1);
  if (last && last.to === seq - 1) last.to = seq;
  else if (ranges.length < cap) ranges.push({ from: seq, to: seq });
  else report.omittedRanges++;
}

/** Cheap field extraction: the line is JSON; trust nothing else about it. */
function jsonlSide(line: JsonlLine): Side | string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line.text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof o !== 'object' || o === null || typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 0) return 'no valid seq';
  return { seq: o.seq, id: String(o.id), hash: String(o.hash), line: line.text, offset: line.offset, parsed: o };
}

/** A ledger.db that is not a readable SQLite database is corruption, not an internal error. */
function openReadOnly(file: string): ProjectionReader {
  let db: ProjectionReader | undefined;
  try {
    db = ProjectionReader.open(file, { copyIfFolderReadOnly: true });
    db.assertLedgerTables(); // a dropped table is damage, not a bug
    return db;
  } catch (e) {
    db?.close();
    throw new LedgerStateError('LEDGER_CORRUPT', `${file} is not a readable ledger database: ${(e as Error).message}; events.jsonl is the record: if it verifies, rebuild ledger.db with replay --rebuild`, { cause: e });
  }
}

export async function verifyEventSetParity(paths: StorePaths, options: ParityOptions = {}): Promise<EventSetParity> {
  const files = resolveStorePaths(paths);
  const maxMismatches = options.maxMismatches ?? 1000;
  const maxLineBytes = options.maxLineBytes ??
    readPolicyOf('dir' in paths ? readOrCreateMetadata(ledgerPaths(paths.dir).metadata, undefined, NODE_FILE_IO, true) : undefined).maxLineBytes;
  if (!fs.existsSync(files.jsonl)) throw new LedgerStateError('LEDGER_NOT_FOUND', `${files.jsonl} does not exist`);
  const jsonl = JsonlFile.open(files.jsonl, NODE_FILE_IO, { readOnly: true });
  const db = fs.existsSync(files.sqlite) ? openReadOnly(files.sqlite) : undefined;
  const report: EventSetParity = {
    jsonlCount: 0, sqliteCount: 0, missingFromSqlite: [], missingFromJsonl: [], mismatches: [], mismatchCount: 0,
    jsonlDefects: [], jsonlDefectCount: 0, omittedRanges: 0, watermark: null, inParity: false,
  };
  try {
    // One read transaction: the SQLite side is a consistent snapshot while we stream it.
    db?.beginSnapshot();
    const wm = db?.watermark();
    report.watermark = wm ?? null;
    const total = jsonl.size();
    const rows: Iterator<EventsRow> = db ? db.rows() : ([] as EventsRow[])[Symbol.iterator]();
    let row = rows.next();
    let lastJsonlSeq = -1;
    let n = 0;
    const defect = (d: JsonlDefect) => {
      report.jsonlDefectCount++;
      if (report.jsonlDefects.length < maxMismatches) report.jsonlDefects.push(d);
    };
    const onTorn = (t: TornTail) => {
      report.jsonlDefectCount++;
      // The torn tail is always listed: verify and doctor match it against the reported tail.
      report.jsonlDefects.push({ offset: t.offset, reason: `incomplete last line (${t.length} bytes)` });
    };
    for (const line of jsonl.lines(0, onTorn, total, maxLineBytes)) {
      const side = line.tooLong ? `longer than ${maxLineBytes} bytes (spec §3.1.1)` : line.badUtf8 ? 'not valid UTF-8' : jsonlSide(line);
      if (typeof side === 'string' || side.seq <= lastJsonlSeq) {
        defect({ offset: line.offset, ...(line.lineNo ? { lineNo: line.lineNo } : {}), reason: typeof side === 'string' ? side : `seq ${side.seq} out of order` });
        continue;
      }
      lastJsonlSeq = side.seq;
      report.jsonlCount++;
      while (!row.done && row.value.seq < side.seq) {
        report.sqliteCount++;
        pushSeq(report.missingFromJsonl, row.value.seq, report, maxMismatches);
        row = rows.next();
      }
      if (!row.done && row.value.seq === side.seq) {
        report.sqliteCount++;
        const fields = rowDifferences(row.value, side.line, side.offset, side.parsed);
        if (fields.length > 0) {
          report.mismatchCount++;
          if (report.mismatches.length < maxMismatches) {
            report.mismatches.push({ seq: side.seq, id: side.id, fields, jsonlHash: side.hash, sqliteHash: row.value.hash });
          }
        }
        row = rows.next();
      } else {
        pushSeq(report.missingFromSqlite, side.seq, report, maxMismatches);
      }
      if (options.onProgress && ++n % 65536 === 0) options.onProgress(line.offset, total);
    }
    for (; !row.done; row = rows.next()) {
      report.sqliteCount++;
      pushSeq(report.missingFromJsonl, row.value.seq, report, maxMismatches);
    }
    options.onProgress?.(total, total);
  } finally {
    db?.close();
    jsonl.close();
  }
  report.inParity =
    report.missingFromSqlite.length === 0 && report.missingFromJsonl.length === 0 &&
    report.mismatchCount === 0 && report.jsonlDefectCount === 0 && db !== undefined;
  return report;
}
