/**
 * A writable open of a folder whose ledger.db is gone (spec §14.2, §14.3.1): the projection is
 * built by the bulk load in a side file (rollback journal, indexes built once, line checks on
 * worker threads) instead of healed in place row by row with the indexes in place, then
 * reconciled there, and published only once that reconcile committed. A refused open (damage
 * that valid lines follow, a tail below a signed checkpoint) therefore leaves ledger.db missing,
 * as it was; a torn tail is moved aside exactly as the heal in place would.
 */
import path from 'node:path';
import type { Keyring } from '../crypto/keyring.js';
import { GENESIS_PREV } from '../format/event.js';
import type { FileIO } from '../store/file-io.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { LedgerPaths } from '../store/layout.js';
import { Projection } from '../store/projection.js';
import { isMissingDb, publishSideFile, removeDbFiles, removeStaleSideFiles, sideFileOf } from '../store/side-file.js';
import type { CrashHook } from './crash-points.js';
import { checkpointFloor } from './heal.js';
import { LOCK_FILE, WriterLockFile } from './lock-file.js';
import type { ReadPolicy } from './read-policy.js';
import { reconcile } from './reconcile.js';
import type { MovedTail } from './torn-tail.js';
import { replayJsonlIntoSqlite } from './replay.js';
import { acquireLockFile, acquireWriterLock } from './writer-lock.js';

export interface MissingProjectionLoad {
  jsonl: JsonlFile;
  keyring: Keyring | undefined;
  policy: ReadPolicy;
  requireSignatures: boolean | undefined;
  io: FileIO;
  lockTimeoutMs: number | undefined;
  crash: CrashHook | undefined;
}

/** What the load did, for the open's report: its rows, and the tail its reconcile moved aside. */
export interface LoadedProjection {
  /** False: ledger.db appeared before the publication; the open heals that one in place. */
  published: boolean;
  replayed: number;
  tornTail?: MovedTail | undefined;
}

/** Undefined when ledger.db exists (or appeared meanwhile): the open then heals it in place. */
export async function loadMissingProjection(paths: LedgerPaths, o: MissingProjectionLoad): Promise<LoadedProjection | undefined> {
  if (!isMissingDb(paths.sqlite)) return undefined;
  const lock = WriterLockFile.open(path.join(paths.dir, LOCK_FILE));
  try {
    await acquireLockFile(lock, o.lockTimeoutMs);
    // Holding lock.db, every side file found is a dead process's debris (spec §14.3.1).
    removeStaleSideFiles(paths.sqlite);
    if (!isMissingDb(paths.sqlite)) return undefined;
    const side = sideFileOf(paths.sqlite);
    let published = false;
    try {
      const load = await replayJsonlIntoSqlite({ dir: paths.dir }, {
        into: side, heldLock: lock, keyring: o.keyring, io: o.io, requireSignatures: o.requireSignatures, lockTimeoutMs: o.lockTimeoutMs,
      });
      const settled = await reconcileSide(side, paths, o);
      published = publishSideFile(side, paths.sqlite);
      // ledger.db was created meanwhile (another open makes it before it waits for lock.db): the
      // load is dropped and the open heals that file in place; the tail stays moved.
      return { published, replayed: published ? load.inserted + settled.replayed : 0, tornTail: settled.tornTail };
    } finally {
      if (!published) removeDbFiles(side);
    }
  } finally {
    lock.release();
    lock.close();
  }
}

/** reconcile (spec §14.2) on the loaded side file: completes or moves a defective tail, or refuses. */
async function reconcileSide(side: string, paths: LedgerPaths, o: MissingProjectionLoad): Promise<Omit<LoadedProjection, 'published'>> {
  const projection = await Projection.open(side, { lockTimeoutMs: o.lockTimeoutMs });
  try {
    // Nobody else opens the side file; lock.db is already held.
    await acquireWriterLock(projection, o.lockTimeoutMs);
    try {
      o.crash?.('reconcile.locked');
      // Lines the load left are at most a final event that lacks only its newline (completed).
      const { report } = reconcile({
        jsonl: o.jsonl, projection, keyring: o.keyring, io: o.io, tornDir: paths.torn, crash: o.crash, policy: o.policy,
        checkpointFloor: () => checkpointFloor(projection, paths),
      });
      o.crash?.('reconcile.committed');
      projection.commit();
      return { replayed: report.replayed, tornTail: report.tornTail };
    } catch (e) {
      projection.rollback();
      throw e;
    }
  } finally {
    await projection.close();
  }
}

/** The watermark of an empty projection: where a load into a missing ledger.db starts. */
export const EMPTY_WATERMARK = { seq: -1, hash: GENESIS_PREV, offset: 0, lineStart: 0 } as const;
