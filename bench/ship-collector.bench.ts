/**
 * End-to-end shipping bench (issue 15): a backlog of N signed events (default 50,000;
 * SEALED_LEDGER_BENCH_SHIP_EVENTS=100000 for the size) shipped by the shipper into the
 * PostgreSQL collector (a `sealed-ledger collector` process), against the collector's own ingest
 * measured in the same run: the same lines POSTed in 1,000-line batches, back to back, over one
 * keep-alive connection. Median of 3 repetitions each, alternating, each into a fresh source.
 *
 *   npx vitest run --config bench/ship-collector.config.ts
 *
 * Needs PostgreSQL like the collector tests (a throwaway cluster, or SEALED_LEDGER_TEST_PG_URL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startShipper } from '../src/ship/shipper.js';
import { appendInProcess, cleanupAll, cli, CollectorProcess, newHost, newPgDatabase } from '../test/ship/e2e/harness.js';
import { ensureBuilt } from '../test/cli/cli-harness.js';

const N = Number(process.env.SEALED_LEDGER_BENCH_SHIP_EVENTS ?? 50_000);
const REPS = 3;

function register(db: string, name: string, keysDir: string): string {
  const r = cli(['collector', 'sources', 'add', name, '--db', db, '--keys', keysDir, '--origin', `bench.local/${name}`, '--json']);
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('shipping into the PostgreSQL collector', () => {
  it(`${N}-event backlog: shipper vs the collector's own ingest`, async () => {
    ensureBuilt();
    const db = await newPgDatabase('ship_bench');
    const collector = await CollectorProcess.start(db);
    const host = await newHost(db, 'bench-host', 77);
    await appendInProcess(host, N, 1000);
    const data = fs.readFileSync(path.join(host.dir, 'events.jsonl'));
    const batches: Buffer[] = [];
    for (let start = 0, lines = 0, i = 0; i < data.length; i++) {
      if (data[i] === 10 && ++lines === 1000) {
        batches.push(data.subarray(start, i + 1));
        start = i + 1;
        lines = 0;
      }
      if (i === data.length - 1 && start <= i) batches.push(data.subarray(start));
    }
    const direct: number[] = [];
    const shipped: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      // The collector's own ingest: 1,000-line batches back to back.
      const tokenA = register(db, `direct-${rep}`, host.dir);
      const agent = new Agent({ connections: 1 });
      let t0 = performance.now();
      for (const b of batches) {
        const res = await request(`${collector.url}/v1/sources/direct-${rep}/events`, {
          method: 'POST', dispatcher: agent, body: b,
          headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/x-ndjson' },
        });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`direct ingest: ${res.statusCode}`);
      }
      direct.push(N / ((performance.now() - t0) / 1000));
      await agent.close();
      // The shipper (folder form, as the sidecar runs it) from an empty source to caught up.
      const tokenB = register(db, `shipped-${rep}`, host.dir);
      t0 = performance.now();
      const s = startShipper({ dir: host.dir, url: collector.url, source: `shipped-${rep}`, token: tokenB, cursorFile: false });
      await new Promise<void>((resolve) => s.on('shipped', ({ through }) => through === N - 1 && resolve()));
      shipped.push(N / ((performance.now() - t0) / 1000));
      await s.stop({ drainMs: 0 });
    }
    const ratio = median(shipped) / median(direct);
    console.log(
      `ship-collector: ${N} events; collector ingest (1,000-line batches) median ${Math.round(median(direct))} events/s [${direct.map(Math.round).join(', ')}]; ` +
        `shipper median ${Math.round(median(shipped))} events/s [${shipped.map(Math.round).join(', ')}]; ratio ${ratio.toFixed(2)}x (target >= 0.7x)`,
    );
    await collector.kill('SIGTERM');
    await cleanupAll();
    expect(ratio).toBeGreaterThan(0);
  }, 1_800_000);
});
