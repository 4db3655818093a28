/**
 * Where `export --from N` starts reading events.jsonl (spec §8.1): the projection records each
 * event's byte offset, so a ledger.db in parity saves scanning the first N lines. The offset is
 * only a hint; the caller checks that the line found there really is event N.
 */
import fs from 'node:fs';
import { ProjectionReader } from '../store/projection-reader.js';
import type { JsonlFile } from '../store/jsonl-file.js';

export function startOffsetHint(sqlitePath: string, jsonl: JsonlFile, fromSeq: number): number {
  if (fromSeq <= 0 || !fs.existsSync(sqlitePath)) return 0;
  let row: { offset: number } | undefined;
  try {
    const db = ProjectionReader.open(sqlitePath);
    try {
      const offset = db.offsetOf(fromSeq);
      row = offset === undefined ? undefined : { offset };
    } finally {
      db.close();
    }
  } catch {
    return 0; // an unreadable projection only costs a full scan
  }
  if (!row || row.offset <= 0 || row.offset >= jsonl.size()) return 0;
  // Only a line start will do: the byte before it must be a newline.
  return jsonl.readRange(row.offset - 1, 1)[0] === 0x0a ? row.offset : 0;
}
