/**
 * checkpoints.jsonl: every issued checkpoint, appended and fsynced before it is stored in
 * ledger.db (spec §12.5). ledger.db is a projection and can be rebuilt from events.jsonl; the
 * checkpoints a ledger has signed must survive that rebuild, so they have a canonical file too.
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { LedgerStateError } from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import type { FileIO } from '../store/file-io.js';

export interface CheckpointRecord {
  size: number;
  root: string;
  note: string;
  createdAt: string;
}

export function appendCheckpointRecord(path: string, record: CheckpointRecord, io: FileIO): void {
  const fd = io.open(path, 'a', 0o644);
  try {
    io.write(fd, Buffer.from(canonicalize(record) + '\n'), io.size(fd));
    io.sync(fd);
  } finally {
    io.close(fd);
  }
}

/** Records in file order; a torn last line (crash while issuing) is ignored: it was never returned. */
export function readCheckpointRecords(path: string): CheckpointRecord[] {
  if (!fs.existsSync(path)) return [];
  const lines = fs.readFileSync(path, 'utf8').split('\n');
  const complete = lines.slice(0, -1);
  return complete.map((line, i) => {
    try {
      const r = JSON.parse(line) as CheckpointRecord;
      if (!Number.isSafeInteger(r.size) || typeof r.root !== 'string' || typeof r.note !== 'string' || typeof r.createdAt !== 'string') throw new Error('fields');
      return r;
    } catch (e) {
      throw new LedgerStateError('LEDGER_CORRUPT', `${path} line ${i + 1} is not a checkpoint record`, { cause: e, details: { lineNo: i + 1 } });
    }
  });
}

/** Copy records into ledger.db that it lacks (after a rebuild); requires a write transaction. */
export function importCheckpointRecords(db: Database.Database, records: CheckpointRecord[], treeSize: number): number {
  const insert = db.prepare('INSERT OR IGNORE INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)');
  let n = 0;
  for (const r of records) if (r.size <= treeSize) n += insert.run(r.size, r.root, r.note, r.createdAt).changes;
  return n;
}
