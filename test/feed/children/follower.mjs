// A follower in its own process: prints "<seq> <hash> <epoch ms>" per event, exits after <count>.
import { follow } from '../../../dist/index.js';

const [dir, count, interval = '250'] = process.argv.slice(2);
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
const it = follow({ dir, signal: ac.signal, pollIntervalMs: Number(interval) });
process.stderr.write('ready\n');
let n = 0;
for await (const e of it) {
  process.stdout.write(`${e.seq} ${e.hash} ${Date.now()}\n`);
  if (++n >= Number(count)) ac.abort();
}
