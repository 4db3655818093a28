// A signing worker of the sign-split prototype (bench/sign-split.mjs). The appending thread
// publishes sealed hashes chunk by chunk in shared memory; this thread (and the appending thread
// itself once it has sealed the batch) claims chunks with a compare-and-swap and writes their
// Ed25519 signatures next to them. Counters only grow, so a stale claim can never succeed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { signChunks } from './sign-chunks.mjs';

const threadSched = () => fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').slice(0, 2).map(Number);
const { key, shared } = workerData;
parentPort.on('message', (m) => {
  if (m.type === 'sched') parentPort.postMessage({ type: 'sched', sched: threadSched() });
});
// Sign in slices so the 'sched' requests above are answered between them.
const loop = () => {
  signChunks(shared, key, crypto, { waitMs: 20, maxChunks: 64 });
  if (Atomics.load(new Int32Array(shared.ctl), 4) === 0) setImmediate(loop);
};
loop();
