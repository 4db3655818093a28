/**
 * checkpoints.jsonl: every issued checkpoint, appended and fsynced before it is stored in
 * ledger.db (spec §12.5). ledger.db is a projection and can be rebuilt from events.jsonl; the
 * checkpoints a ledger has signed must survive that rebuild, so they have a canonical file too.
 */
import fs from 'node:fs';
import { LedgerStateError } from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import type { FileIO } from '../store/file-io.js';
import { appendRecordLine } from '../store/record-file.js';

export interface CheckpointRecord {
  size: number;
  root: string;
  note: string;
  createdAt: string;
  /**
   * The compact range of the signed tree, hex, largest subtree first (spec §12.6), and the byte
   * offset in events.jsonl just past its last leaf's line: where the next checkpoint's derivation
   * starts. Unsigned; trusted only when the range hashes to the note's signed root. Absent in
   * records written before §12.6.
   */
  range?: string[];
  offset?: number;
}

const HASH_HEX = /^[0-9a-f]{64}$/;

function parseRecord(line: string): CheckpointRecord {
  const r = JSON.parse(line) as CheckpointRecord;
  if (!Number.isSafeInteger(r.size) || typeof r.root !== 'string' || typeof r.note !== 'string' || typeof r.createdAt !== 'string') throw new Error('fields');
  if (r.range !== undefined && !(Array.isArray(r.range) && r.range.every((h) => typeof h === 'string' && HASH_HEX.test(h)))) throw new Error('range');
  if (r.offset !== undefined && !(Number.isSafeInteger(r.offset) && r.offset >= 0)) throw new Error('offset');
  return r;
}

export function appendCheckpointRecord(path: string, record: CheckpointRecord, io: FileIO): void {
  appendRecordLine(path, canonicalize(record), io);
}

/**
 * Open checkpoints.jsonl for reading, never through a link (spec §7.1): a symlink planted in the
 * folder would make a verifier read checkpoints from a file the attacker chose, and a FIFO would
 * block the read. Undefined when it does not exist.
 */
function openRecords(path: string): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notAFile(path, 'a symbolic link');
    throw new LedgerStateError('IO_ERROR', `cannot read ${path}: ${code ?? (e as Error).message}`, { cause: e, details: { path } });
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw notAFile(path, 'not a regular file');
  }
  return fd;
}

function notAFile(path: string, what: string): LedgerStateError {
  return new LedgerStateError('LEDGER_CORRUPT', `${path} is ${what}; ledger files are never followed or replaced, so nothing was read`, {
    details: { path },
  });
}

/** Records in file order; a torn last line (crash while issuing) is ignored: it was never returned. */
export function readCheckpointRecords(path: string): CheckpointRecord[] {
  const fd = openRecords(path);
  if (fd === undefined) return [];
  let text: string;
  try {
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  const lines = text.split('\n');
  const complete = lines.slice(0, -1);
  return complete.map((line, i) => {
    try {
      return parseRecord(line);
    } catch (e) {
      throw new LedgerStateError('LEDGER_CORRUPT', `${path} line ${i + 1} is not a checkpoint record`, { cause: e, details: { lineNo: i + 1 } });
    }
  });
}

const TAIL_CHUNK = 64 << 10;

/**
 * Records from the last complete line backwards, reading the file from its end in chunks, so the
 * newest checkpoint costs O(its line) however many were issued. A torn last line is skipped.
 */
export function* checkpointRecordsNewestFirst(path: string): Generator<CheckpointRecord> {
  const fd = openRecords(path);
  if (fd === undefined) return;
  const readAt = (start: number, end: number) => {
    const b = Buffer.alloc(end - start);
    let got = 0;
    while (got < b.length) {
      const n = fs.readSync(fd, b, got, b.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  };
  try {
    // The end of the last complete line: bytes after it are a torn record, never returned.
    let end = fs.fstatSync(fd).size;
    for (;;) {
      if (end === 0) return;
      const start = Math.max(0, end - TAIL_CHUNK);
      const nl = readAt(start, end).lastIndexOf(0x0a);
      if (nl !== -1) {
        end = start + nl + 1;
        break;
      }
      end = start;
    }
    // Walk back: `head` holds the bytes of a line whose start is further back.
    let head = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const data = Buffer.concat([readAt(start, end), head]);
      const parts: Buffer[] = [];
      let from = 0;
      for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, from)) {
        parts.push(data.subarray(from, i));
        from = i + 1;
      }
      // data ends with a newline, so parts[0] is the only line that may begin before `start`.
      for (let i = parts.length - 1; i >= (start === 0 ? 0 : 1); i--) {
        const line = parts[i]!.toString('utf8');
        try {
          yield parseRecord(line);
        } catch (e) {
          throw new LedgerStateError('LEDGER_CORRUPT', `${path} holds a line that is not a checkpoint record`, { cause: e, details: { path } });
        }
      }
      if (start === 0) return;
      head = Buffer.concat([parts[0]!, Buffer.of(0x0a)]);
      end = start;
    }
  } finally {
    fs.closeSync(fd);
  }
}
