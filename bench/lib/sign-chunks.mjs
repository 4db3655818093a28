// Shared-memory layout and the chunk-claiming loop of the sign-split prototype, used by both the
// appending thread and the signing workers.
import { eventSignatureMessage } from '../../dist/crypto/domain.js';

export const CHUNK = 50;
export const SLOTS = 64; // chunks per ring: one batch of up to 3,200 events
const SEALED = 0;
const NEXT = 1;
const DONE = 2;
export const STOP = 4;

export function sharedBuffers() {
  return {
    ctl: new SharedArrayBuffer(8 * 4),
    hashes: new SharedArrayBuffer(SLOTS * CHUNK * 32),
    sigs: new SharedArrayBuffer(SLOTS * CHUNK * 64),
    counts: new SharedArrayBuffer(SLOTS * 4),
  };
}

/**
 * Claim and sign published chunks until none is left (or, with `waitMs`, until none arrives
 * within it, or `maxChunks` were signed). Returns how many chunks this caller signed.
 */
export function signChunks(shared, key, crypto, { waitMs = 0, maxChunks = Infinity, until } = {}) {
  const ctl = new Int32Array(shared.ctl);
  const hashes = new Uint8Array(shared.hashes);
  const sigs = new Uint8Array(shared.sigs);
  const counts = new Int32Array(shared.counts);
  let signed = 0;
  while (signed < maxChunks && Atomics.load(ctl, STOP) === 0) {
    const next = Atomics.load(ctl, NEXT);
    const sealed = Atomics.load(ctl, SEALED);
    if (until !== undefined && next >= until) return signed;
    if (next >= sealed) {
      if (!waitMs) return signed;
      if (Atomics.wait(ctl, SEALED, sealed, waitMs) === 'timed-out') return signed;
      continue;
    }
    if (Atomics.compareExchange(ctl, NEXT, next, next + 1) !== next) continue;
    const slot = next % SLOTS;
    const n = counts[slot];
    for (let i = 0; i < n; i++) {
      const at = slot * CHUNK + i;
      const sig = crypto.sign(null, eventSignatureMessage(hashes.subarray(at * 32, at * 32 + 32)), key);
      sigs.set(sig, at * 64);
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
    signed++;
  }
  return signed;
}

/** Appending thread: publish chunk number `c` (global, ever-growing) holding `recs`' hashes. */
export function publish(shared, c, recs) {
  const ctl = new Int32Array(shared.ctl);
  const hashes = new Uint8Array(shared.hashes);
  const slot = c % SLOTS;
  recs.forEach((r, i) => hashes.set(r.hash, (slot * CHUNK + i) * 32));
  new Int32Array(shared.counts)[slot] = recs.length;
  Atomics.add(ctl, SEALED, 1);
  Atomics.notify(ctl, SEALED);
}

/** Appending thread: block until `target` chunks in all have been signed. */
export function awaitDone(shared, target) {
  const ctl = new Int32Array(shared.ctl);
  for (let d; (d = Atomics.load(ctl, DONE)) < target; ) Atomics.wait(ctl, DONE, d, 1000);
}

/** The signature of event `i` of chunk `c`. */
export function signatureAt(shared, c, i) {
  const at = (c % SLOTS) * CHUNK + i;
  return Buffer.from(new Uint8Array(shared.sigs, at * 64, 64));
}
