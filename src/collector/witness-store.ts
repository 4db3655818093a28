/**
 * The collector's implementation of the witness's store interface (src/witness/state.ts,
 * spec §18.8). Contract, in short:
 * - a log is found by its checkpoint origin (`sources.checkpoint_origin`), trusted with the
 *   source's unretired checkpoint verifier keys (`collector sources add --checkpoint-key`);
 * - `recordCosigned` is a compare-and-swap inside one transaction that holds the source row's
 *   lock (FOR UPDATE on PostgreSQL, the write lock on SQLite), so two witness requests, in one
 *   process or in several on one database, can never both advance from the same state; the same
 *   transaction appends the new state to the witness log (witness-log.ts) and refuses to advance
 *   from a state that is not the log's head (WITNESS_INCONSISTENT);
 * - fork evidence goes to the `forks` table, which only ever grows (triggers refuse UPDATE and
 *   DELETE), next to the event forks found by ingest;
 * - `eventLines` serves the stored line bytes and `rootFromEvents` recomputes leaf hashes from
 *   them (each line's seal checked again), never from the `hash` column, so a root is only ever
 *   derived from canonical bytes.
 * The witness plugin (src/witness/routes.ts) gets WitnessPluginOptions from the server.
 */
import type { SigningKey } from '../crypto/signing-key.js';
import { parseEventLine } from '../format/event-line.js';
import { rootFromLeaves } from '../merkle/root.js';
import type {
  CosignedCheckpoint,
  RecordCosignedResult,
  WitnessForkEvidence,
  WitnessLog,
  WitnessStateStore,
} from '../witness/state.js';
import { SealedLedgerError } from '../errors.js';
import type { CollectorDatabase } from './database.js';
import { EventStore } from './event-store.js';
import { appendWitnessLog, sameState, witnessLogHead } from './witness-log.js';
import { lockSource } from './row-lock.js';

/** What the collector's server passes to the witness plugin. */
export interface WitnessPluginOptions {
  store: WitnessStateStore;
  /** The witness's own signing key; its name is the witness name in cosignature lines. */
  witnessKey: SigningKey;
  /** Counted on /metrics as sealed_ledger_collector_cosignatures_issued_total. */
  cosignaturesIssued: { inc(labels: { source: string }): void };
  /** Call after recordFork: the collector logs the fork at error and counts it. */
  onFork(source: string, evidence: WitnessForkEvidence): void;
}

type StateRow = { size: number; root: string; note: string; cosigned_at: number };

function toCheckpoint(r: StateRow): CosignedCheckpoint {
  return { size: r.size, rootHash: Buffer.from(r.root, 'hex'), note: r.note, cosignedAt: r.cosigned_at };
}

export class KyselyWitnessStore implements WitnessStateStore {
  constructor(private readonly handle: CollectorDatabase) {}

  async logByOrigin(origin: string): Promise<WitnessLog | undefined> {
    const { db } = this.handle;
    const src = await db.selectFrom('sources').select(['name', 'checkpoint_origin']).where('checkpoint_origin', '=', origin).executeTakeFirst();
    if (!src || src.checkpoint_origin === null) return undefined;
    const keys = await db
      .selectFrom('checkpoint_keys')
      .select('verifier_key')
      .where('source', '=', src.name)
      .where('retired_at', 'is', null)
      .orderBy('added_at')
      .execute();
    return { source: src.name, origin: src.checkpoint_origin, verifierKeys: keys.map((k) => k.verifier_key) };
  }

  async latestCosigned(source: string): Promise<CosignedCheckpoint | undefined> {
    const r = await this.handle.db.selectFrom('witness_state').select(['size', 'root', 'note', 'cosigned_at']).where('source', '=', source).executeTakeFirst();
    return r ? toCheckpoint(r) : undefined;
  }

  async recordCosigned(
    source: string,
    expected: { readonly size: number; readonly rootHash: Buffer } | undefined,
    next: CosignedCheckpoint,
  ): Promise<RecordCosignedResult> {
    const { db, dialect } = this.handle;
    return db.transaction().execute(async (trx): Promise<RecordCosignedResult> => {
      if (!(await lockSource(trx, dialect, source))) return { ok: false, current: undefined };
      const row = await trx.selectFrom('witness_state').select(['size', 'root', 'note', 'cosigned_at']).where('source', '=', source).executeTakeFirst();
      const current = row ? toCheckpoint(row) : undefined;
      // The state must be the log's head (spec §18.9.1): a state put back to an older cosigned
      // note would let the witness cosign a second history from there. Refuse, loudly.
      const head = await witnessLogHead(trx, source);
      if (head ? !row || !sameState(head, row) : row !== undefined) {
        throw new SealedLedgerError(
          'WITNESS_INCONSISTENT',
          `the witness state of ${source} (size ${row?.size ?? 'none'}) is not the last checkpoint of its witness log (size ${head?.size ?? 'none'}); it was replaced, and the witness cosigns nothing more for this log until an operator looks`,
        );
      }
      const unchanged =
        expected === undefined
          ? current === undefined
          : current !== undefined && current.size === expected.size && current.rootHash.equals(expected.rootHash);
      if (!unchanged) return { ok: false, current };
      const values = {
        size: next.size,
        root: Buffer.from(next.rootHash).toString('hex'),
        note: next.note,
        cosigned_at: next.cosignedAt,
        updated_at: new Date().toISOString(),
      };
      if (current === undefined) await trx.insertInto('witness_state').values({ source, ...values }).execute();
      else await trx.updateTable('witness_state').set(values).where('source', '=', source).execute();
      await appendWitnessLog(trx, head, { source, size: values.size, root: values.root, note: values.note, cosigned_at: values.cosigned_at });
      return { ok: true };
    });
  }

  async recordFork(source: string, evidence: WitnessForkEvidence): Promise<void> {
    const hex = (b: Buffer) => Buffer.from(b).toString('hex');
    await this.handle.db
      .insertInto('forks')
      .values({
        source,
        kind: 'checkpoint',
        seq: evidence.size,
        stored: Buffer.from(evidence.cosignedNote ?? '', 'utf8'),
        offered: Buffer.from(evidence.submittedNote, 'utf8'),
        reason: `${evidence.kind}: size ${evidence.size}, expected root ${hex(evidence.expectedRoot)}, signed root ${hex(evidence.actualRoot)}`,
        detected_at: new Date().toISOString(),
      })
      .execute();
  }

  async *eventLines(source: string, from: number, to: number): AsyncIterable<{ readonly seq: number; readonly line: Uint8Array }> {
    if (!(to > from)) return;
    for await (const { seq, line } of new EventStore(this.handle).lines(source, from, to - from)) yield { seq, line };
  }

  async rootFromEvents(source: string, size: number): Promise<Buffer | undefined> {
    if (!Number.isSafeInteger(size) || size < 0) return undefined;
    const rows = await this.handle.db
      .selectFrom('events')
      .select(['seq', 'line'])
      .where('source', '=', source)
      .where('seq', '<', size)
      .orderBy('seq')
      .execute();
    if (rows.length !== size) return undefined;
    const leaves = rows.map((r, i) => {
      if (r.seq !== i) throw new Error(`collector store: source ${source} has seq ${r.seq} at position ${i}`);
      return parseEventLine(r.line.toString('utf8')).hash;
    });
    return rootFromLeaves(leaves);
  }
}
