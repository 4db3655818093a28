// Shipping rows (issue 15 "Performance"): a signed backlog shipped into the PostgreSQL collector
// against the collector's own ingest of the same lines in the same run, and the steady-state lag
// at 1,000 appends/s. The collector runs in its own process (collector-child.mjs), as it would
// on another machine; the shipper runs in this one.
import fs from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import { Ledger, generateSigningKey, startShipper } from '../../dist/index.js';
import { startCollectorProcess } from './collector-process.mjs';
import { eventInput } from './events.mjs';
import { median, pair } from './measure.mjs';
import { createBenchDatabase, startBenchCluster } from './pg-cluster.mjs';

const BATCH = 1000;

async function withCollector(name, fn) {
  const cluster = await startBenchCluster();
  try {
    const collector = await startCollectorProcess(await createBenchDatabase(cluster.url, name));
    try {
      return await fn(collector);
    } finally {
      await collector.stop();
    }
  } finally {
    cluster.stop();
  }
}

const keyOf = (key) => ({ kid: key.kid, name: key.name, publicKey: key.publicKey });

/** events.jsonl cut into batches of `BATCH` whole lines. */
function batchesOf(file) {
  const data = fs.readFileSync(file);
  const out = [];
  let start = 0;
  let lines = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) {
    if (++lines === BATCH) {
      out.push(data.subarray(start, i + 1));
      start = i + 1;
      lines = 0;
    }
  }
  if (start < data.length) out.push(data.subarray(start));
  return out;
}

async function postAll(url, source, token, batches) {
  const agent = new Agent({ connections: 1 });
  try {
    for (const body of batches) {
      const res = await request(`${url}/v1/sources/${source}/events`, {
        method: 'POST', dispatcher: agent, body,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`ingest into ${source}: ${res.statusCode} ${text}`);
    }
  } finally {
    await agent.close();
  }
}

async function shipBacklog(ctx) {
  const n = ctx.size.shipEvents;
  const key = generateSigningKey({ name: 'ship-host' });
  const dir = path.join(ctx.tmp, 'host');
  const ledger = await Ledger.open({ dir, create: true, signer: key });
  for (let i = 0; i < n; i += BATCH) await ledger.appendBatch(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => eventInput(i + j)));
  await ledger.close();
  const batches = batchesOf(path.join(dir, 'events.jsonl'));
  return withCollector('ship_backlog', async (collector) => {
    const add = (name) => collector.addSource({ name, eventKeys: [keyOf(key)], requireSignatures: true });
    // Warms the collector process (JIT, pool, workers) before either side is timed.
    await postAll(collector.url, 'warm', await add('warm'), batches.slice(0, 3));
    const r = await pair({
      warmup: 0,
      reps: ctx.bigReps,
      baseline: async (rep) => {
        const token = await add(`direct-${rep}`);
        const t0 = performance.now();
        await postAll(collector.url, `direct-${rep}`, token, batches);
        return n / ((performance.now() - t0) / 1000);
      },
      figure: async (rep) => {
        const token = await add(`shipped-${rep}`);
        const t0 = performance.now();
        const s = startShipper({ dir, url: collector.url, source: `shipped-${rep}`, token, cursorFile: false });
        await new Promise((resolve) => s.on('shipped', ({ through }) => through === n - 1 && resolve()));
        const rate = n / ((performance.now() - t0) / 1000);
        await s.stop({ drainMs: 0 });
        return rate;
      },
    });
    return {
      figure: r.figure, baseline: r.baseline, unit: 'events/s', baselineUnit: 'events/s',
      baselineLabel: 'the collector ingesting the same lines POSTed in 1,000-line batches back to back',
      target: { kind: 'ratio', min: 0.7, text: '>= 0.7x' },
      samples: r,
      extra: { events: n, batches: batches.length, collectorIngest: r.baselineSamples.map(Math.round), shipper: r.figureSamples.map(Math.round) },
    };
  });
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function shipLag(ctx) {
  const rate = 1000;
  const seconds = ctx.size.shipLagSeconds;
  const key = generateSigningKey({ name: 'lag-host' });
  return withCollector('ship_lag', async (collector) => {
    const token = await collector.addSource({ name: 'lag', eventKeys: [keyOf(key)], requireSignatures: true });
    const ledger = await Ledger.open({ dir: path.join(ctx.tmp, 'lag'), create: true, signer: key });
    const shipper = startShipper({ ledger, url: collector.url, source: 'lag', token, cursorFile: false });
    const ackAt = new Map();
    const lags = [];
    let through = -1;
    shipper.on('shipped', (e) => {
      const now = performance.now();
      for (let s = through + 1; s <= e.through; s++) {
        const t = ackAt.get(s);
        if (t !== undefined) lags.push(now - t);
        ackAt.delete(s);
      }
      through = Math.max(through, e.through);
    });
    // A first event shipped before the clock starts: connection and source lookup are not lag.
    await ledger.append(eventInput(0));
    while (through < 0) await new Promise((r) => setTimeout(r, 5));
    const total = rate * seconds;
    const late = [];
    const pending = [];
    const t0 = performance.now();
    for (let sent = 0; sent < total;) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; sent < due; sent++) pending.push(ledger.append(eventInput(sent + 1)).then((ev) => ackAt.set(ev.seq, performance.now())));
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 1));
      late.push(performance.now() - t - 1);
    }
    await Promise.all(pending);
    const last = total;
    const deadline = performance.now() + 60_000;
    while (through < last && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const achieved = total / ((performance.now() - t0) / 1000);
    await ledger.close();
    if (lags.length !== total) throw new Error(`ship lag: ${lags.length} of ${total} events shipped`);
    const r1 = (x) => +x.toFixed(1);
    const p99 = percentile(lags, 99);
    return {
      figure: r1(p99), unit: 'ms p99', baseline: r1(percentile(late, 99)), baselineUnit: 'ms p99',
      baselineLabel: 'lateness of a 1 ms timer in the appending process during the run (scheduling noise)', lowerIsBetter: true,
      target: { kind: 'max', max: 1000, value: p99, text: 'p99 < 1 s at 1,000 appends/s' },
      extra: { appendsPerSecond: rate, achievedPerSecond: Math.round(achieved), seconds, events: total, lagP50Ms: r1(percentile(lags, 50)), lagMaxMs: r1(Math.max(...lags)), timerLateP50Ms: r1(median(late)) },
    };
  });
}

export const SHIP_ROWS = {
  'ship-backlog': { title: 'shipper: signed backlog into the PostgreSQL collector', run: shipBacklog },
  'ship-lag': { title: 'shipping lag at 1,000 appends/s into the PostgreSQL collector, p99', run: shipLag },
};
