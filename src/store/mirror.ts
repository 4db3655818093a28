/**
 * Mirror one already-sealed event into the projection (spec §14.5). Precondition: the event's
 * line is durable in events.jsonl at the watermark offset. The ledger's own append path calls the
 * same projection primitives after its fsync; these functions are for callers that compose the
 * mirror into their own recovery or cutover tooling.
 */
import type Database from 'better-sqlite3';
import { InvalidInputError, LedgerStateError } from '../errors.js';
import type { SealedEvent } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { canonicalize } from '../format/canonical.js';
import { encodeLine, verifyEventSeal } from '../format/seal.js';
import { Projection } from './projection.js';

export type MirrorOutcome =
  | { status: 'inserted'; seq: number; offset: number }
  | { status: 'already-present'; seq: number }
  | {
      status: 'conflict';
      seq: number;
      reason: 'content' | 'id' | 'chain' | 'gap';
      message: string;
      /** Hash of what ledger.db holds (content/id conflicts) or expects as prev (chain). */
      existingHash?: string;
    };

/**
 * A better-sqlite3 connection to a ledger.db (`new Database(path)`). Declared by the members
 * that tell one apart, so that the published types do not need `@types/better-sqlite3`.
 */
export interface SqliteConnection {
  readonly inTransaction: boolean;
  readonly name: string;
  exec(source: string): unknown;
  prepare(source: string): unknown;
  transaction(fn: (...args: never[]) => unknown): unknown;
}

/** Like mirrorSingleEventIntoSqliteInTx, in its own transaction. */
export function mirrorSingleEventIntoSqlite(db: SqliteConnection, event: SealedEvent): MirrorOutcome {
  if (db.inTransaction) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'a transaction is open: use mirrorSingleEventIntoSqliteInTx');
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    const outcome = mirrorSingleEventIntoSqliteInTx(db, event);
    db.exec(outcome.status === 'inserted' ? 'COMMIT' : 'ROLLBACK');
    return outcome;
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

/**
 * Mirror `event` inside the caller's open transaction; refuses to run outside one
 * (NOT_IN_TRANSACTION). Idempotent: an identical row is `already-present`; a different row with
 * the same seq or id is a `conflict` and is never overwritten. Throws SEAL_MISMATCH for an event
 * whose hash is not its seal.
 */
export function mirrorSingleEventIntoSqliteInTx(connection: SqliteConnection, event: SealedEvent): MirrorOutcome {
  const db = connection as Database.Database; // the documented contract: a better-sqlite3 connection
  if (!db.inTransaction) {
    throw new LedgerStateError('NOT_IN_TRANSACTION', 'mirrorSingleEventIntoSqliteInTx must run inside a transaction');
  }
  verifyEventSeal(event);
  const line = encodeLine(event, canonicalize(event.payload, { path: 'payload' }));
  const rec = parseEventLine(line);
  const projection = Projection.attach(db);
  const wm = projection.watermark();
  const existing = projection.bySeq(event.seq);
  if (existing) {
    return existing.line === line
      ? { status: 'already-present', seq: event.seq }
      : { status: 'conflict', seq: event.seq, reason: 'content', existingHash: existing.hash, message: `seq ${event.seq} holds a different event` };
  }
  if (event.seq !== wm.seq + 1) {
    return { status: 'conflict', seq: event.seq, reason: 'gap', message: `the projection ends at seq ${wm.seq}; seq ${event.seq} would leave a gap` };
  }
  if (event.prev !== wm.hash) {
    return { status: 'conflict', seq: event.seq, reason: 'chain', existingHash: wm.hash, message: `prev does not match the hash of seq ${wm.seq}` };
  }
  const byId = projection.byId(event.id);
  if (byId) {
    return { status: 'conflict', seq: event.seq, reason: 'id', existingHash: byId.hash, message: `id ${event.id} is used by seq ${byId.seq}` };
  }
  const frontier = projection.tree.frontier(wm.seq + 1);
  projection.setWatermark(projection.mirror({ event, line, hash: rec.hash }, wm.offset, frontier));
  return { status: 'inserted', seq: event.seq, offset: wm.offset };
}
