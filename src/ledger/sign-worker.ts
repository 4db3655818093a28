/**
 * A signing thread (spec §13.8): Ed25519 signatures of event hashes with keys the appending
 * thread sent it, one reply per chunk, in the order asked.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { eventSignatureMessage } from '../crypto/domain.js';
import { signWithKeyObject } from '../crypto/ed25519.js';
import type { SignMessage, SignReply } from './sign-pool.js';

const port = parentPort!;
const keys = new Map<number, KeyObject>();

port.on('message', (m: SignMessage) => {
  if (m.type === 'key') {
    keys.set(m.keyId, m.key);
    return;
  }
  try {
    const key = keys.get(m.keyId);
    if (key === undefined) throw new Error(`no key ${m.keyId} was sent to this thread`);
    const n = m.hashes.length / 32;
    const sigs = new Uint8Array(n * 64);
    for (let i = 0; i < n; i++) sigs.set(signWithKeyObject(key, eventSignatureMessage(m.hashes.subarray(i * 32, i * 32 + 32))), i * 64);
    port.postMessage({ id: m.id, sigs } satisfies SignReply, [sigs.buffer]);
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies SignReply);
  }
});
