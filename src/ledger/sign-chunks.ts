/**
 * The memory one signing job shares between the appending thread and the signing threads (spec
 * §13.8): hashes published in chunks as they are sealed, claimed by whichever thread is free
 * (a signing thread, or the appending thread once it has sealed the request), and the
 * signatures written next to them. Claims are a compare-and-swap on a counter that only grows,
 * so each chunk is signed exactly once. ADR 0039.
 */
import type { KeyObject } from 'node:crypto';
import { eventSignatureMessage } from '../crypto/domain.js';
import { signWithKeyObject } from '../crypto/ed25519.js';

/** Events per chunk: small, so the last chunk a thread still signs holds the request up briefly. */
export const CHUNK = 16;

/** ctl words. SEALED: chunks published, with FINAL once the request is sealed (one word, so a waiter never misses it). */
const SEALED = 0;
const NEXT = 1;
const DONE = 2;
const EVENTS = 3;
const ABORT = 4;
const FINAL = 1 << 30;

export interface SharedJob {
  ctl: SharedArrayBuffer;
  hashes: SharedArrayBuffer;
  sigs: SharedArrayBuffer;
  /** One word per chunk, 1 once its signatures are written: rows are staged chunk by chunk, in order. */
  signed: SharedArrayBuffer;
}

export function sharedJob(capacity: number): SharedJob {
  return {
    ctl: new SharedArrayBuffer(5 * 4),
    hashes: new SharedArrayBuffer(Math.max(1, capacity) * 32),
    sigs: new SharedArrayBuffer(Math.max(1, capacity) * 64),
    signed: new SharedArrayBuffer(Math.max(1, Math.ceil(capacity / CHUNK)) * 4),
  };
}

/** A view of a SharedJob: what each thread holds. */
export class JobView {
  readonly ctl: Int32Array;
  readonly hashes: Uint8Array;
  readonly sigs: Uint8Array;
  readonly #signed: Int32Array;

  constructor(readonly shared: SharedJob) {
    this.ctl = new Int32Array(shared.ctl);
    this.hashes = new Uint8Array(shared.hashes);
    this.sigs = new Uint8Array(shared.sigs);
    this.#signed = new Int32Array(shared.signed);
  }

  /** Appending thread: hash number `index` was written; publish its chunk when it is full. */
  published(index: number): void {
    if ((index + 1) % CHUNK === 0) {
      Atomics.add(this.ctl, SEALED, 1);
      Atomics.notify(this.ctl, SEALED);
    }
  }

  /** Appending thread: no more hashes; `events` were written in all. Returns the chunk count. */
  finish(events: number): number {
    const chunks = Math.ceil(events / CHUNK);
    Atomics.store(this.ctl, EVENTS, events);
    Atomics.store(this.ctl, SEALED, chunks | FINAL);
    Atomics.notify(this.ctl, SEALED);
    return chunks;
  }

  /** Tell the signing threads to stop waiting for this job (the request was given up). */
  abort(): void {
    Atomics.store(this.ctl, ABORT, 1);
    Atomics.store(this.ctl, SEALED, Atomics.load(this.ctl, SEALED) | FINAL);
    Atomics.notify(this.ctl, SEALED);
  }

  get aborted(): boolean {
    return Atomics.load(this.ctl, ABORT) !== 0;
  }

  get done(): number {
    return Atomics.load(this.ctl, DONE);
  }

  /** Resolves once `chunks` chunks are signed, without blocking this thread's event loop. */
  async signed(chunks: number): Promise<void> {
    for (let d = this.done; d < chunks; d = this.done) {
      const w = Atomics.waitAsync(this.ctl, DONE, d);
      if (w.async) await w.value;
    }
  }

  /** Whether every signature of chunk `chunk` is written. */
  isSigned(chunk: number): boolean {
    return Atomics.load(this.#signed, chunk) !== 0;
  }

  /** Block this thread up to `ms` for chunk `chunk` (which another thread holds); true once it is signed. */
  waitSigned(chunk: number, ms: number): boolean {
    Atomics.wait(this.#signed, chunk, 0, ms);
    return this.isSigned(chunk);
  }

  /**
   * Claim and sign published chunks. `waitMs` > 0 (a signing thread): when none is free, wait
   * for the next one until the request is sealed; 0 (the appending thread): return at once.
   * Returns how many chunks this thread signed.
   */
  claim(key: KeyObject, waitMs: number): number {
    let signed = 0;
    for (;;) {
      const got = this.claimOne(key);
      if (got === 'signed') signed++;
      else if (got === 'aborted' || waitMs === 0 || (got & FINAL) !== 0) return signed;
      else Atomics.wait(this.ctl, SEALED, got, waitMs);
    }
  }

  /**
   * Claim and sign one published chunk. Otherwise returns why not: 'aborted', or the SEALED word
   * it read (no published chunk is unclaimed; with FINAL set none ever will be).
   */
  claimOne(key: KeyObject): 'signed' | 'aborted' | number {
    for (;;) {
      if (Atomics.load(this.ctl, ABORT) !== 0) return 'aborted';
      const sealed = Atomics.load(this.ctl, SEALED);
      const next = Atomics.load(this.ctl, NEXT);
      if (next >= (sealed & ~FINAL)) return sealed;
      if (Atomics.compareExchange(this.ctl, NEXT, next, next + 1) !== next) continue;
      this.#sign(next, sealed, key);
      Atomics.store(this.#signed, next, 1);
      Atomics.notify(this.#signed, next);
      Atomics.add(this.ctl, DONE, 1);
      Atomics.notify(this.ctl, DONE);
      return 'signed';
    }
  }

  #sign(chunk: number, sealed: number, key: KeyObject): void {
    const first = chunk * CHUNK;
    // Only the final chunk can be short; EVENTS is stored before FINAL is set.
    const end = (sealed & FINAL) !== 0 && chunk === (sealed & ~FINAL) - 1 ? Atomics.load(this.ctl, EVENTS) : first + CHUNK;
    for (let i = first; i < end; i++) {
      this.sigs.set(signWithKeyObject(key, eventSignatureMessage(this.hashes.subarray(i * 32, i * 32 + 32))), i * 64);
    }
  }
}
