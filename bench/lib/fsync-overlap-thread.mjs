// The other thread of the fsync-overlap probe (fsync-overlap.mjs): fdatasyncs the fd it is handed.
// Shared words: [0] request (0 idle, 1 sync, 2 exit), [1] fd, [2] done, [3] spin (1: poll
// instead of sleeping between requests).
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';

const w = new Int32Array(workerData.shared);
const SPIN_MS = 50; // a spinning thread still sleeps when no request comes for this long

for (;;) {
  if (Atomics.load(w, 3) === 1) {
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(w, 0) === 0 && performance.now() < until);
  }
  Atomics.wait(w, 0, 0);
  const request = Atomics.load(w, 0);
  if (request === 2) break;
  fs.fdatasyncSync(Atomics.load(w, 1));
  Atomics.store(w, 0, 0);
  Atomics.store(w, 2, 1);
  Atomics.notify(w, 2);
}
