/**
 * How far events.jsonl is durable for the shipper (spec §20.3). Only lines below this offset are
 * shipped: a line the writer has not made durable could still be unwound (a failed fsync
 * truncates it) and shipping it would plant a fork at the collector.
 *
 * - In process: the ledger's head, which moves only after the JSONL fsync (the acknowledgement).
 * - Another process (the sidecar): the larger of
 *   (a) the watermark offset in ledger.db, which the writer commits only after its JSONL fsync
 *       (read-only; the sidecar never writes ledger.db nor takes the writer lock), and
 *   (b) the complete lines that have stayed in the file for `settleMs`, after this reader has
 *       fsynced the file itself: the case of a writer killed between its fsync and its SQLite
 *       commit, whose complete lines the next open keeps (spec §14.2). A writer that unwinds
 *       does so within its flush, far inside `settleMs`.
 */
import fs from 'node:fs';
import { ProjectionReader } from '../store/projection-reader.js';
import type { EventsReader } from './events-reader.js';

export interface DurableEnd {
  /** Offset up to which complete lines may be shipped. */
  end(): Promise<number>;
  close(): void;
}

export class LedgerDurableEnd implements DurableEnd {
  constructor(private readonly head: () => { offset: number }) {}

  async end(): Promise<number> {
    return this.head().offset;
  }

  close(): void {}
}

export const DEFAULT_SETTLE_MS = 1_000;

export class FolderDurableEnd implements DurableEnd {
  private db: ProjectionReader | undefined;
  private seen: { size: number; since: number } | undefined;
  private synced = 0;
  private best = 0;

  constructor(
    private readonly sqlitePath: string,
    private readonly reader: EventsReader,
    private readonly settleMs = DEFAULT_SETTLE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async end(): Promise<number> {
    const size = await this.reader.size();
    // The file shrank (a reconcile moved an invalid tail aside): start over from what is there.
    if (size < this.best) this.best = 0;
    const watermark = Math.min(this.watermark() ?? 0, size);
    let settled = 0;
    if (this.seen?.size !== size) this.seen = { size, since: this.now() };
    else if (this.now() - this.seen.since >= this.settleMs) {
      settled = await this.reader.completeEnd(size);
      if (settled > this.synced) {
        await this.reader.sync();
        this.synced = settled;
      }
    }
    this.best = Math.max(this.best, watermark, settled);
    return Math.min(this.best, size);
  }

  /** ledger.db's watermark offset, or undefined while it cannot be read (no writer ever ran, a lock). */
  private watermark(): number | undefined {
    try {
      if (!this.db) {
        if (!fs.existsSync(this.sqlitePath)) return undefined;
        this.db = ProjectionReader.open(this.sqlitePath);
        this.db.busyTimeout(100);
      }
      return this.db.watermark()?.offset;
    } catch {
      // Unreadable now (being created, locked, no -shm without a writer): the settle rule covers it.
      this.close();
      return undefined;
    }
  }

  close(): void {
    try {
      this.db?.close();
    } catch {
      // closing a read-only handle releases nothing durable
    }
    this.db = undefined;
  }
}
