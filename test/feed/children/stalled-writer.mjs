// Run with --expose-gc. Appends <events> events of ~4 KiB while <mode> = "stalled" followers
// (one ledger.follow, one follow({ dir })) took one event each and then stopped pulling, or with
// no follower ("none"). Prints the heap + external growth in bytes, then (stalled) drains both
// followers and prints how many events each then got.
import { follow, Ledger } from '../../../dist/index.js';

const [dir, mode, events] = process.argv.slice(2);
const total = Number(events);
const ledger = await Ledger.open({ dir, create: true });
await ledger.append({ kind: 'first', payload: 0 });
const ac = new AbortController();
const followers = mode === 'stalled' ? [ledger.follow({ signal: ac.signal }), follow({ dir, signal: ac.signal, pollIntervalMs: 20 })] : [];
for (const f of followers) await f.next();
const used = () => {
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const before = used();
const payload = 'x'.repeat(4096);
for (let i = 1; i < total; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, total - i) }, (_, k) => ledger.append({ kind: 'k', payload: { i: i + k, payload } })));
}
await new Promise((r) => setTimeout(r, 100)); // followers would have read ahead by now
process.stdout.write(`growth ${used() - before}\n`);
for (const f of followers) {
  let n = 1;
  let last = 0;
  while (n < total) {
    const r = await f.next();
    if (r.done || r.value.seq !== last + 1) break;
    last = r.value.seq;
    n++;
  }
  process.stdout.write(`drained ${n}\n`);
}
ac.abort();
await ledger.close();
