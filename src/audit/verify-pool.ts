/**
 * A fixed set of verify-worker threads (spec §14.6). Batches go to the workers in turn and each
 * answer resolves the promise of its own batch, so a caller that awaits them in submission order
 * sees results in line order.
 */
import { Worker } from 'node:worker_threads';
import type { LineBatch } from './line-batches.js';
import type { LineCheck } from './verify-line.js';

export interface BatchRequest {
  id: number;
  batch: LineBatch;
}

export type BatchReply = { id: number; results: LineCheck[] } | { id: number; error: { message: string; stack: string } };

interface Waiting {
  resolve(results: LineCheck[]): void;
  reject(error: Error): void;
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly waiting: Map<number, Waiting>[] = [];
  private nextId = 0;
  private failure: Error | undefined;

  /** Precondition: size >= 1. `keyringJson` is JSON.stringify(keyring). */
  constructor(size: number, workerUrl: URL, keyringJson: string) {
    for (let i = 0; i < size; i++) {
      const waiting = new Map<number, Waiting>();
      const worker = new Worker(workerUrl, { workerData: { keyringJson } });
      worker.on('message', (reply: BatchReply) => {
        const w = waiting.get(reply.id);
        waiting.delete(reply.id);
        if ('error' in reply) {
          const e = new Error(`verify worker: ${reply.error.message}`);
          e.stack = reply.error.stack;
          w?.reject(e);
        } else {
          w?.resolve(reply.results);
        }
      });
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (waiting.size > 0) this.fail(new Error(`verify worker exited with code ${code} while checking lines`));
      });
      this.workers.push(worker);
      this.waiting.push(waiting);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Check one batch on the next worker in turn. */
  check(batch: LineBatch): Promise<LineCheck[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const slot = id % this.workers.length;
    const promise = new Promise<LineCheck[]>((resolve, reject) => this.waiting[slot]!.set(id, { resolve, reject }));
    // A caller that stopped early (it threw) no longer awaits later batches, which close() then
    // rejects; those rejections are expected and must not surface as unhandled.
    promise.catch(() => undefined);
    // The batch's bytes move to the worker instead of being copied.
    this.workers[slot]!.postMessage({ id, batch } satisfies BatchRequest, [batch.bytes.buffer as ArrayBuffer]);
    return promise;
  }

  async close(): Promise<void> {
    this.failure ??= new Error('verify pool closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.rejectAll(this.failure);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.rejectAll(e);
  }

  private rejectAll(e: Error): void {
    for (const waiting of this.waiting) {
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
    }
  }
}
