/**
 * verifyLedger (spec §14.6): the offline verification job. Streams events.jsonl once, checking
 * every line's canonical form and seal, the chain, seq contiguity and signatures against the
 * keyring; recomputes the Merkle root and checks every stored checkpoint against it; then checks
 * JSONL <-> SQLite parity. Changes nothing.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { LedgerStateError, SealedLedgerError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { parseEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';
import { GENESIS_PREV } from '../format/event.js';
import { CompactRange } from '../merkle/compact-range.js';
import { verifyCheckpoint } from '../merkle/signed-checkpoint.js';
import { verifierKeyString } from '../merkle/verifier-key.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { JsonlFile } from '../store/jsonl-file.js';
import { verifyEventSetParity, type EventSetParity } from './parity.js';
import { resolveStorePaths, type StorePaths } from './replay.js';
import { ledgerPaths } from './layout.js';
import { readCheckpointRecords, type CheckpointRecord } from './checkpoint-log.js';

export interface VerifyProblem {
  code: string;
  message: string;
  seq?: number;
  lineNo?: number;
  offset?: number;
}

export interface VerifyReport {
  events: number;
  signed: number;
  unsigned: number;
  /** RFC 6962 root over all valid events read, hex. */
  rootHash: string;
  checkpoints: { checked: number; problems: number };
  /** Seal, chain, signature and checkpoint failures: tampering or corruption. */
  problems: VerifyProblem[];
  problemCount: number;
  /** A torn last line: a crashed append, healed by the next open. */
  tornTail: { offset: number; length: number } | null;
  parity: EventSetParity;
  ok: boolean;
}

export interface VerifyOptions {
  keyring?: Keyring;
  /** Report unsigned events as problems. */
  requireSignatures?: boolean;
  maxProblems?: number;
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
}

export async function verifyLedger(paths: StorePaths, options: VerifyOptions = {}): Promise<VerifyReport> {
  const files = resolveStorePaths(paths);
  if (!fs.existsSync(files.jsonl)) throw new LedgerStateError('LEDGER_NOT_FOUND', `${files.jsonl} does not exist`);
  const keyring = options.keyring ?? (files.keyring && fs.existsSync(files.keyring) ? Keyring.load(files.keyring) : new Keyring());
  const maxProblems = options.maxProblems ?? 1000;
  const problems: VerifyProblem[] = [];
  let problemCount = 0;
  const problem = (p: VerifyProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(p);
  };
  const checkpoints = mergeCheckpoints(readCheckpoints(files.sqlite), 'dir' in paths ? readCheckpointRecords(ledgerPaths(paths.dir).checkpoints) : []);
  let nextCheckpoint = 0;
  let checkpointProblems = 0;
  const report = { events: 0, signed: 0, unsigned: 0 };
  const frontier = CompactRange.empty();
  let tornTail: VerifyReport['tornTail'] = null;
  let expectSeq = 0;
  let prev = GENESIS_PREV;
  const jsonl = JsonlFile.open(files.jsonl, NODE_FILE_IO, { readOnly: true });
  try {
    const total = jsonl.size();
    for (const line of jsonl.lines(0, (t) => (tornTail = { offset: t.offset, length: t.bytes.length }), total)) {
      const where = { offset: line.offset, ...(line.lineNo ? { lineNo: line.lineNo } : {}) };
      if (line.badUtf8) {
        problem({ code: 'MALFORMED_LINE', message: `line ${line.lineNo}: not valid UTF-8`, ...where });
        continue;
      }
      let rec;
      try {
        rec = parseEventLine(line.text, where);
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        const seq = typeof e.details.seq === 'number' ? e.details.seq : undefined;
        problem({ code: e.code, message: e.message, ...where, ...(seq === undefined ? {} : { seq }) });
        continue;
      }
      const ev = rec.event;
      report.events++;
      if (ev.seq !== expectSeq) {
        problem({ code: 'SEQ_GAP', message: `line ${line.lineNo}: expected seq ${expectSeq}, found ${ev.seq}`, seq: ev.seq, ...where });
      } else if (ev.prev !== prev) {
        problem({ code: 'CHAIN_BROKEN', message: `seq ${ev.seq}: prev does not match the hash of seq ${ev.seq - 1}`, seq: ev.seq, ...where });
      }
      expectSeq = ev.seq + 1;
      prev = ev.hash;
      if (ev.sig) {
        report.signed++;
        try {
          verifyEventSignature(ev, keyring);
        } catch (e) {
          if (!(e instanceof SealedLedgerError)) throw e;
          problem({ code: e.code, message: `seq ${ev.seq}: ${e.message}`, seq: ev.seq, ...where });
        }
      } else {
        report.unsigned++;
        if (options.requireSignatures) problem({ code: 'SIGNATURE_REQUIRED', message: `seq ${ev.seq} is not signed`, seq: ev.seq, ...where });
      }
      frontier.append(rec.hash);
      while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.size === frontier.size) {
        if (!checkCheckpoint(checkpoints[nextCheckpoint]!, frontier, keyring, problem)) checkpointProblems++;
        nextCheckpoint++;
      }
      if (options.onProgress && report.events % 65536 === 0) options.onProgress(line.offset, total);
    }
    options.onProgress?.(total, total);
  } finally {
    jsonl.close();
  }
  for (const cp of checkpoints.slice(nextCheckpoint)) {
    if (cp.size === 0) {
      if (!checkCheckpoint(cp, CompactRange.empty(), keyring, problem)) checkpointProblems++;
      continue;
    }
    checkpointProblems++;
    problem({ code: 'CHECKPOINT_INCONSISTENT', message: `checkpoint of size ${cp.size} covers more events than events.jsonl holds (${frontier.size})` });
  }
  const parity = await verifyEventSetParity(paths);
  const ok = problemCount === 0 && tornTail === null && parity.inParity;
  return {
    ...report,
    rootHash: frontier.root().toString('hex'),
    checkpoints: { checked: checkpoints.length, problems: checkpointProblems },
    problems,
    problemCount,
    tornTail,
    parity,
    ok,
  };
}

interface CheckpointRow {
  size: number;
  root: string;
  note: string;
  created_at: string;
}

/** ledger.db's checkpoints and checkpoints.jsonl's, each distinct note once, by size. */
function mergeCheckpoints(rows: CheckpointRow[], records: CheckpointRecord[]): CheckpointRow[] {
  const seen = new Map<string, CheckpointRow>();
  for (const r of rows) seen.set(r.note, r);
  for (const r of records) if (!seen.has(r.note)) seen.set(r.note, { size: r.size, root: r.root, note: r.note, created_at: r.createdAt });
  return [...seen.values()].sort((a, b) => a.size - b.size);
}

function readCheckpoints(sqlitePath: string): CheckpointRow[] {
  if (!fs.existsSync(sqlitePath)) return [];
  const db = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], CheckpointRow>('SELECT size, root, note, created_at FROM checkpoints ORDER BY size').all();
  } catch {
    return []; // no such table: not a ledger.db this version wrote; parity reports the rest
  } finally {
    db.close();
  }
}

/** A stored checkpoint must be signed by a keyring key valid for it and name the recomputed root. */
function checkCheckpoint(cp: CheckpointRow, frontier: CompactRange, keyring: Keyring, problem: (p: VerifyProblem) => void): boolean {
  const use = { seq: Math.max(0, cp.size - 1), at: cp.created_at };
  const verifiers = keyring.list().flatMap((k) => {
    try {
      keyring.keyFor(k.kid, use);
      return [verifierKeyString(k.name, k.publicKey)];
    } catch {
      return [];
    }
  });
  try {
    const v = verifyCheckpoint(cp.note, verifiers);
    const root = frontier.root();
    if (v.size !== cp.size || v.rootHash.toString('hex') !== cp.root) {
      problem({ code: 'CHECKPOINT_INCONSISTENT', message: `stored checkpoint of size ${cp.size} does not match its own signed note` });
      return false;
    }
    if (!v.rootHash.equals(root)) {
      problem({ code: 'CHECKPOINT_INCONSISTENT', message: `checkpoint of size ${cp.size} names root ${v.rootHash.toString('hex').slice(0, 16)}…, events.jsonl gives ${root.toString('hex').slice(0, 16)}…` });
      return false;
    }
    return true;
  } catch (e) {
    if (!(e instanceof SealedLedgerError)) throw e;
    problem({ code: e.code, message: `checkpoint of size ${cp.size}: ${e.message}` });
    return false;
  }
}
