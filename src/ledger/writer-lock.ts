/**
 * The cross-process writer lock is SQLite's write lock (spec §13.2, ADR 0007). It is polled, not
 * waited on inside SQLite, so a process waiting for another writer keeps serving its event loop.
 */
import { ConflictError } from '../errors.js';
import type { Projection } from '../store/projection.js';
import type { WriterLockFile } from './lock-file.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/**
 * BEGIN IMMEDIATE on `lockFile` (when given, first: spec §13.9) and then on `projection`, retrying
 * with back-off; LOCK_TIMEOUT after `timeoutMs`, holding neither.
 */
export async function acquireWriterLock(projection: Projection, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS, lockFile?: WriterLockFile): Promise<void> {
  await pollFor(() => (lockFile?.tryAcquire() ?? true) && projection.tryBeginImmediate(), timeoutMs, lockFile);
}

/**
 * lock.db alone, polled the same way: a replay that builds a side file takes it before creating
 * the file (spec §14.3.1), so that every side file found while holding it is debris.
 */
export async function acquireLockFile(lockFile: WriterLockFile, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Promise<void> {
  await pollFor(() => lockFile.tryAcquire(), timeoutMs, lockFile);
}

async function pollFor(acquired: () => boolean, timeoutMs: number, lockFile?: WriterLockFile): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (!acquired()) {
    if (Date.now() >= deadline) {
      lockFile?.release();
      throw new ConflictError('LOCK_TIMEOUT', `another writer held the ledger lock for more than ${timeoutMs} ms`, {
        details: { timeoutMs },
      });
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 25);
  }
}
