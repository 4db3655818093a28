/**
 * The collector's event chains (spec §18.3, §18.6): the only module that writes the events,
 * heads and (event) forks tables. One batch is one transaction that first locks the source's
 * head row, so any number of collector processes on one database keep every chain contiguous;
 * `(source, seq)` and `(source, id)` are unique in the schema as a second line of defence.
 */
import type { CollectorDatabase } from './database.js';
import type { BatchCheck, CheckedLine, LineFailure } from './batch-lines.js';
import { sql } from 'kysely';
import { insertEvents, usedIdsOf } from './event-rows.js';
import { lockHead } from './row-lock.js';
import { NOTIFY_CHANNEL } from './change-signal.js';

// Serialises the assignment of the ingest sequence with commit order on PostgreSQL, so that a
// fleet-wide reader that has seen ingest N never later sees a smaller one commit (ADR 0020).
const INGEST_ORDER_LOCK = 0x5e1ed1;

export interface Head {
  seq: number;
  hash: string;
}

/** Why the chain checks stopped before the end of the lines given. */
export interface ChainStop {
  code: 'SEQ_GAP' | 'FORK' | 'CHAIN_BROKEN' | 'IDEMPOTENCY_CONFLICT';
  message: string;
  /** Index into the lines given. */
  index: number;
  seq: number;
}

export interface AppendOutcome {
  accepted: number;
  duplicates: number;
  /** The head after the transaction; null for an empty chain. */
  head: Head | null;
  stop?: ChainStop;
  /** Set when a fork was recorded: the stored line and the offered one. */
  fork?: { seq: number; stored: Buffer; offered: Buffer };
  /** The line check that ended the batch (appendChunks), after the lines before it. */
  failure?: LineFailure;
}

/** appendChunks' answer when the caller's credentials context is out of date. */
export const STALE = Symbol('stale credentials');


export interface EventStoreOptions {
  /**
   * Take ADR 0020's ingest-order lock on PostgreSQL (default true). Off only to measure what it
   * costs (bench row collector-pg-lock): without it the fleet-wide stream may skip events.
   * @internal
   */
  ingestOrderLock?: boolean;
}

export class EventStore {
  readonly #ingestOrderLock: boolean;

  /** `onCommit` runs after a transaction that stored lines has committed (the streams' wake). */
  constructor(private readonly handle: CollectorDatabase, private readonly onCommit?: () => void, options: EventStoreOptions = {}) {
    this.#ingestOrderLock = options.ingestOrderLock ?? true;
  }

  async head(source: string): Promise<Head | null | undefined> {
    const r = await this.handle.db.selectFrom('heads').select(['seq', 'hash']).where('source', '=', source).executeTakeFirst();
    if (!r) return undefined;
    return r.seq < 0 ? null : { seq: r.seq, hash: r.hash };
  }

  /**
   * Appends the lines that extend the chain, counts byte-identical repeats of stored lines as
   * duplicates, and stops at the first line that is a gap, a fork, a broken link or a reused id.
   * A fork's evidence is inserted in the same transaction, so it is kept even though the batch
   * stops there. Returns undefined when the source does not exist.
   */
  async append(source: string, lines: readonly CheckedLine[]): Promise<AppendOutcome | undefined> {
    const outcome = await this.appendChunks(source, [{ lines: [...lines] }]);
    return outcome === STALE ? undefined : outcome;
  }

  /**
   * `append` over a batch checked in chunks (ADR 0027): chunk 0 is awaited before the
   * transaction begins; each later chunk is awaited inside it, after the one before was stored,
   * so its lines are checked while the previous chunk's rows are written. One transaction, one
   * head lock, the chunks taken in order: the batch is stored exactly as if checked at once.
   * A chunk with a failure ends the batch after the lines before it (`failure` in the outcome).
   * With `version`, returns STALE (and writes nothing) when the source's credentials changed
   * since the caller's context was read (spec §18.3.7).
   */
  async appendChunks(source: string, chunks: readonly (BatchCheck | Promise<BatchCheck>)[], o: { version?: number } = {}): Promise<AppendOutcome | typeof STALE | undefined> {
    const first = await chunks[0];
    if (first === undefined) throw new Error('appendChunks: no chunks');
    const outcome = await this.#append(source, first, chunks.slice(1), o.version);
    if (outcome !== undefined && outcome !== STALE && outcome.accepted > 0) this.onCommit?.();
    return outcome;
  }

  async #append(source: string, first: BatchCheck, rest: readonly (BatchCheck | Promise<BatchCheck>)[], version: number | undefined): Promise<AppendOutcome | typeof STALE | undefined> {
    const { db, dialect } = this.handle;
    return db.transaction().execute(async (trx) => {
      const locked = await lockHead(trx, dialect, source);
      if (!locked) return undefined;
      if (version !== undefined && locked.version !== version) return STALE;
      const headSeq = locked.seq;
      const receivedAt = new Date().toISOString();
      let seq = headSeq;
      let hash = locked.hash;
      let at = locked.at;
      let duplicates = 0;
      let accepted = 0;
      let index = 0; // lines of the batch before the current chunk
      let stop: ChainStop | undefined;
      let failure: LineFailure | undefined;
      let fork: AppendOutcome['fork'];
      const batchIds = new Map<string, number>();
      // Lines of this batch stored so far, by seq - headSeq - 1: a later repeat is a duplicate.
      const inserted: CheckedLine[] = [];

      for (let c = 0; ; c++) {
        const chunk = c === 0 ? first : await rest[c - 1]!;
        const lines = chunk.lines;
        // Stored lines this chunk repeats, and ids its new lines would reuse: one query each.
        const repeats = lines.filter((l) => l.seq <= headSeq);
        const stored = new Map<number, Buffer>();
        if (repeats.length > 0) {
          const seqs = repeats.map((l) => l.seq);
          const rows = await trx
            .selectFrom('events')
            .select(['seq', 'line'])
            .where('source', '=', source)
            .where('seq', '>=', Math.min(...seqs))
            .where('seq', '<=', Math.max(...seqs))
            .execute();
          for (const r of rows) stored.set(r.seq, Buffer.from(r.line));
        }
        const fresh = lines.filter((l) => l.seq > headSeq);
        const usedIds = new Map<string, number>();
        if (fresh.length > 0) {
          for (const r of await usedIdsOf(trx, dialect, source, fresh)) usedIds.set(r.id, r.seq);
        }
        const toInsert: CheckedLine[] = [];
        for (let i = 0; i < lines.length && !stop; i++) {
          const l = lines[i]!;
          if (l.seq <= seq) {
            const known = stored.get(l.seq) ?? inserted[l.seq - headSeq - 1]?.bytes;
            if (known !== undefined && known.equals(l.bytes)) {
              duplicates++;
              continue;
            }
            if (known === undefined) throw new Error(`collector store: source ${source} lacks seq ${l.seq} below its head ${seq}`);
            fork = { seq: l.seq, stored: known, offered: l.bytes };
            stop = { code: 'FORK', index: index + i, seq: l.seq, message: `seq ${l.seq}: a different event is stored at this seq (fork)` };
          } else if (l.seq > seq + 1) {
            stop = { code: 'SEQ_GAP', index: index + i, seq: l.seq, message: `seq ${l.seq}: the next seq expected is ${seq + 1}` };
          } else if (l.prev !== hash) {
            stop = { code: 'CHAIN_BROKEN', index: index + i, seq: l.seq, message: `seq ${l.seq}: prev ${l.prev} is not the hash of seq ${seq} (${hash})` };
          } else if (usedIds.has(l.id) || batchIds.has(l.id)) {
            const other = usedIds.get(l.id) ?? batchIds.get(l.id);
            stop = { code: 'IDEMPOTENCY_CONFLICT', index: index + i, seq: l.seq, message: `seq ${l.seq}: id ${l.id} is already used by seq ${other}` };
          } else {
            batchIds.set(l.id, l.seq);
            toInsert.push(l);
            inserted.push(l);
            seq = l.seq;
            hash = l.hash;
            at = l.at;
          }
        }
        if (toInsert.length > 0) {
          if (accepted === 0 && dialect === 'postgres') {
            // From the first insert to commit, so that ingest order is commit order (ADR 0020).
            if (this.#ingestOrderLock) await sql`SELECT pg_advisory_xact_lock(${INGEST_ORDER_LOCK})`.execute(trx);
            // Delivered at commit, dropped on rollback: the other collector processes' streams wake.
            await sql`SELECT pg_notify(${NOTIFY_CHANNEL}, '')`.execute(trx);
          }
          await insertEvents(trx, dialect, source, toInsert, receivedAt);
          accepted += toInsert.length;
        }
        index += lines.length;
        if (stop) break;
        if (chunk.failure) {
          failure = chunk.failure;
          break;
        }
        if (c >= rest.length) break;
      }

      if (accepted > 0) {
        await trx.updateTable('heads').set({ seq, hash, at, updated_at: receivedAt }).where('source', '=', source).execute();
      }
      if (fork) {
        await trx
          .insertInto('forks')
          .values({ source, kind: 'event', seq: fork.seq, stored: fork.stored, offered: fork.offered, reason: stop!.message, detected_at: receivedAt })
          .execute();
      }
      return {
        accepted,
        duplicates,
        head: seq < 0 ? null : { seq, hash },
        ...(stop ? { stop } : {}),
        ...(failure ? { failure } : {}),
        ...(fork ? { fork } : {}),
      };
    });
  }

  /** Up to `limit` stored lines of `source` after seq `after`, in seq order (the streams' cursor). */
  async linesAfter(source: string, after: number, limit: number): Promise<{ seq: number; line: Buffer }[]> {
    const rows = await this.handle.db.selectFrom('events').select(['seq', 'line']).where('source', '=', source).where('seq', '>', after).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({ seq: r.seq, line: Buffer.from(r.line) }));
  }

  /** Up to `limit` stored lines of every source after ingest sequence `after`, in ingest order. */
  async ingestedAfter(after: number, limit: number): Promise<{ ingest: number; source: string; seq: number; line: Buffer }[]> {
    const rows = await this.handle.db.selectFrom('events').select(['ingest', 'source', 'seq', 'line']).where('ingest', '>', after).orderBy('ingest').limit(limit).execute();
    return rows.map((r) => ({ ingest: r.ingest, source: r.source, seq: r.seq, line: Buffer.from(r.line) }));
  }

  /** Stored lines of `source` from seq `from`, in order, `pageSize` rows per query. */
  async *lines(source: string, from = 0, limit = Number.MAX_SAFE_INTEGER, pageSize = 1000): AsyncGenerator<{ seq: number; line: Buffer; hash: string }> {
    let next = from;
    let left = limit;
    while (left > 0) {
      const rows = await this.handle.db
        .selectFrom('events')
        .select(['seq', 'line', 'hash'])
        .where('source', '=', source)
        .where('seq', '>=', next)
        .orderBy('seq')
        .limit(Math.min(pageSize, left))
        .execute();
      for (const r of rows) yield { seq: r.seq, line: Buffer.from(r.line), hash: r.hash };
      if (rows.length < Math.min(pageSize, left)) return;
      left -= rows.length;
      next = rows[rows.length - 1]!.seq + 1;
    }
  }
}
