/**
 * A fixed set of worker threads that take batches in turn (verify, spec §14.6; replay, §14.3).
 * Each answer resolves the promise of its own batch, so a caller that awaits them in submission
 * order sees results in line order. Lives below the ledger and audit layers so both can use it.
 */
import { Worker } from 'node:worker_threads';

/** What a pool's worker answers: its reply fields, or the fault that kept it from answering. */
export type PoolReply<R> = ({ id: number } & R) | { id: number; error: { message: string; stack: string } };

interface Waiting<R> {
  resolve(reply: R): void;
  reject(error: Error): void;
}

export class WorkerPool<R extends object> {
  private readonly workers: Worker[] = [];
  private readonly waiting: Map<number, Waiting<R>>[] = [];
  private nextId = 0;
  private failure: Error | undefined;

  /** Precondition: size >= 1. `label` names the workers in errors ("verify" → "verify worker: …"). */
  constructor(size: number, workerUrl: URL, workerData: unknown, private readonly label: string) {
    for (let i = 0; i < size; i++) {
      const waiting = new Map<number, Waiting<R>>();
      const worker = new Worker(workerUrl, { workerData });
      worker.on('message', (reply: PoolReply<R>) => {
        const w = waiting.get(reply.id);
        waiting.delete(reply.id);
        if ('error' in reply) {
          const e = new Error(`${label} worker: ${reply.error.message}`);
          e.stack = reply.error.stack;
          w?.reject(e);
        } else {
          w?.resolve(reply as R);
        }
      });
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (waiting.size > 0) this.fail(new Error(`${label} worker exited with code ${code} while checking lines`));
      });
      this.workers.push(worker);
      this.waiting.push(waiting);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Post `message` (its `id` is added) to the next worker in turn, moving `transfer` to it. */
  submit(message: object, transfer: ArrayBuffer[]): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const slot = id % this.workers.length;
    const promise = new Promise<R>((resolve, reject) => this.waiting[slot]!.set(id, { resolve, reject }));
    // A caller that stopped early (it threw) no longer awaits later batches, which close() then
    // rejects; those rejections are expected and must not surface as unhandled.
    promise.catch(() => undefined);
    this.workers[slot]!.postMessage({ ...message, id }, transfer);
    return promise;
  }

  /** Terminates every worker; batches still waiting are rejected. */
  async close(): Promise<void> {
    this.failure ??= new Error(`${this.label} pool closed`);
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

/** The fault reply a worker sends when a batch threw something that is not a verdict on a line. */
export function faultReply(id: number, e: unknown): { id: number; error: { message: string; stack: string } } {
  return { id, error: e instanceof Error ? { message: e.message, stack: e.stack ?? '' } : { message: String(e), stack: '' } };
}
