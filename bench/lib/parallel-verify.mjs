// The verification bound as the machine gives it now: the node:crypto Ed25519 verify loop run on
// `threads` worker threads at once, total verifications per second. On an idle machine it is the
// one-thread loop x cores; on a shared one (Linux gives each session a fair share, not each
// thread) extra threads may add nothing, and a bound extrapolated from one thread overstates
// what any multi-threaded verifier could reach.
import { Worker } from 'node:worker_threads';

const LOOP = `
const crypto = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
const messages = Array.from({ length: 256 }, () => Buffer.concat([Buffer.from('sealed-ledger/event/v1\\n'), crypto.randomBytes(32)]));
const signatures = messages.map((m) => crypto.sign(null, m, privateKey));
parentPort.on('message', (n) => {
  for (let i = 0; i < n; i++) {
    if (!crypto.verify(null, messages[i % 256], publicKey, signatures[i % 256])) throw new Error('bad signature');
  }
  parentPort.postMessage('done');
});`;

/** Verifications per second of `threads` threads each verifying `n` signatures. */
export async function parallelVerifyLoop(threads, n) {
  const workers = Array.from({ length: threads }, () => new Worker(LOOP, { eval: true }));
  const run = (w, count) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage(count);
  });
  try {
    await Promise.all(workers.map((w) => run(w, 200))); // warm-up
    const t0 = process.hrtime.bigint();
    await Promise.all(workers.map((w) => run(w, n)));
    return (threads * n) / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
