/**
 * Event signatures on worker threads (spec §13.8, ADR 0026). Sealing is a chain and stays on the
 * appending thread, but each signature depends only on its event's hash: a large request hands
 * its hashes over in chunks while sealing goes on, and collects the signatures before the policy
 * runs. The appending thread signs none itself: measured on a busy 2-core machine, a thread
 * that also signs waits longer for the CPU than the time it saves (ADR 0026).
 * Only the library's own keys can move (their node:crypto KeyObject is cloned into the thread,
 * in this process); a caller's EventSigner signs inline.
 */
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { LedgerStateError } from '../errors.js';

/** Below this many new events a request signs inline: the hand-off costs more than it saves. */
export const MIN_THREADED_SIGNATURES = 64;
/** Hashes per message: small enough that the threads start while sealing goes on. */
const CHUNK = 128;

export type SignReply = { id: number; sigs: Uint8Array } | { id: number; error: string };
export type SignMessage =
  | { type: 'key'; keyId: number; key: KeyObject }
  | { type: 'sign'; id: number; keyId: number; hashes: Uint8Array };

interface Waiter {
  worker: Worker;
  resolve(sigs: Uint8Array): void;
  reject(e: unknown): void;
}

export class SignPool {
  #workers: Worker[] = [];
  readonly #waiting = new Map<number, Waiter>();
  readonly #keyIds = new Map<KeyObject, number>();
  #next = 0;
  #turn = 0;
  #closed = false;
  #posted = 0;

  /** `size` threads running `workerUrl` (the compiled sign-worker.js), started on first use. */
  constructor(
    readonly size: number,
    private readonly workerUrl: URL = new URL('./sign-worker.js', import.meta.url),
  ) {}

  /** One thread per core beyond the first, up to 4; none when running from sources. */
  static defaultSize(): number {
    return import.meta.url.endsWith('.ts') ? 0 : Math.max(0, Math.min(os.availableParallelism() - 1, 4));
  }

  /** Sign `count` hashes added in order with `key`; undefined when they should be signed inline. */
  job(key: KeyObject | undefined, count: number): SignJob | undefined {
    if (this.size === 0 || this.#closed || key === undefined || count < MIN_THREADED_SIGNATURES) return undefined;
    if (this.#workers.length === 0) this.#start();
    let keyId = this.#keyIds.get(key);
    if (keyId === undefined) {
      keyId = this.#keyIds.size;
      this.#keyIds.set(key, keyId);
      for (const w of this.#workers) w.postMessage({ type: 'key', keyId, key } satisfies SignMessage);
    }
    return new SignJob(this, keyId);
  }

  /** Chunks handed to the threads since they were started (tests: the threaded path ran). */
  get posted(): number {
    return this.#posted;
  }

  /** Threads running now (tests: close() ends them). */
  get running(): number {
    return this.#workers.length;
  }

  /** @internal Post one chunk; resolves to its 64-byte signatures, concatenated. */
  post(keyId: number, hashes: Uint8Array): Promise<Uint8Array> {
    if (this.#workers.length === 0) return Promise.reject(signingFailed('the signing threads were lost during this request'));
    const id = this.#next++;
    this.#posted++;
    const worker = this.#workers[this.#turn++ % this.#workers.length]!;
    const done = new Promise<Uint8Array>((resolve, reject) => this.#waiting.set(id, { worker, resolve, reject }));
    // Referenced while it owes a reply (an awaited append keeps the process alive), not otherwise.
    worker.ref();
    worker.postMessage({ type: 'sign', id, keyId, hashes } satisfies SignMessage, [hashes.buffer as ArrayBuffer]);
    return done;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
    this.#failAll(signingFailed('the ledger was closed while signing'));
  }

  #start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(this.workerUrl);
      w.on('message', (r: SignReply) => {
        const waiter = this.#waiting.get(r.id);
        this.#waiting.delete(r.id);
        if (![...this.#waiting.values()].some((x) => x.worker === w)) w.unref();
        if ('error' in r) waiter?.reject(signingFailed(`signing thread: ${r.error}`));
        else waiter?.resolve(r.sigs);
      });
      // A thread that dies fails what it held, never silently: the requests waiting on it reject
      // with its error, and the next large request starts fresh threads.
      w.on('error', (e) => {
        if (this.#workers.includes(w)) this.#lose(signingFailed(`a signing thread failed: ${e.message}`, e));
      });
      w.on('exit', (code) => {
        if (this.#workers.includes(w)) this.#lose(signingFailed(`a signing thread exited with code ${code}`));
      });
      w.unref();
      this.#workers.push(w);
    }
  }

  #lose(cause: unknown): void {
    const workers = this.#workers;
    this.#workers = [];
    this.#keyIds.clear();
    for (const w of workers) void w.terminate();
    this.#failAll(cause);
  }

  #failAll(cause: unknown): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(cause);
  }
}

/** A request whose signatures were not made: nothing of it was written, and a retry may succeed. */
function signingFailed(message: string, cause?: unknown): LedgerStateError {
  return new LedgerStateError('UNAVAILABLE', `${message}; nothing was written`, { cause });
}

/** The hashes of one request, handed to the threads a chunk at a time as they are sealed. */
export class SignJob {
  #chunk = new Uint8Array(CHUNK * 32);
  #filled = 0;
  readonly #posted: Promise<Uint8Array>[] = [];

  constructor(
    private readonly pool: SignPool,
    private readonly keyId: number,
  ) {}

  add(hash: Uint8Array): void {
    this.#chunk.set(hash, this.#filled * 32);
    if (++this.#filled === CHUNK) this.#post();
  }

  /** The 64-byte signatures of every hash added, in order. */
  async signatures(): Promise<Buffer[]> {
    if (this.#filled > 0) this.#post();
    const chunks = await Promise.all(this.#posted);
    const out: Buffer[] = [];
    for (const c of chunks) for (let at = 0; at < c.length; at += 64) out.push(Buffer.from(c.buffer, c.byteOffset + at, 64));
    return out;
  }

  #post(): void {
    const hashes = this.#filled === CHUNK ? this.#chunk : this.#chunk.slice(0, this.#filled * 32);
    const p = this.pool.post(this.keyId, hashes);
    // A request that fails before collecting still owns this promise: its rejection is handled.
    p.catch(() => undefined);
    this.#posted.push(p);
    this.#chunk = new Uint8Array(CHUNK * 32);
    this.#filled = 0;
  }
}
