/**
 * replayJsonlIntoSqlite (spec §14.3): rebuild or catch up the projection from events.jsonl alone.
 * From the watermark it costs O(drift); into a missing or empty ledger.db it is disaster
 * recovery. It never changes events.jsonl: a torn tail is reported, and moved aside by the next
 * Ledger.open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LedgerStateError, SealedLedgerError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { JsonlFile } from '../store/jsonl-file.js';
import { type FileIO, NODE_FILE_IO } from '../store/file-io.js';
import { withIoErrors } from '../store/os-error.js';
import { Projection } from '../store/projection.js';
import { ledgerPaths, resolveStorePaths, type StorePaths } from '../store/layout.js';
import { isMissingDb, publishSideFile, removeDbFiles, removeStaleSideFiles, sideFileOf } from '../store/side-file.js';
import { WriteBack } from '../store/write-back.js';
import { assertNoLinks } from './folder-safety.js';
import { readOrCreateMetadata } from './metadata.js';
import { readPolicyOf } from './read-policy.js';
import { checkAnchor } from './reconcile.js';
import { loadFolderKeyring } from './folder-keyring.js';
import { LOCK_FILE, WriterLockFile } from './lock-file.js';
import { acquireLockFile, acquireWriterLock } from './writer-lock.js';
import { readCheckpointRecords } from './checkpoint-log.js';
import { assertNothingValidAfter, replayTail, type TailDefect } from './tail-replay.js';
import { defaultReplayThreads, replayTailOnWorkers } from './worker-tail-replay.js';


export interface ReplayOptions {
  keyring?: Keyring;
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
  /**
   * Rows per committed chunk (default 20,000) of a replay from a non-empty watermark: each chunk
   * is a valid prefix of JSONL. A replay into an empty ledger.db ignores it: it is a bulk load,
   * one transaction (spec §14.3), so a crash part-way leaves the empty projection.
   */
  commitEvery?: number;
  /** How long to wait for another writer's lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Refuse unsigned events from seq 0, on top of the policy ledger.json records (spec §7.1). */
  requireSignatures?: boolean;
  /**
   * @internal false: replay into an empty ledger.db with the indexes in place, in commitEvery
   * chunks, as before the bulk load (tests and benches compare the two).
   */
  bulkLoad?: boolean;
  /** @internal Build into this SQLite file instead of the folder's ledger.db (rebuildProjection). */
  into?: string;
  /**
   * @internal lock.db of the folder, already held by the caller (rebuildProjection, which keeps
   * it until its swap is done): used as is, and neither released nor closed here.
   */
  heldLock?: WriterLockFile;
  /**
   * Worker threads for the line checks of a replay into an empty ledger.db (spec §14.3.1), as
   * verifyLedger's `workers`: 0 checks on the writing thread. Default: os.availableParallelism()
   * - 1 (at least 1) for an events.jsonl of 1 MiB or more, else 0; 0 when running from the
   * TypeScript sources.
   */
  workers?: number;
  /** @internal Location of the compiled replay-worker.js (tests run from the TypeScript sources). */
  workerUrl?: URL;
  /** @internal Bytes per batch handed to a replay worker (tests cut small batches). */
  batchBytes?: number;
  /**
   * @internal The file-system seam events.jsonl is read and fsynced through (Ledger.open passes
   * its own, so that the crash suites see the replay's fsync of events.jsonl).
   */
  io?: FileIO;
}

/** Below this size a bulk replay checks inline: starting threads costs more than it saves. */
const PARALLEL_MIN_BYTES = 1 << 20;

function threadsFor(options: ReplayOptions, bytes: number): number {
  if (options.workers !== undefined) {
    if (!Number.isSafeInteger(options.workers) || options.workers < 0) {
      throw new InvalidInputError('INVALID_ARGUMENT', `workers must be a non-negative integer, got ${String(options.workers)}`, { details: { option: 'workers' } });
    }
    return options.workers;
  }
  if (options.workerUrl === undefined && import.meta.url.endsWith('.ts')) return 0;
  return bytes < PARALLEL_MIN_BYTES ? 0 : defaultReplayThreads();
}

const PROGRESS_EVERY = 20_000;

export interface ReplayReport {
  /** JSONL lines read past the starting watermark. */
  scanned: number;
  inserted: number;
  alreadyPresent: number;
  /** seq the replay started after (-1: from scratch). */
  fromSeq: number;
  /** seq of the last event now in the projection. */
  toSeq: number;
  tornTail?: TailDefect;
  errors: { code: string; message: string; seq?: number; offset?: number }[];
  durationMs: number;
}

export async function replayJsonlIntoSqlite(paths: StorePaths, options: ReplayOptions = {}): Promise<ReplayReport> {
  const files = resolveStorePaths(paths);
  return withIoErrors(options.into ?? files.sqlite, async () => {
    for (;;) {
      const report = await replayInto(paths, options);
      if (report !== 'retry') return report;
    }
  });
}

async function replayInto(paths: StorePaths, options: ReplayOptions): Promise<ReplayReport | 'retry'> {
  const started = performance.now();
  threadsFor(options, 0); // a bad option is refused before anything is opened
  const files = resolveStorePaths(paths);
  if (options.into !== undefined) files.sqlite = options.into;
  if (!fs.existsSync(files.jsonl)) {
    throw new LedgerStateError('LEDGER_NOT_FOUND', `${files.jsonl} does not exist`, { details: { path: files.jsonl } });
  }
  const folder = 'dir' in paths ? ledgerPaths(paths.dir) : undefined;
  if (folder) assertNoLinks(folder);
  const policy = readPolicyOf(folder ? readOrCreateMetadata(folder.metadata, undefined, NODE_FILE_IO, true) : undefined, options.requireSignatures);
  const keyring = options.keyring ?? (files.keyring ? loadFolderKeyring(files.keyring) : undefined);
  // Into a missing ledger.db the bulk load builds a side file and publishes it whole (spec
  // §14.3.1); rebuildProjection's `into` is a side file already.
  const target = options.into === undefined && options.bulkLoad !== false && isMissingDb(files.sqlite) ? files.sqlite : undefined;
  const jsonl = JsonlFile.open(files.jsonl, options.io ?? NODE_FILE_IO, { readOnly: true });
  // The folder's writer lock is lock.db first (spec §13.9): without it, replay could take
  // ledger.db's lock between two commits of a worker-mode writer's projection thread.
  let lock: WriterLockFile | undefined;
  let projection: Projection | undefined;
  let side: string | undefined;
  let writeBack: WriteBack | undefined;
  try {
    lock = options.heldLock ?? WriterLockFile.open(path.join(path.dirname(files.sqlite), LOCK_FILE));
    if (options.heldLock && !options.heldLock.held) throw new Error('replay: heldLock is not held');
    if (target) {
      await acquireLockFile(lock, options.lockTimeoutMs);
      removeStaleSideFiles(target);
      side = sideFileOf(target);
    }
    const bulkFile = options.bulkLoad !== false && (side !== undefined || (options.into !== undefined && isMissingDb(options.into)));
    projection = await Projection.open(side ?? files.sqlite, { create: true, bulkFile });
    // A held lock is not passed on: on a timeout the poll would release it for its holder.
    await acquireWriterLock(projection, options.lockTimeoutMs, options.heldLock ? undefined : lock);
    // A new file's pages go to the disk during the load, not all in COMMIT's fsync (ADR 0040).
    if (bulkFile) writeBack = WriteBack.open(side ?? options.into!);
    const report = await load({ projection, jsonl, keyring, policy, options, started, checkpoints: folder?.checkpoints, writeBack });
    await writeBack?.finish();
    writeBack = undefined;
    if (bulkFile) projection.switchToWal();
    await projection.close();
    projection = undefined;
    if (side !== undefined && target !== undefined) {
      const published = publishSideFile(side, target);
      side = undefined;
      // A writer's open created ledger.db meanwhile (it waits for lock.db): replay into it instead.
      if (!published) return 'retry';
    }
    report.durationMs = performance.now() - started;
    return report;
  } finally {
    // Only on a failure: the file it writes back is not published (a side file is removed here,
    // rebuildProjection removes its own), so the error that stopped the load is the one thrown.
    await writeBack?.abandon();
    await projection?.close();
    if (side !== undefined) removeDbFiles(side);
    if (!options.heldLock) {
      lock?.release();
      lock?.close();
    }
    jsonl.close();
  }
}

interface Load {
  projection: Projection;
  jsonl: JsonlFile;
  keyring: Keyring | undefined;
  policy: ReturnType<typeof readPolicyOf>;
  options: ReplayOptions;
  started: number;
  checkpoints: string | undefined;
  writeBack: WriteBack | undefined;
}

/** §14.3 under the writer lock: one transaction for a bulk load, commitEvery chunks otherwise. */
async function load({ projection, jsonl, keyring, policy, options, started, checkpoints, writeBack }: Load): Promise<ReplayReport> {
  try {
    const from = projection.watermark();
    checkAnchor(jsonl, from);
    // As in reconcile: never commit rows for lines that are not yet durable (I1).
    if (jsonl.size() > from.offset) jsonl.sync();
    // Into an empty projection, the bulk-load order (spec §14.3, ADR 0036): the three secondary
    // indexes are dropped, every row inserted, and the indexes built once from their own text,
    // all in this one transaction. Any error rolls it back: an empty ledger.db stays empty and
    // indexed, a side file is removed unpublished (spec §14.3.1).
    const bulk = options.bulkLoad !== false && from.seq === -1 && projection.maxSeq() === -1;
    const dropped = bulk ? projection.dropSecondaryIndexes() : [];
    const target = { jsonl, projection, frontier: projection.tree.frontier(from.seq + 1), keyring, policy };
    const threads = bulk && from.offset === 0 ? threadsFor(options, jsonl.size()) : 0;
    // Every 20,000 rows (about 0.25 s of a bulk load) is also when the side file is written back.
    const onProgress = writeBack === undefined
      ? options.onProgress
      : (scanned: number, total: number) => {
        writeBack.nudge();
        options.onProgress?.(scanned, total);
      };
    const tail = threads > 0
      ? await replayTailOnWorkers(target, from, {
        threads,
        workerUrl: options.workerUrl ?? new URL('./replay-worker.js', import.meta.url),
        progressEvery: PROGRESS_EVERY,
        onProgress,
        batchBytes: options.batchBytes,
      })
      : replayTail(target, from, {
        ...(bulk ? { progressEvery: PROGRESS_EVERY } : { commitEvery: options.commitEvery ?? 20_000 }),
        reportDamage: true,
        ...(onProgress ? { onProgress } : {}),
      });
    // The load's last pages go to the disk while SQLite builds the indexes (ADR 0040).
    writeBack?.start();
    projection.createIndexes(dropped);
    const maxSeq = projection.maxSeq();
    if (maxSeq > tail.watermark.seq) {
      throw new LedgerStateError('SQLITE_AHEAD', `ledger.db holds events up to seq ${maxSeq} that events.jsonl lacks`, {
        details: { sqliteMaxSeq: maxSeq, jsonlLastSeq: tail.watermark.seq },
      });
    }
    if (checkpoints) projection.importCheckpoints(readCheckpointRecords(checkpoints), tail.watermark.seq + 1);
    projection.commit();
    const report: ReplayReport = {
      scanned: tail.scanned,
      inserted: tail.inserted,
      alreadyPresent: tail.alreadyPresent,
      fromSeq: from.seq,
      toSeq: tail.watermark.seq,
      errors: [],
      durationMs: performance.now() - started,
    };
    if (tail.defect) {
      report.tornTail = tail.defect;
      report.errors.push({ code: tail.defect.code, message: tail.defect.reason, offset: tail.defect.offset });
      if (tail.defect.code !== 'TORN_LINE') {
        try {
          assertNothingValidAfter(jsonl, tail.defect, jsonl.size(), policy.maxLineBytes);
        } catch (e) {
          if (!(e instanceof SealedLedgerError)) throw e;
          report.errors.push({ code: e.code, message: e.message, offset: tail.defect.offset });
        }
      }
    }
    return report;
  } catch (e) {
    projection.rollback();
    throw e;
  }
}
