// Issue 15 acceptance, against the real collector on PostgreSQL, with real processes: an outage,
// SIGKILLs of the collector, the sidecar and the writer, and network faults. Outcome each time:
// every event arrives once, in order (export byte-identical), chains verify, lag returns to 0.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt } from '../../cli/cli-harness.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import {
  appendInProcess, assertCollectorHolds, cleanupAll, CollectorProcess, healHost, hostLineCount, newHost, newPgDatabase, onCleanup, SidecarProcess,
  sourceHead, startWriter, until,
} from './harness.js';

const OUTAGE_MS = Number(process.env.SEALED_LEDGER_E2E_OUTAGE_MS ?? 3000);

beforeAll(ensureBuilt);
// Real processes on a shared machine: generous bounds; each wait inside names what it waited for.
vi.setConfig({ testTimeout: 300_000 });
afterEach(cleanupAll);

describe('shipping end to end (real collector, PostgreSQL)', () => {
  it(`collector down for ${OUTAGE_MS} ms, then back: every event once, in order; lag returns to 0`, async () => {
    const db = await newPgDatabase('ship_outage');
    const collector = await CollectorProcess.start(db);
    const host = await newHost(db, 'host-outage');
    await appendInProcess(host, 500);
    const sidecar = new SidecarProcess(host, collector.url);
    await until(async () => (await sourceHead(collector.url, host)).next === 500, 60_000, 'first 500 shipped');
    expect(await collector.kill('SIGKILL')).toBeNull();
    const writer = startWriter(host, 400);
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await until(() => sidecar.status()?.state === 'backing-off', 10_000, 'backing off during the outage');
    await collector.start();
    await writer.done;
    await until(async () => (await sourceHead(collector.url, host)).next === 900, 60_000, 'all 900 shipped');
    await until(() => sidecar.status()?.lagEvents === 0 && sidecar.status()?.state === 'running', 10_000, 'lag 0');
    expect(await sidecar.kill('SIGTERM')).toBe(0);
    assertCollectorHolds(db, host);
  });

  it('SIGKILL of the collector mid-batch, of the sidecar mid-batch, of the writer: no loss, no duplicate row', async () => {
    const db = await newPgDatabase('ship_kills');
    const collector = await CollectorProcess.start(db);
    const host = await newHost(db, 'host-kills');
    await appendInProcess(host, 3000);
    const sidecar = new SidecarProcess(host, collector.url, ['--batch-lines', '250']);
    // Kill the collector while batches are arriving.
    await until(async () => (await sourceHead(collector.url, host)).next >= 500, 60_000, 'some shipped');
    await collector.kill('SIGKILL');
    await collector.start();
    // Kill the sidecar while it sends.
    await until(async () => (await sourceHead(collector.url, host)).next >= 1500, 60_000, 'more shipped');
    await sidecar.kill('SIGKILL');
    sidecar.start();
    // Kill a writer mid-append.
    const writer = startWriter(host, 5000, 'concurrent');
    await until(() => writer.acks.length >= 300, 60_000, 'writer acks');
    writer.child.kill('SIGKILL');
    await writer.done;
    await healHost(host);
    const total = hostLineCount(host);
    await until(async () => (await sourceHead(collector.url, host)).next === total, 90_000, `all ${total} shipped`);
    for (const a of writer.acks) expect(a.seq).toBeLessThan(total);
    expect(await sidecar.kill('SIGTERM')).toBe(0);
    assertCollectorHolds(db, host);
  });

  it('network faults through the fault proxy (drop, delay, reset mid-response, blackhole): same outcome', async () => {
    const db = await newPgDatabase('ship_faults');
    const collector = await CollectorProcess.start(db);
    const host = await newHost(db, 'host-faults');
    // Every third connection faulty, in turn: drop, delay, reset mid-response, blackhole.
    const faults = [{ kind: 'drop' }, { kind: 'delay', ms: 300 }, { kind: 'reset', afterBytes: 40 }, { kind: 'blackhole' }] as const;
    const proxy = await FaultProxy.start({ port: collector.port }, { plan: (n) => (n < 24 && n % 3 === 0 ? faults[(n / 3) % 4] : undefined) });
    onCleanup(() => proxy.close());
    await appendInProcess(host, 1000);
    const sidecar = new SidecarProcess(host, proxy.url, ['--batch-lines', '100']);
    await until(async () => (await sourceHead(collector.url, host)).next >= 1000, 60_000, 'backlog shipped');
    const writer = startWriter(host, 1500, 'single');
    let writing = true;
    void writer.done.then(() => (writing = false));
    // Faults that hit kept-alive connections too, in turn, while the writer appends; then until
    // each kind has hit traffic at least once (a reset needs a response in flight, so a few
    // more events are appended in its window).
    let extra = 0;
    const missing = () => faults.some((f) => proxy.stats[f.kind] === 0);
    for (let i = 0; writing || i < faults.length || (missing() && i < 200); i++) {
      const fault = faults[i % faults.length]!;
      proxy.set(fault);
      if (!writing && proxy.stats[fault.kind] === 0) {
        await appendInProcess(host, 5);
        extra += 5;
      }
      await new Promise((r) => setTimeout(r, 300));
      proxy.set({ kind: 'pass' });
      proxy.cutAll();
      await new Promise((r) => setTimeout(r, 300));
    }
    await writer.done;
    await until(async () => (await sourceHead(collector.url, host)).next === 2500 + extra, 90_000, 'all shipped');
    console.log(`proxy: ${JSON.stringify(proxy.stats)}`);
    for (const k of ['drop', 'delay', 'reset', 'blackhole'] as const) expect(proxy.stats[k], k).toBeGreaterThan(0);
    expect(await sidecar.kill('SIGTERM')).toBe(0);
    assertCollectorHolds(db, host);
  });
});
