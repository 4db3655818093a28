// Follow latency (issue 16): from an append's acknowledgement in the writing process to the
// event's delivery by follow({ dir }) in 3 other processes, next to the same run's raw baseline:
// from just before a 1-byte append to a file to the fs.watch wake-up it causes in 3 other
// processes (the floor of any cross-process wake-up by file notification).
// The follower's extra cost is the SQLite commit (§13.7: at idle or within projectionLagMs), the
// watermark read and reading, verifying and parsing the line.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../dist/index.js';
import { eventInput } from './events.mjs';

const CHILD = fileURLToPath(new URL('./follow-child.mjs', import.meta.url));
const FOLLOWERS = 3;
const GAP_MS = 10;
const now = () => performance.timeOrigin + performance.now();
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function startFollowers(mode, dir, n) {
  const children = Array.from({ length: FOLLOWERS }, () => fork(CHILD, [mode, dir, String(n)], { stdio: 'inherit' }));
  const results = children.map(
    (c) =>
      new Promise((resolve, reject) => {
        c.on('message', (m) => m.times && resolve(m.times));
        c.on('exit', (code) => code !== 0 && reject(new Error(`${mode} follower exited with ${code}`)));
      }),
  );
  await Promise.all(children.map((c) => new Promise((r) => c.on('message', (m) => m.ready && r()))));
  await pause(50); // the watchers are registered
  return { results, children };
}

/** Latencies (ms) of n raw appends, each seen by every watcher. */
async function baselineRun(root, n) {
  const dir = fs.mkdtempSync(path.join(root, 'watch-'));
  const fd = fs.openSync(path.join(dir, 'data'), 'a');
  const { results } = await startFollowers('watch', dir, n);
  const acked = [];
  for (let i = 0; i < n; i++) {
    acked.push(now());
    fs.writeSync(fd, 'x');
    await pause(GAP_MS);
  }
  fs.closeSync(fd);
  return latencies(acked, await Promise.all(results));
}

/** Latencies (ms) of n single appends, each delivered to every follower. */
async function followRun(root, n) {
  const dir = path.join(fs.mkdtempSync(path.join(root, 'follow-')), 'ledger');
  const ledger = await Ledger.open({ dir, create: true });
  const { results } = await startFollowers('follow', dir, n);
  const acked = [];
  for (let i = 0; i < n; i++) {
    await ledger.append(eventInput(i));
    acked.push(now());
    await pause(GAP_MS);
  }
  const times = await Promise.all(results);
  await ledger.close();
  return latencies(acked, times);
}

function latencies(acked, perFollower) {
  const out = [];
  for (const times of perFollower) for (let i = 0; i < acked.length; i++) out.push(times[i] - acked[i]);
  return out;
}

export async function followRow(ctx) {
  const n = ctx.size.followEvents;
  const base = [];
  const fig = [];
  for (let i = 0; i < ctx.warmup + ctx.reps; i++) {
    const b = await baselineRun(ctx.tmp, n);
    const f = await followRun(ctx.tmp, n);
    if (i >= ctx.warmup) {
      base.push(...b);
      fig.push(...f);
    }
  }
  const p50 = percentile(fig, 50);
  const r2 = (x) => +x.toFixed(2);
  return {
    figure: r2(p50), unit: 'ms p50', baseline: r2(percentile(base, 50)), baselineUnit: 'ms p50',
    baselineLabel: 'fs.watch wake-up in another process from a raw 1-byte append', lowerIsBetter: true,
    target: { kind: 'max', max: 100, value: p50, text: '<= 100 ms median from commit to delivery (issue 16)' },
    extra: {
      followers: FOLLOWERS, eventsPerRep: n, samples: fig.length, gapMs: GAP_MS,
      followP99Ms: r2(percentile(fig, 99)), followMaxMs: r2(Math.max(...fig)),
      baselineP99Ms: r2(percentile(base, 99)),
    },
  };
}
