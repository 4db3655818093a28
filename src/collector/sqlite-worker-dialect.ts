/**
 * kysely's SQLite dialect with the connection on a worker thread (spec §18.6.2, ADR 0028).
 * kysely's own SqliteDialect calls better-sqlite3 synchronously on the event loop, so a 1,000-line
 * ingest transaction (its inserts and the fsync at commit) stopped every other request, stream
 * and heartbeat of the process for its whole length. Here each compiled query is posted to the
 * thread of sqlite-thread.ts and awaited.
 *
 * One connection, one thread: SQLite's single-writer semantics are unchanged, and as in kysely's
 * driver a mutex hands the connection to one transaction (or query) at a time. Every transaction
 * begins IMMEDIATE (spec §18.6.1).
 *
 * If the thread dies (an exception in it, a native crash it survives as an error, or
 * `terminate()`), every pending query and every later one rejects with IO_ERROR naming the file:
 * the collector fails loudly instead of waiting forever for an answer that will not come.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { SealedLedgerError } from '../errors.js';
import { startWorker } from './worker-exec-argv.js';
import { sqliteThreadMain, type ThreadData, type ThreadError, type ThreadReply, type ThreadRequest } from './sqlite-thread.js';

export interface WorkerSqliteOptions {
  file: string;
  busyTimeoutMs: number;
  /** Called once if the thread dies while the database is open (not on close()). */
  onThreadExit?: (e: Error) => void;
}

type Pending = { resolve(r: ThreadReply): void; reject(e: Error): void };
type RequestBody = ThreadRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** Distributes the replies of the thread to the requests that wait for them. */
export class SqliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #ready: Promise<void>;
  #next = 0;
  #dead: Error | undefined;
  #closing = false;

  constructor(private readonly options: WorkerSqliteOptions) {
    const data: ThreadData = { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: options.file, busyTimeoutMs: options.busyTimeoutMs };
    this.#worker = startWorker(`(${sqliteThreadMain.toString()})()`, { eval: true, workerData: data });
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#pending.set(-1, {
        resolve: (r) => (r.kind === 'ready' && r.error ? reject(openError(options.file, r.error)) : resolve()),
        reject,
      });
    });
    this.#worker.on('message', (r: ThreadReply) => {
      const key = r.kind === 'ready' ? -1 : r.id;
      const waiter = this.#pending.get(key);
      this.#pending.delete(key);
      // Like a synchronous handle, an idle thread does not keep the process alive; one that is
      // answering a query does (else a CLI awaiting its last query could exit before the answer).
      if (this.#pending.size === 0) this.#worker.unref();
      if (r.kind === 'error') waiter?.reject(queryError(r.error));
      else waiter?.resolve(r);
    });
    this.#worker.on('error', (e) => this.#die(e));
    this.#worker.on('exit', (code) => this.#die(new Error(`the thread exited with code ${code}`)));
  }

  /** Resolves when the connection is open and configured; rejects with IO_ERROR naming the file. */
  async ready(): Promise<void> {
    try {
      await this.#ready;
    } catch (e) {
      this.#closing = true;
      await this.#worker.terminate();
      throw e;
    }
  }

  /** The id of the request sent last (a stream is addressed by the id of the request that opened it). */
  get lastId(): number {
    return this.#next - 1;
  }

  request(body: RequestBody): Promise<ThreadReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise<ThreadReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ ...body, id } as ThreadRequest);
    });
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    this.#closing = true;
    try {
      await this.request({ kind: 'close' });
    } finally {
      await this.#worker.terminate();
    }
  }

  /** For tests: kills the thread as a crash would. */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  #die(cause: Error): void {
    if (this.#dead) return;
    const closing = this.#closing;
    this.#dead = new SealedLedgerError(
      'IO_ERROR',
      closing ? `the collector database ${this.options.file} is closed` : `the SQLite thread of the collector database ${this.options.file} died: ${cause.message}`,
      { cause, details: { path: this.options.file } },
    );
    for (const w of this.#pending.values()) w.reject(this.#dead);
    this.#pending.clear();
    if (!closing) this.options.onThreadExit?.(this.#dead);
  }
}

function queryError(e: ThreadError): Error {
  // better-sqlite3's SqliteError, rebuilt: callers tell SQLITE_BUSY and constraint errors apart by
  // `code` (spec §18.5).
  const err = new Error(e.message) as Error & { code?: string };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  return err;
}

function openError(file: string, e: ThreadError): SealedLedgerError {
  // better-sqlite3 refuses a missing folder itself, without an errno; the folder's own says why.
  let errno = e.code;
  if (errno === undefined) {
    try {
      fs.accessSync(path.dirname(path.resolve(file)), fs.constants.W_OK);
    } catch (io) {
      errno = (io as NodeJS.ErrnoException).code;
    }
  }
  return new SealedLedgerError('IO_ERROR', `cannot open collector database ${file}: ${e.message}${errno ? ` (${errno})` : ''}`, { cause: queryError(e), details: { path: file, ...(errno ? { errno } : {}) } });
}

// Structured cloning turns Buffers into plain Uint8Arrays; the stores expect Buffers (as
// better-sqlite3 returns them) and the wrap costs no copy.
function withBuffers(rows: unknown[]): unknown[] {
  for (const row of rows as Record<string, unknown>[]) {
    for (const k in row) {
      const v = row[k];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows;
}

class WorkerSqliteConnection implements DatabaseConnection {
  constructor(private readonly thread: SqliteThread) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const r = await this.thread.request({ kind: 'query', sql: query.sql, params: query.parameters });
    if (r.kind !== 'result') throw new Error(`SQLite thread: unexpected reply ${r.kind}`);
    return {
      rows: withBuffers(r.rows) as R[],
      ...(r.changes !== undefined ? { numAffectedRows: BigInt(r.changes) } : {}),
      ...(r.lastInsertRowid !== undefined ? { insertId: BigInt(r.lastInsertRowid) } : {}),
    };
  }

  // Rows come `chunkSize` at a time, each chunk asked for when the previous one was consumed, so a
  // large result is never all in memory. The connection is held meanwhile (SQLite's statement
  // is open), as with kysely's own driver.
  async *streamQuery<R>(query: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('the SQLite driver streams only select queries');
    const chunk = Math.max(1, chunkSize);
    const opened = this.thread.request({ kind: 'stream', sql: query.sql, params: query.parameters, chunk });
    const stream = this.thread.lastId;
    let r = await opened;
    let done = false;
    try {
      for (;;) {
        if (r.kind !== 'rows') throw new Error(`SQLite thread: unexpected reply ${r.kind}`);
        done = r.done;
        for (const row of withBuffers(r.rows)) yield { rows: [row as R] };
        if (done) return;
        r = await this.thread.request({ kind: 'next', stream, chunk });
      }
    } finally {
      if (!done) await this.thread.request({ kind: 'end-stream', stream });
    }
  }
}

class ConnectionMutex {
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  async lock(): Promise<void> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => (release = r));
    await previous;
    this.#release = release;
  }

  unlock(): void {
    const r = this.#release;
    this.#release = undefined;
    r?.();
  }
}

class WorkerSqliteDriver implements Driver {
  readonly #mutex = new ConnectionMutex();
  readonly #connection: WorkerSqliteConnection;

  constructor(private readonly thread: SqliteThread) {
    this.#connection = new WorkerSqliteConnection(thread);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return this.#connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint "${name.replaceAll('"', '""')}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to "${name.replaceAll('"', '""')}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release "${name.replaceAll('"', '""')}"`));
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async destroy(): Promise<void> {
    await this.thread.close();
  }
}

/** Over a thread whose ready() has resolved. */
export class WorkerSqliteDialect implements Dialect {
  constructor(private readonly thread: SqliteThread) {}

  createDriver(): Driver {
    return new WorkerSqliteDriver(this.thread);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
