/**
 * The witness's view of the collector store (spec §18.8). Contract between the collector and
 * the witness (src/witness/):
 * - A log is found by its checkpoint origin: `sourceByOrigin(origin)` gives the source and the
 *   C2SP verifier key the source registered (`collector sources add --checkpoint-key`).
 * - `getWitnessState(source)` is the last checkpoint this witness cosigned for it, if any.
 * - `recordCosigned(source, previous, next)` stores `next` only if the stored state still equals
 *   `previous` (undefined = none yet), inside one transaction that holds the source row's lock
 *   (FOR UPDATE on PostgreSQL; SQLite's write lock). It returns `{ ok: false, current }` when the
 *   state moved, so a witness never cosigns from a stale view: compare-and-swap, as
 *   transparency-dev/witness does. Sign first, record, and answer only after `ok: true`.
 * - `recordFork(source, evidence)` inserts both checkpoint notes into the forks table (never
 *   overwritten), for a smaller size or a different root at a known size.
 * - `leafHashes(source, size)` gives the event hashes (RFC 6962 leaf hashes, spec §3.3) of seq
 *   0..size-1 when the collector holds them all, else undefined: the witness recomputes roots.
 * The witness plugin (src/witness/routes.ts, default export or `witnessRoutes`) is registered by
 * the collector's server with WitnessPluginOptions, and counts what it cosigns through
 * `cosignaturesIssued`, which the collector exposes on /metrics.
 */
import type { SigningKey } from '../crypto/signing-key.js';
import type { CollectorDatabase } from './database.js';
import { lockSource } from './row-lock.js';

export interface WitnessState {
  size: number;
  /** The 32-byte root hash. */
  root: Buffer;
  /** The checkpoint note as cosigned (text, with the log's signature lines). */
  note: string;
  /** The cosignature line(s) this witness returned, as sent. */
  cosignature: string;
  updatedAt: string;
}

export interface CosignedCheckpoint {
  size: number;
  root: Buffer;
  note: string;
  cosignature: string;
}

export interface CheckpointForkEvidence {
  /** The tree size at which the two checkpoints disagree. */
  size: number;
  /** The note already cosigned (or the one proving the other wrong). */
  stored: string;
  /** The note offered now. */
  offered: string;
  reason: string;
}

export interface WitnessedLog {
  source: string;
  origin: string;
  /** C2SP verifier key string: `<name>+<hex id>+<base64 key>`. */
  verifierKey: string;
}

export type RecordResult = { ok: true } | { ok: false; current: WitnessState | undefined };

export interface WitnessStore {
  sourceByOrigin(origin: string): Promise<WitnessedLog | undefined>;
  getWitnessState(source: string): Promise<WitnessState | undefined>;
  recordCosigned(source: string, previous: { size: number; root: Buffer } | undefined, next: CosignedCheckpoint): Promise<RecordResult>;
  recordFork(source: string, evidence: CheckpointForkEvidence): Promise<void>;
  leafHashes(source: string, size: number): Promise<Buffer[] | undefined>;
}

/** What the collector hands the witness plugin. */
export interface WitnessPluginOptions {
  store: WitnessStore;
  /** The witness's own signing key (its name is the witness name in cosignature lines). */
  witnessKey: SigningKey;
  cosignaturesIssued: { inc(labels: { source: string }): void };
  /** Called when fork evidence was recorded, so the collector logs and counts it. */
  onFork(source: string, evidence: CheckpointForkEvidence): void;
}

function rowToState(r: { size: number; root: string; note: string; cosignature: string; updated_at: string }): WitnessState {
  return { size: r.size, root: Buffer.from(r.root, 'hex'), note: r.note, cosignature: r.cosignature, updatedAt: r.updated_at };
}

export class KyselyWitnessStore implements WitnessStore {
  constructor(private readonly handle: CollectorDatabase) {}

  async sourceByOrigin(origin: string): Promise<WitnessedLog | undefined> {
    const r = await this.handle.db
      .selectFrom('sources')
      .select(['name', 'checkpoint_origin', 'checkpoint_vkey'])
      .where('checkpoint_origin', '=', origin)
      .executeTakeFirst();
    if (!r || r.checkpoint_origin === null || r.checkpoint_vkey === null) return undefined;
    return { source: r.name, origin: r.checkpoint_origin, verifierKey: r.checkpoint_vkey };
  }

  async getWitnessState(source: string): Promise<WitnessState | undefined> {
    const r = await this.handle.db.selectFrom('witness_state').selectAll().where('source', '=', source).executeTakeFirst();
    return r ? rowToState(r) : undefined;
  }

  async recordCosigned(source: string, previous: { size: number; root: Buffer } | undefined, next: CosignedCheckpoint): Promise<RecordResult> {
    const { db, dialect } = this.handle;
    return db.transaction().execute(async (trx) => {
      if (!(await lockSource(trx, dialect, source))) return { ok: false, current: undefined } as RecordResult;
      const row = await trx.selectFrom('witness_state').selectAll().where('source', '=', source).executeTakeFirst();
      const current = row ? rowToState(row) : undefined;
      const same = previous === undefined ? current === undefined : current !== undefined && current.size === previous.size && current.root.equals(previous.root);
      if (!same) return { ok: false, current };
      const values = { size: next.size, root: next.root.toString('hex'), note: next.note, cosignature: next.cosignature, updated_at: new Date().toISOString() };
      if (current === undefined) await trx.insertInto('witness_state').values({ source, ...values }).execute();
      else await trx.updateTable('witness_state').set(values).where('source', '=', source).execute();
      return { ok: true } as RecordResult;
    });
  }

  async recordFork(source: string, evidence: CheckpointForkEvidence): Promise<void> {
    await this.handle.db
      .insertInto('forks')
      .values({
        source,
        kind: 'checkpoint',
        seq: evidence.size,
        stored: Buffer.from(evidence.stored, 'utf8'),
        offered: Buffer.from(evidence.offered, 'utf8'),
        reason: evidence.reason,
        detected_at: new Date().toISOString(),
      })
      .execute();
  }

  async leafHashes(source: string, size: number): Promise<Buffer[] | undefined> {
    if (!Number.isSafeInteger(size) || size < 0) return undefined;
    if (size === 0) return [];
    const head = await this.handle.db.selectFrom('heads').select('seq').where('source', '=', source).executeTakeFirst();
    if (!head || head.seq + 1 < size) return undefined;
    const rows = await this.handle.db
      .selectFrom('events')
      .select(['seq', 'hash'])
      .where('source', '=', source)
      .where('seq', '<', size)
      .orderBy('seq')
      .execute();
    if (rows.length !== size) return undefined;
    return rows.map((r) => Buffer.from(r.hash, 'hex'));
  }
}
