/**
 * Writes a side file's pages back to the disk while its bulk load is still running (spec
 * §14.3.1 step 2, ADR 0040). Linux starts writeback of dirty pages only past
 * `dirty_background_ratio` of memory or after `dirty_expire_centisecs`, so a load of 1M events
 * (~730 MiB) kept nearly all of its file dirty until COMMIT, whose one fsync then waited for the
 * whole file with every thread idle (~1.5 µs per event on the bench host). An fdatasync started
 * now and then from the libuv pool during the load writes the same pages while the threads work.
 *
 * It changes no guarantee: an fdatasync only makes bytes durable sooner, SQLite's rollback
 * journal never relies on a page staying unwritten, and the side file is unpublished until its
 * COMMIT and final fsync. Its failure is not lost: the first error is thrown by `finish()`
 * (IO_ERROR naming the file and the errno), before the file can be published.
 */
import fs from 'node:fs';
import { asIoError } from './os-error.js';

/** Below this gap between two write-backs, one more mostly finds nothing dirty. */
const MIN_INTERVAL_MS = 200;

type Fdatasync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

export class WriteBack {
  #running: Promise<void> | undefined;
  #startedAt = -Infinity;
  #error: unknown;
  #closed = false;

  private constructor(
    private readonly file: string,
    private readonly fd: number,
    private readonly fdatasync: Fdatasync,
    private readonly minIntervalMs: number,
  ) {}

  /** `fdatasync` and `minIntervalMs` are seams for the tests. */
  static open(file: string, options: { fdatasync?: Fdatasync; minIntervalMs?: number } = {}): WriteBack {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    } catch (e) {
      throw asIoError(e, file);
    }
    return new WriteBack(file, fd, options.fdatasync ?? fs.fdatasync, options.minIntervalMs ?? MIN_INTERVAL_MS);
  }

  /**
   * Starts a write-back unless one is running, the last one started less than the interval ago,
   * or one has failed. Never blocks: the fdatasync runs on the libuv pool.
   */
  nudge(): void {
    if (performance.now() - this.#startedAt < this.minIntervalMs) return;
    this.start();
  }

  /** nudge() without the interval: at the end of the load, before the index build. */
  start(): void {
    if (this.#closed || this.#running || this.#error !== undefined) return;
    const now = performance.now();
    this.#startedAt = now;
    this.#running = new Promise((resolve) => {
      this.fdatasync(this.fd, (err) => {
        if (err && this.#error === undefined) this.#error = err;
        this.#running = undefined;
        resolve();
      });
    });
  }

  /**
   * For a file that will not be published (its load failed): waits for a running write-back and
   * closes the file; a write-back failure is not reported, the file's content no longer matters.
   */
  async abandon(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#running;
    fs.closeSync(this.fd);
  }

  /** Waits for a running write-back, closes the file, and throws the first failure. */
  async finish(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#running;
    try {
      fs.closeSync(this.fd);
    } catch (e) {
      if (this.#error === undefined) this.#error = e;
    }
    if (this.#error !== undefined) throw asIoError(this.#error, this.file);
  }
}
