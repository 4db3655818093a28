/**
 * Opening a ledger folder for a writer (spec §7.1, §14.2): create it when asked, read or record
 * its metadata and keyring, then reconcile the projection with events.jsonl in O(drift) under the
 * writer lock. Inspect mode reconciles nothing and writes nothing; it says what reconcile would do.
 */
import fs from 'node:fs';
import { InvalidInputError, KeyError, LedgerStateError, SealedLedgerError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { DEFAULT_LIMITS, type EventLimits } from '../format/event.js';
import type { EventSigner } from '../format/signature.js';
import { CompactRange } from '../merkle/compact-range.js';
import type { FileIO } from '../store/file-io.js';
import { fileIdentity } from '../store/file-identity.js';
import { JsonlFile } from '../store/jsonl-file.js';
import type { LedgerPaths } from '../store/layout.js';
import { existsOrThrow } from '../store/os-error.js';
import { Projection } from '../store/projection.js';
import { readCheckpointRecords } from './checkpoint-log.js';
import type { CrashHook } from './crash-points.js';
import { loadFolderKeyring } from './folder-keyring.js';
import { checkpointFloor } from './heal.js';
import { type LedgerMetadata, readOrCreateMetadata, writeMetadata } from './metadata.js';
import { LOCK_FILE, WriterLockFile } from './lock-file.js';
import { type ProjectionWorkerOptions, ProjectionThread } from './projection-thread.js';
import path from 'node:path';
import { QuarantineFile } from './quarantine.js';
import { readPolicyOf } from './read-policy.js';
import { EMPTY_WATERMARK, loadMissingProjection } from './open-missing-projection.js';
import { inspect, type Inspection, reconcile, type ReconcileReport } from './reconcile.js';
import { Writer, type WriterEvents, type WriterSettings } from './writer.js';
import { acquireWriterLock } from './writer-lock.js';

/** What open needs beyond the writer's settings (the LedgerOptions that shape the folder). */
export interface OpenRequest extends WriterSettings {
  create?: boolean | undefined;
  readOnly?: boolean | undefined;
  signer?: (EventSigner & { readonly publicKey?: Uint8Array; readonly name?: string }) | undefined;
  keyring?: Keyring | undefined;
  limits?: EventLimits | undefined;
  origin?: string | undefined;
  crashHook?: CrashHook | undefined;
  /** Run the projection on a worker thread (spec §13.9). */
  projectionWorker?: ProjectionWorkerOptions | undefined;
}

export interface OpenedWriter {
  writer: Writer;
  report: ReconcileReport;
  /** Inspect mode only: what a writable open would heal or refuse. */
  inspection?: Inspection | undefined;
}

export async function openWriter(paths: LedgerPaths, options: OpenRequest, io: FileIO, events: WriterEvents): Promise<OpenedWriter> {
  if (options.readOnly) return openReadOnly(paths, options, io, events);
  const created = prepareFolder(paths, options, io);
  let metadata: LedgerMetadata = readOrCreateMetadata(paths.metadata, {
    origin: options.origin,
    // Only a ledger this call creates starts with the policy: one that already holds events
    // opts in from its next seq (requireSignaturesFromNow), so its history stays readable.
    signaturesRequiredFrom: created && options.requireSignatures ? 0 : undefined,
    maxPayloadBytes: created && options.limits && options.limits.maxPayloadBytes !== DEFAULT_LIMITS.maxPayloadBytes ? options.limits.maxPayloadBytes : undefined,
  }, io);
  const policy = readPolicyOf(metadata, options.requireSignatures);
  if (options.limits && options.limits.maxPayloadBytes > policy.limits.maxPayloadBytes) {
    throw new InvalidInputError('INVALID_ARGUMENT', `this ledger's payload limit is ${policy.limits.maxPayloadBytes} bytes (ledger.json); limits may lower it, not raise it`, {
      details: { limit: policy.limits.maxPayloadBytes },
    });
  }
  const keyring = keyringWithSigner(paths, options);
  // A create that died before its folder fsync is completed by the next open (spec §7.1).
  io.syncDir(paths.dir);
  const jsonl = JsonlFile.open(paths.jsonl, io);
  let projection: Projection | undefined;
  let lock: WriterLockFile | undefined;
  let thread: ProjectionThread | undefined;
  try {
    const loaded = created || jsonl.size() === 0 ? undefined : await loadMissingProjection(paths, {
      jsonl, keyring, policy, requireSignatures: options.requireSignatures, io, lockTimeoutMs: options.lockTimeoutMs, crash: options.crashHook,
    });
    lock = WriterLockFile.open(path.join(paths.dir, LOCK_FILE));
    projection = await Projection.open(paths.sqlite, { create: true, lockTimeoutMs: options.lockTimeoutMs });
    const sqliteId = fileIdentity(paths.sqlite);
    await acquireWriterLock(projection, options.lockTimeoutMs, lock);
    let result;
    try {
      options.crashHook?.('reconcile.locked');
      const p = projection;
      result = reconcile({
        jsonl, projection, keyring, io, tornDir: paths.torn, crash: options.crashHook, policy,
        checkpointFloor: () => checkpointFloor(p, paths),
      });
      if (projection.checkpoints().length === 0) {
        projection.importCheckpoints(readCheckpointRecords(paths.checkpoints), result.report.after.seq + 1);
      }
      if (options.projectionWorker && metadata.v === 1) {
        // Inside the lock: from here on no writer without lock.db opens the folder (spec §13.9).
        metadata = { ...metadata, v: 2 };
        writeMetadata(paths.metadata, metadata, io);
      }
      if (loaded) {
        const tornTail = result.report.tornTail ?? loaded.tornTail;
        const before = loaded.published ? { ...EMPTY_WATERMARK } : result.report.before;
        result.report = { ...result.report, before, replayed: loaded.replayed + result.report.replayed, ...(tornTail ? { tornTail } : {}) };
      }
      options.crashHook?.('reconcile.committed');
      projection.commit();
    } catch (e) {
      projection.rollback();
      throw e;
    } finally {
      lock.release();
    }
    if (options.projectionWorker) thread = await ProjectionThread.start(paths.sqlite, result.report.after.seq, options.projectionLagMs);
    const files = { paths, jsonl, projection, keyring, io, lock, quarantine: new QuarantineFile(paths.quarantine, io) };
    const start = { state: 'open' as const, head: result.report.after, frontier: result.frontier, metadata, sqliteId, thread };
    return { writer: new Writer(files, start, { ...options, ...options.projectionWorker }, events), report: result.report };
  } catch (e) {
    await thread?.kill();
    lock?.close();
    if (projection) await projection.close().catch(() => undefined);
    jsonl.close();
    throw e;
  }
}

async function openReadOnly(paths: LedgerPaths, options: OpenRequest, io: FileIO, events: WriterEvents): Promise<OpenedWriter> {
  if (options.create) throw new InvalidInputError('INVALID_ARGUMENT', 'readOnly and create exclude each other');
  prepareFolder(paths, options, io);
  const metadata = readOrCreateMetadata(paths.metadata, undefined, io, true);
  const keyring = options.keyring ?? loadFolderKeyring(paths.keyring);
  const jsonl = JsonlFile.open(paths.jsonl, io, { readOnly: true });
  try {
    const projection = await Projection.open(paths.sqlite, { readOnly: true });
    projection.beginRead();
    try {
      const { report, inspection } = inspect(jsonl, projection, readPolicyOf(metadata, options.requireSignatures), keyring);
      let frontier = CompactRange.empty();
      try {
        frontier = projection.tree.frontier(report.after.seq + 1);
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        inspection.problems.push(`${e.code}: ${e.message}`);
      }
      const files = { paths, jsonl, projection, keyring, io, quarantine: new QuarantineFile(paths.quarantine, io) };
      const start = { state: 'read-only' as const, head: report.after, frontier, metadata, sqliteId: undefined };
      return { writer: new Writer(files, start, options, events), report, inspection };
    } finally {
      projection.commit();
    }
  } catch (e) {
    jsonl.close();
    throw e;
  }
}

/** The keyring to use: given, or the folder's; a new ledger's signer joins it. */
function keyringWithSigner(paths: LedgerPaths, options: OpenRequest): Keyring | undefined {
  let keyring = options.keyring ?? loadFolderKeyring(paths.keyring);
  const signer = options.signer;
  if (signer && !keyring?.has(signer.kid)) {
    if (keyring && keyring.size > 0) {
      throw new KeyError('UNKNOWN_KEY', `signing key ${signer.kid} is not in the ledger's keyring; add it first (sealed-ledger keys add)`, {
        details: { kid: signer.kid },
      });
    }
    if (!signer.publicKey || !signer.name) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'a signer without publicKey and name needs a keyring that holds its key');
    }
    keyring = keyring ?? new Keyring();
    keyring.add({ kid: signer.kid, name: signer.name, publicKey: signer.publicKey });
    keyring.save(paths.keyring);
  }
  return keyring;
}

/** Check or create the folder; returns true when this call created events.jsonl. */
function prepareFolder(paths: LedgerPaths, options: OpenRequest, io: FileIO): boolean {
  if (existsOrThrow(paths.jsonl)) return false;
  if (!options.create) {
    const why = existsOrThrow(paths.dir) ? `${paths.dir} is not a ledger folder (no events.jsonl)` : `${paths.dir} does not exist`;
    throw new LedgerStateError('LEDGER_NOT_FOUND', why, { details: { dir: paths.dir } });
  }
  if (fs.existsSync(paths.sqlite)) {
    throw new LedgerStateError('SQLITE_AHEAD', `${paths.sqlite} exists but events.jsonl does not; refusing to create a new ledger over it`, {
      details: { dir: paths.dir },
    });
  }
  fs.mkdirSync(paths.dir, { recursive: true });
  io.close(io.open(paths.jsonl, 'a', 0o644));
  io.syncDir(paths.dir);
  return true;
}
