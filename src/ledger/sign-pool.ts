/**
 * Event signatures on worker threads (spec §13.8, ADR 0026, ADR 0039). Sealing is a chain and
 * stays on the appending thread, but each signature depends only on its event's hash: a large
 * request publishes its hashes in shared memory as it seals them, the signing threads claim and
 * sign them chunk by chunk meanwhile, and once the request is sealed the appending thread claims
 * and signs what is left too, then waits only for the chunks a thread is still signing.
 * Only the library's own keys can move (their node:crypto KeyObject is cloned into the thread,
 * in this process); a caller's EventSigner signs inline.
 */
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { LedgerStateError } from '../errors.js';
import { JobView, type SharedJob, sharedJob } from './sign-chunks.js';

/** Below this many new events a request signs inline: the hand-off costs more than it saves. */
export const MIN_THREADED_SIGNATURES = 64;

/** A thread's answer once it stopped working on a job: how many chunks it signed, or why it failed. */
export type SignReply = { id: number; chunks: number } | { id: number; error: string };
export type SignMessage = { type: 'key'; keyId: number; key: KeyObject } | { type: 'job'; id: number; keyId: number; shared: SharedJob };

interface Active {
  view: JobView;
  /** Threads that have not answered yet. */
  owed: Set<Worker>;
  fail(e: unknown): void;
}

export class SignPool {
  #workers: Worker[] = [];
  readonly #active = new Map<number, Active>();
  readonly #keyIds = new Map<KeyObject, number>();
  #next = 0;
  #closed = false;
  #posted = 0;
  #threadChunks = 0;

  /** `size` threads running `workerUrl` (the compiled sign-worker.js), started on first use. */
  constructor(
    readonly size: number,
    private readonly workerUrl: URL = new URL('./sign-worker.js', import.meta.url),
  ) {}

  /** One thread per core beyond the first, up to 4; none when running from sources. */
  static defaultSize(): number {
    return import.meta.url.endsWith('.ts') ? 0 : Math.max(0, Math.min(os.availableParallelism() - 1, 4));
  }

  /** Sign up to `count` hashes added in order with `key`; undefined when they should be signed inline. */
  job(key: KeyObject | undefined, count: number): SignJob | undefined {
    if (this.size === 0 || this.#closed || key === undefined || count < MIN_THREADED_SIGNATURES) return undefined;
    if (this.#workers.length === 0) this.#start();
    let keyId = this.#keyIds.get(key);
    if (keyId === undefined) {
      keyId = this.#keyIds.size;
      this.#keyIds.set(key, keyId);
      for (const w of this.#workers) w.postMessage({ type: 'key', keyId, key } satisfies SignMessage);
    }
    const id = this.#next++;
    const shared = sharedJob(count);
    const view = new JobView(shared);
    let fail: (e: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined); // a job that never waits still owns this promise
    this.#active.set(id, { view, owed: new Set(this.#workers), fail });
    this.#posted++;
    for (const w of this.#workers) {
      // Referenced while it owes an answer (an awaited append keeps the process alive), not otherwise.
      w.ref();
      w.postMessage({ type: 'job', id, keyId, shared } satisfies SignMessage);
    }
    return new SignJob(view, key, failed, () => this.#end(id));
  }

  /** Jobs handed to the threads since they were started (tests: the threaded path ran). */
  get posted(): number {
    return this.#posted;
  }

  /** Chunks the threads (not the appending thread) signed, as far as they have answered. */
  get threadChunks(): number {
    return this.#threadChunks;
  }

  /** Threads running now (tests: close() ends them). */
  get running(): number {
    return this.#workers.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers;
    this.#workers = [];
    for (const a of this.#active.values()) a.view.abort();
    // Referenced until they exit: an answer arriving meanwhile must not let the process end
    // inside close() (the termination holds no handle of its own).
    for (const w of workers) w.ref();
    await Promise.all(workers.map((w) => w.terminate()));
    this.#failAll(signingFailed('the ledger was closed while signing'));
  }

  /** The request stopped using job `id`: threads still on it stop waiting for more hashes. */
  #end(id: number): void {
    const a = this.#active.get(id);
    if (a === undefined) return;
    a.view.abort();
    if (a.owed.size === 0) this.#active.delete(id);
    this.#unrefIdle();
  }

  /**
   * A thread keeps the process alive while a request waits on a job or the thread owes an answer:
   * the appending thread's wait for the last chunks (Atomics.waitAsync) holds no handle of its own.
   */
  #unrefIdle(): void {
    const active = [...this.#active.values()];
    for (const w of this.#workers) if (!active.some((a) => !a.view.aborted || a.owed.has(w))) w.unref();
  }

  #start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(this.workerUrl);
      w.on('message', (r: SignReply) => {
        const a = this.#active.get(r.id);
        if (a === undefined) return;
        a.owed.delete(w);
        if ('error' in r) a.fail(signingFailed(`signing thread: ${r.error}`));
        else this.#threadChunks += r.chunks;
        if (a.owed.size === 0 && a.view.aborted) this.#active.delete(r.id);
        this.#unrefIdle();
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
    const active = [...this.#active.values()];
    this.#active.clear();
    for (const a of active) {
      a.view.abort();
      a.fail(cause);
    }
  }
}

/** A request whose signatures were not made: nothing of it was written, and a retry may succeed. */
function signingFailed(message: string, cause?: unknown): LedgerStateError {
  return new LedgerStateError('UNAVAILABLE', `${message}; nothing was written`, { cause });
}

/** The hashes of one request, published to the threads a chunk at a time as they are sealed. */
export class SignJob {
  #count = 0;
  #chunks: number | undefined;

  constructor(
    private readonly view: JobView,
    private readonly key: KeyObject,
    private readonly failed: Promise<never>,
    private readonly end: () => void,
  ) {}

  add(hash: Uint8Array): void {
    this.view.hashes.set(hash, this.#count * 32);
    this.view.published(this.#count++);
  }

  /** No more hashes: the last chunk is published, short or not. Returns the number of chunks. */
  finish(): number {
    this.#chunks ??= this.view.finish(this.#count);
    return this.#chunks;
  }

  /** Whether chunk `chunk` (events CHUNK * chunk onwards) is signed. */
  isSigned(chunk: number): boolean {
    return this.view.isSigned(chunk);
  }

  /** Sign one chunk no thread has claimed, on this thread; false when none is left. */
  signOne(): boolean {
    return this.view.claimOne(this.key) === 'signed';
  }

  /**
   * Block the appending thread up to `ms` for a chunk a signing thread holds; true once it is
   * signed. Bounded: a thread that died holding it is only reported through the event loop.
   */
  waitSigned(chunk: number, ms: number): boolean {
    return this.view.waitSigned(chunk, ms);
  }

  /** The signature of hash number `index`, once its chunk is signed. */
  signature(index: number): Buffer {
    return Buffer.from(this.view.shared.sigs, index * 64, 64);
  }

  /**
   * Every signature is made: the appending thread signs the chunks no thread has claimed, then
   * waits, its event loop running, for those a thread is signing; a thread lost meanwhile fails
   * the request (`UNAVAILABLE`).
   */
  async allSigned(): Promise<void> {
    const chunks = this.finish();
    this.view.claim(this.key, 0);
    if (this.view.done < chunks) await Promise.race([this.view.signed(chunks), this.failed]);
  }

  /** The request no longer needs the threads (done, or failed): release those waiting on it. */
  abandon(): void {
    this.end();
  }
}
