// Where the time of an unsigned appendBatch(1000) goes: JSONL write + fdatasync, sealing, SQLite
// event rows, Merkle node rows, Merkle hashing, the commit, GC.
// ("dispatch" in the rest is the profiler's own session, on this thread.) Sampled with the V8 profiler (each
// sample is charged to the innermost frame that names a part), on a fresh ledger.
//   npm run build && node bench/cost-split.mjs [--quick] [--batches N]
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../dist/index.js';
import { batchOf } from './lib/events.mjs';

const args = process.argv.slice(2);
const batchesArg = args.indexOf('--batches');
const batches = batchesArg >= 0 ? Number(args[batchesArg + 1]) : args.includes('--quick') ? 20 : 200;

/** [part, test on (functionName, url)], innermost match wins. */
const PARTS = [
  ['SQLite event rows (INSERT, 4 index updates)', (f, u) => f === 'insert' && u.includes('/store/projection')],
  ['Merkle node rows (INSERT)', (f, u) => f === 'put' && u.includes('/store/tree-store')],
  ['Merkle hashing (compact range)', (f, u) => f === 'append' && u.includes('/merkle/compact-range')],
  ['SQLite commit', (f, u) => f === 'commitHeld' && u.includes('/ledger/writer')],
  ['JSONL write + fdatasync', (f, u) => f === 'writeDurably' && u.includes('/ledger/group-commit')],
  ['seal (JCS, SHA-256, UUIDv7, policy)', (f, u) => f === 'sealRequest' && u.includes('/ledger/group-commit')],
  ['input checks + payload JCS (before the flush)', (f, u) => f === 'prepareEvent' && u.includes('/format/seal')],
  ['rest of the flush (watermark, bookkeeping)', (f, u) => f === 'flush' && u.includes('/ledger/writer')],
  ['garbage collector', (f) => f === '(garbage collector)'],
  ['idle (waiting, e.g. for the next event-loop turn)', (f) => f === '(idle)'],
];

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-cost-split-'));
const session = new inspector.Session();
session.connect();
try {
  const inputs = Array.from({ length: batches }, (_, b) => batchOf(1000, b * 1000));
  const ledger = await Ledger.open({ dir: path.join(root, 'ledger'), create: true });
  await ledger.appendBatch(batchOf(1000, 10_000_000)); // warm-up, not sampled
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const load = os.loadavg()[0];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const batch of inputs) await ledger.appendBatch(batch);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const { profile } = await session.post('Profiler.stop');
  await ledger.close();

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map();
  const classify = (id) => {
    if (partOf.has(id)) return partOf.get(id);
    const { functionName: f, url: u } = byId.get(id).callFrame;
    const hit = PARTS.find(([, test]) => test(f, u ?? ''));
    const part = hit ? hit[0] : parent.has(id) ? classify(parent.get(id)) : 'other (timer, bench loop, program)';
    partOf.set(id, part);
    return part;
  };
  const us = new Map();
  const otherTop = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    us.set(classify(id), (us.get(classify(id)) ?? 0) + dt);
    if (classify(id).startsWith('other')) {
      const f = byId.get(id).callFrame;
      const k = `${f.functionName || '(anonymous)'} ${(f.url ?? '').replace(/^.*\/(dist|node_modules)\//, '$1/')}`;
      otherTop.set(k, (otherTop.get(k) ?? 0) + dt);
    }
    total += dt;
  });
  const events = batches * 1000;
  console.log(`appendBatch(1000) x ${batches}, unsigned, fresh ledger: ${Math.round(events / (wallMs / 1000)).toLocaleString('en-US')} events/s, ` +
    `CPU ${((cpu.user + cpu.system) / events).toFixed(1)} µs/event, wall ${(wallMs * 1000 / events).toFixed(1)} µs/event (load ${load.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)})`);
  // Samples are wall-clock slices of the appending thread, blocking syscalls (fdatasync)
  // included; a busy machine stretches all of them alike, so the shares are the figure to use.
  const wallPerEvent = (wallMs * 1000) / events;
  console.log('| part | share of the appending thread | ≈ µs per event (share x wall time) |\n| --- | --- | --- |');
  for (const [part, t] of [...us].sort((a, b) => b[1] - a[1])) {
    console.log(`| ${part} | ${((100 * t) / total).toFixed(1)}% | ${((wallPerEvent * t) / total).toFixed(1)} |`);
  }
  const top = [...otherTop].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(`\nlargest in "other": ${top.map(([k, t]) => `${k} ${((100 * t) / total).toFixed(1)}%`).join('; ')}`);
} finally {
  session.disconnect();
  fs.rmSync(root, { recursive: true, force: true });
}
