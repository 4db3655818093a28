/**
 * Event signatures on worker threads (spec §13.8, ADR 0026). Sealing is a chain and stays on the
 * appending thread, but each signature depends only on its event's hash: a large request hands
 * its hashes over in chunks while sealing goes on, and collects the signatures before the policy
 * runs. The threads are kept fed, not flooded (at most two chunks each in flight, counted through
 * shared memory); once sealing is done the appending thread signs the chunks no thread took, from
 * the end, so a thread starved of CPU on a busy machine never holds the request up alone.
 * Only the library's own keys can move (their node:crypto KeyObject is cloned into the thread,
 * in this process); a caller's EventSigner signs inline.
 */
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { eventSignatureMessage } from '../crypto/domain.js';
import { signWithKeyObject } from '../crypto/ed25519.js';

/** Below this many new events a request signs inline: the hand-off costs more than it saves. */
export const MIN_THREADED_SIGNATURES = 64;
/** Hashes per message: small enough that the threads start while sealing goes on. */
const CHUNK = 128;
/** Chunks in flight per thread: one being signed, one queued behind it. */
const DEPTH = 2;

export type SignReply = { id: number; sigs: Uint8Array } | { id: number; error: string };
export type SignMessage =
  | { type: 'key'; keyId: number; key: KeyObject }
  | { type: 'sign'; id: number; keyId: number; hashes: Uint8Array };
/** workerData of a signing thread: a counter it increments after each chunk it has signed. */
export interface SignWorkerData {
  done: SharedArrayBuffer;
}

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
  #done = new Int32Array(new SharedArrayBuffer(4));
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
    return new SignJob(this, keyId, key);
  }

  /** Chunks handed to the threads since they were started (tests: the threaded path ran). */
  get posted(): number {
    return this.#posted;
  }

  /** @internal Chunks the threads could take now without queueing more than DEPTH each. */
  free(): number {
    return this.#workers.length * DEPTH - (this.#posted - Atomics.load(this.#done, 0));
  }

  /** @internal Post one chunk; resolves to its 64-byte signatures, concatenated. */
  post(keyId: number, hashes: Uint8Array): Promise<Uint8Array> {
    if (this.#workers.length === 0) return Promise.reject(new Error('the signing threads were lost during this request'));
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
    this.#failAll(new Error('the ledger was closed while signing'));
  }

  #start(): void {
    // A fresh counter: chunks of lost threads are never counted as done.
    this.#done = new Int32Array(new SharedArrayBuffer(4));
    this.#posted = 0;
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(this.workerUrl, { workerData: { done: this.#done.buffer as SharedArrayBuffer } satisfies SignWorkerData });
      w.on('message', (r: SignReply) => {
        const waiter = this.#waiting.get(r.id);
        this.#waiting.delete(r.id);
        if (![...this.#waiting.values()].some((x) => x.worker === w)) w.unref();
        if ('error' in r) waiter?.reject(new Error(`signing thread: ${r.error}`));
        else waiter?.resolve(r.sigs);
      });
      // A thread that dies fails what it held, never silently: the requests waiting on it reject
      // with its error, and the next large request starts fresh threads.
      w.on('error', (e) => {
        if (this.#workers.includes(w)) this.#lose(e);
      });
      w.on('exit', (code) => {
        if (this.#workers.includes(w)) this.#lose(new Error(`a signing thread exited with code ${code}`));
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

/** The hashes of one request, handed to the threads a chunk at a time as they are sealed. */
export class SignJob {
  #chunk = new Uint8Array(CHUNK * 32);
  #filled = 0;
  /** Per chunk, in order: its signatures, or the thread's promise of them. */
  readonly #results: (Uint8Array | Promise<Uint8Array>)[] = [];
  /** Sealed chunks no thread has taken yet (indexes into #results), oldest first. */
  readonly #ready: { index: number; hashes: Uint8Array }[] = [];

  constructor(
    private readonly pool: SignPool,
    private readonly keyId: number,
    private readonly key: KeyObject,
  ) {}

  add(hash: Uint8Array): void {
    this.#chunk.set(hash, this.#filled * 32);
    if (++this.#filled === CHUNK) this.#seal();
  }

  /** The 64-byte signatures of every hash added, in order. */
  async signatures(): Promise<Buffer[]> {
    if (this.#filled > 0) this.#seal();
    // The threads take from the front while this thread signs from the back.
    while (this.#ready.length > 0) {
      if (this.pool.free() > 0) this.#post(this.#ready.shift()!);
      else {
        const { index, hashes } = this.#ready.pop()!;
        this.#results[index] = signInline(this.key, hashes);
      }
    }
    const chunks = await Promise.all(this.#results);
    const out: Buffer[] = [];
    for (const c of chunks) for (let at = 0; at < c.length; at += 64) out.push(Buffer.from(c.buffer, c.byteOffset + at, 64));
    return out;
  }

  #seal(): void {
    const hashes = this.#filled === CHUNK ? this.#chunk : this.#chunk.slice(0, this.#filled * 32);
    this.#ready.push({ index: this.#results.length, hashes });
    this.#results.push(new Uint8Array(0)); // placeholder until posted or signed
    this.#chunk = new Uint8Array(CHUNK * 32);
    this.#filled = 0;
    while (this.#ready.length > 0 && this.pool.free() > 0) this.#post(this.#ready.shift()!);
  }

  #post(c: { index: number; hashes: Uint8Array }): void {
    const p = this.pool.post(this.keyId, c.hashes);
    // A request that fails before collecting still owns this promise: its rejection is handled.
    p.catch(() => undefined);
    this.#results[c.index] = p;
  }
}

function signInline(key: KeyObject, hashes: Uint8Array): Uint8Array {
  const n = hashes.length / 32;
  const sigs = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) sigs.set(signWithKeyObject(key, eventSignatureMessage(hashes.subarray(i * 32, i * 32 + 32))), i * 64);
  return sigs;
}
