/**
 * The follower in any other process (spec §21.3, ADR 0018). Durable means: at or below the
 * watermark committed in ledger.db. The writer commits a row only after its line is fsynced, and
 * reconcile only ever moves aside bytes above the watermark, so nothing below it can be healed
 * away. It wakes on fs.watch events for the folder (every commit writes ledger.db-wal) and, as a
 * fallback for missed or unavailable notifications, every `pollIntervalMs`.
 */
import fs from 'node:fs';
import { Projection } from '../store/projection.js';
import type { RowHint } from './anchor.js';
import type { DurableSource } from './source.js';

/** How often a follower in another process looks even without a notification. */
export const DEFAULT_POLL_INTERVAL_MS = 250;

export class FolderSource implements DurableSource {
  readonly ended = false;
  private closed = false;
  private projection: Projection | undefined;
  private projectionIno: number | undefined;
  private watcher: fs.FSWatcher | undefined;
  private changed = true;
  private wake: (() => void) | undefined;

  constructor(
    private readonly dir: string,
    private readonly sqlitePath: string,
    private readonly pollIntervalMs: number,
  ) {
    try {
      this.watcher = fs.watch(dir, () => this.kick());
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      this.watcher = undefined; // e.g. no inotify watches left: the poll interval still wakes us
    }
  }

  /** Whether fs.watch is active (false: polling only). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  hint: RowHint = (seq) => {
    const row = this.connection()?.bySeq(seq);
    return row ? { offset: row.offset, line: row.line } : undefined;
  };

  async bound(): Promise<number> {
    this.changed = false;
    if (this.closed) return 0;
    await this.reopenIfReplaced();
    const p = this.projection;
    if (!p) return 0;
    return p.watermark().offset;
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (this.changed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /** Idempotent; also called from an abort listener while the follower is suspended. */
  close(): void {
    this.closed = true;
    this.stopWatching();
    this.wake?.();
    const p = this.projection;
    this.projection = undefined;
    if (p) void p.close();
  }

  private kick(): void {
    this.changed = true;
    this.wake?.();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private connection(): Projection | undefined {
    return this.projection;
  }

  /** ledger.db may appear later, or be replaced (replay --rebuild): follow the file at the path. */
  private async reopenIfReplaced(): Promise<void> {
    let ino: number | undefined;
    try {
      ino = fs.statSync(this.sqlitePath).ino;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (ino === this.projectionIno && this.projection) return;
    const old = this.projection;
    this.projection = undefined;
    this.projectionIno = undefined;
    if (old) await old.close();
    if (ino === undefined) return;
    const opened = await Projection.open(this.sqlitePath, { readOnly: true });
    if (this.closed) return void (await opened.close()); // closed while opening
    this.projection = opened;
    this.projectionIno = ino;
  }
}
