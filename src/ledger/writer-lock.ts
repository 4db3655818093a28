/**
 * The cross-process writer lock is SQLite's write lock (spec §13.2, ADR 0007). It is polled, not
 * waited on inside SQLite, so a process waiting for another writer keeps serving its event loop.
 */
import { ConflictError } from '../errors.js';
import type { Projection } from '../store/projection.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** BEGIN IMMEDIATE on `projection`, retrying with back-off; LOCK_TIMEOUT after `timeoutMs`. */
export async function acquireWriterLock(projection: Projection, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (!projection.tryBeginImmediate()) {
    if (Date.now() >= deadline) {
      throw new ConflictError('LOCK_TIMEOUT', `another writer held the ledger lock for more than ${timeoutMs} ms`, {
        details: { timeoutMs },
      });
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 25);
  }
}
