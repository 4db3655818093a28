// Issue 15 acceptance: 3 hosts shipping concurrently into one PostgreSQL through 2 collector
// processes (each sidecar alternates between them through its own proxy): `collector verify`
// exits 0 and every host's export is byte-identical to its events.jsonl. CI scale:
// SEALED_LEDGER_E2E_EVENTS events per host (default 2,000; SEALED_LEDGER_E2E_EVENTS=10000 for the full size).
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt } from '../../cli/cli-harness.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { appendInProcess, assertCollectorHolds, cleanupAll, cli, CollectorProcess, newHost, newPgDatabase, onCleanup, SidecarProcess, sourceHead, startWriter, until } from './harness.js';

const EVENTS = Number(process.env.SEALED_LEDGER_E2E_EVENTS ?? 2000);

beforeAll(ensureBuilt);
// Real processes on a shared machine: generous bounds; each wait inside names what it waited for.
vi.setConfig({ testTimeout: 300_000 });
afterEach(cleanupAll);

describe('a fleet through two collector processes', () => {
  it(`3 hosts x ${EVENTS} events, concurrently, into one PostgreSQL`, async () => {
    const db = await newPgDatabase('ship_fleet');
    const a = await CollectorProcess.start(db);
    const b = await CollectorProcess.start(db);
    const hosts = await Promise.all([1, 2, 3].map((n) => newHost(db, `fleet-${n}`, 10 + n)));
    const half = Math.floor(EVENTS / 2);
    await Promise.all(hosts.map((h) => appendInProcess(h, half)));
    const proxies = await Promise.all(hosts.map(() => FaultProxy.start({ port: a.port })));
    for (const p of proxies) onCleanup(() => p.close());
    const sidecars = hosts.map((h, i) => new SidecarProcess(h, proxies[i]!.url, ['--batch-lines', '200']));
    // The rest is appended by writer processes while shipping goes on; meanwhile every host's
    // connection moves between the two collectors, so both take batches of every source.
    const writers = hosts.map((h) => startWriter(h, EVENTS - half, 'batch'));
    for (let round = 0; round < 6; round++) {
      await new Promise((r) => setTimeout(r, 500));
      for (const p of proxies) {
        p.retarget(round % 2 === 0 ? b.port : a.port);
        p.cutAll();
      }
    }
    await Promise.all(writers.map((w) => w.done));
    for (const h of hosts) await until(async () => (await sourceHead(a.url, h)).next === EVENTS, 120_000, `${h.name} shipped`);
    for (const s of sidecars) expect(await s.kill('SIGTERM')).toBe(0);
    const v = cli(['collector', 'verify', '--db', db]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    for (const h of hosts) assertCollectorHolds(db, h);
  });
});
