/**
 * The witness's log of cosigned checkpoints (spec §18.9.1): every state the witness recorded,
 * per source, in order, append-only and hash-chained. The state row (`witness_state`) is a cache
 * of the log's last record. What this catches: the state row put back to an older note the
 * witness really cosigned (a restored row, a writer with rights on that table only), which no
 * signature check can see. The witness refuses to advance from a state that is not its log's
 * head, and `collector verify` reports it. What it cannot catch from the store alone: an owner of
 * the database who rewrites the log and the state together (dropping the triggers, or restoring
 * an old copy of the whole database); a head hash kept outside would, and is reported for that.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { CollectorSchema } from './schema.js';

export const WITNESS_LOG_GENESIS = '0'.repeat(64);

export interface WitnessLogRecord {
  source: string;
  size: number;
  /** hex */
  root: string;
  note: string;
  cosigned_at: number;
  /** hex SHA-256 of the previous record of the source, WITNESS_LOG_GENESIS for the first. */
  prev: string;
}

/**
 * SHA-256 over a domain tag and the fields, each ended by "\n", the note last (it is the only
 * field that may hold newlines; source names, numbers and hex never do), so the encoding is
 * unambiguous.
 */
export function witnessLogHash(r: WitnessLogRecord): string {
  const head = `sealed-ledger witness-log v1\n${r.source}\n${r.size}\n${r.root}\n${r.cosigned_at}\n${r.prev}\n`;
  return createHash('sha256').update(head, 'utf8').update(r.note, 'utf8').digest('hex');
}

type Db = Kysely<CollectorSchema> | Transaction<CollectorSchema>;

/** The last record of `source`'s log, if any. */
export async function witnessLogHead(db: Db, source: string): Promise<(WitnessLogRecord & { hash: string }) | undefined> {
  return db
    .selectFrom('witness_log')
    .select(['source', 'size', 'root', 'note', 'cosigned_at', 'prev', 'hash'])
    .where('source', '=', source)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Appends a record after `head` (the caller holds the source's lock, in the same transaction as the state update). */
export async function appendWitnessLog(trx: Transaction<CollectorSchema>, head: { hash: string } | undefined, r: Omit<WitnessLogRecord, 'prev'>): Promise<void> {
  const record = { ...r, prev: head?.hash ?? WITNESS_LOG_GENESIS };
  await trx.insertInto('witness_log').values({ ...record, hash: witnessLogHash(record), recorded_at: new Date().toISOString() }).execute();
}

export interface WitnessLogProblem {
  code: 'LEDGER_CORRUPT' | 'CHAIN_BROKEN' | 'WITNESS_INCONSISTENT';
  message: string;
}

/**
 * Checks a source's log (records in id order) and that the state row is its head: each record's
 * hash recomputed, each `prev` the previous hash, sizes never decreasing and one root per size.
 */
export function checkWitnessLog(
  records: readonly (WitnessLogRecord & { hash: string })[],
  state: { size: number; root: string; note: string; cosigned_at: number } | undefined,
): WitnessLogProblem[] {
  const problems: WitnessLogProblem[] = [];
  let prev = WITNESS_LOG_GENESIS;
  let last: (WitnessLogRecord & { hash: string }) | undefined;
  for (const [i, r] of records.entries()) {
    if (witnessLogHash(r) !== r.hash) problems.push({ code: 'LEDGER_CORRUPT', message: `witness log record ${i} (size ${r.size}): its hash does not match its contents` });
    if (r.prev !== prev) problems.push({ code: 'CHAIN_BROKEN', message: `witness log record ${i} (size ${r.size}): prev is not the hash of the record before` });
    if (last && r.size < last.size) problems.push({ code: 'WITNESS_INCONSISTENT', message: `witness log record ${i}: size ${r.size} after size ${last.size}` });
    if (last && r.size === last.size && r.root !== last.root) problems.push({ code: 'WITNESS_INCONSISTENT', message: `witness log record ${i}: a second root at size ${r.size}` });
    prev = r.hash;
    last = r;
  }
  if (state === undefined) {
    if (last) problems.push({ code: 'WITNESS_INCONSISTENT', message: `the witness state is missing; its log ends at size ${last.size}` });
  } else if (!last) {
    problems.push({ code: 'WITNESS_INCONSISTENT', message: `the witness state (size ${state.size}) has no record in the witness log` });
  } else if (!sameState(last, state)) {
    problems.push({ code: 'WITNESS_INCONSISTENT', message: `the witness state (size ${state.size}) is not the last cosigned checkpoint of its log (size ${last.size}): the state was replaced` });
  }
  return problems;
}

export function sameState(a: { size: number; root: string; note: string; cosigned_at: number }, b: { size: number; root: string; note: string; cosigned_at: number }): boolean {
  return a.size === b.size && a.root === b.root && a.note === b.note && a.cosigned_at === b.cosigned_at;
}
