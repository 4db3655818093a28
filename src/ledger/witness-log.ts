/**
 * witness.jsonl (spec §20.10): one record per checkpoint a witness cosigned, appended and fsynced
 * by the shipper, read by verify. The file sits in the ledger folder, so whoever can write the
 * folder can edit or delete it: a record proves something only when its cosignature verifies
 * under a witness key the verifier brings (`verify --witness-key`), and its absence proves nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LedgerStateError } from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import type { FileIO } from '../store/file-io.js';
import { appendRecordLine } from '../store/record-file.js';
import { WITNESS_FILE } from '../store/layout.js';

export interface WitnessRecord {
  /** Tree size of the witnessed checkpoint. */
  size: number;
  /** Its RFC 6962 root, hex. */
  root: string;
  /** The checkpoint note as the log signed it and the witness was given it. */
  note: string;
  /** The witness's cosignature lines (`— <name> <base64>`), without their newlines. */
  cosignatures: string[];
  /** The witness name of the first cosignature line. */
  witness: string;
  /** When the shipper stored it (RFC 3339). */
  at: string;
}

export function witnessLogPath(dir: string): string {
  return path.join(dir, WITNESS_FILE);
}

/** The note with the cosignature lines after the log's signatures: what verifyCosignatures reads. */
export function cosignedNote(r: Pick<WitnessRecord, 'note' | 'cosignatures'>): string {
  return r.note + r.cosignatures.map((l) => `${l}\n`).join('');
}

const HASH_HEX = /^[0-9a-f]{64}$/;

/** Shape only: whether the cosignature holds is the verifier's question, with its own key. */
export function parseWitnessRecord(line: string): WitnessRecord {
  const r = JSON.parse(line) as Partial<WitnessRecord> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    !Number.isSafeInteger(r.size) ||
    r.size! < 0 ||
    typeof r.root !== 'string' ||
    !HASH_HEX.test(r.root) ||
    typeof r.note !== 'string' ||
    !Array.isArray(r.cosignatures) ||
    !r.cosignatures.every((c) => typeof c === 'string' && !c.includes('\n')) ||
    typeof r.witness !== 'string' ||
    typeof r.at !== 'string'
  ) {
    throw new Error('not a witness record');
  }
  return r as WitnessRecord;
}

export function appendWitnessRecord(dir: string, record: WitnessRecord, io: FileIO): void {
  appendRecordLine(witnessLogPath(dir), canonicalize(record), io);
}

export interface WitnessLogLine {
  lineNo: number;
  record?: WitnessRecord;
  /** Why the line is not a record. */
  error?: string;
}

/**
 * Every complete line, parsed or with the reason it is not a record; a torn last line (a crash
 * while appending) is left out: it was never acted on. Missing file: no lines.
 */
export function readWitnessLog(dir: string): WitnessLogLine[] {
  const file = witnessLogPath(dir);
  // Never followed, like every ledger file (spec §7.1): a link could make a verifier read
  // records from anywhere, and a FIFO would block the read.
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  if (!st.isFile()) {
    throw new LedgerStateError('LEDGER_CORRUPT', `${file} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; ledger files are never followed or replaced, so nothing was read`, {
      details: { path: file },
    });
  }
  let text: string;
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
  try {
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  const lines = text.split('\n').slice(0, -1);
  return lines.map((line, i) => {
    try {
      return { lineNo: i + 1, record: parseWitnessRecord(line) };
    } catch (e) {
      return { lineNo: i + 1, error: (e as Error).message };
    }
  });
}
