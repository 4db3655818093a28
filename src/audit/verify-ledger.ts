/**
 * verifyLedger (spec §14.6): the offline verification job. Streams events.jsonl once, checking
 * every line's canonical form and seal, the chain, seq contiguity and signatures against the
 * keyring; recomputes the Merkle root and checks every stored checkpoint against it; then checks
 * JSONL <-> SQLite parity. Changes nothing. It reads ledger.db through its own connection, so a
 * writer in the same process should `await ledger.flush()` first (spec §13.7): rows it still
 * holds uncommitted would show as drift.
 *
 * Signature verification dominates the cost, and each line's own checks (verify-line.ts) need no
 * other line, so large ledgers fan them out to worker threads; the checks that depend on order
 * (seq, chain, Merkle frontier, checkpoints) run here in line order either way, so both paths
 * give the same report.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { InvalidInputError, LedgerStateError, SealedLedgerError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { GENESIS_PREV } from '../format/event.js';
import { CompactRange } from '../merkle/compact-range.js';
import { verifyCheckpoint } from '../merkle/signed-checkpoint.js';
import { verifierKeyString } from '../merkle/verifier-key.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { ProjectionReader } from '../store/projection-reader.js';
import { JsonlFile, type TornTail } from '../store/jsonl-file.js';
import { verifyEventSetParity, type EventSetParity } from './parity.js';
import { ledgerPaths, resolveStorePaths, type StorePaths } from '../store/layout.js';
import { readCheckpointRecords, type CheckpointRecord } from '../ledger/checkpoint-log.js';
import { folderWarnings } from '../ledger/folder-safety.js';
import { readOrCreateMetadata } from '../ledger/metadata.js';
import { limitViolation, readPolicyOf, signaturePolicyViolation } from '../ledger/read-policy.js';
import { lineBatches } from '../store/line-batches.js';
import { checkLine, type LineCheck, type VerifyProblem } from './verify-line.js';
import { VerifyPool } from './verify-pool.js';
import { StoredTreeCheck } from './tree-check.js';
import { loadFolderKeyring } from '../ledger/folder-keyring.js';
import { checkProjection, type ProjectionFindings } from './projection-check.js';
import { ExternalCheckpoints, trustStatement } from './external-checkpoints.js';
import { checkWitnessLog, type WitnessFindings } from './witness-check.js';
import type { TrustedKeys } from './trusted-keys.js';

export type { VerifyProblem } from './verify-line.js';

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
  /** Events from this seq on had to be signed (ledger.json or `requireSignatures`); null: none. */
  signaturesRequiredFrom: number | null;
  /** Group- or world-writable ledger files or folder (spec §7.1): anyone on the host could rewrite them. */
  warnings: string[];
  /** What ledger.db says about events.jsonl (spec §8.2, §8.3); null without a readable ledger.db. */
  projection: ProjectionFindings | null;
  /** What this verification proves, and against whom (spec §17). */
  trust: TrustStatement;
  /** witness.jsonl: witnessed up to which size, by whom, checked with whose key (spec §20.10); null for a bare file. */
  witness: WitnessFindings | null;
  ok: boolean;
}

export interface TrustStatement {
  /**
   * `trusted`: signatures and checkpoints were checked against keys given by the caller (obtained
   * out of band). `folder`: against the folder's own keyring.json (or the caller's `keyring`),
   * which whoever can write the folder also controls.
   */
  keys: 'trusted' | 'folder';
  statement: string;
  /** Checkpoints held outside the folder, each checked against the recomputed tree. */
  externalCheckpoints: { size: number; rootHash: string; consistent: boolean }[];
  /** What no local verification can detect. */
  limits: string;
}

/** A checkpoint held outside the ledger folder (spec §17.3). */
export interface ExternalCheckpoint {
  /** The signed note, as published. */
  note: string;
  /** Verifier keys (spec §12.3) to check it with; default: `trustedKeys.verifierKeys`. */
  verifierKeys?: readonly string[];
}

export interface VerifyOptions {
  /**
   * Keys obtained out of band (spec §17.2): event signatures are checked against
   * `trustedKeys.keyring` only and stored checkpoints against `trustedKeys.verifierKeys` only.
   * Without them the folder's keyring (or `keyring`) is used, and the report says that this proves
   * integrity against accidents, not against whoever can write the folder.
   */
  trustedKeys?: TrustedKeys;
  /** Checkpoints held outside the folder that the ledger must extend (spec §17.3). */
  externalCheckpoints?: readonly ExternalCheckpoint[];
  keyring?: Keyring;
  /**
   * Witness cosignature verifier keys (spec §19.5.4), obtained out of band: every witness.jsonl
   * record must carry a cosignature that verifies under one, at least one record must, and the
   * ledger must extend each (spec §20.10).
   */
  witnessKeys?: readonly string[];
  /**
   * Cosigned checkpoint notes held outside the folder, e.g. the collector's latest
   * (`GET /v1/sources/{source}/checkpoint`): checked with `witnessKeys`; the ledger must extend
   * them, whatever witness.jsonl says (spec §20.10).
   */
  witnessedCheckpoints?: readonly string[];
  /** Report unsigned events as problems. */
  requireSignatures?: boolean;
  maxProblems?: number;
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
  /**
   * Worker threads checking seals and signatures; 0 checks every line on the calling thread.
   * Default: os.availableParallelism() (at most 8), or 0 for an events.jsonl under 1 MiB, where
   * starting workers costs more than it saves.
   */
  workers?: number;
  /** @internal Location of the compiled verify-worker.js (tests run from the TypeScript sources). */
  workerUrl?: URL;
  /** @internal Bytes of whole lines per worker batch (default 256 KiB). */
  batchBytes?: number;
}

const MAX_DEFAULT_WORKERS = 8;
const PARALLEL_MIN_BYTES = 1 << 20;
const BATCH_BYTES = 256 << 10;
/** Batches queued per worker: enough to keep it busy while the main thread consumes. */
const IN_FLIGHT_PER_WORKER = 4;

export async function verifyLedger(paths: StorePaths, options: VerifyOptions = {}): Promise<VerifyReport> {
  const files = resolveStorePaths(paths);
  if (!fs.existsSync(files.jsonl)) throw new LedgerStateError('LEDGER_NOT_FOUND', `${files.jsonl} does not exist`);
  if (options.workers !== undefined && (!Number.isSafeInteger(options.workers) || options.workers < 0)) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'workers must be a non-negative integer');
  }
  if (options.batchBytes !== undefined && (!Number.isSafeInteger(options.batchBytes) || options.batchBytes < 1)) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'batchBytes must be a positive integer');
  }
  const keyring = options.trustedKeys?.keyring ?? options.keyring ?? (files.keyring ? loadFolderKeyring(files.keyring) : undefined) ?? new Keyring();
  const checkpointKeys = options.trustedKeys?.verifierKeys;
  const external = prepareExternal(options, files);
  const maxProblems = options.maxProblems ?? 1000;
  const folder = 'dir' in paths ? ledgerPaths(paths.dir) : undefined;
  const policy = readPolicyOf(folder ? readOrCreateMetadata(folder.metadata, undefined, NODE_FILE_IO, true) : undefined, options.requireSignatures);
  const problems: VerifyProblem[] = [];
  let problemCount = 0;
  const problem = (p: VerifyProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(p);
  };
  const witnessChecks = new ExternalCheckpoints([], undefined, files.sqlite);
  const witness = folder ? checkWitnessLog(folder.dir, options.witnessKeys, witnessChecks, problem, options.witnessedCheckpoints) : null;
  const checkpoints = mergeCheckpoints(readCheckpoints(files.sqlite), 'dir' in paths ? readCheckpointRecords(ledgerPaths(paths.dir).checkpoints) : []);
  let nextCheckpoint = 0;
  let checkpointProblems = 0;
  const report = { events: 0, signed: 0, unsigned: 0 };
  const frontier = CompactRange.empty();
  // Checkpoints are checked when the tree reaches their size, after a line; the empty tree's
  // (size 0) is never reached so, and is checked first (else it would hold back every later one).
  for (; nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.size === 0; nextCheckpoint++) {
    if (!checkCheckpoint(checkpoints[nextCheckpoint]!, frontier, keyring, checkpointKeys, problem)) checkpointProblems++;
  }
  let tornTail: VerifyReport['tornTail'] = null;
  const onTornTail = (t: TornTail) => (tornTail = { offset: t.offset, length: t.length });
  let expectSeq = 0;
  let prev = GENESIS_PREV;
  let total = 0;
  /** With worker threads, parity runs on its own thread during the line checks. */
  let parityRun: ParityRun | undefined;

  /** The checks that need line order, applied to each line's own result in file order. */
  const treeCheck = StoredTreeCheck.open(files.sqlite, problem);
  const consume = (c: LineCheck) => {
    if (c.kind === 'problem') {
      problem(c.problem);
      treeCheck?.stop();
      return;
    }
    const where = { offset: c.offset, ...(c.lineNo ? { lineNo: c.lineNo } : {}) };
    report.events++;
    if (c.seq !== expectSeq) {
      treeCheck?.stop();
      problem({ code: 'SEQ_GAP', message: `line ${c.lineNo}: expected seq ${expectSeq}, found ${c.seq}`, seq: c.seq, ...where });
    } else if (c.prev !== prev) {
      problem({ code: 'CHAIN_BROKEN', message: `seq ${c.seq}: prev does not match the hash of seq ${c.seq - 1}`, seq: c.seq, ...where });
    }
    expectSeq = c.seq + 1;
    prev = c.hash;
    if (c.signed) {
      report.signed++;
      if (c.sigProblem) problem(c.sigProblem);
    } else {
      report.unsigned++;
      const unsigned = signaturePolicyViolation({ seq: c.seq } as Parameters<typeof signaturePolicyViolation>[0], policy);
      if (unsigned) problem({ code: 'SIGNATURE_REQUIRED', message: unsigned.message, seq: c.seq, ...where });
    }
    const tooBig = limitViolation(c.lineBytes, undefined, policy) ?? (c.payloadBytes > policy.limits.maxPayloadBytes ? `canonical payload exceeds the ${policy.limits.maxPayloadBytes}-byte limit (spec §3.1.1)` : undefined);
    if (tooBig) problem({ code: 'MALFORMED_LINE', message: `seq ${c.seq}: ${tooBig}`, seq: c.seq, ...where });
    const leaf = frontier.size;
    const completed = frontier.append(Buffer.from(c.hash, 'hex'));
    treeCheck?.completed(leaf, c.hash, completed);
    while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.size === frontier.size) {
      if (!checkCheckpoint(checkpoints[nextCheckpoint]!, frontier, keyring, checkpointKeys, problem)) checkpointProblems++;
      nextCheckpoint++;
    }
    external.at(frontier, problem);
    witnessChecks.at(frontier, problem);
    if (options.onProgress && report.events % 65536 === 0) options.onProgress(c.offset, total);
  };

  const jsonl = JsonlFile.open(files.jsonl, NODE_FILE_IO, { readOnly: true });
  try {
    total = jsonl.size();
    const workers = options.workers ?? (total < PARALLEL_MIN_BYTES ? 0 : Math.min(os.availableParallelism(), MAX_DEFAULT_WORKERS));
    if (workers === 0) {
      for (const line of jsonl.lines(0, onTornTail, total, policy.maxLineBytes)) consume(checkLine(line, keyring));
    } else {
      const workerUrl = options.workerUrl ?? new URL('./verify-worker.js', import.meta.url);
      parityRun = parityInWorker(paths, new URL('./parity-worker.js', workerUrl));
      const pool = new VerifyPool(workers, workerUrl, JSON.stringify(keyring));
      try {
        const inFlight: Promise<LineCheck[]>[] = [];
        for (const batch of lineBatches(jsonl, total, options.batchBytes ?? BATCH_BYTES, onTornTail, policy.maxLineBytes)) {
          const o = batch.overlong;
          inFlight.push(o ? Promise.resolve([checkLine({ text: '', tooLong: true, offset: o.offset, lineNo: o.lineNo }, keyring)]) : pool.check(batch));
          if (inFlight.length >= workers * IN_FLIGHT_PER_WORKER) for (const c of await inFlight.shift()!) consume(c);
        }
        for (const next of inFlight) for (const c of await next) consume(c);
      } finally {
        await pool.close();
      }
    }
    options.onProgress?.(total, total);
    treeCheck?.finish(frontier.size);
  } catch (e) {
    await parityRun?.stop();
    throw e;
  } finally {
    treeCheck?.close();
    jsonl.close();
  }
  for (const cp of checkpoints.slice(nextCheckpoint)) {
    checkpointProblems++;
    problem({ code: 'CHECKPOINT_INCONSISTENT', message: `checkpoint of size ${cp.size} covers more events than events.jsonl holds (${frontier.size})` });
  }
  external.finish(frontier, problem);
  witnessChecks.finish(frontier, problem);
  const parity = (await parityRun?.result) ?? (await verifyEventSetParity(paths, { maxLineBytes: policy.maxLineBytes }));
  const projection = checkProjection(
    files.sqlite,
    { size: total, lastSeq: expectSeq - 1 },
    parity.missingFromSqlite,
    parity.missingFromJsonl.length > 0,
    new Set(parity.mismatches.map((m) => m.seq)),
    problem,
  );
  const ok = problemCount === 0 && tornTail === null && parity.inParity;
  return {
    ...report,
    projection,
    trust: trustStatement(options, external.results),
    witness,
    rootHash: frontier.root().toString('hex'),
    checkpoints: { checked: checkpoints.length, problems: checkpointProblems },
    problems,
    problemCount,
    tornTail,
    parity,
    signaturesRequiredFrom: policy.signaturesRequiredFrom ?? null,
    warnings: folder ? folderWarnings(folder) : [],
    ok,
  };
}

function prepareExternal(options: VerifyOptions, files: { sqlite: string }): ExternalCheckpoints {
  return new ExternalCheckpoints(options.externalCheckpoints ?? [], options.trustedKeys?.verifierKeys, files.sqlite);
}

interface ParityRun {
  /** The report, or undefined when the pass failed on the worker (or was stopped). */
  result: Promise<EventSetParity | undefined>;
  stop(): Promise<void>;
}

/**
 * verifyEventSetParity on a worker thread. A failure there is not lost: the caller then runs the
 * pass itself, which raises it again as the typed error (code, cause) it is.
 */
function parityInWorker(paths: StorePaths, url: URL): ParityRun {
  const worker = new Worker(url, { workerData: { paths } });
  const result = new Promise<EventSetParity | undefined>((resolve) => {
    let report: EventSetParity | undefined;
    worker.once('message', (m: { report?: EventSetParity }) => (report = m.report));
    worker.once('error', () => undefined); // see above: rerun on the calling thread
    worker.once('exit', () => resolve(report));
  });
  return { result, stop: async () => void (await worker.terminate()) };
}

interface CheckpointRow {
  size: number;
  root: string;
  note: string;
  created_at: string;
  /** Where the row came from, for findings about the row itself. */
  source?: string;
}

/**
 * ledger.db's checkpoints and checkpoints.jsonl's, each distinct (note, size, root) once, by
 * size: a note stored twice with the same size and root is checked once, and a copy whose size
 * or root was edited is checked (and reported) on its own.
 */
function mergeCheckpoints(rows: CheckpointRow[], records: CheckpointRecord[]): CheckpointRow[] {
  const seen = new Map<string, CheckpointRow>();
  const key = (r: { note: string; size: number; root: string }) => `${r.size}\n${r.root}\n${r.note}`;
  for (const r of rows) seen.set(key(r), { ...r, source: 'the checkpoints table of ledger.db' });
  for (const r of records) {
    if (!seen.has(key(r))) seen.set(key(r), { size: r.size, root: r.root, note: r.note, created_at: r.createdAt, source: 'checkpoints.jsonl' });
  }
  return [...seen.values()].sort((a, b) => a.size - b.size);
}

function readCheckpoints(sqlitePath: string): CheckpointRow[] {
  if (!fs.existsSync(sqlitePath)) return [];
  let db: ProjectionReader;
  try {
    db = ProjectionReader.open(sqlitePath, { copyIfFolderReadOnly: true });
  } catch {
    return []; // not a database at all: the parity pass reports it as LEDGER_CORRUPT
  }
  try {
    return db.checkpoints();
  } catch {
    return []; // no such table: not a ledger.db this version wrote; parity reports the rest
  } finally {
    db.close();
  }
}

/** A stored checkpoint must be signed by a keyring key valid for it and name the recomputed root. */
function checkCheckpoint(
  cp: CheckpointRow,
  frontier: CompactRange,
  keyring: Keyring,
  trustedVerifiers: readonly string[] | undefined,
  problem: (p: VerifyProblem) => void,
): boolean {
  const use = { seq: Math.max(0, cp.size - 1), at: cp.created_at };
  const verifiers = trustedVerifiers ?? keyring.list().flatMap((k) => {
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
      // The note verifies; the row beside it was edited (a projection or record edit, not JSONL damage).
      problem({ code: 'CHECKPOINT_RECORD_MISMATCH', message: `the size or root stored in ${cp.source ?? 'ledger.db'} for the checkpoint of size ${cp.size} does not match its own signed note: it was edited (the note is intact)` });
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
