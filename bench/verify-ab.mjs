// Full verify of one signed ledger, today's build (dist/) against other builds of the library
// (a dist/ built in another checkout of an earlier commit, which resolves its own node_modules),
// alternated in one process (A B A B …, the order flipped every repetition), CPU per verified
// event counted as the bench's verify row counts it (process.cpuUsage: every thread, workers
// included), medians and paired ratios. The ledger is written once, by the first build given
// (or --writer NAME; `new` is today's build).
//   git worktree add --detach ../base <commit> && (cd ../base && npm ci && npm run build)
//   npm run build && node bench/verify-ab.mjs --build base=../base/dist [--build old=…] \
//     [--events N] [--reps N] [--workers N] [--writer NAME]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { batchOf } from './lib/events.mjs';
import { ed25519Material, nodeVerifyLoop } from './lib/baselines.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const builds = {};
args.forEach((a, i) => {
  if (a !== '--build') return;
  const [name, dir] = args[i + 1].split('=');
  builds[name] = pathToFileURL(path.resolve(dir, 'index.js')).href;
});
if (!Object.keys(builds).length) throw new Error('--build NAME=DIR (a built dist/ to compare against) is required');
builds.new = new URL('../dist/index.js', import.meta.url).href;
for (const name of Object.keys(builds)) builds[name] = await import(builds[name]);
const names = Object.keys(builds);
const events = Number(opt('--events', 100_000));
const reps = Number(opt('--reps', 7));
const workers = opt('--workers') === undefined ? undefined : Number(opt('--workers'));

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-verify-ab-'));
try {
  const dir = path.join(root, 'signed');
  const writer = builds[opt('--writer', names[0])];
  const ledger = await writer.Ledger.open({ dir, create: true, signer: writer.generateSigningKey({ name: 'bench' }) });
  for (let i = 0; i < events; i += 1000) await ledger.appendBatch(batchOf(Math.min(1000, events - i), i));
  await ledger.close();
  const material = ed25519Material();
  const loop = [];
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const load0 = os.loadavg()[0];
  for (let r = 0; r < reps + 1; r++) {
    // The bench row's baseline in the same rounds: the bare node:crypto verify loop's CPU per signature.
    const l0 = process.cpuUsage();
    await nodeVerifyLoop(material, 10_000);
    const l = process.cpuUsage(l0);
    if (r > 0) loop.push((l.user + l.system) / 10_000);
    for (const name of r % 2 ? [...names].reverse() : names) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const report = await builds[name].verifyLedger({ dir }, workers === undefined ? {} : { workers });
      const t = Number(process.hrtime.bigint() - t0) / 1e3;
      const c = process.cpuUsage(c0);
      if (!report.ok || report.signed !== events) throw new Error(`${name}: ${JSON.stringify(report.problems?.slice(0, 3))}`);
      // The first round warms every build up and is not counted.
      if (r === 0) continue;
      cpu[name].push((c.user + c.system) / events);
      wall[name].push(t / events);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`verifyLedger of ${events.toLocaleString('en-US')} signed events (workers: ${workers ?? 'default'}), ${reps} alternated repetitions after a warm-up round (load ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)})`);
  console.log(`verify loop CPU ${median(loop).toFixed(1)} µs/signature (median; ${loop.map((x) => x.toFixed(1)).join(' ')})`);
  for (const name of names) {
    console.log(`${name.padEnd(8)} CPU ${median(cpu[name]).toFixed(1)} µs/event (loop/this ${(median(loop) / median(cpu[name])).toFixed(3)} per core), wall ${median(wall[name]).toFixed(1)} µs/event (medians; CPU ${cpu[name].map((x) => x.toFixed(1)).join(' ')})`);
  }
  for (const name of names.filter((n) => n !== 'new')) {
    console.log(`new/${name} CPU ${(median(cpu.new) / median(cpu[name])).toFixed(3)}x of medians, paired median ${median(cpu.new.map((x, i) => x / cpu[name][i])).toFixed(3)}x; wall ${(median(wall.new) / median(wall[name])).toFixed(3)}x`);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
