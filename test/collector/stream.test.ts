// spec §18.10: the collector's event streams on both backends, over real TCP on loopback: every
// event once and in order, Last-Event-ID resume through a fault proxy (eventsource package),
// a collector restart, 100 concurrent clients, and a client that stops reading is cut off.
import { EventSource } from 'eventsource';
import { afterAll, describe, expect, it } from 'vitest';
import { createCollectorServer } from '../../src/collector/server.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { BACKENDS, HostChain, keyEntry, removeTempDirs, startCollector } from './support.js';
import { SseReader } from './stream-client.js';

afterAll(removeTempDirs);

const FAST = { heartbeatMs: 150, retryMs: 100, pollMs: 5_000 };

describe.each(BACKENDS)('collector event streams on %s', (backend) => {
  it('a source stream and the fleet stream deliver every event once, in order; heartbeats; auth', async () => {
    const t = await startCollector(backend, { options: { adminToken: 'admin-secret', stream: FAST } });
    const url = await t.collector.listen();
    const readers: SseReader[] = [];
    try {
      const b = new HostChain();
      const { token: tokenB } = await t.collector.sources.add({ name: 'host-b', eventKeys: [keyEntry(b.key!)] });
      t.host.append(30);
      expect((await t.post(t.host.body(0))).status).toBe(200);
      const auth = { authorization: `Bearer ${t.token}` };
      const src = new SseReader(`${url}/v1/sources/host-a/events?follow=1`, auth);
      const fromTen = new SseReader(`${url}/v1/sources/host-a/events?follow=1&from=10`, auth);
      const fleet = new SseReader(`${url}/v1/events?follow=1`, { authorization: 'Bearer admin-secret' });
      readers.push(src, fromTen, fleet);
      await src.until(() => src.events.length === 30);
      t.host.append(20);
      b.append(10);
      expect((await t.post(t.host.body(30, 40))).status).toBe(200);
      expect((await t.post(b.body(0), { token: tokenB, source: 'host-b' })).status).toBe(200);
      expect((await t.post(t.host.body(40))).status).toBe(200);
      await src.until(() => src.events.length === 50);
      await fromTen.until(() => fromTen.events.length === 40);
      await fleet.until(() => fleet.events.length === 60);
      await src.until(() => src.comments.includes('heartbeat'));
      expect(src.retry).toBe(100);
      expect(src.events.map((e) => e.id)).toEqual(t.host.lines.map((_, i) => String(i)));
      expect(src.events.map((e) => e.data)).toEqual(t.host.lines);
      expect(fromTen.events.map((e) => e.data)).toEqual(t.host.lines.slice(10));
      const ids = fleet.events.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(60);
      const got = fleet.events.map((e) => JSON.parse(e.data) as { source: string; seq: number; line: string });
      expect(got.filter((g) => g.source === 'host-a').map((g) => g.line)).toEqual(t.host.lines);
      expect(got.filter((g) => g.source === 'host-b').map((g) => g.line)).toEqual(b.lines);
      expect(got.filter((g) => g.source === 'host-b').map((g) => g.seq)).toEqual(b.lines.map((_, i) => i));
      // The order of arrival: host-a 30..39 were ingested before host-b, host-b before host-a 40..
      expect(got.slice(30, 40).map((g) => g.source)).toEqual(Array(10).fill('host-a'));
      expect(got.slice(40, 50).map((g) => g.source)).toEqual(Array(10).fill('host-b'));

      const { token: readToken } = await t.collector.sources.issueReadToken('host-a');
      const asReader = new SseReader(`${url}/v1/sources/host-a/events?follow=1&from=45`, { authorization: `Bearer ${readToken}` });
      readers.push(asReader);
      await asReader.until(() => asReader.events.length === 5);
      expect(asReader.events.map((e) => e.data)).toEqual(t.host.lines.slice(45));
      // A read token never ingests.
      expect((await t.post(t.host.next() + '\n', { token: readToken })).status).toBe(401);
      const denied = async (u: string, h: Record<string, string>) => (await fetch(u, { headers: h })).status;
      expect(await denied(`${url}/v1/sources/host-a/events?follow=1`, {})).toBe(401);
      expect(await denied(`${url}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${tokenB}` })).toBe(403);
      expect(await denied(`${url}/v1/events?follow=1`, auth)).toBe(401);
      expect(await denied(`${url}/v1/sources/host-a/events?follow=1`, { ...auth, 'last-event-id': 'x' })).toBe(400);
    } finally {
      for (const r of readers) r.close();
      await t.close();
    }
  });

  it('eventsource client: cut by a fault proxy, then the collector restarts; Last-Event-ID resumes with no gap and no duplicate', async () => {
    const t = await startCollector(backend, { options: { stream: FAST } });
    const url = await t.collector.listen();
    const proxy = await FaultProxy.start({ port: Number(new URL(url).port) });
    let collector = t.collector;
    const es = new EventSource(`${proxy.url}/v1/sources/host-a/events?follow=1`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${t.token}` } }),
    });
    const seen: { id: string; data: string }[] = [];
    let opens = 0;
    es.onmessage = (e) => seen.push({ id: e.lastEventId, data: e.data });
    es.onopen = () => opens++;
    const until = async (pred: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out with ${seen.length} events, ${opens} opens`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const post = async (from: number) => {
      const r = await collector.inject({ method: 'POST', url: '/v1/sources/host-a/events', headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${t.token}` }, payload: t.host.body(from) });
      expect(r.statusCode).toBe(200);
    };
    try {
      t.host.append(20);
      await post(0);
      await until(() => seen.length === 20);
      proxy.cutAll();
      t.host.append(20);
      await post(20);
      await until(() => seen.length >= 40 && opens >= 2);
      await collector.close();
      t.host.append(10);
      collector = await createCollectorServer({ db: t.db, rateLimit: false, stream: FAST });
      proxy.retarget(Number(new URL(await collector.listen()).port));
      await post(40);
      await until(() => seen.length >= 50 && opens >= 3);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.map((e) => e.id)).toEqual(t.host.lines.map((_, i) => String(i)));
      expect(seen.map((e) => e.data)).toEqual(t.host.lines);
    } finally {
      es.close();
      await proxy.close();
      await collector.close();
      await t.close();
    }
  });

  it('100 concurrent clients each see every event once, in order', async () => {
    const t = await startCollector(backend, { options: { stream: FAST } });
    const url = await t.collector.listen();
    const readers = Array.from({ length: 100 }, () => new SseReader(`${url}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${t.token}` }));
    try {
      await Promise.all(readers.map((r) => r.until(() => r.retry !== undefined)));
      t.host.append(300);
      for (let i = 0; i < 300; i += 100) expect((await t.post(t.host.body(i, i + 100))).status).toBe(200);
      await Promise.all(readers.map((r) => r.until(() => r.events.length >= 300, 30_000)));
      for (const r of readers) expect(r.events.map((e) => e.data)).toEqual(t.host.lines);
    } finally {
      for (const r of readers) r.close();
      await t.close();
    }
  });

  it('a client that stops reading is cut off and the collector stops reading the store for it', async () => {
    // The healthy reader shares the server's event loop: a stall bound much below 2 s cut it
    // off too on a loaded machine.
    const stream = { ...FAST, maxBufferBytes: 256 * 1024, stallMs: 2_000, pageSize: 100 };
    const t = await startCollector(backend, { options: { stream } });
    const url = await t.collector.listen();
    const hub = t.collector.streams;
    const big = 'x'.repeat(8 * 1024);
    const total = 1_000;
    for (let i = 0; i < total; i++) t.host.next({ payload: { big, n: i } });
    for (let i = 0; i < total; i += 250) expect((await t.post(t.host.body(i, i + 250))).status).toBe(200);
    const stalled = new SseReader(`${url}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${t.token}` }, { readFor: 1 });
    const healthy = new SseReader(`${url}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${t.token}` });
    try {
      await healthy.until(() => healthy.events.length === total, 30_000);
      const deadline = Date.now() + 20_000;
      while (hub.stats.cutOff < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(hub.stats.cutOff).toBe(1);
      expect(hub.stats.lastCutOff).toMatch(/^closing: the client (has not read for 2000 ms|is not reading)/);
      // ~8 MB of events: the stalled stream got no further than what the kernel's socket buffers hold.
      const stalledSent = hub.stats.sent - total;
      console.log(`stalled stream: ${stalledSent} of ${total} events written before the cut (${hub.stats.lastCutOff})`);
      expect(stalledSent).toBeLessThan(total * 0.75);
      expect(hub.size).toBe(1);
    } finally {
      stalled.close();
      healthy.close();
      await t.close();
    }
  });
});


describe('collector event streams across collector processes on one PostgreSQL database', () => {
  it('a stream on one collector is woken by LISTEN/NOTIFY when another collector ingests (no poll)', async () => {
    const noPoll = { ...FAST, pollMs: 600_000 };
    const a = await startCollector('postgres', { options: { stream: noPoll } });
    const b = await createCollectorServer({ db: a.db, rateLimit: false, stream: noPoll });
    const url = await a.collector.listen();
    const reader = new SseReader(`${url}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${a.token}` });
    try {
      await reader.until(() => reader.retry !== undefined);
      for (let round = 0; round < 3; round++) {
        a.host.append(5);
        const r = await b.inject({ method: 'POST', url: '/v1/sources/host-a/events', headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${a.token}` }, payload: a.host.body(round * 5) });
        expect(r.statusCode).toBe(200);
        await reader.until(() => reader.events.length === (round + 1) * 5, 5_000);
      }
      expect(reader.events.map((e) => e.data)).toEqual(a.host.lines);
    } finally {
      reader.close();
      await b.close();
      await a.close();
    }
  });
});
