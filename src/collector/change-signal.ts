/**
 * The collector's "something was ingested" signal for its event streams (spec §18.10, ADR 0020).
 * A signal only: streams re-read the store by cursor after every wake, so a lost wake-up loses
 * nothing. Sources of wakes: this process's own commits (`notify()` after the ingest transaction
 * commits, both backends), PostgreSQL `LISTEN` on a dedicated client (commits of other collector
 * processes on the same database), and a slow periodic poll as a safety net (a dropped LISTEN
 * connection, or another process writing the same SQLite file).
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { CollectorDatabase } from './database.js';

export const NOTIFY_CHANNEL = 'sealed_ledger_events';

export interface ChangeSignalOptions {
  /** Safety-net poll interval. Default 2,000 ms. */
  pollMs?: number;
  /** Delay before re-opening a lost LISTEN connection. Default 1,000 ms. */
  reconnectMs?: number;
  onError?: (e: Error) => void;
}

export class ChangeSignal {
  readonly #emitter = new EventEmitter();
  readonly #poll: NodeJS.Timeout;
  #client: pg.Client | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly database: CollectorDatabase, private readonly options: ChangeSignalOptions = {}) {
    // Every open stream listens; their number is bounded by connections, not by this emitter.
    this.#emitter.setMaxListeners(0);
    this.#poll = setInterval(() => this.notify(), options.pollMs ?? 2_000);
    this.#poll.unref();
    if (database.dialect === 'postgres') void this.#listen();
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
    this.#emitter.removeAllListeners();
    await this.#client?.end().catch(() => undefined);
  }
}
