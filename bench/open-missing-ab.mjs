// Ledger.open of a folder whose ledger.db is gone (spec §14.2, ADR 0036 step 6), today's build
// (dist/) against another build (a copy of an older dist/ inside this checkout, so that it
// resolves node_modules), alternated in one process: wall and CPU per event, medians, the ratio.
//   npm run build && cp -r dist .bench-tmp/dist-base   # on the commit to compare against
//   node bench/open-missing-ab.mjs --base .bench-tmp/dist-base [--events N] [--reps N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { baseAndNew, median, option, writeSource } from './lib/ab.mjs';

const events = Number(option('--events', 200_000));
const reps = Number(option('--reps', 3));

const builds = await baseAndNew();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-open-missing-ab-'));
try {
  const source = path.join(root, 'source');
  await writeSource(builds.new, source, events);
  const wall = { base: [], new: [] };
  const cpu = { base: [], new: [] };
  const load0 = os.loadavg()[0];
  for (let r = 0; r < reps; r++) {
    for (const name of r % 2 ? ['new', 'base'] : ['base', 'new']) {
      const dir = path.join(root, 'restored');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      // What a restore from a backup of events.jsonl alone leaves: no ledger.db.
      for (const f of ['events.jsonl', 'ledger.json']) fs.copyFileSync(path.join(source, f), path.join(dir, f));
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const l = await builds[name].Ledger.open({ dir });
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const replayed = l.lastReconcile.replayed;
      await l.close();
      if (replayed !== events) throw new Error(`${name}: open replayed ${replayed} of ${events}`);
      wall[name].push((t * 1000) / events);
      cpu[name].push((c.user + c.system) / events);
    }
  }
  console.log(`Ledger.open of ${events.toLocaleString('en-US')} events without ledger.db, ${reps} alternated repetitions (${os.availableParallelism()} cores; load ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)})`);
  for (const name of ['base', 'new']) {
    console.log(`${name.padEnd(5)} wall ${median(wall[name]).toFixed(2)} µs/event (${wall[name].map((x) => x.toFixed(1)).join(' ')}), CPU ${median(cpu[name]).toFixed(2)} µs/event (${cpu[name].map((x) => x.toFixed(1)).join(' ')})`);
  }
  console.log(`new/base wall ${(median(wall.new) / median(wall.base)).toFixed(3)}x of medians, CPU ${(median(cpu.new) / median(cpu.base)).toFixed(3)}x`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
