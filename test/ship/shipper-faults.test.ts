// spec §20.4/§20.5: network faults from a real TCP proxy (drop, delay, reset mid-response,
// blackhole), the bounded drain, and the sidecar form reading the folder of another writer.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import type { ShipLogRecord } from '../../src/ship/options.js';
import { FaultProxy, type FaultMode } from '../support/fault-proxy.js';
import { ProtocolPeer } from '../support/protocol-peer.js';
import { appendN, cleanupShipTests, jsonlLines, ledgerWith, onCleanup, ship, until } from './ship-helpers.js';

afterEach(cleanupShipTests);

async function peerBehindProxy(plan?: (n: number) => FaultMode | undefined): Promise<{ p: ProtocolPeer; proxy: FaultProxy }> {
  const p = await ProtocolPeer.start();
  onCleanup(() => p.close());
  const proxy = await FaultProxy.start({ port: p.port }, { plan });
  onCleanup(() => proxy.close());
  return { p, proxy };
}

describe('network faults through the fault proxy', () => {
  for (const [name, mode] of [
    ['drop', { kind: 'drop' }],
    ['reset mid-response', { kind: 'reset', afterBytes: 20 }],
    ['reset before any reply byte', { kind: 'reset', afterBytes: 0 }],
    ['delay', { kind: 'delay', ms: 150 }],
    ['blackhole', { kind: 'blackhole' }],
  ] as [string, FaultMode][]) {
    it(`${name}: every event arrives once, in order`, async () => {
      const { ledger, dir } = await ledgerWith(400);
      // Every other connection is faulty, for the first eight.
      const { p, proxy } = await peerBehindProxy((n) => (n < 8 && n % 2 === 0 ? mode : undefined));
      const s = ship({ ledger, url: proxy.url, token: p.token, maxBatchLines: 50, requestTimeoutMs: 300 });
      // Faults while appends go on.
      await appendN(ledger, 100);
      await until(() => s.status().shippedThrough === 499, 30_000);
      expect(p.lines).toEqual(jsonlLines(dir));
      expect(proxy.stats[mode.kind]).toBeGreaterThan(0);
      expect(s.status()).toMatchObject({ state: 'running', lagEvents: 0 });
    });
  }

  it('a reset after the collector stored the batch: the resend is a duplicate, never a second copy', async () => {
    const { ledger, dir } = await ledgerWith(100);
    const { p, proxy } = await peerBehindProxy();
    // The first POST is stored, then its reply is cut after 5 bytes.
    let cut = false;
    p.rule = (r) => {
      if (r.method === 'POST' && !cut) {
        cut = true;
        proxy.set({ kind: 'reset', afterBytes: 5, once: true });
      }
      return undefined;
    };
    const s = ship({ ledger, url: proxy.url, token: p.token, maxBatchLines: 100 });
    await until(() => s.status().shippedThrough === 99);
    expect(proxy.stats.connections).toBeGreaterThanOrEqual(2);
    expect(p.lines).toEqual(jsonlLines(dir));
    // The resend is answered as 100 duplicates: at-least-once on the wire, once in the store.
    expect(p.duplicates).toBe(100);
    expect(p.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
  });
});

describe('bounded stop (spec §20.1)', () => {
  it('stop({ drainMs }) returns within the bound on a silent collector', async () => {
    const { ledger } = await ledgerWith(10);
    const { p, proxy } = await peerBehindProxy();
    proxy.set({ kind: 'blackhole' });
    const s = ship({ ledger, url: proxy.url, token: p.token, requestTimeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await s.stop({ drainMs: 300 });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(s.status().stopped).toBe(true);
  });

  it('ledger.close() with a shipper drains what it can and never hangs on a dead collector', async () => {
    const { ledger, dir } = await ledgerWith(0);
    const { p, proxy } = await peerBehindProxy();
    ship({ ledger, url: proxy.url, token: p.token, drainMs: 2000 });
    await appendN(ledger, 200);
    await ledger.close();
    expect(p.lines).toEqual(jsonlLines(dir)); // drained: everything acknowledged went out

    const other = await Ledger.open({ dir });
    onCleanup(() => other.close());
    proxy.set({ kind: 'blackhole' });
    ship({ ledger: other, url: proxy.url, token: p.token, drainMs: 400, requestTimeoutMs: 60_000 });
    await appendN(other, 5);
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('drain through a transient failure', () => {
  it('a failure just before close() is retried within drainMs, not abandoned', async () => {
    const { ledger, dir } = await ledgerWith(0);
    const { p, proxy } = await peerBehindProxy();
    let failed = 0;
    p.rule = (r) => (r.method === 'POST' && failed++ < 2 ? { status: 503, body: { code: 'UNAVAILABLE' } } : undefined);
    const logs: ShipLogRecord[] = [];
    ship({ ledger, url: proxy.url, token: p.token, drainMs: 5000, backoff: { minMs: 100, maxMs: 200 } }, logs);
    await appendN(ledger, 50);
    await ledger.close();
    expect(failed).toBeGreaterThanOrEqual(2);
    expect(p.lines).toEqual(jsonlLines(dir));
  });
});

describe('sidecar form: reading another writer\'s folder (spec §20.3)', () => {
  it('ships what the writer acknowledged, never a torn tail', async () => {
    const { ledger, dir } = await ledgerWith(50);
    const p = await ProtocolPeer.start();
    onCleanup(() => p.close());
    const s = ship({ dir, url: p.url, token: p.token, settleMs: 300 });
    await until(() => s.status().shippedThrough === 49);
    await appendN(ledger, 25);
    await until(() => s.status().shippedThrough === 74);
    await ledger.close();
    // A torn tail (an append that died mid-write) stays unshipped, however long it sits there.
    fs.appendFileSync(path.join(dir, 'events.jsonl'), '{"seq":75,"v":1,"kind":"torn');
    await new Promise((r) => setTimeout(r, 800));
    expect(p.lines).toHaveLength(75);
    expect(p.lines).toEqual(jsonlLines(dir));
    expect(s.status()).toMatchObject({ head: 74, lagEvents: 0 });
  });

  it('complete lines past the watermark (a writer killed before its SQLite commit) ship after settling', async () => {
    const { ledger, dir } = await ledgerWith(10);
    await ledger.close();
    // The line of seq 10, as a writer would have fsynced it before dying: take it from a copy.
    const copy = dir + '-copy';
    fs.cpSync(dir, copy, { recursive: true });
    onCleanup(() => fs.rmSync(copy, { recursive: true, force: true }));
    const l2 = await Ledger.open({ dir: copy });
    await appendN(l2, 1);
    await l2.close();
    const extra = jsonlLines(copy)[10]!;
    fs.appendFileSync(path.join(dir, 'events.jsonl'), extra + '\n');
    const p = await ProtocolPeer.start();
    onCleanup(() => p.close());
    const t0 = Date.now();
    const s = ship({ dir, url: p.url, token: p.token, settleMs: 500 });
    await until(() => s.status().shippedThrough === 9);
    await until(() => s.status().shippedThrough === 10);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(p.lines).toEqual(jsonlLines(dir));
  });
});
