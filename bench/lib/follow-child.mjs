// A follower for the follow-latency row, in its own process. Mode "follow": follow({ dir }) and
// note when each event arrives. Mode "watch" (the baseline): fs.watch on the folder and note when
// each wake-up comes. Times are performance.timeOrigin + performance.now() (ms since the epoch,
// sub-ms), comparable across processes. Sends the times to the parent once <count> arrived.
import fs from 'node:fs';
import { follow } from '../../dist/index.js';

const [mode, dir, count] = process.argv.slice(2);
const n = Number(count);
const now = () => performance.timeOrigin + performance.now();
const times = [];

if (mode === 'follow') {
  const ac = new AbortController();
  const it = follow({ dir, signal: ac.signal });
  process.send({ ready: true });
  for await (const e of it) {
    times[e.seq] = now();
    if (e.seq + 1 >= n) ac.abort();
  }
  process.send({ times });
} else {
  // One wake-up per append: the parent waits for this one's reply before the next append.
  const file = `${dir}/data`;
  let seen = 0;
  const watcher = fs.watch(dir, () => {
    const t = now();
    const size = fs.statSync(file).size;
    while (seen < size) times[seen++] = t; // one byte per append
    if (seen >= n) {
      watcher.close();
      process.send({ times });
    }
  });
  process.send({ ready: true });
}
