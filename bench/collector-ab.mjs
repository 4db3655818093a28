// Collector ingest into PostgreSQL, this checkout's build against another build (or chunk plans
// of this build against each other), each collector in its own process, runs alternated so
// that all see the same load: CPU time of the collector process per event (all its threads,
// from /proc/PID/stat) and events/s, medians, and the paired ratios to the first variant.
//   git archive main | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/ && (cd /tmp/base && npm run build)
//   node bench/collector-ab.mjs --variant base=/tmp/base/dist --variant new=dist [--batches 20] [--reps 5]
//   A variant may name a chunk plan of a build: new-fixed250=dist@fixed:250, new-one=dist@one,
//   new-edges=dist@shares:0.1,0.4,0.4,0.1. --cpu-prof DIR: each collector process (and its check
//   workers) writes .cpuprofile files to DIR/NAME (summarize with bench/lib/profile-summary.mjs).
import fs from 'node:fs';
import os from 'node:os';
import { generateSigningKey } from '../dist/index.js';
import { chainLines } from './lib/chain-lines.mjs';
import { median } from './lib/measure.mjs';
import { createBenchDatabase, startBenchCluster } from './lib/pg-cluster.mjs';
import { startCollectorProcess } from './lib/collector-process.mjs';
import { postBatch } from './lib/collector-post.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const variants = args.flatMap((a, i) => (args[i - 1] === '--variant' ? [a] : [])).map((v) => {
  const [name, spec] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
  const [dist, plan = 'default'] = spec.split('@');
  return { name, dist, plan };
});
if (variants.length < 2) throw new Error('give at least two --variant NAME=DIST[@PLAN]');
const batches = Number(opt('--batches', 20));
const reps = Number(opt('--reps', 5));
const profDir = opt('--cpu-prof');
const BATCH = 1000;
const TICK = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime (fields 14 and 15)
}

function start(v, db) {
  return startCollectorProcess(db, { dist: v.dist, plan: v.plan, ...(profDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profDir}/${v.name}`] } : {}) });
}

const cluster = await startBenchCluster();
const procs = [];
try {
  const key = generateSigningKey({ name: 'ab-host' });
  const { lines } = chainLines(batches * BATCH, key);
  const bodies = [];
  for (let i = 0; i < lines.length; i += BATCH) bodies.push(lines.slice(i, i + BATCH).map((l) => l + '\n').join(''));
  for (const [i, v] of variants.entries()) procs.push(await start(v, await createBenchDatabase(cluster.url, `ab_${i}`)));
  const results = variants.map(() => ({ cpu: [], rate: [], p99: [] }));
  const loads = [];
  for (let r = 0; r < reps + 1; r++) {
    // Rotate the order each rep; rep 0 warms up and is discarded.
    const order = variants.map((_, i) => (i + r) % variants.length);
    for (const i of order) {
      const p = procs[i];
      const token = await p.addSource({ name: `r${r}`, eventKeys: [{ kid: key.kid, name: key.name, publicKey: key.publicKey }], requireSignatures: true });
      const c0 = cpuSeconds(p.pid);
      const t0 = process.hrtime.bigint();
      const lat = [];
      for (const body of bodies) {
        const t = process.hrtime.bigint();
        await postBatch(p.url, `r${r}`, token, body, BATCH);
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = cpuSeconds(p.pid) - c0;
      if (r > 0) {
        results[i].cpu.push((cpu / lines.length) * 1e6);
        results[i].rate.push(lines.length / wall);
        results[i].p99.push(lat.sort((a, b) => a - b)[Math.ceil(0.99 * lat.length) - 1]);
      }
    }
    loads.push(os.loadavg()[0]);
  }
  const base = results[0];
  console.log(`${batches} batches of ${BATCH} signed lines per run, ${reps} runs per variant (after one warm-up), load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
  for (const [i, v] of variants.entries()) {
    const r = results[i];
    const cpuRatio = median(r.cpu.map((c, k) => c / base.cpu[k]));
    const rateRatio = median(r.rate.map((c, k) => c / base.rate[k]));
    console.log(
      `${v.name.padEnd(16)} CPU ${median(r.cpu).toFixed(1).padStart(6)} µs/event (x${cpuRatio.toFixed(3)})  ` +
        `${Math.round(median(r.rate)).toString().padStart(6)} events/s (x${rateRatio.toFixed(3)})  p99 batch ${median(r.p99).toFixed(0)} ms  ` +
        `cpu runs [${r.cpu.map((c) => c.toFixed(0)).join(' ')}]`,
    );
  }
} finally {
  for (const p of procs) await p.stop();
  cluster.stop();
}
