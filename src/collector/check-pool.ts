/**
 * The line checks of a batch spread over worker threads (spec §18.3): the signature checks
 * dominate ingest, and one event loop verifies on one core. A batch is cut into contiguous
 * slices, one per worker; results are merged in line order and the first failing line of the
 * whole batch wins, exactly as the inline checkBatchLines decides.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Keyring } from '../crypto/keyring.js';
import { checkBatchLines, splitLines, type BatchCheck, type CheckedLine, type LineFailure, type LineLimits } from './batch-lines.js';
import { ONE_CHUNK, type ChunkPlan } from './chunk-plan.js';
import { unpackLines, type PackedLines } from './check-wire.js';
import { startWorker } from './worker-exec-argv.js';

export interface CheckRequest {
  id: number;
  body: Uint8Array;
  keyringJson: string;
  requireSignatures: boolean;
  limits: LineLimits;
  lineOffset: number;
}

export type CheckReply = { id: number; lines: PackedLines; failure?: LineFailure } | { id: number; error: string };

/**
 * A check worker's young generation, in MiB (ADR 0041). What a check keeps alive is one slice and
 * its parsed lines (well under 1 MiB); left to V8's default, each worker's young generation grows
 * to its maximum after some 250,000 events and the collector's RSS rises by ~8 MiB per worker
 * and stays there.
 */
export const CHECK_WORKER_YOUNG_MB = 8;

/** Below this many lines a batch is checked inline: posting it costs more than it saves. */
const MIN_PARALLEL_LINES = 64;

export class CheckPool {
  readonly #workers: Worker[] = [];
  readonly #waiting = new Map<number, { resolve(r: CheckReply): void; reject(e: Error): void }>();
  #next = 0;

  /** `size` workers running `workerUrl` (the compiled check-worker.js). */
  constructor(size: number, workerUrl: URL = new URL('./check-worker.js', import.meta.url)) {
    for (let i = 0; i < size; i++) {
      const w = startWorker(workerUrl, { resourceLimits: { maxYoungGenerationSizeMb: CHECK_WORKER_YOUNG_MB } });
      w.on('message', (r: CheckReply) => {
        const waiter = this.#waiting.get(r.id);
        this.#waiting.delete(r.id);
        if ('error' in r) waiter?.reject(new Error(`check worker: ${r.error}`));
        else waiter?.resolve(r);
      });
      w.on('error', (e) => this.#rejectAll(e));
      w.unref();
      this.#workers.push(w);
    }
  }

  /** Workers for this process: one per core up to 8 when running compiled, none from sources. */
  static defaultSize(): number {
    return import.meta.url.endsWith('.ts') ? 0 : Math.min(os.availableParallelism(), 8);
  }

  async check(body: Buffer, keyring: Keyring, requireSignatures: boolean, limits: LineLimits): Promise<BatchCheck> {
    return this.checkChunks(body, keyring, requireSignatures, limits, ONE_CHUNK)[0]!;
  }

  /**
   * The checks of `body` in the chunks `plan` cuts it into, each spread over the workers, answered
   * in line order: chunk k+1 is being checked while the caller stores chunk k (ADR 0027, 0034). All
   * chunks are posted at once and the workers take their messages in order, so chunk 0 is done
   * first. A chunk with a failure holds the lines before it; the chunks after it still run but
   * the caller ignores them (their rejection on close is expected, hence the catch).
   */
  checkChunks(body: Buffer, keyring: Keyring, requireSignatures: boolean, limits: LineLimits, plan: ChunkPlan): Promise<BatchCheck>[] {
    const { lines } = splitLines(body);
    if (this.#workers.length === 0 || lines.length < MIN_PARALLEL_LINES) {
      try {
        return [Promise.resolve(checkBatchLines(body, { keyring, requireSignatures, limits }))];
      } catch (e) {
        return [Promise.reject(e)];
      }
    }
    const keyringJson = JSON.stringify(keyring);
    const chunks: Promise<BatchCheck>[] = [];
    // A plan that covers too few lines still checks them all: the rest is one more chunk.
    const sizes = [...plan(lines.length), Number.MAX_SAFE_INTEGER];
    for (let from = 0, k = 0; from < lines.length; k++) {
      const to = Math.min(lines.length, from + Math.max(1, sizes[k] ?? Number.MAX_SAFE_INTEGER));
      const p = this.#checkRange(body, lines, from, to, keyringJson, requireSignatures, limits);
      p.catch(() => undefined);
      chunks.push(p);
      from = to;
    }
    return chunks;
  }

  async #checkRange(body: Buffer, lines: Buffer[], from: number, to: number, keyringJson: string, requireSignatures: boolean, limits: LineLimits): Promise<BatchCheck> {
    const per = Math.ceil((to - from) / this.#workers.length);
    const slices: { offset: number; promise: Promise<CheckReply> }[] = [];
    for (let first = from; first < to; first += per) {
      const startLine = lines[first]!;
      const lastLine = lines[Math.min(to, first + per) - 1]!;
      const start = startLine.byteOffset - body.byteOffset;
      // A slice ends after its last line's "\n" (or at the end of an unterminated body).
      const end = Math.min(body.length, lastLine.byteOffset - body.byteOffset + lastLine.length + 1);
      const id = this.#next++;
      const worker = this.#workers[id % this.#workers.length]!;
      const promise = new Promise<CheckReply>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
      // Once an earlier slice failed, later answers are not awaited; their rejection on close is expected.
      promise.catch(() => undefined);
      // A copy of just the slice (posting a view would clone the whole body's ArrayBuffer),
      // transferred rather than cloned: one copy per slice instead of two.
      const slice = new Uint8Array(body.subarray(start, end));
      worker.postMessage({ id, body: slice, keyringJson, requireSignatures, limits, lineOffset: first } satisfies CheckRequest, [slice.buffer]);
      slices.push({ offset: start, promise });
    }
    const out: CheckedLine[] = [];
    for (const s of slices) {
      const r = (await s.promise) as Extract<CheckReply, { lines: PackedLines }>;
      unpackLines(r.lines, body, s.offset, out);
      if (r.failure) return { lines: out, failure: r.failure };
    }
    return { lines: out };
  }

  async close(): Promise<void> {
    this.#rejectAll(new Error('check pool closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #rejectAll(e: Error): void {
    for (const w of this.#waiting.values()) w.reject(e);
    this.#waiting.clear();
  }
}
