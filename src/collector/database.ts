/**
 * Opening the collector's database (ADR 0016): `postgres://…` is PostgreSQL through a `pg` pool,
 * anything else a SQLite file through better-sqlite3 on a worker thread (ADR 0028). Both behind
 * one kysely instance, both migrated by the same migration set.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { InvalidInputError, SealedLedgerError } from '../errors.js';
import { collectorMigrator } from './migrations.js';
import type { CollectorSchema } from './schema.js';
import { SqliteThread, WorkerSqliteDialect } from './sqlite-worker-dialect.js';

export type DialectName = 'postgres' | 'sqlite';

/**
 * What the collector reads of its pg pool: the counts of the saturation check (spec §18.5).
 * Structural, so that the collector entry's declarations do not name pg's types and a consumer
 * needs neither @types/pg nor esModuleInterop (ADR 0015).
 */
export interface PoolCounts {
  /** Connections open, idle or busy. */
  readonly totalCount: number;
  readonly idleCount: number;
  /** Requests waiting for a connection. */
  readonly waitingCount: number;
}

export interface CollectorDatabase {
  readonly db: Kysely<CollectorSchema>;
  readonly dialect: DialectName;
  /** The pg pool (PostgreSQL only), for saturation checks. */
  readonly pool?: PoolCounts;
  /**
   * The settings of the pool's connections (PostgreSQL only): the streams' LISTEN client is
   * made from them.
   * @internal
   */
  readonly pgConfig?: pg.ClientConfig;
  /**
   * SQLite's worker thread (SQLite only), for tests that kill it.
   * @internal
   */
  readonly sqliteThread?: { terminate(): Promise<number> };
  /** Where it is, with any password removed, for logs and messages. */
  readonly location: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** pg pool size (PostgreSQL). Default 10. */
  poolSize?: number;
  /** How long a pg connection attempt may take before the request fails. Default 5 s. */
  connectTimeoutMs?: number;
  /** SQLite busy timeout: how long a writer waits for another process's lock. Default 5 s. */
  busyTimeoutMs?: number;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Called with errors of idle pool clients, which would otherwise crash the process. */
  onPoolError?: (e: Error) => void;
  /**
   * Called if SQLite's worker thread dies while the database is open (spec §18.6.2): every query
   * from then on fails with IO_ERROR; the collector logs it and stops serving.
   */
  onDatabaseLost?: (e: Error) => void;
}

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

// int8 and numeric come back as strings by default; every integer we store fits a double.
const INT8 = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export async function openCollectorDatabase(target: string, options: OpenDatabaseOptions = {}): Promise<CollectorDatabase> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new InvalidInputError('INVALID_ARGUMENT', '--db must be a SQLite file path or a postgres:// URL');
  }
  let handle: CollectorDatabase;
  if (isPostgresUrl(target)) {
    const pool = new pg.Pool({
      connectionString: target,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      types: pgTypes,
    } as pg.PoolConfig);
    // An idle client whose server went away emits 'error' on the pool; unhandled, it kills the
    // process, and the collector must outlive a database restart (spec §18.4).
    pool.on('error', (e) => options.onPoolError?.(e));
    // A checked-out client whose server goes away between two statements (an ingest transaction
    // waits for its next chunk's checks, ADR 0027) emits 'error' too, with no pool listener
    // attached: it would kill the process. The error is not lost: the client's next query, and
    // so the transaction, fails with it, and the pool then discards the client.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<CollectorSchema>({ dialect: new PostgresDialect({ pool }) });
    handle = { db, dialect: 'postgres', pool, pgConfig: pool.options as pg.ClientConfig, location: redact(target), close: () => db.destroy() };
  } else {
    // Opening happens on the thread; a failure comes back as IO_ERROR with the path and code.
    const thread = new SqliteThread({ file: target, busyTimeoutMs: options.busyTimeoutMs ?? 5_000, ...(options.onDatabaseLost ? { onThreadExit: options.onDatabaseLost } : {}) });
    await thread.ready();
    const db = new Kysely<CollectorSchema>({ dialect: new WorkerSqliteDialect(thread) });
    handle = { db, dialect: 'sqlite', location: target, sqliteThread: thread, close: () => db.destroy() };
  }
  if (options.migrate !== false) {
    try {
      await migrate(handle);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }
  return handle;
}

export async function migrate(handle: CollectorDatabase): Promise<void> {
  const { error, results } = await collectorMigrator(handle.db, handle.dialect).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new SealedLedgerError('IO_ERROR', `cannot migrate the collector database at ${handle.location}${failed ? ` (${failed})` : ''}: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}
