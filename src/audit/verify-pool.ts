/**
 * The verify-worker threads (spec §14.6): a WorkerPool whose batches are lines of events.jsonl
 * and whose answers are one LineCheck per line, in line order.
 */
import { WorkerPool, type PoolReply } from '../io/worker-pool.js';
import type { LineBatch } from '../store/line-batches.js';
import type { LineCheck } from './verify-line.js';

export interface BatchRequest {
  id: number;
  batch: LineBatch;
}

export type BatchReply = PoolReply<{ results: LineCheck[] }>;

export class VerifyPool {
  private readonly pool: WorkerPool<{ results: LineCheck[] }>;

  /** Precondition: size >= 1. `keyringJson` is JSON.stringify(keyring). */
  constructor(size: number, workerUrl: URL, keyringJson: string) {
    this.pool = new WorkerPool(size, workerUrl, { keyringJson }, 'verify');
  }

  get size(): number {
    return this.pool.size;
  }

  /** Check one batch on the next worker in turn; the batch's bytes move to the worker. */
  check(batch: LineBatch): Promise<LineCheck[]> {
    const results = this.pool.submit({ batch }, [batch.bytes.buffer as ArrayBuffer]).then((r) => r.results);
    // As in submit: a caller that threw no longer awaits the later batches that close() rejects.
    results.catch(() => undefined);
    return results;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
