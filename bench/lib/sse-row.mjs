// SSE fan-out row (issue 16 "Performance"): events/s delivered to 100 clients following one
// source over loopback, against the collector's own ingest of the same batches in the same run.
// The collector runs in its own process; the clients run in this one and count `data:` lines.
import { Agent, request } from 'undici';
import { generateSigningKey } from '../../dist/index.js';
import { chainLines } from './chain-lines.mjs';
import { startCollectorProcess } from './collector-process.mjs';
import { pair } from './measure.mjs';
import { createBenchDatabase, startBenchCluster } from './pg-cluster.mjs';

const CLIENTS = 100;
const BATCH = 1000;
const DATA = Buffer.from('\ndata:');

async function postAll(url, source, token, bodies, agent) {
  for (const body of bodies) {
    const res = await request(`${url}/v1/sources/${source}/events`, {
      method: 'POST', dispatcher: agent, body,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`ingest into ${source}: ${res.statusCode} ${text}`);
  }
}

/** A client following `source` from its start; resolves `done` once it has seen `n` events. */
async function follower(url, source, token, n, agent) {
  const res = await request(`${url}/v1/sources/${source}/events?follow=1`, { dispatcher: agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
  if (res.statusCode !== 200) throw new Error(`stream of ${source}: ${res.statusCode} ${await res.body.text()}`);
  const done = (async () => {
    let seen = 0;
    let tail = Buffer.alloc(0);
    for await (const chunk of res.body) {
      // Keep the end of the previous chunk so that a "\ndata:" cut in two is still counted once.
      const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      for (let i = buf.indexOf(DATA); i !== -1; i = buf.indexOf(DATA, i + 1)) seen++;
      tail = Buffer.from(buf.subarray(Math.max(0, buf.length - (DATA.length - 1))));
      if (seen >= n) break;
    }
    res.body.destroy();
    if (seen < n) throw new Error(`stream of ${source} ended after ${seen} of ${n} events`);
  })();
  return { done };
}

async function sseFanoutRow(ctx) {
  const n = ctx.size.sseEvents;
  const key = generateSigningKey({ name: 'sse-host' });
  const { lines } = chainLines(n, key);
  const bodies = [];
  for (let i = 0; i < lines.length; i += BATCH) bodies.push(Buffer.from(lines.slice(i, i + BATCH).map((l) => l + '\n').join('')));
  const cluster = await startBenchCluster();
  const agent = new Agent({ connections: CLIENTS + 4, keepAliveTimeout: 60_000 });
  try {
    const collector = await startCollectorProcess(await createBenchDatabase(cluster.url, 'sse_fanout'));
    try {
      const add = (name) => collector.addSource({ name, eventKeys: [{ kid: key.kid, name: key.name, publicKey: key.publicKey }], requireSignatures: true });
      await postAll(collector.url, 'warm', await add('warm'), bodies.slice(0, 2), agent);
      const ingestDuringFanout = [];
      const r = await pair({
        warmup: ctx.warmup,
        reps: ctx.reps,
        baseline: async (rep) => {
          const token = await add(`ingest-${rep}`);
          const t0 = performance.now();
          await postAll(collector.url, `ingest-${rep}`, token, bodies, agent);
          return n / ((performance.now() - t0) / 1000);
        },
        figure: async (rep) => {
          const source = `fan-${rep}`;
          const token = await add(source);
          const clients = await Promise.all(Array.from({ length: CLIENTS }, () => follower(collector.url, source, token, n, agent)));
          const t0 = performance.now();
          await postAll(collector.url, source, token, bodies, agent);
          const posted = performance.now();
          await Promise.all(clients.map((c) => c.done));
          const seconds = (performance.now() - t0) / 1000;
          if (rep >= ctx.warmup) ingestDuringFanout.push(Math.round(n / ((posted - t0) / 1000)));
          return (CLIENTS * n) / seconds;
        },
      });
      return {
        figure: r.figure, baseline: r.baseline, unit: 'events/s delivered', baselineUnit: 'events/s',
        baselineLabel: 'the collector ingesting the same batches with no client',
        target: { kind: 'info', text: `measured (${CLIENTS} clients)` },
        samples: r,
        extra: { clients: CLIENTS, events: n, perClientEventsPerSecond: Math.round(r.figure / CLIENTS), ingestWhileStreaming: ingestDuringFanout },
      };
    } finally {
      await collector.stop();
    }
  } finally {
    await agent.close();
    cluster.stop();
  }
}

export const SSE_ROWS = {
  'sse-fanout': { title: `SSE fan-out: one source followed by ${CLIENTS} clients on loopback (PostgreSQL collector)`, run: sseFanoutRow },
};
