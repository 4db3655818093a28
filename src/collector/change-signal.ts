/**
 * The collector's "something was ingested" signal for its event streams (spec §18.10, ADR 0020).
 * A signal only: streams re-read the store by cursor after every wake, so a lost wake-up loses
 * nothing. Sources of wakes: this process's own commits (`notify()` after the ingest transaction
 * commits, both backends), PostgreSQL `LISTEN` on a dedicated client (commits of other collector
 * processes on the same database), on SQLite a watch of the file's folder for writes to its
 * `-wal` file (commits of other processes on the same file), and a slow periodic poll as a
 * safety net (a dropped LISTEN connection, a watch that fails or misses a write).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { CollectorDatabase } from './database.js';

export const NOTIFY_CHANNEL = 'sealed_ledger_events';

/** How long after the last write to the -wal the streams are woken (then again at 10×). */
const WAL_SETTLE_MS = 15;

export interface ChangeSignalOptions {
  /** Safety-net poll interval. Default 2,000 ms. */
  pollMs?: number;
  /** Delay before re-opening a lost LISTEN connection. Default 1,000 ms. */
  reconnectMs?: number;
  /** Watch the SQLite file's -wal for other processes' commits (default true). */
  watchWal?: boolean;
  onError?: (e: Error) => void;
}

export class ChangeSignal {
  readonly #emitter = new EventEmitter();
  readonly #poll: NodeJS.Timeout;
  #client: pg.Client | undefined;
  #watcher: fs.FSWatcher | undefined;
  #soon: NodeJS.Timeout | undefined;
  #late: NodeJS.Timeout | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly database: CollectorDatabase, private readonly options: ChangeSignalOptions = {}) {
    // Every open stream listens; their number is bounded by connections, not by this emitter.
    this.#emitter.setMaxListeners(0);
    this.#poll = setInterval(() => this.notify(), options.pollMs ?? 2_000);
    this.#poll.unref();
    if (database.dialect === 'postgres') void this.#listen();
    else if (options.watchWal !== false) this.#watchWal(database.location);
  }

  /**
   * A commit appends frames to `<file>-wal`. The folder is watched, not the file: SQLite deletes
   * the -wal when its last connection closes and creates it again, which ends a watch on the
   * file itself. A write event comes before the commit is visible to readers (the fsync and the
   * WAL index update follow it), so each burst of writes wakes the streams twice: shortly after
   * the last write and once more later; a commit still missed is found by the poll.
   */
  #watchWal(file: string): void {
    const wal = `${path.basename(file)}-wal`;
    try {
      this.#watcher = fs.watch(path.dirname(path.resolve(file)), { persistent: false }, (_event, name) => {
        if (name !== wal) return;
        // The first wake is throttled, not debounced, so that a process writing without pause
        // cannot postpone it; the second follows the last write of a burst.
        this.#soon ??= this.#timer(WAL_SETTLE_MS, () => (this.#soon = undefined));
        if (this.#late) clearTimeout(this.#late);
        this.#late = this.#timer(10 * WAL_SETTLE_MS, () => (this.#late = undefined));
      });
      this.#watcher.on('error', (e) => this.#stopWatch(e));
    } catch (e) {
      this.#stopWatch(e as Error);
    }
  }

  #timer(ms: number, done: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      done();
      this.notify();
    }, ms);
    t.unref();
    return t;
  }

  #stopWatch(e: Error): void {
    this.options.onError?.(new Error(`cannot watch the SQLite file for other processes' commits (the ${this.options.pollMs ?? 2_000} ms poll remains): ${e.message}`, { cause: e }));
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  subscribe(fn: () => void): () => void {
    this.#emitter.on('wake', fn);
    return () => this.#emitter.off('wake', fn);
  }

  notify(): void {
    this.#emitter.emit('wake');
  }

  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(this.database.pgConfig);
    this.#client = client;
    const retry = (e: Error) => {
      this.options.onError?.(e);
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      if (this.#closed || this.#reconnect) return;
      this.#reconnect = setTimeout(() => {
        this.#reconnect = undefined;
        void this.#listen();
      }, this.options.reconnectMs ?? 1_000);
      this.#reconnect.unref();
    };
    client.on('error', retry);
    client.on('notification', () => this.notify());
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      // Commits made while we were not listening are found by this wake's re-read.
      this.notify();
    } catch (e) {
      retry(e as Error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#reconnect);
    this.#watcher?.close();
    clearTimeout(this.#soon);
    clearTimeout(this.#late);
    this.#emitter.removeAllListeners();
    await this.#client?.end().catch(() => undefined);
  }
}
