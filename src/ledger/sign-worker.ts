/**
 * A signing thread (spec §13.8): for each job, claim and sign chunks of the hashes the appending
 * thread publishes, until the request is sealed and no chunk is left; then answer how many it
 * signed. Keys come from the appending thread, in this process.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { JobView } from './sign-chunks.js';
import type { SignMessage, SignReply } from './sign-pool.js';

/** How long one wait for the next chunk lasts before the abort flag is read again. */
const WAIT_MS = 50;

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
    port.postMessage({ id: m.id, chunks: new JobView(m.shared).claim(key, WAIT_MS) } satisfies SignReply);
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies SignReply);
  }
});
