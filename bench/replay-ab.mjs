// Replay into an empty ledger.db, today's build (dist/) against another build of the library (a
// copy of an older dist/ inside this checkout, so that it resolves node_modules), alternated in
// one process, CPU and wall time per event, medians and the paired ratios (ADR 0033, 0036).
//   npm run build && cp -r dist .bench-tmp/dist-base   # on the commit to compare against
//   node bench/replay-ab.mjs --base .bench-tmp/dist-base [--events N] [--reps N] [--workers N]
// --workers sets the new build's replay worker threads (0: line checks inline; default: the
// library's default). CPU is the process's, worker threads included, and the writing thread's
// alone (Linux schedstat; NaN elsewhere).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { baseAndNew, median, option, writeSource } from './lib/ab.mjs';
import { threadSched } from './lib/thread-sched.mjs';

const events = Number(option('--events', 100_000));
const reps = Number(option('--reps', 7));
const threads = option('--workers');
const newOptions = threads === undefined ? {} : { workers: Number(threads) };

const builds = await baseAndNew();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-replay-ab-'));
try {
  const source = path.join(root, 'source');
  await writeSource(builds.new, source, events);
  const jsonlPath = path.join(source, 'events.jsonl');
  const cpu = { base: [], new: [] };
  const wall = { base: [], new: [] };
  // The writing thread's CPU alone (/proc/thread-self/schedstat): the load's bound on 2 cores.
  const writer = { base: [], new: [] };
  const load0 = os.loadavg()[0];
  let n = 0;
  for (let r = 0; r < reps; r++) {
    for (const name of r % 2 ? ['new', 'base'] : ['base', 'new']) {
      const sqlitePath = path.join(root, `r${n++}.db`);
      const c0 = process.cpuUsage();
      const s0 = threadSched()[0];
      const t0 = performance.now();
      const report = await builds[name].replayJsonlIntoSqlite({ jsonlPath, sqlitePath }, name === 'new' ? newOptions : {});
      const c = process.cpuUsage(c0);
      writer[name].push((threadSched()[0] - s0) / 1000 / events);
      wall[name].push(((performance.now() - t0) * 1000) / events);
      if (report.inserted !== events || report.errors.length) throw new Error(JSON.stringify(report));
      for (const f of [sqlitePath, `${sqlitePath}-wal`, `${sqlitePath}-shm`]) fs.rmSync(f, { force: true });
      cpu[name].push((c.user + c.system) / events);
    }
  }
  console.log(`replay of ${events.toLocaleString('en-US')} events into an empty ledger.db, ${reps} alternated repetitions, new with workers ${threads ?? 'default'} (${os.availableParallelism()} cores; load ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)})`);
  for (const name of ['base', 'new']) console.log(`${name.padEnd(5)} CPU ${median(cpu[name]).toFixed(2)} µs/event (median; ${cpu[name].map((x) => x.toFixed(1)).join(' ')})`);
  console.log(`new/base CPU ${(median(cpu.new) / median(cpu.base)).toFixed(3)}x of medians, paired median ${median(cpu.new.map((x, i) => x / cpu.base[i])).toFixed(3)}x`);
  for (const name of ['base', 'new']) console.log(`${name.padEnd(5)} writing thread CPU ${median(writer[name]).toFixed(2)} µs/event (median; ${writer[name].map((x) => x.toFixed(1)).join(' ')})`);
  console.log(`new/base writing thread CPU ${(median(writer.new) / median(writer.base)).toFixed(3)}x of medians, paired median ${median(writer.new.map((x, i) => x / writer.base[i])).toFixed(3)}x`);
  for (const name of ['base', 'new']) console.log(`${name.padEnd(5)} wall ${median(wall[name]).toFixed(2)} µs/event = ${Math.round(1e6 / median(wall[name])).toLocaleString('en-US')} events/s (median; ${wall[name].map((x) => x.toFixed(1)).join(' ')})`);
  console.log(`new/base wall ${(median(wall.new) / median(wall.base)).toFixed(3)}x of medians, paired median ${median(wall.new.map((x, i) => x / wall.base[i])).toFixed(3)}x`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
